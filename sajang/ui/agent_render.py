"""Pure HTML/message rendering for the agent hub: queue, conversation header, chat messages, customer
profile, recommended articles, learned answers. No Gradio and no database here, so it is unit-testable.

Everything user-supplied goes through `html.escape`. Times are shown in the shop's time zone.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sajang.labels import CHANNEL_LABELS
from sajang.ui.agent_strings import CLAIM_STATUS, CLAIM_TYPE, ORDER_STATUS, T
from sajang.ui.i18n import CATEGORY_LABELS, URGENCY_LABELS, label
from sajang.ui.literal import literal

SHOP_TZ = ZoneInfo("Asia/Seoul")  # the shop's wall clock (Korean shops)
QUEUE_TABS = ("new", "mine", "done")
SUBJECT_CHARS = 60  # queue shows the first line, cut to this many characters
REVIEW_CHARS = 120
ARTICLE_PREVIEW_CHARS = 2000
STARS = 5
THREAD_SHORT = 8  # a conversation id is shown by its first characters (full id on hover)
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp"})
URGENCY_ORDER = {"urgent": 0, "high": 1, "normal": 2, "low": 3}

# Inline SVG markers (render without any emoji font).
ICON_BOT = ('<svg class="sj-ico" viewBox="0 0 24 24" aria-label="AI"><rect x="4" y="8" width="16" height="12" rx="3" '
            'fill="#64748b"/><circle cx="9" cy="14" r="1.7" fill="#fff"/><circle cx="15" cy="14" r="1.7" fill="#fff"/>'
            '<path d="M12 8V4.5" stroke="#64748b" stroke-width="2"/><circle cx="12" cy="4" r="1.6" fill="#64748b"/></svg>')
ICON_PERSON = ('<svg class="sj-ico" viewBox="0 0 24 24" aria-label="person"><circle cx="12" cy="8" r="4.2" '
               'fill="#2563eb"/><path d="M3.5 21a8.5 8.5 0 0 1 17 0z" fill="#2563eb"/></svg>')
ICON_DONE = ('<svg class="sj-ico" viewBox="0 0 24 24" aria-label="done"><circle cx="12" cy="12" r="10" fill="#16a34a"/>'
             '<path d="M7 12.5l3.2 3.2L17 9" stroke="#fff" stroke-width="2.4" fill="none" stroke-linecap="round"/></svg>')


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def get(d: Mapping[str, Any] | None, *keys: str, default: Any = None) -> Any:
    """The first present, non-empty key: tolerant of small naming differences between services."""
    if not d:
        return default
    for key in keys:
        value = d.get(key)
        if value not in (None, ""):
            return value
    return default


def pending_of(conv: Mapping[str, Any] | None) -> dict[str, Any]:
    """The waiting handoff's payload (summary, category, urgency, ai_draft, sources, customer_id)."""
    value = get(conv, "pending", "handoff", "interrupt", default={})
    return dict(value) if isinstance(value, Mapping) else {}


def as_dt(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def local_time(value: Any, fmt: str = "%H:%M") -> str:
    dt = as_dt(value)
    return dt.astimezone(SHOP_TZ).strftime(fmt) if dt else ""


def smart_time(value: Any, now: datetime) -> str:
    """`14:05` today, `11/23 14:05` otherwise."""
    dt = as_dt(value)
    if dt is None:
        return ""
    local, today = dt.astimezone(SHOP_TZ), now.astimezone(SHOP_TZ)
    return local.strftime("%H:%M") if local.date() == today.date() else local.strftime("%m/%d %H:%M")


def ago(value: Any, now: datetime, locale: str) -> str:
    dt = as_dt(value)
    if dt is None:
        return ""
    minutes = max(0, int((now - dt).total_seconds() // 60))
    if minutes < 1:
        return T("ago_now", locale)
    if minutes < 60:
        return T("ago_min", locale, n=minutes)
    if minutes < 60 * 24:
        return T("ago_hour", locale, n=minutes // 60)
    return T("ago_day", locale, n=minutes // (60 * 24))


def money(value: Any, locale: str) -> str:
    amount = Decimal(value or 0)
    text = f"{amount:,.0f}" if amount == amount.to_integral_value() else f"{amount:,.2f}"
    return T("won", locale, n=text)


def first_line(text: Any, limit: int = SUBJECT_CHARS) -> str:
    line = next((ln.strip() for ln in str(text or "").splitlines() if ln.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def badge(text: str, kind: str) -> str:
    return f'<span class="sj-badge sj-{esc(kind)}">{esc(text)}</span>' if text else ""


# --- queue ---------------------------------------------------------------------------------------


def customer_display(item: Mapping[str, Any], names: Mapping[str, str], locale: str) -> str:
    cid = get(item, "customer_id")
    name = get(item, "customer_name") or (names.get(cid) if cid else None)
    if name:
        return str(name)
    guest = get(item, "guest_name")
    if guest:
        return f"{guest} ({T('guest', locale)})"
    return str(cid) if cid else T("guest", locale)


def queue_sort_key(item: Mapping[str, Any]) -> tuple[int, float]:
    """Most urgent first, then the one who has waited longest."""
    waited = as_dt(get(item, "handed_off_at", "created_at", "updated_at"))
    return (URGENCY_ORDER.get(str(get(item, "urgency", default="normal")), len(URGENCY_ORDER)),
            waited.timestamp() if waited else 0.0)


def channel_badge(item: Mapping[str, Any], locale: str) -> str:
    """Where the customer wrote (KakaoTalk, TalkTalk, the site widget): the reply goes back there."""
    channel = str(get(item, "channel", default="") or "")
    return badge(label(CHANNEL_LABELS, channel, locale), "ch-" + channel) if channel in CHANNEL_LABELS else ""


def render_queue(tabs: Mapping[str, Sequence[Mapping[str, Any]]], active: str, selected: str | None,
                 names: Mapping[str, str], locale: str, now: datetime, error: str | None = None,
                 query: str = "", urgent: Sequence[str] = ()) -> str:
    """The left column: three tabs with counts, then the items of the active tab (those matching the
    search `query` when there is one). `urgent`: the thread ids of the urgent inquiries waiting for a
    person, for the page's alert (`data-urgent`: a new one there rings and notifies)."""
    alert = f' data-urgent="{esc(" ".join(urgent))}" data-alert-title="{esc(T("alert_title", locale))}"' \
            f' data-alert-body="{esc(T("alert_body", locale))}"'
    parts = [f'<div class="sj-queue"{alert}>', '<div class="sj-qtabs" role="tablist">']
    for tab in QUEUE_TABS:
        cls = "sj-qtab sj-active" if tab == active else "sj-qtab"
        parts.append(
            f'<button type="button" class="{cls}" data-tab="{tab}" role="tab" '
            f'aria-selected="{str(tab == active).lower()}">{esc(T("tab_" + tab, locale))} '
            f'<span class="sj-count">{len(tabs.get(tab, []))}</span></button>'
        )
    parts.append("</div>")
    if error:
        parts.append(f'<div class="sj-empty sj-error">{esc(T("service_missing", locale, error=error))}</div>')
    items = tabs.get(active, [])
    if query and not error:
        parts.append(f'<div class="sj-searching">{esc(T("search_results", locale, q=query, n=len(items)))}</div>')
    if not items and not error:
        empty = T("search_empty", locale) if query else T("queue_empty_" + active, locale)
        parts.append(f'<div class="sj-empty">{esc(empty)}</div>')
    parts.append('<ul class="sj-qlist">')
    for item in items:
        if get(item, "kind") == "qna":
            parts.append(_qna_item(item, names, locale, now))
            continue
        thread = str(get(item, "thread_id", default=""))
        status = str(get(item, "status", default="new"))
        cls = "sj-qitem" + (" sj-selected" if thread == selected else "") + f" sj-st-{esc(status)}"
        urgency = str(get(item, "urgency", default=""))
        category = str(get(item, "category", default=""))
        assignee = get(item, "assignee_name", "assignee")
        if status == "resolved":
            owner = ICON_DONE + esc(T("owner_done", locale, name=assignee or ""))
            when = smart_time(get(item, "resolved_at", "updated_at"), now)
        elif status == "assigned":
            owner = ICON_PERSON + esc(T("owner_person", locale, name=assignee or ""))
            when = ago(get(item, "handed_off_at", "created_at"), now, locale)
        else:
            owner = f'{ICON_BOT}<span class="sj-arrow">→</span>{ICON_PERSON}{esc(T("owner_bot", locale))}'
            when = ago(get(item, "handed_off_at", "created_at"), now, locale)
        dot = '<span class="sj-dot"></span>' if status == "new" else ""
        parts.append(
            f'<li class="{cls}" data-thread="{esc(thread)}" tabindex="0">'
            f'<div class="sj-qrow1">{dot}<span class="sj-qname">{esc(customer_display(item, names, locale))}</span>'
            f'<span class="sj-qtime">{esc(when)}</span></div>'
            f'<div class="sj-qsubject">{esc(first_line(get(item, "subject", "summary", "last_message")))}</div>'
            f'<div class="sj-qrow3">{channel_badge(item, locale)}{badge(label(CATEGORY_LABELS, category, locale), "cat")}'
            f'{badge(label(URGENCY_LABELS, urgency, locale), "urg-" + urgency)}'
            f'<span class="sj-owner">{owner}</span></div></li>'
        )
    parts.append("</ul></div>")
    return "".join(parts)


def _qna_item(item: Mapping[str, Any], names: Mapping[str, str], locale: str, now: datetime) -> str:
    """A product question in the main queue (`sajang.services.qna.hub_items`): the «상품 Q&A» badge, the
    product, the question, the answer deadline; a click opens it in the Q&A tab (data-qna, see QUEUE_JS)."""
    hours = abs(round(float(get(item, "hours_left", default=0) or 0)))
    due = T("qna_overdue" if get(item, "overdue") else "qna_left", locale, h=hours)
    urgency = str(get(item, "urgency", default=""))
    return (f'<li class="sj-qitem sj-qitem-qna sj-st-new" data-qna="{esc(get(item, "question_id", default=""))}" '
            f'tabindex="0"><div class="sj-qrow1"><span class="sj-dot"></span>'
            f'<span class="sj-qname">{esc(customer_display(item, names, locale))}</span>'
            f'<span class="sj-qtime">{esc(ago(get(item, "handed_off_at", "created_at"), now, locale))}</span></div>'
            f'<div class="sj-qsubject">{esc(first_line(get(item, "subject")))}</div>'
            f'<div class="sj-qrow3">{badge(T("qna_badge", locale), "qna")}'
            f'{badge(label(URGENCY_LABELS, urgency, locale), "urg-" + urgency)}'
            f'<span class="sj-owner">{esc(due)}</span></div></li>')


# --- conversation --------------------------------------------------------------------------------


def render_header(conv: Mapping[str, Any] | None, customer: str, locale: str, now: datetime,
                  note: str = "", note_kind: str = "info") -> str:
    if not conv:
        body = f'<div class="sj-hint">{esc(T("conv_pick", locale))}</div>'
    else:
        pending = pending_of(conv)
        category = get(conv, "category") or get(pending, "category")
        urgency = get(conv, "urgency") or get(pending, "urgency")
        status = str(get(conv, "status", default=""))
        waited = ago(get(conv, "handed_off_at", "created_at"), now, locale)
        bits = [f'<span class="sj-hname">{esc(customer)}</span>', channel_badge(conv, locale),
                badge(label(CATEGORY_LABELS, category, locale), "cat"),
                badge(label(URGENCY_LABELS, urgency, locale), f"urg-{urgency}")]
        if status in ("new", "assigned") and waited:
            bits.append(f'<span class="sj-hwait">{esc(T("waiting", locale, t=waited))}</span>')
        summary = get(pending, "summary")
        body = f'<div class="sj-hrow">{"".join(bits)}</div>'
        if summary:
            body += f'<div class="sj-hsummary">{esc(summary)}</div>'
    if note:
        body += f'<div class="sj-note sj-note-{esc(note_kind)}">{esc(note)}</div>'
    return f'<div class="sj-header">{body}</div>'


def _is_image(att: Mapping[str, Any]) -> bool:
    ctype = str(get(att, "content_type", "mime_type", default=""))
    name = str(get(att, "filename", "path", "url", default=""))
    return ctype.startswith("image/") or Path(name).suffix.lower() in IMAGE_SUFFIXES


def chat_messages(messages: Iterable[Mapping[str, Any]], locale: str, now: datetime,
                  attachment_url: Any = None) -> list[dict[str, Any]]:
    """Gradio Chatbot messages: customer on the user side, AI and agents on the assistant side.

    Each text message starts with a small "who · time" line and shows its text literally (no Markdown
    of its own: «2~5일 … 5~10일» stays as written); attachments follow as their own
    messages (images show inline, linked to the full size). `attachment_url(att)` resolves an attachment
    dict to a URL of the authenticated attachment route (or None when it is missing): never a local file
    for Gradio to copy into its temporary directory, which every mounted app (the public /chat too) serves.
    """
    out: list[dict[str, Any]] = []
    for msg in messages:
        role = str(get(msg, "role", default="customer"))
        when = smart_time(get(msg, "time", "created_at"), now)
        if role == "customer":
            who, side = T("role_customer", locale), "user"
        elif role == "agent":
            who, side = T("role_agent_msg", locale, name=get(msg, "author_name", "author", "agent_name", default="")), "assistant"
        elif role == "system":
            who, side = T("role_system", locale), "assistant"
        else:
            who, side = T("role_ai", locale), "assistant"
        text = str(get(msg, "text", "content", default=""))
        tag = f'<span class="sj-who sj-who-{esc(role)}">{esc(who)} · {esc(when)}</span>'
        if text:
            out.append({"role": side, "content": f"{tag}\n\n{literal(text)}"})
        for att in get(msg, "attachments", default=[]) or []:
            url = attachment_url(att) if attachment_url else None
            if not url:
                continue
            if not text:
                out.append({"role": side, "content": tag})
                text = "-"
            alt = literal(str(get(att, "filename", default="")) or "photo").replace("]", "")
            out.append({"role": side, "content": f"[![{alt}]({url})]({url})"})
    return out


# --- customer profile ----------------------------------------------------------------------------


def stars(rating: int | None) -> str:
    if rating is None:
        return ""
    r = max(0, min(STARS, int(rating)))
    return "★" * r + "☆" * (STARS - r)


def render_profile(profile: Any, segment_text: str, locale: str, now: datetime,
                   guest_name: str | None = None, customer_id: str | None = None) -> str:
    """Right column. `profile` is a `sajang.db.profile.CustomerProfile` or None."""
    if profile is None:
        if customer_id:
            msg = T("profile_unknown", locale, id=customer_id)
        elif guest_name is not None:
            msg = T("profile_guest", locale, name=f" ({guest_name})" if guest_name else "")
        else:
            msg = T("profile_pick", locale)
        return f'<div class="sj-profile"><div class="sj-hint">{esc(msg)}</div></div>'
    seg_cls = "sj-seg" if profile.segment else "sj-seg sj-seg-none"
    parts = [
        '<div class="sj-profile">',
        f'<div class="sj-pname"><span class="{seg_cls}">{esc(segment_text)}</span> '
        f'<b>{esc(profile.name or profile.id)}</b> <span class="sj-pid">{esc(profile.id)}</span></div>',
        f'<div class="sj-ptotals">{esc(T("total_spent", locale, amount=money(profile.total_spent, locale)))}'
        f' · {esc(T("order_count", locale, n=profile.order_count))}</div>',
    ]
    if profile.joined_at:
        parts.append(f'<div class="sj-pmeta">{esc(T("joined", locale, date=local_time(profile.joined_at, "%Y-%m-%d")))}</div>')

    parts.append(f'<h4>{esc(T("recent_orders", locale))} <span class="sj-count">{profile.order_count}</span></h4>')
    if not profile.recent_orders:
        parts.append(f'<div class="sj-none">{esc(T("none", locale))}</div>')
    parts.append('<ul class="sj-plist">')
    for o in profile.recent_orders:
        items = ", ".join(o.items[:2]) + (f" {T('more', locale, n=len(o.items) - 2)}" if len(o.items) > 2 else "")
        track = (f'<div class="sj-psub">{esc(T("tracking", locale, courier=o.courier or "", no=o.tracking_no))}</div>'
                 if o.tracking_no else "")
        parts.append(
            f'<li><div class="sj-prow"><span class="sj-pid">{esc(o.id)}</span>'
            f'{badge(label(ORDER_STATUS, o.status, locale), "st-" + o.status)}</div>'
            f'<div class="sj-psub">{esc(smart_time(o.ordered_at, now))} · {esc(money(o.amount, locale))}'
            f' · {esc(items)}</div>{track}</li>'
        )
    parts.append("</ul>")

    parts.append(f'<h4>{esc(T("past_claims", locale))} <span class="sj-count">{profile.claim_count}</span></h4>')
    if not profile.claims:
        parts.append(f'<div class="sj-none">{esc(T("none", locale))}</div>')
    parts.append('<ul class="sj-plist">')
    for c in profile.claims:
        parts.append(
            f'<li><div class="sj-prow">{badge(label(CLAIM_TYPE, c.type, locale), "claim")}'
            f'<span>{esc(c.product_name or c.order_id)}</span>'
            f'{badge(label(CLAIM_STATUS, c.status, locale), "cst-" + c.status)}</div>'
            f'<div class="sj-psub">{esc(smart_time(c.created_at, now))} · {esc(first_line(c.reason, REVIEW_CHARS))}</div></li>'
        )
    parts.append("</ul>")

    parts.append(f'<h4>{esc(T("past_reviews", locale))} <span class="sj-count">{profile.review_count}</span></h4>')
    if not profile.reviews:
        parts.append(f'<div class="sj-none">{esc(T("none", locale))}</div>')
    parts.append('<ul class="sj-plist">')
    for r in profile.reviews:
        low = " sj-low" if r.rating is not None and r.rating <= 2 else ""
        parts.append(
            f'<li><div class="sj-prow"><span class="sj-stars{low}" title="{esc(r.rating)}">{stars(r.rating)}</span>'
            f'<span class="sj-psub">{esc(r.product_name or "")}</span></div>'
            f'<div class="sj-rtext">“{esc(first_line(r.text, REVIEW_CHARS))}”</div></li>'
        )
    parts.append("</ul></div>")
    return "".join(parts)


def render_articles(hits: Iterable[Any], locale: str, error: str | None = None) -> str:
    """Recommended manual articles, each an openable <details> (an accordion without a round trip)."""
    parts = [f'<div class="sj-articles"><h4>{esc(T("articles", locale))}</h4>']
    if error:
        parts.append(f'<div class="sj-none">{esc(T("articles_error", locale, error=error))}</div></div>')
        return "".join(parts)
    hits = list(hits)
    if not hits:
        parts.append(f'<div class="sj-none">{esc(T("articles_none", locale))}</div>')
    for hit in hits:
        body = str(getattr(hit, "body", "") or getattr(hit, "text", ""))
        if len(body) > ARTICLE_PREVIEW_CHARS:
            body = body[:ARTICLE_PREVIEW_CHARS] + "…"
        parts.append(
            f'<details class="sj-article" data-article="{esc(hit.id)}"><summary>{esc(hit.title)}'
            f'<span class="sj-score">{float(hit.score):.2f}</span></summary>'
            f'<div class="sj-abody">{esc(body)}</div></details>'
        )
    parts.append("</div>")
    return "".join(parts)


# --- learned answers -----------------------------------------------------------------------------


def render_learned(rows: Sequence[Mapping[str, Any]], locale: str, now: datetime, error: str | None = None
                   ) -> str:
    if error:
        return f'<div class="sj-empty sj-error">{esc(T("learned_unavailable", locale, error=error))}</div>'
    active = sum(1 for r in rows if r.get("active"))
    parts = [f'<div class="sj-lcount">{esc(T("learned_count", locale, n=len(rows), active=active))}</div>']
    if not rows:
        parts.append(f'<div class="sj-empty">{esc(T("learned_empty", locale))}</div>')
    parts.append('<ul class="sj-learned">')
    for r in rows:
        lid = esc(r.get("id"))
        on = bool(r.get("active"))
        state = (badge(T("learned_active", locale), "on") if on else
                 badge(T("learned_off", locale, who=r.get("deactivated_by") or "",
                         time=smart_time(r.get("deactivated_at"), now)), "off"))
        thread = r.get("source_thread_id")
        short = str(thread)[:THREAD_SHORT] + ("…" if thread and len(str(thread)) > THREAD_SHORT else "")
        source = (f'<span class="sj-lsrc" data-thread="{esc(thread)}" title="{esc(thread)}">'
                  f'{esc(T("learned_from", locale, thread=short))}</span>') if thread else ""
        undo = (f'<button type="button" class="sj-undo" data-undo="{lid}">{esc(T("learned_undo", locale))}</button>'
                if on else "")
        parts.append(
            f'<li class="sj-litem{"" if on else " sj-inactive"}" data-learned="{lid}">'
            f'<div class="sj-lhead"><span class="sj-pid">#{lid}</span>{state}'
            f'{badge(label(CATEGORY_LABELS, r.get("category"), locale), "cat")}'
            f'<span class="sj-lby">{esc(T("learned_by", locale, name=r.get("author_name") or "", time=smart_time(r.get("created_at"), now)))}</span>'
            f'{source}{undo}</div>'
            f'<div class="sj-lq"><b>{esc(T("learned_q", locale))}</b> {esc(r.get("question"))}</div>'
            f'<div class="sj-la"><b>{esc(T("learned_a", locale))}</b> {esc(r.get("answer"))}</div></li>'
        )
    parts.append("</ul>")
    return "".join(parts)
