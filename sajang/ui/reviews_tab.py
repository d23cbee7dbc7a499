"""The 리뷰 tab of the agent hub: negative reviews waiting for a reply, the AI draft in an editable box,
approve (publishes once) / reject, and the product's recent reviews beside it.

`build_reviews_tab(settings, locale_state=None)` renders inside the caller's `gr.Blocks` (the hub puts it
in a `gr.Tab`). `locale_state` is an optional component whose value is a locale ("ko"/"en") or the
hub's logged-in staff dict (`{"locale": …}`); labels follow it. New and imported reviews are analysed by
a timer while the tab is open (a few per tick), and on demand with 새 리뷰 분석. Every operation goes
through `sajang.graphs.review.service`; the acting agent is `request.username`.

Deciding is built so that a stray click cannot decide a review nobody read (issue #17 item 12: a
double-click once published the next review unread):

- After approve / reject the tab still moves on to the next review (working a queue without "next"
  clicks is what agents want, as in Zendesk's "submit and next"), but the next review arrives with both
  decision buttons disabled and relabelled for `review_arm_seconds` (1.5 s: long enough for the tail of
  a double-click, short enough not to slow an agent who reads); a timer re-arms them. The second click of
  a double-click lands on a disabled button.
- The server does not rely on the browser for that: a decision on a review the tab advanced to less
  than `review_arm_seconds` ago is refused with a note (the click may have been queued before the buttons were
  disabled). Picking a review in the list is a deliberate choice and arms at once.
- A published reply can be taken back for `review_undo_seconds` (게시 취소, like Gmail's undo send):
  `service.undo_publish` puts it back to a draft while it has not left the system (a marketplace only
  sees replies on export), and the audit log records it.
"""

from __future__ import annotations

import html
import logging
import threading
import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import gradio as gr

from sajang.config import Settings
from sajang.ui.i18n import Strings
from sajang.ui.staff import request_member

log = logging.getLogger(__name__)

KST = ZoneInfo("Asia/Seoul")
AUTO_TRIAGE_SECONDS = 5.0  # a tick analyses up to AUTO_TRIAGE_BATCH never-analysed reviews
AUTO_TRIAGE_BATCH = 16
BACKLOG_LIMIT = 500
PRODUCT_REVIEWS = 8
_auto_lock = threading.Lock()  # one auto-triage at a time per process, however many agents have the tab open

T = Strings({
    "queue_title": {"ko": "답글 대기 리뷰 ({n})", "en": "Reviews awaiting a reply ({n})"},
    "queue_empty": {"ko": "답글을 기다리는 부정 리뷰가 없습니다.", "en": "No negative reviews are waiting."},
    "analyse": {"ko": "새 리뷰 분석", "en": "Analyse new reviews"},
    "refresh": {"ko": "새로고침", "en": "Refresh"},
    "review_title": {"ko": "리뷰와 답글 초안", "en": "Review and reply draft"},
    "draft_label": {"ko": "답글 초안 (수정 가능)", "en": "Reply draft (editable)"},
    "approve": {"ko": "승인 후 게시", "en": "Approve & publish"},
    "reject": {"ko": "답글 안 함", "en": "Reject"},
    "product_title": {"ko": "이 상품의 최근 리뷰", "en": "Recent reviews of this product"},
    "select_hint": {"ko": "왼쪽 목록에서 리뷰를 고르세요.", "en": "Pick a review on the left."},
    "no_product": {"ko": "상품 정보가 없는 리뷰입니다.", "en": "This review names no product."},
    "no_other": {"ko": "다른 리뷰가 없습니다.", "en": "No other reviews."},
    "published": {"ko": "답글을 게시했습니다 ({id}).", "en": "Reply published ({id})."},
    "already": {"ko": "이미 게시된 답글입니다. 다시 게시하지 않았습니다 ({id}).",
                "en": "Already published; nothing was posted again ({id})."},
    "rejected": {"ko": "답글 없이 처리했습니다 ({id}).", "en": "Rejected; no reply ({id})."},
    "arming": {"ko": "다음 리뷰 확인 중…", "en": "Read the next review…"},
    "too_soon": {"ko": "방금 다음 리뷰로 넘어왔어요. 내용을 확인한 뒤 다시 눌러 주세요. 아무것도 처리하지 않았습니다.",
                 "en": "This review just opened; read it and click again. Nothing was done."},
    "undo": {"ko": "↶ 게시 취소", "en": "↶ Undo publish"},
    "undone": {"ko": "게시를 취소했습니다. 답글이 다시 승인 대기 초안이 되었어요 ({id}).",
               "en": "Publication undone; the reply is a draft awaiting approval again ({id})."},
    "analysed": {"ko": "새 리뷰 {n}건을 분석했습니다. 부정 리뷰 {neg}건.",
                 "en": "Analysed {n} new reviews; {neg} negative."},
    "login": {"ko": "로그인한 상담원만 승인할 수 있습니다.", "en": "Log in as an agent to decide."},
    "empty": {"ko": "답글 내용이 비어 있습니다.", "en": "The reply is empty."},
    "error": {"ko": "오류: {error}", "en": "Error: {error}"},
    "customer": {"ko": "고객", "en": "Customer"},
    "product": {"ko": "상품", "en": "Product"},
    "order": {"ko": "주문", "en": "Order"},
    "severity": {"ko": "심각도", "en": "Severity"},
    "score": {"ko": "부정 점수", "en": "Negative score"},
    "guest": {"ko": "(이름 없음)", "en": "(no name)"},
    "status_published": {"ko": "답글 게시됨", "en": "replied"},
    "status_draft": {"ko": "승인 대기", "en": "awaiting approval"},
    "status_rejected": {"ko": "답글 안 함", "en": "rejected"},
    "status_none": {"ko": "", "en": ""},
})


def _svc() -> Any:
    from sajang.graphs.review import service

    return service


def _locale(value: Any, settings: Settings) -> str:
    if isinstance(value, dict):
        value = value.get("locale")
    return value if value in ("ko", "en") else settings.locale


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _stars(rating: int | None) -> str:
    if not rating:
        return "☆☆☆☆☆"
    return "★" * rating + "☆" * (5 - rating)


def _when(iso: str | None) -> str:
    if not iso:
        return ""
    try:
        return datetime.fromisoformat(iso).astimezone(KST).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def _aspect_text(aspects: list[str], locale: str) -> str:
    from sajang.graphs.review.sentiment import ASPECT_LABELS

    return ", ".join((ASPECT_LABELS.get(a) or {}).get(locale) or a for a in aspects)


def _severity_text(sev: str | None, locale: str) -> str:
    from sajang.graphs.review.sentiment import SEVERITY_LABELS

    return (SEVERITY_LABELS.get(sev or "") or {}).get(locale, "")


def queue_choices(items: list[dict[str, Any]], locale: str) -> list[tuple[str, str]]:
    out = []
    for it in items:
        parts = [_stars(it["rating"]) if it["rating"] else "–", it["product_name"] or it["product_id"] or "-",
                 it["customer_name"] or it["customer_id"] or T("guest", locale), _aspect_text(it["aspects"], locale)]
        sev = _severity_text(it["severity"], locale)
        if it["severity"] == "high":
            parts.append(f"⚠ {sev}")
        out.append((" · ".join(p for p in parts if p), it["review_id"]))
    return out


def review_html(item: dict[str, Any] | None, locale: str) -> str:
    if not item:
        return f'<div class="sj-rv-detail sj-hint">{_esc(T("select_hint", locale))}</div>'
    chips = "".join(f'<span class="sj-badge sj-rv-aspect">{_esc(_aspect_text([a], locale))}</span> '
                    for a in item["aspects"])
    sev = item["severity"]
    meta = [f'{_esc(T("product", locale))}: <b>{_esc(item["product_name"] or item["product_id"] or "-")}</b>',
            f'{_esc(T("customer", locale))}: {_esc(item["customer_name"] or T("guest", locale))} '
            f'<span class="sj-pid">{_esc(item["customer_id"] or "")}</span>']
    if item["order_id"]:
        meta.append(f'{_esc(T("order", locale))}: {_esc(item["order_id"])}')
    score = item["score"]
    return (
        f'<div class="sj-rv-detail" data-review="{_esc(item["review_id"])}">'
        f'<div class="sj-rv-stars" style="color:#f59e0b" title="{item["rating"] or ""}">{_stars(item["rating"])} '
        f'<span class="sj-rv-date">{_esc(_when(item["created_at"]))}</span></div>'
        f'<div class="sj-rv-meta">{" · ".join(meta)}</div>'
        f'<div class="sj-rv-chips">{chips}'
        + (f'<span class="sj-badge sj-rv-sev-{_esc(sev)}">{_esc(T("severity", locale))} '
           f'{_esc(_severity_text(sev, locale))}</span>' if sev else "")
        + (f' <span class="sj-rv-score">{_esc(T("score", locale))} {score:.2f}</span>' if score is not None else "")
        + f'</div><blockquote class="sj-rv-text">{_esc(item["text"])}</blockquote></div>'
    )


def product_html(items: list[dict[str, Any]], item: dict[str, Any] | None, locale: str) -> str:
    if not item:
        return ""
    if not item["product_id"]:
        return f'<div class="sj-hint">{_esc(T("no_product", locale))}</div>'
    if not items:
        return f'<div class="sj-hint">{_esc(T("no_other", locale))}</div>'
    rows = []
    for r in items:
        status = T(f"status_{r['reply_status']}", locale) if r["reply_status"] in (
            "published", "draft", "rejected", "none") else r["reply_status"]
        neg = " sj-rv-neg" if r["negative"] else ""
        rows.append(f'<li class="sj-rv-item{neg}"><div>{_stars(r["rating"])} '
                    f'<span class="sj-rv-date">{_esc(_when(r["created_at"]))}</span> '
                    f'<span class="sj-rv-status">{_esc(status)}</span></div>'
                    f'<div class="sj-rv-snippet">{_esc(r["text"][:160])}</div></li>')
    return f'<ul class="sj-rv-list" id="sj-rv-product-list">{"".join(rows)}</ul>'


CSS = """
.sj-rv-detail { padding: 6px 2px; }
.sj-rv-stars { color: #f59e0b; font-size: 1.1rem; letter-spacing: 1px; }
.sj-rv-date { color: #6b7280; font-size: .8rem; letter-spacing: 0; margin-left: 6px; }
.sj-rv-meta { font-size: .88rem; margin: 4px 0; }
.sj-rv-chips .sj-badge { background: #fef3c7; color: #92400e; margin-right: 4px; }
.sj-rv-chips .sj-rv-sev-high { background: #fee2e2; color: #991b1b; }
.sj-rv-score { font-size: .8rem; color: #6b7280; }
.sj-rv-text { margin: 8px 0 0; padding: 8px 12px; border-left: 3px solid #f59e0b; background: #fffbeb;
  white-space: pre-wrap; }
.sj-rv-list { list-style: none; padding: 0; margin: 0; }
.sj-rv-item { padding: 6px 0; border-bottom: 1px solid #e5e7eb; font-size: .86rem; }
.sj-rv-item > div:first-child { color: #f59e0b; }
.sj-rv-neg { background: #fff7ed; }
.sj-rv-status { color: #6b7280; font-size: .75rem; }
.sj-rv-snippet { color: #374151; }
"""


def just_advanced(shown: dict[str, Any] | None, review_id: str | None, now: float, arm_seconds: float) -> bool:
    """True when `review_id` is the review the tab moved on to by itself less than `arm_seconds` ago (a
    decision on it then is the tail of a double-click, not a choice). `now`: `time.monotonic()`."""
    return bool(shown and review_id and shown.get("review") == review_id
                and 0 <= now - float(shown.get("at") or 0) < arm_seconds)


def _user(settings: Settings, request: gr.Request | None) -> tuple[str, int | None] | None:
    member = request_member(settings, request)
    return (member.username, member.id) if member is not None else None


def build_reviews_tab(settings: Settings, locale_state: Any = None) -> dict[str, Any]:
    """Render the tab in the current Blocks context; returns its components by name."""
    loc = settings.locale
    c: dict[str, Any] = {}
    gr.HTML("", head=f"<style>{CSS}</style>", visible="hidden")
    selected = gr.State(None)
    with gr.Row(elem_id="sj-rv-cols", equal_height=False):
        with gr.Column(scale=3, min_width=280, elem_id="sj-rv-col-queue"):
            c["queue_title"] = gr.HTML(f'<div class="sj-coltitle">{_esc(T("queue_title", loc, n=0))}</div>')
            with gr.Row():
                c["analyse"] = gr.Button(T("analyse", loc), size="sm", elem_id="sj-rv-analyse")
                c["refresh"] = gr.Button(T("refresh", loc), size="sm", elem_id="sj-rv-refresh")
            c["queue"] = gr.Radio(choices=[], value=None, show_label=False, elem_id="sj-rv-queue",
                                  elem_classes=["sj-rv-queue"])
            c["empty"] = gr.Markdown(T("queue_empty", loc), elem_id="sj-rv-empty")
        with gr.Column(scale=5, min_width=420, elem_id="sj-rv-col-review"):
            c["review_title"] = gr.HTML(f'<div class="sj-coltitle">{_esc(T("review_title", loc))}</div>')
            c["detail"] = gr.HTML(review_html(None, loc), elem_id="sj-rv-detail")
            c["draft"] = gr.Textbox(label=T("draft_label", loc), lines=8, max_lines=16, interactive=True,
                                    elem_id="sj-rv-draft")
            with gr.Row():
                c["approve"] = gr.Button(T("approve", loc), variant="primary", elem_id="sj-rv-approve")
                c["reject"] = gr.Button(T("reject", loc), variant="secondary", elem_id="sj-rv-reject")
            c["note"] = gr.HTML("", elem_id="sj-rv-note")
            c["undo"] = gr.Button(T("undo", loc), size="sm", variant="secondary", visible=False, elem_id="sj-rv-undo")
        with gr.Column(scale=3, min_width=260, elem_id="sj-rv-col-product"):
            c["product_title"] = gr.HTML(f'<div class="sj-coltitle">{_esc(T("product_title", loc))}</div>')
            c["product"] = gr.HTML("", elem_id="sj-rv-product")
    timer = gr.Timer(AUTO_TRIAGE_SECONDS)
    arm_timer = gr.Timer(settings.review_arm_seconds, active=False)  # re-arms the decision buttons after an advance
    undo_timer = gr.Timer(settings.review_undo_seconds, active=False)  # hides 게시 취소 when its window ends
    advanced = gr.State(None)  # {"review", "at"}: the review the tab moved on to after a decision, and when
    last_published = gr.State(None)  # the review 게시 취소 would take back
    # without the hub's state the tab keeps the configured locale
    loc_comp = locale_state if locale_state is not None else gr.State(loc)
    loc_in = [loc_comp]

    def lang(value: Any) -> str:
        return _locale(value, settings)

    def open_review(review_id: str | None, locale: str) -> tuple[Any, ...]:
        """detail, draft, product reviews for one review (or the empty view)."""
        item = None
        if review_id:
            try:
                item = _svc().get_review(settings, review_id)
            except Exception as exc:
                log.warning("review %s unavailable: %s", review_id, exc)
        if item is None:
            return review_html(None, locale), gr.update(value=""), ""
        others = (_svc().product_reviews(settings, item["product_id"], limit=PRODUCT_REVIEWS, exclude=item["review_id"])
                  if item["product_id"] else [])
        draft = item["draft"] if item["reply_status"] == "draft" else (item["reply"] or item["draft"] or "")
        return review_html(item, locale), gr.update(value=draft), product_html(others, item, locale)

    def view(current: str | None, locale: str, note: str = "") -> tuple[Any, ...]:
        """The whole tab: queue (keeping the current review when it is still waiting), its review, a note."""
        items = _svc().queue(settings, limit=200)
        ids = [it["review_id"] for it in items]
        pick = current if current in ids else (ids[0] if ids else None)
        title = f'<div class="sj-coltitle">{_esc(T("queue_title", locale, n=len(items)))}</div>'
        radio = gr.update(choices=queue_choices(items, locale), value=pick)
        empty = gr.update(visible=not items, value=T("queue_empty", locale))
        return (title, radio, empty, pick, *open_review(pick, locale), note)

    outputs = [c["queue_title"], c["queue"], c["empty"], selected, c["detail"], c["draft"], c["product"], c["note"]]
    decision_out = [*outputs, c["approve"], c["reject"], advanced, arm_timer, c["undo"], last_published, undo_timer]

    def on_show(current: str | None, loc_value: Any) -> tuple[Any, ...]:
        return view(current, lang(loc_value))

    def on_pick(review_id: str | None, loc_value: Any) -> tuple[Any, ...]:
        """A review the agent chose in the list: a deliberate pick, so its buttons are armed at once."""
        locale = lang(loc_value)
        return (review_id, *open_review(review_id, locale), "", *buttons(locale, True), None,
                gr.Timer(active=False))

    def note_html(kind: str, text: str) -> str:
        return f'<div class="sj-note sj-note-{kind}">{_esc(text)}</div>'

    def buttons(locale: str, armed: bool) -> tuple[Any, Any]:
        label = T("approve", locale) if armed else T("arming", locale)
        return gr.update(interactive=armed, value=label), gr.update(interactive=armed)

    def decided(view_out: tuple[Any, ...], locale: str, published: str | None) -> tuple[Any, ...]:
        """After a decision: the next review shown with its buttons disarmed for a moment (and 게시 취소
        offered after a publication)."""
        pick = view_out[3]
        undo = (gr.update(visible=True, value=T("undo", locale)), published, gr.Timer(active=True)) if published \
            else (gr.update(visible=False), None, gr.Timer(active=False))
        if pick is None:
            return (*view_out, *buttons(locale, True), None, gr.Timer(active=False), *undo)
        return (*view_out, *buttons(locale, False), {"review": pick, "at": time.monotonic()},
                gr.Timer(active=True), *undo)

    def unchanged(locale: str, note: Any) -> tuple[Any, ...]:
        return (*[gr.skip()] * (len(outputs) - 1), note, *[gr.skip()] * (len(decision_out) - len(outputs)))

    def on_approve(current: str | None, text: str, loc_value: Any, shown: dict[str, Any] | None,
                   mine: str | None, request: gr.Request) -> tuple[Any, ...]:
        locale = lang(loc_value)
        keep = (*buttons(locale, True), shown, gr.skip(), gr.skip(), gr.skip(), gr.skip())
        who = _user(settings, request)
        if who is None:
            return (*view(current, locale, note_html("warn", T("login", locale))), *keep)
        if not current:
            return (*view(current, locale), *keep)
        if just_advanced(shown, current, time.monotonic(), settings.review_arm_seconds):
            return unchanged(locale, note_html("warn", T("too_soon", locale)))
        if not (text or "").strip():
            return (*view(current, locale, note_html("warn", T("empty", locale))), *keep)
        try:
            out = _svc().approve(settings, current, text, user=who[0], user_id=who[1])
        except Exception as exc:
            return (*view(current, locale, note_html("warn", T("error", locale, error=getattr(exc, "message", None)
                                                                   or str(exc)))), *keep)
        if out.get("already_published") and current == mine:
            return unchanged(locale, gr.skip())  # the tail of a double-click on what this tab just published
        key = "already" if out.get("already_published") else "published"
        return decided(view(None, locale, note_html("ok", T(key, locale, id=current))), locale,
                       current if out.get("published_now") else None)

    def on_reject(current: str | None, loc_value: Any, shown: dict[str, Any] | None,
                  request: gr.Request) -> tuple[Any, ...]:
        locale = lang(loc_value)
        keep = (*buttons(locale, True), shown, gr.skip(), gr.skip(), gr.skip(), gr.skip())
        who = _user(settings, request)
        if who is None:
            return (*view(current, locale, note_html("warn", T("login", locale))), *keep)
        if not current:
            return (*view(current, locale), *keep)
        if just_advanced(shown, current, time.monotonic(), settings.review_arm_seconds):
            return unchanged(locale, note_html("warn", T("too_soon", locale)))
        try:
            out = _svc().reject(settings, current, user=who[0], user_id=who[1])
        except Exception as exc:
            return (*view(current, locale, note_html("warn", T("error", locale, error=getattr(exc, "message", None)
                                                                   or str(exc)))), *keep)
        if out.get("already_rejected"):
            return unchanged(locale, gr.skip())  # a repeat (double-click): nothing new to show
        return decided(view(None, locale, note_html("ok", T("rejected", locale, id=current))), locale, None)

    def on_undo(target: str | None, loc_value: Any, request: gr.Request) -> tuple[Any, ...]:
        """Take the last publication back: its review is shown again, as a draft, armed (the agent asked
        for it)."""
        locale = lang(loc_value)
        who = _user(settings, request)
        hidden = (gr.update(visible=False), None, gr.Timer(active=False))
        if who is None or not target:
            return (*view(target, locale, note_html("warn", T("login", locale)) if who is None else ""),
                    *buttons(locale, True), None, gr.Timer(active=False), *hidden)
        try:
            _svc().undo_publish(settings, target, user=who[0], user_id=who[1])
        except Exception as exc:
            return (*view(None, locale, note_html("warn", T("error", locale, error=getattr(exc, "message", None)
                                                              or str(exc)))),
                    *buttons(locale, True), None, gr.Timer(active=False), *hidden)
        return (*view(target, locale, note_html("ok", T("undone", locale, id=target))),
                *buttons(locale, True), None, gr.Timer(active=False), *hidden)

    def on_arm(loc_value: Any) -> tuple[Any, ...]:
        return (*buttons(lang(loc_value), True), gr.Timer(active=False))

    def on_undo_expired() -> tuple[Any, ...]:
        return gr.update(visible=False), None, gr.Timer(active=False)

    def run_backlog(limit: int) -> tuple[int, int]:
        if not _auto_lock.acquire(blocking=False):
            return 0, 0
        try:
            items = list(_svc().process_backlog(settings, limit=limit))
        finally:
            _auto_lock.release()
        return len(items), sum(1 for i in items if i["negative"])

    def on_analyse(current: str | None, loc_value: Any) -> tuple[Any, ...]:
        locale = lang(loc_value)
        try:
            n, neg = run_backlog(BACKLOG_LIMIT)
        except Exception as exc:
            return view(current, locale, note_html("warn", T("error", locale, error=str(exc))))
        return view(current, locale, note_html("info", T("analysed", locale, n=n, neg=neg)))

    def on_tick(current: str | None, loc_value: Any) -> tuple[Any, ...]:
        """Analyse a few never-analysed reviews; refresh only the queue list when new drafts appeared."""
        locale = lang(loc_value)
        try:
            _, neg = run_backlog(AUTO_TRIAGE_BATCH)
        except Exception as exc:  # the DB may be busy; the next tick retries
            log.warning("review auto-triage failed: %s", exc)
            neg = 0
        if not neg:
            return (gr.skip(), gr.skip(), gr.skip())
        items = _svc().queue(settings, limit=200)
        title = f'<div class="sj-coltitle">{_esc(T("queue_title", locale, n=len(items)))}</div>'
        ids = [it["review_id"] for it in items]
        return (title, gr.update(choices=queue_choices(items, locale), value=current if current in ids else None),
                gr.update(visible=not items))

    def relabel(loc_value: Any) -> tuple[Any, ...]:
        locale = lang(loc_value)
        return (gr.update(value=T("analyse", locale)), gr.update(value=T("refresh", locale)),
                f'<div class="sj-coltitle">{_esc(T("review_title", locale))}</div>',
                gr.update(label=T("draft_label", locale)), gr.update(value=T("approve", locale)),
                gr.update(value=T("reject", locale)),
                f'<div class="sj-coltitle">{_esc(T("product_title", locale))}</div>', gr.update(value=T("undo", locale)))

    labels = [c["analyse"], c["refresh"], c["review_title"], c["draft"], c["approve"], c["reject"], c["product_title"],
              c["undo"]]
    root = gr.context.Context.root_block
    if root is not None:
        root.load(on_show, [selected, *loc_in], outputs, show_progress="hidden")
    c["refresh"].click(on_show, [selected, *loc_in], outputs, show_progress="hidden")
    c["analyse"].click(on_analyse, [selected, *loc_in], outputs)
    c["queue"].input(on_pick, [c["queue"], *loc_in], [selected, c["detail"], c["draft"], c["product"], c["note"],
                                                      c["approve"], c["reject"], advanced, arm_timer],
                     show_progress="hidden")
    c["approve"].click(on_approve, [selected, c["draft"], *loc_in, advanced, last_published], decision_out,
                       concurrency_limit=1)
    c["reject"].click(on_reject, [selected, *loc_in, advanced], decision_out, concurrency_limit=1)
    c["undo"].click(on_undo, [last_published, *loc_in], decision_out, concurrency_limit=1)
    arm_timer.tick(on_arm, loc_in, [c["approve"], c["reject"], arm_timer], show_progress="hidden")
    undo_timer.tick(on_undo_expired, None, [c["undo"], last_published, undo_timer], show_progress="hidden")
    timer.tick(on_tick, [selected, *loc_in], [c["queue_title"], c["queue"], c["empty"]], show_progress="hidden",
               trigger_mode="always_last")
    if locale_state is not None:
        locale_state.change(on_show, [selected, locale_state], outputs, show_progress="hidden").then(
            relabel, [locale_state], labels, show_progress="hidden")
    c["selected"], c["timer"], c["arm_timer"], c["undo_timer"] = selected, timer, arm_timer, undo_timer
    return c
