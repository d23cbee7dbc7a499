"""Rows of `conversations` and `messages`, written only by the inquiry graph and its service.

Every message insert carries a `dedup_key` (unique): a node re-run on resume, or the same resume sent
twice, writes its message once and gets the existing row back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, bindparam, case, func, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from sajang.db.engine import (
    autocommit_connection,
    dialect_insert,
    dialect_name,
    one_writer,
    relaxed_commit_engine,
    session_scope,
    write_transaction,
)
from sajang.db.models import Attachment, Conversation, Customer, Message
from sajang.db.types import utcnow

_MESSAGE_COLUMNS = ("role", "author_id", "text", "created_at", "category", "confidence", "sources", "meta",
                    "dedup_key")
# Core tables of the two models: the chat path writes with Core statements (one round trip a turn)
_m, _c = cast(Table, Message.__table__), cast(Table, Conversation.__table__)
_MESSAGE_BY_KEY = select(_m.c.id).where(_m.c.dedup_key == bindparam("dedup_key"))
# statements of the chat path, built once per dialect with bound parameters: SQLAlchemy then reuses their
# compiled form instead of rebuilding and re-hashing them for every message
_statements: dict[tuple[str, ...], Any] = {}


def _statement(*key: str) -> Any:
    stmt = _statements.get(key)
    if stmt is None:
        stmt = _statements[key] = _build(*key)
    return stmt


def _message_values() -> dict[str, Any]:
    # parameter names differ from the column names: SQLAlchemy keeps those for its own VALUES / SET
    return {"conversation_id": bindparam("m_conversation_id", type_=_m.c.conversation_id.type),
            **{k: bindparam(f"m_{k}", type_=_m.c[k].type) for k in _MESSAGE_COLUMNS}}


def _build(kind: str, dialect: str) -> Any:
    """`insert_message`; a conversation update returning its row (`customer_turn`, `customer_turn_of`:
    only if the conversation is this customer's; `bot_answer`); `one_statement:<update>` (PostgreSQL):
    that update and the message insert as data-modifying CTEs of one statement."""
    if kind == "insert_message":
        return (dialect_insert(dialect)(_m).values(_message_values()).on_conflict_do_nothing(index_elements=["dedup_key"])
                .returning(_m.c.id))
    if kind.startswith("one_statement:"):
        conv = _statement(kind.split(":", 1)[1], dialect).cte("conv")
        values = _message_values()
        added = (postgresql.insert(_m)
                 .from_select(list(values), select(conv.c.id, *list(values.values())[1:]))
                 .on_conflict_do_nothing(index_elements=["dedup_key"]).returning(_m.c.id).cte("added"))
        return select(conv, select(added.c.id).scalar_subquery().label("added_message_id"))
    if kind in ("customer_turn", "customer_turn_of"):
        mine = _c.c.thread_id == bindparam("c_thread_id")
        if kind == "customer_turn_of":
            mine &= _c.c.customer_id == bindparam("c_customer_id")
        return update(_c).where(mine).values(
            updated_at=bindparam("c_now", type_=_c.c.updated_at.type),
            subject=func.coalesce(func.nullif(_c.c.subject, ""), bindparam("c_subject", type_=_c.c.subject.type)),
        ).returning(*_c.c)
    if kind == "bot_answer":
        return update(_c).where(_c.c.thread_id == bindparam("c_thread_id")).values(
            category=bindparam("c_category", type_=_c.c.category.type),
            urgency=bindparam("c_urgency", type_=_c.c.urgency.type),
            updated_at=bindparam("c_now", type_=_c.c.updated_at.type),
            status=case((_c.c.status == "resolved", "bot"), else_=_c.c.status),
        ).returning(_c.c.id)
    raise ValueError(kind)


def _message_params(conversation_id: int | None, role: str, text: str, *, dedup_key: str,
                    author_id: int | None = None, category: str | None = None, confidence: float | None = None,
                    sources: list[Any] | None = None, meta: dict[str, Any] | None = None,
                    created_at: datetime | None = None) -> dict[str, Any]:
    return {"m_conversation_id": conversation_id, "m_role": role, "m_author_id": author_id, "m_text": text,
            "m_created_at": created_at or utcnow(), "m_category": category, "m_confidence": confidence,
            "m_sources": sources, "m_meta": meta, "m_dedup_key": dedup_key}


def _insert_message(s: Session | Connection, conversation_id: int, role: str, text: str, *, dedup_key: str,
                    **fields: Any) -> tuple[int, bool]:
    """(message id, inserted?): one `INSERT … ON CONFLICT (dedup_key) DO NOTHING RETURNING id`; only when
    the key was there already (a re-run node, a resume sent twice, another process first) a second
    statement reads that row's id. `fields`: author_id, category, confidence, sources, meta, created_at."""
    mid = s.execute(_statement("insert_message", dialect_name(s)),
                    _message_params(conversation_id, role, text, dedup_key=dedup_key, **fields)).scalar()
    if mid is not None:
        return int(mid), True
    return int(s.execute(_MESSAGE_BY_KEY, {"dedup_key": dedup_key}).scalar_one()), False


def _add_to(s: Session, conv: Conversation, role: str, text: str, *, dedup_key: str, now: datetime | None = None,
            **fields: Any) -> tuple[int, bool]:
    """`_insert_message` into `conv` in the caller's ORM transaction, the conversation's pending changes and
    `updated_at` (= the message's time) flushed first."""
    conv.updated_at = now = now or utcnow()
    s.flush()
    return _insert_message(s, conv.id, role, text, dedup_key=dedup_key, created_at=now, **fields)


@contextmanager
def chat_write(engine: Engine, durable: bool) -> Iterator[Session]:
    """The transaction of a chat write (a conversation, a turn); `durable=False`: its commit does not wait
    for the disk (`Settings.async_commit`)."""
    bind = _chat_bind(engine, durable)
    with one_writer(bind), session_scope(bind) as s:
        yield s


def _chat_bind(engine: Engine, durable: bool) -> Engine:
    return engine if durable else relaxed_commit_engine(engine)


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


def agent_message_meta(agent_name: str, attachments: list[dict[str, Any]] | None) -> dict[str, Any]:
    """An agent message's meta: who wrote it and the files it carries (read with the message, so a
    reader never sees the message before its photos)."""
    return {"author_name": agent_name, **({"attachments": attachments} if attachments else {})}


def add_message(engine: Engine, thread_id: str, role: str, text: str, *, dedup_key: str,
                author_id: int | None = None, category: str | None = None, confidence: float | None = None,
                sources: list[Any] | None = None, meta: dict[str, Any] | None = None,
                ) -> tuple[int, bool]:
    """(message id, inserted?) — a second call with the same dedup_key returns the first row."""
    with session_scope(engine) as s:
        return _add_to(s, _conversation(s, thread_id), role, text, dedup_key=dedup_key, author_id=author_id,
                       category=category, confidence=confidence, sources=sources, meta=meta)


def _update_and_add_message(engine: Engine, durable: bool, kind: str, conv_params: dict[str, Any],
                            message: dict[str, Any], then: Callable[[Connection, int, int], None] | None = None,
                            ) -> tuple[dict[str, Any] | None, int | None]:
    """Update a conversation row (`kind` of `_build`) and add its message: (the columns the UPDATE
    returns, message id), or (None, None) when no row matched. The UPDATE locks the row, so what it
    returns stays true while the message is handled.

    PostgreSQL: one statement, the UPDATE and the INSERT as data-modifying CTEs committing on their own
    (no BEGIN / COMMIT round trips: a chat message costs 2 round trips instead of 8); SQLite, or with
    `then` (statements of the caller's that share the transaction): UPDATE … RETURNING + INSERT in one
    transaction. A dedup key that is there already (a re-run node, a resume sent twice) returns the
    existing id; the conversation's UPDATE still applies (the same values again, `updated_at` moves)."""
    bind = _chat_bind(engine, durable)
    dialect = dialect_name(bind)
    if dialect == "postgresql" and then is None:
        with autocommit_connection(bind) as conn:  # the statement commits on its own
            found = conn.execute(_statement(f"one_statement:{kind}", dialect),
                                 {**conv_params, **_message_params(None, **message)}).mappings().first()
            if found is None:
                return None, None
            row = dict(found)
            mid = row.pop("added_message_id")
            if mid is None:
                mid = conn.execute(_MESSAGE_BY_KEY, {"dedup_key": message["dedup_key"]}).scalar_one()
            return row, int(mid)
    with write_transaction(bind) as conn:
        found = conn.execute(_statement(kind, dialect), conv_params).mappings().first()
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
    now = utcnow()

    def link_attachments(conn: Connection, conversation_id: int, mid: int) -> None:
        conn.execute(update(Attachment).where(Attachment.id.in_(attachment_ids or []),
                                              Attachment.conversation_id == conversation_id).values(message_id=mid))

    row, mid = _update_and_add_message(
        engine, durable, "customer_turn_of" if customer_id else "customer_turn",  # someone else's: as if absent
        {"c_thread_id": thread_id, "c_customer_id": customer_id, "c_now": now, "c_subject": text[:300]},
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
    now = utcnow()
    message: dict[str, Any] = {"role": "ai", "text": text, "category": category, "confidence": confidence,
                               "sources": sources, "meta": meta, "dedup_key": dedup_key}
    _, mid = _update_and_add_message(engine, durable, "bot_answer",
                                     {"c_thread_id": thread_id, "c_category": category, "c_urgency": urgency, "c_now": now},
                                     {**message, "created_at": now})
    if mid is not None:
        return mid
    with chat_write(engine, durable) as s:  # a thread started outside the service (LangGraph Server / Studio)
        conv = _conversation(s, thread_id, customer_id, create=True)
        conv.category, conv.urgency = category, urgency
        return _add_to(s, conv, now=now, **message)[0]


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
                   durable: bool = True, sources: list[Any] | None = None) -> int:
    """Hand the conversation to a person, with the notice the customer sees, in one transaction:
    bot/resolved → new (back in the queue, unassigned); new/assigned stay as they are. `sources` (what
    the bot had found) stay in the notice's meta, not shown, so a retried message can answer as the
    first attempt did."""
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
        return _add_to(s, conv, "ai", notice, dedup_key=dedup_key, now=now, category=category,
                       confidence=confidence, meta={"handoff": True, "reason": reason, "urgency": urgency,
                                                    **({"sources": sources} if sources else {})})[0]


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
