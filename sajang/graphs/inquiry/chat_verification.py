"""A guest proves in the chat that an order is theirs: the order number and the last 4 digits of the phone.

One rule for every way in (`attempt_verification`: the REST session route, the /chat page's form and a
guest typing the digits into the chat): failures are counted in the audit log, so every process sees them,
5 per order number (and per conversation: a chat cannot try other order numbers without end) in 15 minutes.
The lock is checked BEFORE the digits are compared, so a locked order refuses even the right digits until
the lock expires; the order's row is locked for the attempt, so concurrent guesses cannot all slip in under
the limit. A verified conversation belongs to that customer from then on (`conversations.customer_id`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from sajang.db.engine import session_scope
from sajang.db.models import AuditLog, Conversation, Message, Order
from sajang.db.queries import audit
from sajang.db.types import utcnow
from sajang.db.users import order_owner_in
from sajang.graphs.inquiry.intents import ORDER_ID, verification_parts

FAILURES_ALLOWED = 5  # per order number and per conversation, in FAILURE_WINDOW (the page allows 5 per order)
FAILURE_WINDOW = timedelta(minutes=15)
EARLIER_LINES = 3  # "O-…" in one message, "1234" in the next: the order number is looked up this far back


@dataclass
class Verification:
    outcome: str  # verified | failed | locked
    customer_id: str | None = None
    customer_name: str | None = None
    retry_after_s: float = 0.0  # locked: seconds until the lock expires


def _locked_for(s: Session, target_type: str, target_id: str) -> float:
    """Seconds until `target` may try again (0: not locked): locked while FAILURES_ALLOWED failures lie in
    the window, that is until the oldest of the latest FAILURES_ALLOWED leaves it."""
    now = utcnow()
    latest = s.execute(select(AuditLog.at).where(
        AuditLog.target_type == target_type, AuditLog.target_id == target_id,
        AuditLog.action == "chat.verify_failed", AuditLog.at >= now - FAILURE_WINDOW)
        .order_by(AuditLog.at.desc()).limit(FAILURES_ALLOWED)).scalars().all()
    if len(latest) < FAILURES_ALLOWED:
        return 0.0
    return max(1.0, (latest[-1] + FAILURE_WINDOW - now).total_seconds())


def attempt_verification(s: Session, order_id: str, last4: str, thread_id: str | None = None,
                         actor: str = "chat") -> Verification:
    """One attempt at proving `order_id` with `last4`, in the caller's transaction: locked (before the digits
    are compared) | failed (counted against the order and the conversation) | verified."""
    # A no-op write on the order's row: concurrent attempts at one order wait for each other (a row lock on
    # PostgreSQL, the database's write lock on SQLite), so each sees the failures the others counted.
    s.execute(update(Order).where(Order.id == order_id).values(status=Order.status))
    wait = _locked_for(s, "order", order_id)
    if thread_id is not None:
        wait = max(wait, _locked_for(s, "conversation", thread_id))
    if wait > 0:
        return Verification("locked", retry_after_s=wait)
    found = order_owner_in(s, order_id, last4)
    if found is None:
        audit(s, actor, "chat.verify_failed", "order", order_id, thread_id=thread_id)
        if thread_id is not None:
            audit(s, actor, "chat.verify_failed", "conversation", thread_id, order_id=order_id)
        return Verification("failed")
    return Verification("verified", found[0], found[1])


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
    with session_scope(engine) as s:
        result = attempt_verification(s, order_id, last4, thread_id)
        if result.customer_id is None:
            return result
        customer_id = result.customer_id
        # only a guest conversation becomes the customer's (never one that already belongs to someone)
        s.execute(update(Conversation).where(Conversation.id == conversation_id, Conversation.customer_id.is_(None))
                  .values(customer_id=customer_id, updated_at=utcnow()))
        audit(s, "chat", "chat.verified", "conversation", thread_id, customer_id=customer_id, order_id=order_id)
    return result
