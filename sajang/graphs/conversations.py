"""Rows of `conversations` and `messages`, written only by the inquiry graph and its service.

Every message insert carries a `dedup_key` (unique): a node re-run on resume, or the same resume sent
twice, writes its message once and gets the existing row back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sajang.db.engine import session_scope, skip_wal_flush
from sajang.db.models import Attachment, Conversation, Customer, Message
from sajang.db.types import utcnow


def _insert_message(s: Session, conv: Conversation, role: str, text: str, *, dedup_key: str,
                    author_id: int | None = None, category: str | None = None, confidence: float | None = None,
                    sources: list[Any] | None = None, meta: dict[str, Any] | None = None) -> tuple[int, bool]:
    with s.no_autoflush:  # the caller's changes to `conv` go out with the insert, in one flush
        existing = s.scalar(select(Message.id).where(Message.dedup_key == dedup_key))
    if existing is not None:
        return int(existing), False
    now = utcnow()
    msg = Message(conversation_id=conv.id, role=role, author_id=author_id, text=text, created_at=now,
                  category=category, confidence=confidence, sources=sources, meta=meta, dedup_key=dedup_key)
    s.add(msg)
    conv.updated_at = now
    s.flush()
    return int(msg.id), True


@contextmanager
def chat_write(engine: Engine, durable: bool) -> Iterator[Session]:
    """The transaction of a chat write (a conversation, a turn); `durable=False`: its commit does not wait for the disk
    (`Settings.async_commit`)."""
    with session_scope(engine) as s:
        if not durable:
            skip_wal_flush(s)
        yield s


def _existing_message(engine: Engine, dedup_key: str) -> tuple[int, bool]:
    """After an IntegrityError on `dedup_key`: another process inserted the same message first."""
    with session_scope(engine) as s:
        mid = s.scalar(select(Message.id).where(Message.dedup_key == dedup_key))
    if mid is None:
        raise LookupError(f"message {dedup_key} neither inserted nor found")
    return int(mid), False


def _conversation(s: Session, thread_id: str, customer_id: str | None = None, *, create: bool = False,
                  lock: bool = False) -> Conversation:
    stmt = select(Conversation).where(Conversation.thread_id == thread_id)
    conv = s.scalar(stmt.with_for_update() if lock else stmt)
    if conv is None and create:  # a thread started outside the service (LangGraph Server / Studio)
        known = customer_id is not None and s.get(Customer, customer_id) is not None
        conv = Conversation(thread_id=thread_id, customer_id=customer_id if known else None, channel="api",
                            status="bot")
        s.add(conv)
        s.flush()
    if conv is None:
        raise LookupError(f"conversation {thread_id} does not exist")
    return conv


def add_message(engine: Engine, thread_id: str, role: str, text: str, *, dedup_key: str,
                author_id: int | None = None, category: str | None = None, confidence: float | None = None,
                sources: list[Any] | None = None, meta: dict[str, Any] | None = None,
                ) -> tuple[int, bool]:
    """(message id, inserted?) — a second call with the same dedup_key returns the first row."""
    try:
        with session_scope(engine) as s:
            return _insert_message(s, _conversation(s, thread_id), role, text, dedup_key=dedup_key,
                                   author_id=author_id, category=category, confidence=confidence, sources=sources,
                                   meta=meta)
    except IntegrityError:
        return _existing_message(engine, dedup_key)


def open_customer_turn(engine: Engine, thread_id: str, customer_id: str | None, text: str, *, dedup_key: str,
                       meta: dict[str, Any] | None = None, attachment_ids: list[int] | None = None,
                       durable: bool = True) -> tuple[dict[str, Any], int]:
    """A customer message in one transaction: (the conversation row as it was, message id).

    Checks that the conversation exists and belongs to `customer_id` (when given), writes the message,
    links the uploaded attachments to it and takes the first message as the subject.
    """
    with chat_write(engine, durable) as s:
        conv = _conversation(s, thread_id)
        if customer_id and conv.customer_id != customer_id:
            raise LookupError(f"conversation {thread_id} does not exist")  # someone else's: as if absent
        row = {c.key: getattr(conv, c.key) for c in Conversation.__table__.columns}
        if not conv.subject:
            conv.subject = text[:300]  # before the insert: one UPDATE of the row with `updated_at`
        mid, _ = _insert_message(s, conv, "customer", text, dedup_key=dedup_key, meta=meta)
        if attachment_ids:
            s.execute(update(Attachment).where(Attachment.id.in_(attachment_ids),
                                               Attachment.conversation_id == conv.id).values(message_id=mid))
        return row, mid


def record_bot_answer(engine: Engine, thread_id: str, customer_id: str | None, text: str, *, dedup_key: str,
                      category: str | None, urgency: str | None, confidence: float | None,
                      sources: list[Any] | None, meta: dict[str, Any] | None, durable: bool = True) -> int:
    """The bot's answer and the conversation's category/urgency in one transaction (a resolved
    conversation the customer writes to again goes back to `bot`)."""
    try:
        with chat_write(engine, durable) as s:
            conv = _conversation(s, thread_id, customer_id, create=True)
            conv.category, conv.urgency = category, urgency
            if conv.status == "resolved":
                conv.status = "bot"
            mid, _ = _insert_message(s, conv, "ai", text, dedup_key=dedup_key, category=category,
                                     confidence=confidence, sources=sources, meta=meta)
            return mid
    except IntegrityError:
        return _existing_message(engine, dedup_key)[0]


def update_conversation(engine: Engine, thread_id: str, **values: Any) -> None:
    values.setdefault("updated_at", utcnow())
    with session_scope(engine) as s:
        s.execute(update(Conversation).where(Conversation.thread_id == thread_id).values(**values))


def conversation_row(engine: Engine, thread_id: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(Conversation.__table__).where(Conversation.thread_id == thread_id)).mappings().first()
    return dict(row) if row else None


def record_handoff(engine: Engine, thread_id: str, customer_id: str | None, notice: str, *, dedup_key: str,
                   reason: str, category: str | None, urgency: str | None, confidence: float | None,
                   durable: bool = True) -> int:
    """Hand the conversation to a person, with the notice the customer sees, in one transaction:
    bot/resolved → new (back in the queue, unassigned); new/assigned stay as they are."""
    try:
        with chat_write(engine, durable) as s:
            # locked: an agent claiming the conversation meanwhile must not be overwritten
            conv = _conversation(s, thread_id, customer_id, create=True, lock=True)
            now = utcnow()
            if conv.status in ("bot", "resolved"):
                conv.status = "new"
                conv.assignee_id = None
                conv.assigned_at = None
                conv.resolved_at = None
                conv.first_response_at = None
                conv.handed_off_at = now
            conv.handed_off = True
            conv.handoff_reason = reason
            conv.category = category or conv.category
            conv.urgency = urgency or conv.urgency
            mid, _ = _insert_message(s, conv, "ai", notice, dedup_key=dedup_key, category=category,
                                     confidence=confidence, meta={"handoff": True, "reason": reason})
            return mid
    except IntegrityError:
        return _existing_message(engine, dedup_key)[0]


def mark_agent_reply(engine: Engine, thread_id: str, agent_user_id: int | None, resolve: bool,
                     at: datetime | None = None) -> str:
    """After an agent's message: new → assigned (the replying agent takes it), → resolved on resolve."""
    now = at or utcnow()
    with session_scope(engine) as s:
        conv = _conversation(s, thread_id, lock=True)
        if conv.assignee_id is None and agent_user_id is not None:
            conv.assignee_id = agent_user_id
            conv.assigned_at = now
        if conv.first_response_at is None:
            conv.first_response_at = now
        if resolve:
            conv.status = "resolved"
            conv.resolved_at = now
        elif conv.status in ("new", "bot", "resolved"):
            conv.status = "assigned"
            conv.assigned_at = conv.assigned_at or now
        conv.updated_at = now
        return conv.status


def mark_resolved(engine: Engine, thread_id: str) -> None:
    now = utcnow()
    with session_scope(engine) as s:
        conv = _conversation(s, thread_id, lock=True)
        if conv.status != "resolved":
            conv.status = "resolved"
            conv.resolved_at = now
        conv.updated_at = now
