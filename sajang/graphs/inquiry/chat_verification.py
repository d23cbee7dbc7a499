"""A guest proves in the chat that an order is theirs: the order number and the last 4 digits of the phone.

The rule is the /chat page's (`sajang.db.users.verify_order_owner`); so are the limits on failures (5 per
order number in 15 minutes, `app/api/chat.py`), here counted in the audit log so that every process sees
them, and per conversation as well (a chat cannot try other order numbers without end). A verified
conversation belongs to that customer from then on (`conversations.customer_id`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine, func, select, update

from sajang.db.engine import session_scope
from sajang.db.models import AuditLog, Conversation, Message
from sajang.db.queries import audit
from sajang.db.types import utcnow
from sajang.db.users import verify_order_owner
from sajang.graphs.inquiry.intents import ORDER_ID, verification_parts

FAILURES_ALLOWED = 5  # per order number and per conversation, in FAILURE_WINDOW (the page allows 5 per order)
FAILURE_WINDOW = timedelta(minutes=15)
EARLIER_LINES = 3  # "O-…" in one message, "1234" in the next: the order number is looked up this far back


@dataclass
class Verification:
    outcome: str  # verified | failed | locked
    customer_id: str | None = None


def _failures(engine: Engine, target_type: str, target_id: str) -> int:
    since = utcnow() - FAILURE_WINDOW
    with engine.connect() as conn:
        return int(conn.execute(select(func.count(AuditLog.id)).where(
            AuditLog.target_type == target_type, AuditLog.target_id == target_id,
            AuditLog.action == "chat.verify_failed", AuditLog.at >= since)).scalar() or 0)


def _earlier_order_id(engine: Engine, conversation_id: int, message_id: int) -> str | None:
    with engine.connect() as conn:
        lines = conn.execute(select(Message.text).where(
            Message.conversation_id == conversation_id, Message.role == "customer", Message.id < message_id)
            .order_by(Message.id.desc()).limit(EARLIER_LINES)).scalars().all()
    for line in lines:
        m = ORDER_ID.search(line or "")
        if m:
            return m.group(0).upper()
    return None


def verify_in_chat(engine: Engine, conversation_id: int, thread_id: str, message_id: int,
                   text: str) -> Verification | None:
    """The outcome when a guest's message gives an order number and phone digits (None: it does not)."""
    order_id, last4 = verification_parts(text)
    if last4 is None:
        return None
    if order_id is None:
        order_id = _earlier_order_id(engine, conversation_id, message_id)
        if order_id is None:
            return None
    if _failures(engine, "order", order_id) >= FAILURES_ALLOWED or \
            _failures(engine, "conversation", thread_id) >= FAILURES_ALLOWED:
        return Verification("locked")
    found = verify_order_owner(engine, order_id, last4)
    with session_scope(engine) as s:
        if found is None:
            audit(s, "chat", "chat.verify_failed", "order", order_id, thread_id=thread_id)
            audit(s, "chat", "chat.verify_failed", "conversation", thread_id, order_id=order_id)
            return Verification("failed")
        customer_id = found[0]
        # only a guest conversation becomes the customer's (never one that already belongs to someone)
        s.execute(update(Conversation).where(Conversation.id == conversation_id, Conversation.customer_id.is_(None))
                  .values(customer_id=customer_id, updated_at=utcnow()))
        audit(s, "chat", "chat.verified", "conversation", thread_id, customer_id=customer_id, order_id=order_id)
    return Verification("verified", customer_id)
