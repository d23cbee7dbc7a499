"""Rows of `conversations` and `messages`, written only by the inquiry graph and its service.

Every message insert carries a `dedup_key` (unique): a node re-run on resume, or the same resume sent
twice, writes its message once and gets the existing row back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError

from sajang.db.engine import session_scope
from sajang.db.models import Conversation, Message
from sajang.db.types import utcnow


def ensure_conversation(engine: Engine, thread_id: str, customer_id: str | None, channel: str = "api") -> None:
    """Create the row for a thread started outside the service (LangGraph Server / Studio runs)."""
    from sajang.db.models import Customer

    with session_scope(engine) as s:
        if s.scalar(select(Conversation.id).where(Conversation.thread_id == thread_id)) is not None:
            return
        known = customer_id is not None and s.get(Customer, customer_id) is not None
        s.add(Conversation(thread_id=thread_id, customer_id=customer_id if known else None, channel=channel,
                           status="bot"))
    # a concurrent creator wins on the unique thread_id; the caller then reads that row


def add_message(engine: Engine, thread_id: str, role: str, text: str, *, dedup_key: str,
                author_id: int | None = None, category: str | None = None, confidence: float | None = None,
                sources: list[Any] | None = None, meta: dict[str, Any] | None = None,
                ) -> tuple[int, bool]:
    """(message id, inserted?) — a second call with the same dedup_key returns the first row."""
    try:
        with session_scope(engine) as s:
            conv = s.scalar(select(Conversation).where(Conversation.thread_id == thread_id))
            if conv is None:
                raise LookupError(f"conversation {thread_id} does not exist")
            existing = s.scalar(select(Message.id).where(Message.dedup_key == dedup_key))
            if existing is not None:
                return int(existing), False
            now = utcnow()
            msg = Message(conversation_id=conv.id, role=role, author_id=author_id, text=text, created_at=now,
                          category=category, confidence=confidence, sources=sources, meta=meta,
                          dedup_key=dedup_key)
            s.add(msg)
            conv.updated_at = now
            s.flush()
            return int(msg.id), True
    except IntegrityError:  # another process inserted the same key between our check and insert
        with session_scope(engine) as s:
            mid = s.scalar(select(Message.id).where(Message.dedup_key == dedup_key))
            if mid is None:
                raise
            return int(mid), False


def update_conversation(engine: Engine, thread_id: str, **values: Any) -> None:
    values.setdefault("updated_at", utcnow())
    with session_scope(engine) as s:
        s.execute(update(Conversation).where(Conversation.thread_id == thread_id).values(**values))


def conversation_row(engine: Engine, thread_id: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(Conversation.__table__).where(Conversation.thread_id == thread_id)).mappings().first()
    return dict(row) if row else None


def mark_handed_off(engine: Engine, thread_id: str, *, reason: str, category: str | None,
                    urgency: str | None) -> None:
    """bot/resolved → new (back in the queue, unassigned); new/assigned stay as they are."""
    now = utcnow()
    with session_scope(engine) as s:
        conv = s.scalar(select(Conversation).where(Conversation.thread_id == thread_id))
        if conv is None:
            raise LookupError(f"conversation {thread_id} does not exist")
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
        conv.updated_at = now


def mark_agent_reply(engine: Engine, thread_id: str, agent_user_id: int | None, resolve: bool,
                     at: datetime | None = None) -> str:
    """After an agent's message: new → assigned (the replying agent takes it), → resolved on resolve."""
    now = at or utcnow()
    with session_scope(engine) as s:
        conv = s.scalar(select(Conversation).where(Conversation.thread_id == thread_id).with_for_update())
        if conv is None:
            raise LookupError(f"conversation {thread_id} does not exist")
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
        conv = s.scalar(select(Conversation).where(Conversation.thread_id == thread_id).with_for_update())
        if conv is None:
            raise LookupError(f"conversation {thread_id} does not exist")
        if conv.status != "resolved":
            conv.status = "resolved"
            conv.resolved_at = now
        conv.updated_at = now
