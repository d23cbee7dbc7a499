"""Rows of `conversations` and `messages`, written only by the inquiry graph and its service.

Every message insert carries a `dedup_key` (unique): a node re-run on resume, or the same resume sent
twice, writes its message once and gets the existing row back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Update, case, func, literal, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from sajang.db.engine import dialect_insert, relaxed_commit_engine, session_scope
from sajang.db.models import Attachment, Conversation, Customer, Message
from sajang.db.types import utcnow


def _insert_message(s: Session | Connection, conversation_id: int, role: str, text: str, *, dedup_key: str,
                    author_id: int | None = None, category: str | None = None, confidence: float | None = None,
                    sources: list[Any] | None = None, meta: dict[str, Any] | None = None,
                    created_at: datetime | None = None) -> tuple[int, bool]:
    """(message id, inserted?): one `INSERT … ON CONFLICT (dedup_key) DO NOTHING RETURNING id`; only when
    the key was there already (a re-run node, a resume sent twice, another process first) a second
    statement reads that row's id."""
    stmt = dialect_insert(s)(Message).values(
        conversation_id=conversation_id, role=role, author_id=author_id, text=text, created_at=created_at or utcnow(),
        category=category, confidence=confidence, sources=sources, meta=meta, dedup_key=dedup_key,
    ).on_conflict_do_nothing(index_elements=["dedup_key"]).returning(Message.id)
    mid = s.execute(stmt).scalar()
    if mid is not None:
        return int(mid), True
    return int(s.execute(select(Message.id).where(Message.dedup_key == dedup_key)).scalar_one()), False


@contextmanager
def chat_write(engine: Engine, durable: bool) -> Iterator[Session]:
    """The transaction of a chat write (a conversation, a turn); `durable=False`: its commit does not wait
    for the disk (`Settings.async_commit`)."""
    with session_scope(engine if durable else relaxed_commit_engine(engine)) as s:
        yield s


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
    with session_scope(engine) as s:
        conv = _conversation(s, thread_id)
        conv.updated_at = now = utcnow()
        s.flush()
        return _insert_message(s, conv.id, role, text, dedup_key=dedup_key, author_id=author_id, category=category,
                               confidence=confidence, sources=sources, meta=meta, created_at=now)


def _update_and_add_message(engine: Engine, durable: bool, conv_update: Update, message: dict[str, Any],
                            then: Callable[[Connection, int, int], None] | None = None,
                            ) -> tuple[dict[str, Any] | None, int | None]:
    """Update a conversation row and add its message: (the columns the UPDATE returns, message id), or
    (None, None) when no row matched. `conv_update` returns at least `id`; the UPDATE locks the row, so
    what it returns stays true while the message is handled.

    PostgreSQL: one statement, the UPDATE and the INSERT as data-modifying CTEs committing on their own
    (no BEGIN / COMMIT round trips: a chat message costs 2 round trips instead of 8); SQLite, or with
    `then` (statements of the caller's that share the transaction): UPDATE … RETURNING + INSERT in one transaction.
    A dedup key that is there already (a re-run node, a resume sent twice) returns the existing id."""
    bind = engine if durable else relaxed_commit_engine(engine)
    m = Message.__table__
    if bind.dialect.name == "postgresql" and then is None:
        conv = conv_update.cte("conv")
        added = (postgresql.insert(m)
                 .from_select(["conversation_id", *message],
                              select(conv.c.id, *[literal(v, m.c[k].type) for k, v in message.items()]))
                 .on_conflict_do_nothing(index_elements=["dedup_key"]).returning(m.c.id).cte("added"))
        stmt = select(conv, select(added.c.id).scalar_subquery().label("added_message_id"))
        with bind.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            found = conn.execute(stmt).mappings().first()
            if found is None:
                return None, None
            row = dict(found)
            mid = row.pop("added_message_id")
            if mid is None:
                mid = conn.execute(select(m.c.id).where(m.c.dedup_key == message["dedup_key"])).scalar_one()
            return row, int(mid)
    with bind.begin() as conn:
        found = conn.execute(conv_update).mappings().first()
        if found is None:
            return None, None
        mid, _ = _insert_message(conn, found["id"], **message)
        if then is not None:
            then(conn, found["id"], mid)
        return dict(found), mid


def open_customer_turn(engine: Engine, thread_id: str, customer_id: str | None, text: str, *, dedup_key: str,
                       meta: dict[str, Any] | None = None, attachment_ids: list[int] | None = None,
                       durable: bool = True) -> tuple[dict[str, Any], int]:
    """A customer message, atomically: (the conversation row, message id).

    Checks that the conversation exists and belongs to `customer_id` (when given), writes the message,
    links the uploaded attachments to it and takes the first message as the subject.
    """
    c = Conversation.__table__
    mine = c.c.thread_id == thread_id
    if customer_id:  # someone else's conversation: as if absent
        mine &= c.c.customer_id == customer_id
    now = utcnow()
    conv_update = update(c).where(mine).values(
        updated_at=now, subject=func.coalesce(func.nullif(c.c.subject, ""), text[:300])).returning(*c.c)

    def link_attachments(conn: Connection, conversation_id: int, mid: int) -> None:
        conn.execute(update(Attachment).where(Attachment.id.in_(attachment_ids or []),
                                              Attachment.conversation_id == conversation_id).values(message_id=mid))

    row, mid = _update_and_add_message(
        engine, durable, conv_update,
        {"role": "customer", "text": text, "created_at": now, "meta": meta, "dedup_key": dedup_key},
        then=link_attachments if attachment_ids else None)
    if row is None or mid is None:
        raise LookupError(f"conversation {thread_id} does not exist")
    return row, mid


def record_bot_answer(engine: Engine, thread_id: str, customer_id: str | None, text: str, *, dedup_key: str,
                      category: str | None, urgency: str | None, confidence: float | None,
                      sources: list[Any] | None, meta: dict[str, Any] | None, durable: bool = True) -> int:
    """The bot's answer and the conversation's category/urgency, atomically (a resolved conversation the
    customer writes to again goes back to `bot`)."""
    c = Conversation.__table__
    now = utcnow()
    message = {"role": "ai", "text": text, "created_at": now, "category": category, "confidence": confidence,
               "sources": sources, "meta": meta, "dedup_key": dedup_key}
    _, mid = _update_and_add_message(engine, durable, update(c).where(c.c.thread_id == thread_id).values(
        category=category, urgency=urgency, updated_at=now,
        status=case((c.c.status == "resolved", "bot"), else_=c.c.status),
    ).returning(c.c.id), message)
    if mid is not None:
        return mid
    with chat_write(engine, durable) as s:  # a thread started outside the service (LangGraph Server / Studio)
        conv = _conversation(s, thread_id, customer_id, create=True)
        conv.category, conv.urgency = category, urgency
        s.flush()
        return _insert_message(s, conv.id, **message)[0]


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
        conv.updated_at = now
        s.flush()
        return _insert_message(s, conv.id, "ai", notice, dedup_key=dedup_key, category=category,
                               confidence=confidence, meta={"handoff": True, "reason": reason}, created_at=now)[0]


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
