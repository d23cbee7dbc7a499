"""Customer channels over the one inquiry service: KakaoTalk channel, Naver TalkTalk, the web widget.

The routes (`sajang/app/channels/`) speak each platform's format; everything they share lives here once:

- one conversation per platform user (`channel_links`: KakaoTalk botUserKey, TalkTalk user id), created on
  their first message with `channel` set, so the hub shows where the customer wrote;
- a customer turn is `Inquiries.ask` on that conversation with the channel's deadline;
- inbound events are idempotent (`channel_events`): a platform retry of the same request within
  `EVENT_WINDOW` gets the stored answer, never a second turn;
- agent replies go back on the customer's channel: the ones not yet delivered are claimed atomically
  (`delivered_message_id`), so two deliveries never send one reply twice; TalkTalk pushes them through
  its send API as soon as the agent answers (`deliver_agent_replies`), KakaoTalk (which has no push for
  a chatbot) shows them on the customer's next message;
- channel length limits (`split_text`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, and_, null, or_, select, update

from sajang.config import Settings
from sajang.db.engine import dialect_insert, session_scope
from sajang.db.models import ChannelEvent, ChannelLink, Conversation, Message, User
from sajang.db.types import utcnow
from sajang.errors import SajangError
from sajang.graphs.common.context import engine_for
from sajang.graphs.inquiry import conversations as conv_store
from sajang.services.inquiry import AskResult, inquiries

log = logging.getLogger(__name__)

# A retry of the same request (same body) within this window is the platform retrying, not the customer
# writing again: both platforms give a webhook 5 s before they give up.
EVENT_WINDOW = timedelta(seconds=15)
STALE_EVENT = timedelta(minutes=2)  # an event never answered (its process died) may be handled again
PARTNER_CENTER = "partner_center"  # `meta.source` of a line a person wrote in the platform's own console
RETRY_WAIT_S = 4.0  # how long a retry waits for the first request's answer before it says "one moment"

# The quick-reply chips of every channel: (label, the message it sends).
CHIPS: tuple[tuple[str, str], ...] = (
    ("배송 조회", "주문한 상품 배송 조회하고 싶어요"),
    ("교환·반품", "교환이나 반품은 어떻게 하나요?"),
    ("취소", "주문 취소하고 싶어요"),
    ("상품 문의", "상품 문의가 있어요"),
    ("상담원 연결", "상담원과 연결해 주세요."),
)
CHECK_REPLY = ("답변 확인", "상담원 답변 확인")  # KakaoTalk: fetch the agent's reply without asking anything
WAITING_NOTICE = "상담원에게 전달했어요. 답변이 오면 다음에 메시지를 보내실 때 여기에서 보여 드릴게요."
NO_REPLY_YET = "아직 상담원 답변이 없어요. 답변이 오면 다음 메시지에 함께 보여 드릴게요."


@dataclass
class AgentReply:
    message_id: int
    text: str
    author: str | None


@dataclass
class ChannelTurn:
    """What one inbound customer message produced, for the route to render in its platform's format."""

    thread_id: str
    answer: str | None
    handoff: bool
    waiting: bool  # a person has (or is about to have) this conversation
    agent_replies: list[AgentReply] = field(default_factory=list)
    result: AskResult | None = None


def split_text(text: str, limit: int) -> list[str]:
    """`text` in pieces of at most `limit` characters, cut at a paragraph, line or sentence end when one
    is in the second half of the piece (a channel's bubble limit: KakaoTalk simpleText 1,000)."""
    text = text.strip()
    pieces: list[str] = []
    while len(text) > limit:
        window = text[:limit]
        cut = max(window.rfind("\n\n"), window.rfind("\n"), *(window.rfind(p) for p in (". ", "요. ", "다. ")))
        if cut < limit // 2:
            cut = window.rfind(" ")
        if cut < limit // 2:
            cut = limit
        pieces.append(text[:cut].strip())
        text = text[cut:].strip()
    if text:
        pieces.append(text)
    return pieces


def event_key(*parts: str) -> str:
    """A short stable key of an inbound request (its raw body, or a platform id)."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def secret_matches(expected: str | None, given: str | None) -> bool:
    """An inbound request's shared secret: any request passes when none is configured (development)."""
    if not expected:
        return True
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


class Channels:
    """The channel use cases on the process's inquiry service."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.api = inquiries(settings)
        self.engine: Engine = engine_for(settings)
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()

    def _lock(self, key: str) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(key, threading.Lock())

    # -- links ------------------------------------------------------------------------------------
    def link(self, channel: str, external_id: str) -> ChannelLink:
        """The platform user's link (and conversation), made on their first event. A conversation that
        was resolved goes on (the service reopens it for the bot), so the hub keeps one history."""
        with self._lock(f"{channel}:{external_id}"):
            found = self._find(channel, external_id)
            if found is not None:
                return found
            thread_id = self.api.start(None, channel=channel, locale="ko")
            now = utcnow()
            with session_scope(self.engine) as s:
                s.execute(dialect_insert(self.engine.dialect.name)(ChannelLink).values(
                    channel=channel, external_id=external_id, thread_id=thread_id, owner="bot",
                    created_at=now, updated_at=now).on_conflict_do_nothing())
            found = self._find(channel, external_id)
            assert found is not None
            return found

    def _find(self, channel: str, external_id: str) -> ChannelLink | None:
        with session_scope(self.engine) as s:
            row = s.scalar(select(ChannelLink).where(ChannelLink.channel == channel,
                                                     ChannelLink.external_id == external_id))
            if row is not None:
                s.expunge(row)
            return row

    def link_of_thread(self, thread_id: str) -> ChannelLink | None:
        with session_scope(self.engine) as s:
            row = s.scalar(select(ChannelLink).where(ChannelLink.thread_id == thread_id))
            if row is not None:
                s.expunge(row)
            return row

    def set_owner(self, link: ChannelLink, owner: str) -> None:
        with session_scope(self.engine) as s:
            s.execute(update(ChannelLink).where(ChannelLink.id == link.id).values(owner=owner, updated_at=utcnow()))

    def status(self, thread_id: str) -> str:
        row = conv_store.conversation_row(self.engine, thread_id)
        return str(row["status"]) if row else "bot"

    # -- idempotent events ------------------------------------------------------------------------
    def claim_event(self, channel: str, key: str, window: timedelta | None = EVENT_WINDOW
                    ) -> tuple[bool, dict[str, Any] | None]:
        """(True, None) when this request is new and ours to handle; (False, stored answer) for a retry
        (waiting up to RETRY_WAIT_S for the first request to store its answer). The same key again counts
        as a new request only once the first one was answered more than `window` ago (None: never, for
        keys a platform issues once) or was left unanswered for STALE_EVENT (its process died)."""
        now = utcnow()
        with session_scope(self.engine) as s:
            inserted = s.execute(dialect_insert(self.engine.dialect.name)(ChannelEvent).values(
                channel=channel, event_key=key, created_at=now).on_conflict_do_nothing()
                .returning(ChannelEvent.id)).scalar()
            if inserted is None:
                again = ChannelEvent.created_at < now - STALE_EVENT
                if window is not None:
                    again = or_(again, and_(ChannelEvent.response.is_not(None), ChannelEvent.created_at < now - window))
                taken = s.execute(update(ChannelEvent).where(
                    ChannelEvent.channel == channel, ChannelEvent.event_key == key, again)
                    .values(created_at=now, response=null()))
                inserted = 1 if getattr(taken, "rowcount", 0) == 1 else None
        if inserted is not None:
            return True, None
        waited = 0.0
        while True:
            with self.engine.connect() as conn:
                stored = conn.execute(select(ChannelEvent.response).where(
                    ChannelEvent.channel == channel, ChannelEvent.event_key == key)).scalar()
            if stored is not None or waited >= RETRY_WAIT_S:
                return False, stored
            time.sleep(0.2)
            waited += 0.2

    def remember_response(self, channel: str, key: str, response: dict[str, Any]) -> None:
        with session_scope(self.engine) as s:
            s.execute(update(ChannelEvent).where(ChannelEvent.channel == channel, ChannelEvent.event_key == key)
                      .values(response=response))

    # -- turns --------------------------------------------------------------------------------------
    def ask(self, link: ChannelLink, text: str, deadline_s: float) -> ChannelTurn:
        """One customer message through the inquiry service; with the agent replies that came meanwhile
        (claimed for delivery on this channel)."""
        replies = self.claim_undelivered(link)
        result = self.api.ask(text, thread_id=link.thread_id, deadline_s=deadline_s)
        waiting = result.handoff or self.status(link.thread_id) in ("new", "assigned")
        return ChannelTurn(thread_id=link.thread_id, answer=result.answer, handoff=result.handoff,
                           waiting=waiting, agent_replies=replies, result=result)

    def check_replies(self, link: ChannelLink) -> ChannelTurn:
        """«답변 확인»: the agent replies not yet delivered, no bot turn."""
        replies = self.claim_undelivered(link)
        return ChannelTurn(thread_id=link.thread_id, answer=None if replies else NO_REPLY_YET, handoff=False,
                           waiting=self.status(link.thread_id) in ("new", "assigned"), agent_replies=replies)

    def record_customer_line(self, link: ChannelLink, text: str, meta: dict[str, Any] | None = None) -> int:
        """A customer line stored without a bot turn (TalkTalk while a person owns the thread, a photo):
        the agent reads it in the hub."""
        mid, _ = conv_store.add_message(self.engine, link.thread_id, "customer", text,
                                        dedup_key=f"{link.thread_id}:{uuid.uuid4().hex}:customer", meta=meta)
        return mid

    def record_partner_line(self, link: ChannelLink, text: str, author: str | None) -> int:
        """A line a person wrote to the customer in the platform's own console (TalkTalk partner center,
        seen as an `echo` event): an agent message of the conversation, so the hub shows the whole thread.
        It is never sent back to the customer (they have it already)."""
        mid, _ = conv_store.add_message(self.engine, link.thread_id, "agent", text,
                                        dedup_key=f"{link.thread_id}:{uuid.uuid4().hex}:partner",
                                        meta={"author_name": author, "source": PARTNER_CENTER})
        return mid

    # -- agent replies back on the channel ----------------------------------------------------------
    def claim_undelivered(self, link: ChannelLink) -> list[AgentReply]:
        """The agent messages of the link's conversation after the last delivered one, claimed with a
        compare-and-set on `delivered_message_id` (of two deliveries at once, one gets them)."""
        for _ in range(5):
            with session_scope(self.engine) as s:
                current = s.scalar(select(ChannelLink.delivered_message_id).where(ChannelLink.id == link.id))
                conv_id = s.scalar(select(Conversation.id).where(Conversation.thread_id == link.thread_id))
                rows = s.execute(
                    select(Message.id, Message.text, Message.author_id, Message.meta)
                    .where(Message.conversation_id == conv_id, Message.role == "agent",
                           Message.id > (current or 0))
                    .order_by(Message.id)).all()
                if not rows:
                    return []
                newest = int(rows[-1].id)
                same = (ChannelLink.delivered_message_id.is_(None) if current is None
                        else ChannelLink.delivered_message_id == current)
                won = s.execute(update(ChannelLink).where(ChannelLink.id == link.id, same)
                                .values(delivered_message_id=newest, updated_at=utcnow()))
                if getattr(won, "rowcount", 0) != 1:
                    continue
                authors = {u.id: u.display_name for u in s.scalars(select(User).where(
                    User.id.in_({r.author_id for r in rows if r.author_id is not None})))}
                return [AgentReply(int(r.id), str(r.text),
                                   authors.get(r.author_id) or (r.meta or {}).get("author_name")) for r in rows
                        if (r.meta or {}).get("source") != PARTNER_CENTER]  # the customer has those already
        return []

    def release(self, link: ChannelLink, replies: list[AgentReply]) -> None:
        """Undo a claim whose delivery failed, so the next delivery sends these replies again."""
        if not replies:
            return
        first = replies[0].message_id
        with session_scope(self.engine) as s:
            s.execute(update(ChannelLink).where(ChannelLink.id == link.id,
                                                ChannelLink.delivered_message_id == replies[-1].message_id)
                      .values(delivered_message_id=first - 1))

    def deliver_agent_replies(self, thread_id: str) -> int:
        """Push the conversation's undelivered agent replies to the customer's channel when it has a push
        (TalkTalk's send API); KakaoTalk's wait for the customer's next message. The number sent."""
        link = self.link_of_thread(thread_id)
        if link is None or link.channel != "naver_talk" or not self.settings.channel_enabled("naver_talk"):
            return 0
        replies = self.claim_undelivered(link)
        sent = 0
        try:
            for reply in replies:
                for piece in split_text(agent_line(reply), NAVER_TEXT_LIMIT):
                    naver_send(self.settings, {"event": "send", "user": link.external_id,
                                               "textContent": {"text": piece}})
                sent += 1
        except NaverSendError:
            log.warning("TalkTalk send API failed; %d agent replies of %s will be sent again", len(replies) - sent,
                        thread_id, exc_info=True)
            self.release(link, replies[sent:])
        return sent


def agent_line(reply: AgentReply) -> str:
    return f"[상담원 {reply.author}] {reply.text}" if reply.author else f"[상담원] {reply.text}"


# --- Naver TalkTalk send API (https://github.com/navertalk/chatbot-api) -----------------------------

NAVER_TEXT_LIMIT = 10_000  # textContent.text: at most 10,000 characters
NAVER_BUTTON_TITLE_LIMIT = 10  # quick-reply button titles: at most 10 characters


class NaverSendError(SajangError):
    code = "naver_send_failed"
    status_code = 502


def naver_send(settings: Settings, event: dict[str, Any]) -> None:
    """POST one event (send, handover, action) to the TalkTalk send API with the partner's token; the API
    answers 200 with `{"success": bool, "resultCode": "00" | …}`."""
    if not settings.naver_talk_token:
        raise NaverSendError("SAJANG_NAVER_TALK_TOKEN is not set: the TalkTalk send API needs the partner's token")
    try:
        resp = httpx.post(settings.naver_talk_api_url, content=json.dumps(event, ensure_ascii=False).encode(),
                          headers={"Authorization": settings.naver_talk_token,
                                   "Content-Type": "application/json;charset=UTF-8"}, timeout=5.0)
        body = resp.json() if resp.content else {}
    except (httpx.HTTPError, ValueError) as exc:
        raise NaverSendError(f"TalkTalk send API unreachable: {exc}") from exc
    if resp.status_code != 200 or not body.get("success"):
        raise NaverSendError(f"TalkTalk send API refused: HTTP {resp.status_code} "
                             f"{body.get('resultCode')} {body.get('resultMessage') or ''}".strip())


def deliver_in_background(settings: Settings, thread_id: str) -> None:
    """After an agent's reply (hub, REST): send it on the customer's channel without holding the agent."""
    if "naver_talk" not in settings.channels:
        return

    def run() -> None:
        try:
            Channels(settings).deliver_agent_replies(thread_id)
        except Exception:  # a delivery is retried on the next one; never break the agent's reply
            log.exception("delivering agent replies of %s failed", thread_id)

    threading.Thread(target=run, name=f"deliver-{thread_id[:8]}", daemon=True).start()


_CHANNELS: dict[int, Channels] = {}


def channels(settings: Settings) -> Channels:
    """The channel use cases for these settings (one per settings object)."""
    found = _CHANNELS.get(id(settings))
    if found is None or found.settings is not settings:
        found = _CHANNELS[id(settings)] = Channels(settings)
    return found

