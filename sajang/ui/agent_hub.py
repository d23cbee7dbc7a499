"""The agent hub (`/agent`): where CS agents work the handoff queue, answer with AI help and teach the bot.

Layout: a top bar (brand, the logged-in agent, language) and three tabs — 문의 (queue · conversation ·
customer profile), 리뷰 (the review engineer's tab) and 학습된 답변. The queue is one `gr.HTML`
refreshed by a `gr.Timer`; only the queue (and, when something changed, the open conversation) is
updated on a tick, so whatever the agent is typing stays put.

Every operation goes through the service API: conversations, the queue, replies, 👎 and recommended
articles through `sajang.services.inquiry`, customers through `sajang.services.customers`, staff through
`sajang.services.accounts`, images through `sajang.services.attachments`. The hub restates none of their
rules (which bot answers a 👎 may correct and which it picks by default, claim-then-reply, the "mine"
tab …) and never touches the database.
Handlers identify the agent by `request.username` (set by the web app's login).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import gradio as gr

from sajang.config import Settings
from sajang.errors import Conflict, SajangError
from sajang.services import qna
from sajang.services.accounts import StaffMember, remember_locale, staff_names
from sajang.services.attachments import get_attachment, save_attachment
from sajang.services.canned_replies import render_reply
from sajang.services.customers import customer_names, customer_profile, segment_label
from sajang.services.inquiry import (
    ConversationView,
    Inquiries,
    answer_gist,
    correctable_answers,
    feedback_target,
    inquiries,
    question_lines,
)
from sajang.ui.agent_canned import build_canned_tab, canned_choices
from sajang.ui.agent_learned import build_learned_tab
from sajang.ui.agent_render import (
    chat_messages,
    customer_display,
    esc,
    first_line,
    get,
    pending_of,
    queue_sort_key,
    render_articles,
    render_header,
    render_profile,
    render_queue,
    smart_time,
)
from sajang.ui.agent_strings import T
from sajang.ui.i18n import LOCALE_LABELS, LOCALES
from sajang.ui.literal import literal
from sajang.ui.qna_tab import build_qna_tab
from sajang.ui.reviews_tab import build_reviews_tab
from sajang.ui.staff import request_member

log = logging.getLogger(__name__)

CSS_PATH = Path(__file__).with_name("agent_hub.css")
QUEUE_REFRESH_SECONDS = 3.0  # new handoffs show up within this many seconds
DONE_TAB_LIMIT = 50  # the resolved tab shows the latest N
NOTE_SECONDS = 60.0  # an action's notice survives timer redraws this long
DONE_CACHE_SECONDS = 20.0  # the resolved list is re-read at most this often (it only grows)
ARTICLE_COUNT = 3  # recommended manual articles per inquiry
CONCURRENCY = 8  # handlers of different agents run side by side
CANNED_NONE = 0  # the canned-reply picker's first entry: nothing picked
FB_SNIPPET_CHARS = 48  # the 👎 answer picker shows each answer's first words

QUEUE_JS = """
// a product question (data-qna) opens in the 상품 Q&A tab: pick it there (a refresh if it came after the load)
const openQna = (id) => {
  document.querySelector('#sj-tab-qna-button')?.click();
  let tries = 0;
  const choose = () => {
    const input = [...document.querySelectorAll('#sj-qa-queue input[type=radio]')].find((i) => i.value === id);
    if (input) { if (!input.checked) input.click(); return; }
    if (++tries === 5) document.querySelector('#sj-qa-refresh')?.click();
    if (tries < 150) setTimeout(choose, 100);
  };
  choose();
};
const pick = (e) => {
  const tab = e.target.closest('[data-tab]');
  if (tab) { trigger('click', {tab: tab.dataset.tab}); return; }
  const qa = e.target.closest('[data-qna]');
  if (qa) { openQna(qa.dataset.qna); return; }
  const item = e.target.closest('[data-thread]');
  if (item) { trigger('click', {thread: item.dataset.thread}); }
};
element.addEventListener('click', pick);
element.addEventListener('keydown', (e) => { if (e.key === 'Enter') pick(e); });
// a new urgent inquiry in the timer's redraw: a short beep (WebAudio) and, when allowed, a desktop notification
let seen = null;
const alertUrgent = (q, fresh) => {
  window.sjUrgentAlerts = (window.sjUrgentAlerts || 0) + 1;
  window.sjLastUrgent = fresh;
  try {
    const ctx = window.sjAudio || (window.sjAudio = new (window.AudioContext || window.webkitAudioContext)());
    const osc = ctx.createOscillator(), gain = ctx.createGain(), t = ctx.currentTime;
    osc.frequency.setValueAtTime(880, t); osc.frequency.setValueAtTime(660, t + 0.15);
    gain.gain.setValueAtTime(0.0001, t); gain.gain.exponentialRampToValueAtTime(0.2, t + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.35);
    osc.connect(gain).connect(ctx.destination); osc.start(t); osc.stop(t + 0.4);
    window.sjBeeps = (window.sjBeeps || 0) + 1;
  } catch (err) { /* no audio device: the notification still goes */ }
  if ('Notification' in window && Notification.permission === 'granted') {
    try {
      new Notification(q.dataset.alertTitle || '', {body: q.dataset.alertBody || '', tag: 'sj-' + fresh[0]});
      window.sjNotified = (window.sjNotified || 0) + 1;
    } catch (err) { /* some browsers only notify from a service worker */ }
  }
};
const checkUrgent = () => {
  const q = element.querySelector('.sj-queue[data-urgent]');
  if (!q) return;
  const ids = q.dataset.urgent.split(' ').filter(Boolean);
  if (seen === null) { seen = new Set(ids); return; }  // what was waiting at page load is no news
  const fresh = ids.filter((t) => !seen.has(t));
  ids.forEach((t) => seen.add(t));
  if (fresh.length) alertUrgent(q, fresh);
};
new MutationObserver(checkUrgent).observe(element, {childList: true, subtree: true});
checkUrgent();
"""

# the notification button: asks the browser's permission, and unlocks the page's audio (a user gesture)
NOTIFY_JS = """
() => {
  try { window.sjAudio = window.sjAudio || new (window.AudioContext || window.webkitAudioContext)(); window.sjAudio.resume(); }
  catch (err) { /* no audio */ }
  if ('Notification' in window) {
    Notification.requestPermission().then((p) => { window.sjNotifyPermission = p; });
  }
}
"""


# --- services -------------------------------------------------------------------------------------


def _api(settings: Settings) -> Inquiries:
    return inquiries(settings)


def _error_text(exc: BaseException) -> str:
    return getattr(exc, "message", None) or str(exc) or type(exc).__name__


def _me(settings: Settings, request: gr.Request | None) -> StaffMember | None:
    return request_member(settings, request)


def _member(me: dict[str, Any]) -> StaffMember:
    """The agent kept in the page's state, as the services take them."""
    return StaffMember.from_state(me)


def _loc(me: dict[str, Any] | None, settings: Settings) -> str:
    return (me or {}).get("locale") or settings.locale


def article_lines(conv: dict[str, Any]) -> list[str]:
    """The customer's lines that carry the question (the service's rule: not a bare "a person, please")."""
    return [str(get(m, "text", default="")).strip() for m in question_lines(list(conv.get("messages") or []))]


# --- the hub -------------------------------------------------------------------------------------


class AgentHub:
    """Handlers of one hub instance (one per mounted Blocks); state lives in `gr.State` per browser tab."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._done_cache: tuple[float, list[dict[str, Any]]] | None = None
        self._notes: dict[tuple[Any, str | None], tuple[str, str, float]] = {}

    # ---- data --------------------------------------------------------------------------------------
    def user_names(self) -> dict[int, str]:
        return staff_names(self.settings)

    def resolved_items(self, fresh: bool = False) -> list[dict[str, Any]]:
        """Resolved inquiries, re-read at most every DONE_CACHE_SECONDS: the list only grows, and every
        agent's timer would otherwise fetch all of it every few seconds."""
        now = time.monotonic()
        with self._lock:
            cached = self._done_cache
        if cached is not None and not fresh and now - cached[0] < DONE_CACHE_SECONDS:
            return cached[1]
        items = [i.as_dict() for i in _api(self.settings).queue("resolved")]
        with self._lock:
            self._done_cache = (now, items)
        return items

    def queue_tabs(self, me: dict[str, Any] | None, fresh: bool = False, q: str = ""
                   ) -> tuple[dict[str, list[dict[str, Any]]], dict[str, str], str | None]:
        """Items per tab (the service's `new` and `mine` queues, the resolved ones; with a search `q`,
        only the matching ones), customer display names, and an error text when the service is
        unavailable. `tabs["urgent"]`: the urgent inquiries waiting for a person, whatever the search."""
        tabs: dict[str, list[dict[str, Any]]] = {"new": [], "mine": [], "done": [], "urgent": []}
        q = " ".join((q or "").split())
        try:
            api = _api(self.settings)
            waiting = [i.as_dict() for i in api.queue("new")]
            tabs["urgent"] = [i for i in waiting if get(i, "urgency") == "urgent"]
            tabs["new"] = [i.as_dict() for i in api.queue("new", q=q)] if q else waiting
            if me and me.get("id") is not None:
                tabs["mine"] = [i.as_dict() for i in api.queue("mine", _member(me), q=q or None)]
            tabs["done"] = ([i.as_dict() for i in api.queue("resolved", q=q)] if q
                            else [dict(i) for i in self.resolved_items(fresh)])
            questions = qna.hub_items(self.settings)  # product questions, with their «상품 Q&A» badge
            if q:
                questions = [i for i in questions
                             if q.lower() in f"{i.get('subject') or ''} {i.get('customer_name') or ''}".lower()]
            tabs["new"] += questions
        except Exception as exc:  # the database may be down: the queue says so, the page stays up
            log.warning("queue unavailable: %s", exc)
            return {"new": [], "mine": [], "done": [], "urgent": []}, {}, _error_text(exc)
        items = [i for tab in tabs.values() for i in tab]
        if any(get(i, "assignee_id") is not None and not get(i, "assignee_name") for i in items):
            users = self.user_names()
            for item in items:
                if get(item, "assignee_id") is not None and not get(item, "assignee_name"):
                    item["assignee_name"] = users.get(int(item["assignee_id"]), "")
        tabs["new"].sort(key=queue_sort_key)
        tabs["mine"].sort(key=queue_sort_key)
        tabs["done"].sort(key=lambda i: str(get(i, "resolved_at", "updated_at", default="")), reverse=True)
        tabs["done"] = tabs["done"][:DONE_TAB_LIMIT]
        ids = [get(i, "customer_id") for tab in tabs.values() for i in tab if not get(i, "customer_name")]
        names = customer_names(self.settings, [i for i in ids if i])
        return tabs, names, None

    def queue_html(self, me: dict[str, Any] | None, qtab: str, thread: str | None, fresh: bool = False,
                   q: str = "") -> str:
        tabs, names, error = self.queue_tabs(me, fresh, q)
        urgent = tabs.pop("urgent", [])
        return render_queue(tabs, qtab or "new", thread, names, _loc(me, self.settings), datetime.now(UTC), error,
                            query=q, urgent=[str(get(i, "thread_id")) for i in urgent])

    def conversation(self, thread: str) -> dict[str, Any]:
        return _api(self.settings).conversation(thread).as_dict()

    @staticmethod
    def signature(conv: dict[str, Any]) -> str:
        msgs = conv.get("messages") or []
        last = msgs[-1] if msgs else {}
        return f"{len(msgs)}|{get(conv, 'status')}|{get(conv, 'assignee_id')}|{get(last, 'id', 'time', 'created_at')}"

    def customer_label(self, conv: dict[str, Any], locale: str) -> str:
        cid = get(conv, "customer_id") or get(pending_of(conv), "customer_id")
        names = customer_names(self.settings, [cid]) if cid else {}
        return customer_display({**conv, "customer_id": cid}, names, locale)

    def attachment_url(self, att: dict[str, Any]) -> str | None:
        """Where the hub shows one attachment of `get_conversation`: the staff-only attachment route (the
        session cookie authenticates the browser), None if it is gone."""
        if not isinstance(att.get("id"), int):
            return None
        try:
            get_attachment(self.settings, int(att["id"]))
        except SajangError:
            return None
        return f"/api/v1/attachments/{int(att['id'])}"

    def suggestion(self, conv: dict[str, Any]) -> str:
        pending = pending_of(conv)
        return str(get(pending, "ai_draft", "draft", default="") or get(conv, "ai_draft", default="") or "")

    def profile_html(self, conv: dict[str, Any] | None, locale: str) -> str:
        now = datetime.now(UTC)
        if not conv:
            return render_profile(None, "", locale, now)
        pending = pending_of(conv)
        cid = get(conv, "customer_id") or get(pending, "customer_id")
        if not cid:
            return render_profile(None, "", locale, now, guest_name=get(conv, "guest_name", default=""))
        profile = customer_profile(self.settings, str(cid))
        if profile is None:
            return render_profile(None, "", locale, now, customer_id=str(cid))
        return render_profile(profile, self.segment_text(profile.segment, locale), locale, now)

    @staticmethod
    def segment_text(segment: str | None, locale: str) -> str:
        return segment_label(segment, locale) if segment else T("no_segment", locale)

    def articles_html(self, conv: dict[str, Any] | None, locale: str) -> str:
        if not conv:
            return ""
        try:
            hits = _api(self.settings).recommended_articles(ConversationView.of(conv), k=ARTICLE_COUNT)
        except Exception as exc:  # the index may be rebuilding: the column says so
            log.warning("article search failed: %s", exc)
            return render_articles([], locale, error=_error_text(exc))
        return render_articles(hits, locale)

    # ---- views -------------------------------------------------------------------------------------
    def note_for(self, me: dict[str, Any] | None, thread: str | None, note: str, kind: str,
                 keep: bool) -> tuple[str, str]:
        """The notice under the header. A timer tick that was already running when the agent acted
        would otherwise draw the header without the action's notice ("you took it", "sent"): the last
        notice per agent and conversation is kept server-side for NOTE_SECONDS and redrawn by ticks."""
        key = ((me or {}).get("id"), thread)
        now = time.monotonic()
        with self._lock:
            if note:
                self._notes = {k: v for k, v in self._notes.items() if now - v[2] < NOTE_SECONDS}
                self._notes[key] = (note, kind, now)
            elif keep:
                stored = self._notes.get(key)
                if stored and now - stored[2] < NOTE_SECONDS:
                    note, kind = stored[0], stored[1]
            else:
                self._notes.pop(key, None)
        return note, kind

    def open_view(self, me: dict[str, Any] | None, qtab: str, thread: str | None, note: str = "",
                  note_kind: str = "info", side: bool = True, keep_note: bool = False, q: str = "") -> dict[Any, Any]:
        """Everything that changes when a conversation is (re)opened; `side` = profile + articles too."""
        c = self.c
        locale = _loc(me, self.settings)
        now = datetime.now(UTC)
        note, note_kind = self.note_for(me, thread, note, note_kind, keep_note)
        out: dict[Any, Any] = {c["queue"]: self.queue_html(me, qtab, thread, q=q), c["thread"]: thread}
        conv: dict[str, Any] | None = None
        if thread:
            try:
                conv = self.conversation(thread)
            except Exception as exc:
                note, note_kind = T("error", locale, error=_error_text(exc)), "warn"
        if conv is None:
            out.update({
                c["header"]: render_header(None, "", locale, now, note, note_kind),
                c["chat"]: [], c["suggest"]: "", c["sig"]: "",
                c["claim"]: gr.update(visible=False), c["composer"]: gr.update(visible=False),
            })
            if side:
                out[c["profile"]] = render_profile(None, "", locale, now)
                out[c["articles"]] = ""
            return out
        status = str(get(conv, "status", default="new"))
        assignee = get(conv, "assignee_id")
        mine = assignee is not None and me is not None and int(assignee) == int(me.get("id") or -1)
        if not note:
            if status == "resolved":
                note = T("resolved_note", locale)
            elif status == "assigned" and not mine:
                note = T("claimed_by_other", locale, name=self.user_names().get(int(assignee), "") if assignee else "")
        out.update({
            c["header"]: render_header(conv, self.customer_label(conv, locale), locale, now, note, note_kind),
            c["chat"]: chat_messages(conv.get("messages") or [], locale, now, self.attachment_url),
            c["suggest"]: self.suggestion(conv),
            c["sig"]: self.signature(conv),
            c["claim"]: gr.update(visible=status == "new"),
            c["composer"]: gr.update(visible=status == "new" or (status == "assigned" and mine)),
        })
        if side:
            out[c["profile"]] = self.profile_html(conv, locale)
            out[c["articles"]] = self.articles_html(conv, locale)
        return out

    # ---- handlers ----------------------------------------------------------------------------------
    def on_load(self, request: gr.Request) -> dict[Any, Any]:
        c = self.c
        me = _me(self.settings, request)
        state = me.as_state() if me else None
        locale = _loc(state, self.settings)
        out = self.open_view(state, "new", None)
        out.update(self.relabel(locale))
        out[c["me"]] = state
        out[c["user"]] = self.user_html(state, locale)
        out[c["lang"]] = gr.update(value=locale)
        return out

    def user_html(self, me: dict[str, Any] | None, locale: str) -> str:
        if not me:
            return f'<span class="sj-me">{T("not_logged_in", locale)}</span>'
        role = T("role_admin" if me["role"] == "admin" else "role_agent", locale)
        return (f'<span class="sj-me">{esc(me["name"])}</span><span class="sj-role">({esc(role)})</span>'
                f'<a href="/logout">{esc(T("logout", locale))}</a>')

    def on_tick(self, me: dict[str, Any] | None, qtab: str, thread: str | None, q: str, sig: str) -> dict[Any, Any]:
        """Timer: the queue always; the open conversation only when it changed (typing is untouched)."""
        c = self.c
        out: dict[Any, Any] = {c["queue"]: self.queue_html(me, qtab, thread, q=q)}
        if thread:
            try:
                conv = self.conversation(thread)
            except Exception:
                return out
            if self.signature(conv) != sig:
                view = self.open_view(me, qtab, thread, side=False, keep_note=True, q=q)
                view.pop(c["queue"], None)
                out.update(view)
        return out

    def on_search(self, me: dict[str, Any] | None, qtab: str, thread: str | None, q: str) -> str:
        return self.queue_html(me, qtab, thread, fresh=True, q=q)

    def on_canned(self, me: dict[str, Any] | None, thread: str | None, reply_id: int | None,
                  current: str) -> dict[Any, Any]:
        """A canned reply picked: filled in for the open conversation and put into the reply box (after
        what is already typed), never sent; the picker goes back to empty."""
        c = self.c
        locale = _loc(me, self.settings)
        out: dict[Any, Any] = {c["canned"]: gr.update(value=CANNED_NONE)}
        if not reply_id:
            return out
        if not thread:
            out[c["canned_note"]] = T("no_thread", locale)
            return out
        try:
            filled = render_reply(self.settings, int(reply_id), thread, _member(me) if me else None)
        except Exception as exc:
            out[c["canned_note"]] = T("error", locale, error=_error_text(exc))
            return out
        typed = (current or "").rstrip()
        out[c["input"]] = f"{typed}\n\n{filled.text}" if typed else filled.text
        notes = [T("canned_inserted", locale, title=filled.title)]
        if filled.missing:
            notes.append(T("canned_missing", locale, names=", ".join(filled.missing)))
        if filled.unknown:
            notes.append(T("canned_unknown", locale, names=", ".join("{" + u + "}" for u in filled.unknown)))
        out[c["canned_note"]] = " ".join(notes)
        return out

    def canned_menu(self, locale: str) -> list[tuple[str, int]]:
        """The picker's entries: a first one that names it (Gradio's dropdown has no placeholder), then the replies."""
        return [(T("canned_pick_one", locale), CANNED_NONE), *canned_choices(self.settings)]

    def on_canned_focus(self, me: dict[str, Any] | None) -> Any:
        return gr.update(choices=self.canned_menu(_loc(me, self.settings)))

    def on_queue_click(self, me: dict[str, Any] | None, qtab: str, thread: str | None, q: str,
                       evt: gr.EventData) -> dict[Any, Any]:
        c = self.c
        data = evt._data or {}
        if data.get("tab"):
            qtab = str(data["tab"])
            return {c["qtab"]: qtab, c["queue"]: self.queue_html(me, qtab, thread, q=q)}
        if data.get("thread"):
            out = self.open_view(me, qtab, str(data["thread"]), q=q)
            out[c["fb_box"]] = gr.update(visible=False)
            out[c["fb_note"]] = ""
            return out
        return {}

    def on_learned_source(self, me: dict[str, Any] | None, qtab: str, thread: str | None, q: str,
                          evt: gr.EventData) -> Any:
        """A learned answer's source conversation, opened in the 문의 tab."""
        source = (evt._data or {}).get("thread")
        if not source:
            return gr.skip()
        out = self.open_view(me, qtab, str(source), q=q)
        out[self.c["nav"]] = gr.Tabs(selected="inquiries")
        return out

    def claim_or_note(self, me: dict[str, Any], thread: str, locale: str) -> tuple[bool, str]:
        """Atomic claim through the service: exactly one of two agents wins; the loser is told who did."""
        if _api(self.settings).claim(thread, _member(me)):
            return True, T("claim_won", locale)
        return False, self.claim_lost_note(thread, locale)

    def claim_lost_note(self, thread: str, locale: str) -> str:
        """"Another agent (name) already took it"."""
        who = ""
        try:
            assignee = get(self.conversation(thread), "assignee_id")
            if assignee is not None:
                name = self.user_names().get(int(assignee))
                who = f"({name})" if name else ""
        except Exception:  # the name is a courtesy: the notice goes out without it
            pass
        return T("claim_lost", locale, who=who)

    def refused(self, me: dict[str, Any] | None, qtab: str, thread: str | None, locale: str, exc: Conflict,
                lost_race: bool, q: str = "") -> dict[Any, Any]:
        """A reply the service refused: another agent took the inquiry a moment before (told who), or
        it was already someone else's (the service's reason)."""
        if lost_race and thread:
            note = self.claim_lost_note(thread, locale)
            gr.Warning(note)
        else:
            note = T("error", locale, error=_error_text(exc))
        return self.open_view(me, qtab, thread, note, "warn", side=False, q=q)

    def on_claim(self, me: dict[str, Any] | None, qtab: str, thread: str | None, q: str) -> dict[Any, Any]:
        locale = _loc(me, self.settings)
        if not me or not thread:
            return self.open_view(me, qtab, thread, T("no_thread", locale), "warn", side=False, q=q)
        try:
            won, note = self.claim_or_note(me, thread, locale)
        except Exception as exc:
            return self.open_view(me, qtab, thread, T("error", locale, error=_error_text(exc)), "warn", side=False, q=q)
        if not won:
            gr.Warning(note)
        return self.open_view(me, "mine" if won else qtab, thread, note, "ok" if won else "warn", side=False, q=q) | (
            {self.c["qtab"]: "mine"} if won else {})

    def on_send(self, me: dict[str, Any] | None, qtab: str, thread: str | None, q: str, text: str) -> dict[Any, Any]:
        c = self.c
        locale = _loc(me, self.settings)
        text = (text or "").strip()
        if not me or not thread:
            return self.open_view(me, qtab, thread, T("no_thread", locale), "warn", side=False, q=q)
        if not text:
            return self.open_view(me, qtab, thread, T("empty_reply", locale), "warn", side=False, q=q)
        was_new = False
        try:
            was_new = get(self.conversation(thread), "status") == "new"
            # the service takes an inquiry still in the queue before replying (one of two agents wins)
            if _api(self.settings).reply(thread, text, _member(me)).status == "assigned":
                qtab = "mine"
        except Conflict as exc:
            return self.refused(me, qtab, thread, locale, exc, lost_race=was_new, q=q)
        except Exception as exc:
            return self.open_view(me, qtab, thread, T("error", locale, error=_error_text(exc)), "warn", side=False, q=q)
        out = self.open_view(me, qtab, thread, T("sent", locale), "ok", side=False, q=q)
        out[c["input"]] = ""
        out[c["qtab"]] = qtab
        return out

    def on_attach(self, me: dict[str, Any] | None, qtab: str, thread: str | None, q: str, file: Any,
                  caption: str) -> dict[Any, Any]:
        """📎: the image is checked and stored like a customer's, then sent with the typed text (or a
        short caption) as one agent message the customer sees in their chat."""
        c = self.c
        locale = _loc(me, self.settings)
        path = Path(str(file if isinstance(file, str) else getattr(file, "name", "") or ""))
        was_new = False
        try:
            if not me or not thread:
                return self.open_view(me, qtab, thread, T("no_thread", locale), "warn", side=False, q=q)
            if not path.is_file():
                return self.open_view(me, qtab, thread, T("error", locale, error="no file"), "warn", side=False, q=q)
            was_new = get(self.conversation(thread), "status") == "new"
            data = path.read_bytes()[: self.settings.max_attachment_bytes + 1]
            stored = save_attachment(self.settings, thread, path.name, data, "agent")
            text = (caption or "").strip() or T("file_caption", locale, name=stored.filename)
            if _api(self.settings).reply(thread, text, _member(me), attachment_ids=[stored.id]).status == "assigned":
                qtab = "mine"
        except Conflict as exc:
            return self.refused(me, qtab, thread, locale, exc, lost_race=was_new, q=q)
        except Exception as exc:
            return self.open_view(me, qtab, thread, T("error", locale, error=_error_text(exc)), "warn", side=False, q=q)
        finally:
            # Gradio keeps uploads in its cache; the stored copy is the only one we keep
            with contextlib.suppress(OSError):
                if path.is_file():
                    os.unlink(path)
        out = self.open_view(me, qtab, thread, T("sent_file", locale, name=path.name), "ok", side=False, q=q)
        out[c["input"]] = ""
        out[c["qtab"]] = qtab
        return out

    def on_resolve(self, me: dict[str, Any] | None, qtab: str, thread: str | None, q: str) -> dict[Any, Any]:
        locale = _loc(me, self.settings)
        if not me or not thread:
            return self.open_view(me, qtab, thread, T("no_thread", locale), "warn", side=False, q=q)
        try:
            _api(self.settings).resolve(thread, _member(me))
            self.resolved_items(fresh=True)
        except Exception as exc:
            return self.open_view(me, qtab, thread, T("error", locale, error=_error_text(exc)), "warn", side=False, q=q)
        return self.open_view(me, qtab, thread, T("resolved", locale), "ok", side=False, q=q)

    def on_regen(self, me: dict[str, Any] | None, thread: str | None) -> Any:
        if not thread:
            return gr.skip()
        try:
            return _api(self.settings).suggest(thread).draft
        except Exception as exc:
            gr.Warning(T("error", _loc(me, self.settings), error=_error_text(exc)))
            return gr.skip()

    def answer_choices(self, thread: str) -> tuple[list[tuple[str, int]], int | None]:
        """The bot's answers a 👎 may correct, newest first («14:03 · 첫 마디…»), and the service's default
        pick (`feedback_target`)."""
        messages = self.conversation(thread).get("messages") or []
        now = datetime.now(UTC)
        choices = [(f"{smart_time(get(m, 'created_at', 'time'), now)} · "
                    f"{first_line(answer_gist(m.get('text') or ''), FB_SNIPPET_CHARS)}", int(m["id"]))
                   for m in correctable_answers(messages)]
        return choices, feedback_target(messages)

    def on_fb_open(self, me: dict[str, Any] | None, thread: str | None) -> dict[Any, Any]:
        """👎 opens the box with the answer picker filled for the open conversation."""
        c = self.c
        locale = _loc(me, self.settings)
        if not thread:
            return {c["fb_box"]: gr.update(visible=False), c["fb_note"]: T("no_thread", locale)}
        try:
            choices, default = self.answer_choices(thread)
        except Exception as exc:
            return {c["fb_box"]: gr.update(visible=False), c["fb_note"]: T("error", locale, error=_error_text(exc))}
        return {c["fb_box"]: gr.update(visible=True), c["fb_note"]: "" if choices else T("fb_no_answer", locale),
                c["fb_target"]: gr.update(choices=choices, value=default if choices else None,
                                          visible=bool(choices))}

    def on_feedback(self, me: dict[str, Any] | None, thread: str | None, correct: str,
                    target: int | None = None) -> dict[Any, Any]:
        c = self.c
        locale = _loc(me, self.settings)
        correct = (correct or "").strip()
        if not me or not thread:
            return {c["fb_note"]: T("no_thread", locale)}
        if not correct:
            return {c["fb_note"]: T("fb_empty", locale)}
        try:
            # the answer the agent picked (None: the service's pick); the question is the service's rule
            message_id = int(target) if target is not None else None
            result = _api(self.settings).feedback(thread, correct, _member(me), message_id=message_id)
        except Exception as exc:
            return {c["fb_note"]: T("error", locale, error=_error_text(exc))}
        note = T("fb_learned", locale, id=result.learned_id, question=literal(result.question),
                 answer=literal(result.answer))
        return {c["fb_note"]: note, c["fb_text"]: "", c["fb_box"]: gr.update(visible=False),
                c["learned_refresh"]: result.learned_id}

    def relabel(self, locale: str) -> dict[Any, Any]:
        """Static labels in the chosen language."""
        c = self.c
        return {
            c["tab_inq"]: gr.update(label=T("nav_inquiries", locale)),
            c["tab_rev"]: gr.update(label=T("nav_reviews", locale)),
            c["tab_qna"]: gr.update(label=T("nav_qna", locale)),
            c["tab_learned"]: gr.update(label=T("nav_learned", locale)),
            c["brand"]: f'<div id="sj-brand">{T("brand", locale)}</div>',
            c["t_queue"]: f'<div class="sj-coltitle">{T("queue_title", locale)}</div>',
            c["t_conv"]: f'<div class="sj-coltitle">{T("conv_title", locale)}</div>',
            c["t_profile"]: f'<div class="sj-coltitle">{T("profile_title", locale)}</div>',
            c["suggest"]: gr.update(label=T("suggest_label", locale), placeholder=T("suggest_none", locale)),
            c["use_ai"]: gr.update(value=T("use_ai", locale)),
            c["regen"]: gr.update(value=T("regen", locale)),
            c["fb_btn"]: gr.update(value=T("feedback", locale)),
            c["attach"]: gr.update(label=T("attach", locale)),
            c["canned"]: gr.update(label=T("canned", locale), choices=self.canned_menu(locale), value=CANNED_NONE),
            c["search"]: gr.update(label=T("search_label", locale), placeholder=T("search_ph", locale)),
            c["notify"]: gr.update(value=T("notify_on", locale)),
            c["tab_canned"]: gr.update(label=T("nav_canned", locale)),
            c["input"]: gr.update(label=T("input_label", locale), placeholder=T("input_ph", locale)),
            c["send"]: gr.update(value=T("send", locale)),
            c["resolve"]: gr.update(value=T("resolve", locale)),
            c["claim"]: gr.update(value=T("claim", locale)),
            c["fb_text"]: gr.update(label=T("fb_answer", locale)),
            c["fb_target"]: gr.update(label=T("fb_target", locale), info=T("fb_target_info", locale)),
            c["fb_help"]: f'**{T("fb_title", locale)}** — {T("fb_help", locale)}',
            c["fb_submit"]: gr.update(value=T("fb_submit", locale)),
            c["fb_cancel"]: gr.update(value=T("fb_cancel", locale)),
        }

    def on_lang(self, me: dict[str, Any] | None, qtab: str, thread: str | None, q: str, locale: str) -> dict[Any, Any]:
        c = self.c
        if locale not in LOCALES:
            return gr.skip()
        if me and me.get("id") is not None and me.get("locale") != locale:
            # remembered on the account: the next login opens in the same language
            remember_locale(self.settings, int(me["id"]), locale, actor=str(me["username"]))
        me = {**(me or {}), "locale": locale} if me else None
        out = self.open_view(me, qtab, thread, keep_note=True, q=q)
        out.update(self.relabel(locale))
        out[c["me"]] = me
        out[c["user"]] = self.user_html(me, locale)
        return out

    # ---- layout ------------------------------------------------------------------------------------
    def build(self) -> gr.Blocks:
        s = self.settings
        loc = s.locale
        c: dict[str, Any] = {}
        self.c = c
        css = CSS_PATH.read_text(encoding="utf-8")
        with gr.Blocks(title=T("page_title", loc), fill_width=True) as demo:
            # the stylesheet travels with the Blocks: mount_gradio_app ignores Blocks-level css
            gr.HTML("", head=f"<style>{css}</style>", visible="hidden")
            c["me"] = gr.State(None)
            c["qtab"] = gr.State("new")
            c["thread"] = gr.State(None)
            c["sig"] = gr.State("")
            c["learned_refresh"] = gr.State("")
            with gr.Column(elem_id="sj-hub"):
                with gr.Row(elem_id="sj-topbar"):
                    c["brand"] = gr.HTML(f'<div id="sj-brand">{T("brand", loc)}</div>', scale=3)
                    c["user"] = gr.HTML("", elem_id="sj-user", scale=2)
                    c["lang"] = gr.Dropdown([(LOCALE_LABELS[x], x) for x in LOCALES], value=loc, show_label=False,
                                            elem_id="sj-lang", scale=0, min_width=120, container=False)
                with gr.Tabs(elem_id="sj-nav") as nav:
                    with gr.Tab(T("nav_inquiries", loc), id="inquiries", elem_id="sj-tab-inquiries") as tab_inq:
                        self._inquiries(c, loc)
                    with gr.Tab(T("nav_reviews", loc), id="reviews", elem_id="sj-tab-reviews") as tab_rev:
                        self._reviews(loc)
                    with gr.Tab(T("nav_qna", loc), id="qna", elem_id="sj-tab-qna") as tab_qna:
                        build_qna_tab(self.settings)
                    with gr.Tab(T("nav_learned", loc), id="learned", elem_id="sj-tab-learned") as tab_learned:
                        c["learned_list"] = build_learned_tab(s, c["me"], c["learned_refresh"])
                    with gr.Tab(T("nav_canned", loc), id="canned", elem_id="sj-tab-canned") as tab_canned:
                        c["canned_show"] = build_canned_tab(s, c["me"])
            c["tab_inq"], c["tab_rev"], c["tab_learned"], c["nav"] = tab_inq, tab_rev, tab_learned, nav
            c["tab_qna"], c["tab_canned"] = tab_qna, tab_canned
            self._wire(demo, c)
        demo.queue(default_concurrency_limit=CONCURRENCY)
        return demo

    def _inquiries(self, c: dict[str, Any], loc: str) -> None:
        with gr.Row(elem_id="sj-cols", equal_height=False):
            with gr.Column(elem_id="sj-col-queue", scale=3, min_width=280):
                c["t_queue"] = gr.HTML(f'<div class="sj-coltitle">{T("queue_title", loc)}</div>')
                c["search"] = gr.Textbox(label=T("search_label", loc), placeholder=T("search_ph", loc), max_lines=1,
                                         max_length=100, elem_id="sj-search", show_label=False, container=False)
                c["notify"] = gr.Button(T("notify_on", loc), size="sm", elem_id="sj-notify")
                c["queue"] = gr.HTML("", elem_id="sj-queue", js_on_load=QUEUE_JS)
            with gr.Column(elem_id="sj-col-conv", scale=5, min_width=460):
                c["t_conv"] = gr.HTML(f'<div class="sj-coltitle">{T("conv_title", loc)}</div>')
                c["header"] = gr.HTML(render_header(None, "", loc, datetime.now(UTC)), elem_id="sj-conv-header")
                c["chat"] = gr.Chatbot([], elem_id="sj-chat", height=420, show_label=False,
                                       feedback_options=None, sanitize_html=True, buttons=["copy"],
                                       group_consecutive_messages=False, latex_delimiters=[])
                c["claim"] = gr.Button(T("claim", loc), variant="primary", visible=False, elem_id="sj-claim")
                with gr.Column(visible=False, elem_id="sj-composer") as composer:
                    c["suggest"] = gr.Textbox(label=T("suggest_label", loc), lines=2, max_lines=6, interactive=False,
                                              elem_id="sj-suggest", placeholder=T("suggest_none", loc))
                    with gr.Row(elem_id="sj-actions"):
                        c["use_ai"] = gr.Button(T("use_ai", loc), size="sm", elem_id="sj-use-ai")
                        c["regen"] = gr.Button(T("regen", loc), size="sm", elem_id="sj-regen")
                        c["fb_btn"] = gr.Button(T("feedback", loc), size="sm", elem_id="sj-fb")
                        c["attach"] = gr.UploadButton(T("attach", loc), size="sm", elem_id="sj-attach",
                                                      file_types=["image"])
                        c["canned"] = gr.Dropdown([(T("canned_pick_one", loc), CANNED_NONE)], value=CANNED_NONE,
                                                  label=T("canned", loc), show_label=False,
                                                  container=False, elem_id="sj-canned", scale=2, min_width=160,
                                                  info=None, filterable=True)
                    c["canned_note"] = gr.Markdown("", elem_id="sj-canned-note")
                    with gr.Column(visible=False, elem_id="sj-feedback") as fb_box:
                        c["fb_help"] = gr.Markdown(f'**{T("fb_title", loc)}** — {T("fb_help", loc)}')
                        c["fb_target"] = gr.Dropdown([], value=None, label=T("fb_target", loc),
                                                     info=T("fb_target_info", loc), elem_id="sj-fb-target",
                                                     interactive=True)
                        c["fb_text"] = gr.Textbox(label=T("fb_answer", loc), lines=3, elem_id="sj-fb-text")
                        with gr.Row():
                            c["fb_submit"] = gr.Button(T("fb_submit", loc), variant="primary", size="sm",
                                                       elem_id="sj-fb-submit")
                            c["fb_cancel"] = gr.Button(T("fb_cancel", loc), size="sm")
                    c["fb_note"] = gr.Markdown("", elem_id="sj-learned-note")
                    c["input"] = gr.Textbox(label=T("input_label", loc), lines=3, max_lines=10,
                                            placeholder=T("input_ph", loc), elem_id="sj-input")
                    with gr.Row(elem_id="sj-send-row"):
                        c["send"] = gr.Button(T("send", loc), variant="primary", elem_id="sj-send", scale=3)
                        c["resolve"] = gr.Button(T("resolve", loc), variant="secondary", elem_id="sj-resolve",
                                                 scale=1)
                c["composer"], c["fb_box"] = composer, fb_box
            with gr.Column(elem_id="sj-col-profile", scale=3, min_width=290):
                c["t_profile"] = gr.HTML(f'<div class="sj-coltitle">{T("profile_title", loc)}</div>')
                c["profile"] = gr.HTML(render_profile(None, "", loc, datetime.now(UTC)), elem_id="sj-profile")
                c["articles"] = gr.HTML("", elem_id="sj-articles")

    def _reviews(self, loc: str) -> None:
        build_reviews_tab(self.settings)

    def _wire(self, demo: gr.Blocks, c: dict[str, Any]) -> None:
        view = [c[k] for k in ("queue", "thread", "header", "chat", "suggest", "sig", "claim", "composer")]
        side = [c["profile"], c["articles"]]
        labels = [c[k] for k in ("tab_inq", "tab_rev", "tab_qna", "tab_learned", "brand", "t_queue", "t_conv", "t_profile",
                                 "suggest", "use_ai", "regen", "fb_btn", "attach", "input", "send", "resolve",
                                 "claim", "fb_text", "fb_help", "fb_submit", "fb_cancel", "canned", "search", "notify",
                                 "tab_canned", "fb_target")]
        st = [c["me"], c["qtab"], c["thread"], c["search"]]
        demo.load(self.on_load, None, [*view, *side, *labels, c["me"], c["user"], c["lang"]], show_progress="hidden")
        timer = gr.Timer(QUEUE_REFRESH_SECONDS)
        timer.tick(self.on_tick, [*st, c["sig"]], view, show_progress="hidden", trigger_mode="always_last")
        c["queue"].click(self.on_queue_click, st, [*view, *side, c["qtab"], c["fb_box"], c["fb_note"]],
                         show_progress="hidden")
        c["claim"].click(self.on_claim, st, [*view, c["qtab"]])
        c["use_ai"].click(lambda s: s, c["suggest"], c["input"], queue=False)
        c["regen"].click(self.on_regen, [c["me"], c["thread"]], c["suggest"])
        c["fb_btn"].click(self.on_fb_open, [c["me"], c["thread"]], [c["fb_box"], c["fb_note"], c["fb_target"]],
                          show_progress="hidden")
        c["fb_cancel"].click(lambda: gr.update(visible=False), None, c["fb_box"], queue=False)
        c["fb_submit"].click(self.on_feedback, [c["me"], c["thread"], c["fb_text"], c["fb_target"]],
                             [c["fb_note"], c["fb_text"], c["fb_box"], c["learned_refresh"]])
        c["send"].click(self.on_send, [*st, c["input"]], [*view, c["input"], c["qtab"]])
        c["attach"].upload(self.on_attach, [*st, c["attach"], c["input"]], [*view, c["input"], c["qtab"]])
        c["resolve"].click(self.on_resolve, st, view)
        c["learned_list"].click(self.on_learned_source, st, [*view, *side, c["nav"]])
        c["search"].input(self.on_search, st, c["queue"], show_progress="hidden", trigger_mode="always_last")
        c["search"].submit(self.on_search, st, c["queue"], show_progress="hidden")
        c["notify"].click(None, None, None, js=NOTIFY_JS)
        c["canned"].focus(self.on_canned_focus, c["me"], c["canned"], show_progress="hidden")
        c["canned"].input(self.on_canned, [c["me"], c["thread"], c["canned"], c["input"]],
                          [c["canned"], c["input"], c["canned_note"]], show_progress="hidden")
        show, canned_outputs = c["canned_show"]
        c["tab_canned"].select(show, c["me"], canned_outputs, show_progress="hidden")
        c["lang"].change(self.on_lang, [*st, c["lang"]], [*view, *side, *labels, c["me"], c["user"]],
                         show_progress="hidden")


def build_agent_hub(settings: Settings) -> gr.Blocks:
    """The `/agent` Blocks; the web app mounts it behind agent/admin login."""
    return AgentHub(settings).build()
