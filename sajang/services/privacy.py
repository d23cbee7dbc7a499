"""Customers' personal data (PIPA): what we hold on one customer, erasing it, and keeping it no longer than set.

- `export_customer`: everything stored about one customer, as one JSON-able document (a data-subject
  access request): profile, orders and their items, claims, reviews, product questions, conversations
  with their messages and attachment metadata, coupons, queued messages, segments.
- `forget_customer`: erasure that keeps the shop's books and aggregates true. What identifies or describes
  the person goes (name, phone, e-mail, recipient, address, tracking numbers, the words they wrote in
  chats, reviews, questions and claims, their photos, the graph checkpoints holding their chat, the queued
  messages with their name, the «답변 알림» contact they left in a chat — also as a guest, when it is their
  phone or e-mail — and the notices queued for it); what the numbers are made of stays under the customer's pseudonymous id
  (order amounts and dates, claim types, ratings, conversation timestamps and categories, coupon issues),
  so revenue, RFM segments and the dashboard's counts do not change. Audit rows stay (they name ids,
  never personal data) and the erasure adds its own.
- `purge`: the retention settings (`SAJANG_RETENTION_*_DAYS`, 0 = keep): closed conversations not touched
  for that long are deleted with their messages, photos and checkpoints; photos and queued messages older
  than theirs too. `sajang serve` runs it every `SAJANG_PURGE_INTERVAL_HOURS`.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import delete, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from sajang.config import Settings
from sajang.db.engine import session_scope
from sajang.db.models import (
    Attachment,
    AuditLog,
    Base,
    Claim,
    Conversation,
    CouponIssue,
    Customer,
    CustomerSegment,
    Message,
    Order,
    OrderItem,
    OutboxMessage,
    ProductQna,
    Review,
)
from sajang.db.types import utcnow
from sajang.errors import NotFound
from sajang.graphs.common.checkpoint import get_checkpointer
from sajang.graphs.common.context import engine_for
from sajang.services.notify import InvalidContact, normalize_contact

log = logging.getLogger("sajang.privacy")
ERASED = "[삭제됨]"  # what stays of an erased text (rows stay: counts and dates are the shop's books)
OPEN_STATUSES = ("new", "assigned")  # a conversation a person still works on is never purged


def _changed(s: Session, statement: Any) -> int:
    """Rows an UPDATE or DELETE changed."""
    return int(cast(CursorResult[Any], s.execute(statement)).rowcount)


def _row(obj: Base) -> dict[str, Any]:
    return {c.key: getattr(obj, c.key) for c in obj.__mapper__.column_attrs}


def export_customer(settings: Settings, customer_id: str) -> dict[str, Any]:
    """Every row about `customer_id` (values as stored; dates ISO when dumped to JSON)."""
    with session_scope(engine_for(settings)) as s:
        customer = s.get(Customer, customer_id)
        if customer is None:
            raise NotFound(f"no such customer: {customer_id}")
        orders = s.scalars(select(Order).where(Order.customer_id == customer_id).order_by(Order.ordered_at)).all()
        items = s.scalars(select(OrderItem).where(OrderItem.order_id.in_([o.id for o in orders]))
                          .order_by(OrderItem.id)).all()
        by_order: dict[str, list[dict[str, Any]]] = {}
        for item in items:
            by_order.setdefault(item.order_id, []).append(_row(item))
        conversations = []
        for conv in s.scalars(select(Conversation).where(Conversation.customer_id == customer_id)
                              .order_by(Conversation.created_at)):
            messages = s.scalars(select(Message).where(Message.conversation_id == conv.id)
                                 .order_by(Message.created_at, Message.id)).all()
            files = s.scalars(select(Attachment).where(Attachment.conversation_id == conv.id)
                              .order_by(Attachment.id)).all()
            conversations.append({**_row(conv), "messages": [_row(m) for m in messages],
                                  "attachments": [{k: v for k, v in _row(a).items() if k != "path"} for a in files]})

        def rows(model: Any, column: Any) -> list[dict[str, Any]]:
            return [_row(r) for r in s.scalars(select(model).where(column == customer_id))]

        return {
            "customer": _row(customer),
            "orders": [{**_row(o), "items": by_order.get(o.id, [])} for o in orders],
            "claims": rows(Claim, Claim.customer_id),
            "reviews": rows(Review, Review.customer_id),
            "product_questions": rows(ProductQna, ProductQna.customer_id),
            "conversations": conversations,
            "coupons": rows(CouponIssue, CouponIssue.customer_id),
            "queued_messages": [_row(r) for r in s.scalars(select(OutboxMessage).where(or_(
                OutboxMessage.customer_id == customer_id,
                OutboxMessage.conversation_id.in_([c["id"] for c in conversations]))).order_by(OutboxMessage.id))],
            "segments": rows(CustomerSegment, CustomerSegment.customer_id),
            "exported_at": utcnow(),
        }


@dataclass
class ForgetResult:
    customer_id: str
    orders: int = 0
    conversations: int = 0
    messages: int = 0
    attachments: int = 0
    reviews: int = 0
    product_questions: int = 0
    claims: int = 0
    queued_messages: int = 0
    checkpoints: int = 0
    contacts: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _contacts_of(phone: str | None, email: str | None) -> list[str]:
    """The customer's phone and e-mail as a «답변 알림» contact stores them (normalised)."""
    found: list[str] = []
    for raw in (phone, email):
        try:
            found.append(normalize_contact(raw or "").value)
        except InvalidContact:
            continue
    return found


def _remove_files(settings: Settings, paths: list[str]) -> None:
    root = (settings.data_dir / "attachments").resolve()
    for rel in paths:
        path = (settings.data_dir / rel).resolve()
        if path.is_relative_to(root):
            path.unlink(missing_ok=True)


def _delete_checkpoints(settings: Settings, thread_ids: list[str]) -> int:
    if not thread_ids:
        return 0
    saver = get_checkpointer(settings)
    for thread_id in thread_ids:
        saver.delete_thread(thread_id)
    return len(thread_ids)


def forget_customer(settings: Settings, customer_id: str, actor: str = "cli") -> ForgetResult:
    """Erase the person behind `customer_id` (see the module docstring); running it again finds nothing
    left to erase and changes nothing but the audit."""
    result = ForgetResult(customer_id)
    with session_scope(engine_for(settings)) as s:
        customer = s.get(Customer, customer_id)
        if customer is None:
            raise NotFound(f"no such customer: {customer_id}")
        contacts = _contacts_of(customer.phone, customer.email)
        customer.name = customer.phone = customer.email = None
        result.orders = _changed(s, update(Order).where(Order.customer_id == customer_id).values(
            recipient_name=None, address=None, tracking_no=None))
        conv_ids = list(s.scalars(select(Conversation.id).where(Conversation.customer_id == customer_id)))
        thread_ids = list(s.scalars(select(Conversation.thread_id).where(Conversation.id.in_(conv_ids))))
        result.conversations = len(conv_ids)
        s.execute(update(Conversation).where(Conversation.id.in_(conv_ids)).values(
            subject=None, guest_name=None, notify_contact=None))
        # «답변 알림» contacts: of their conversations, and the same phone / e-mail left in a guest chat
        result.contacts = _changed(s, update(Conversation).where(
            Conversation.notify_contact.in_(contacts)).values(notify_contact=None)) if contacts else 0
        result.messages = _changed(s, update(Message).where(Message.conversation_id.in_(conv_ids)).values(
            text=ERASED, sources=None, meta=None))
        files = list(s.scalars(select(Attachment.path).where(Attachment.conversation_id.in_(conv_ids))))
        result.attachments = _changed(s, delete(Attachment).where(Attachment.conversation_id.in_(conv_ids)))
        result.reviews = _changed(s, update(Review).where(Review.customer_id == customer_id).values(
            text=ERASED, images=[], reply_draft=None))
        result.product_questions = _changed(s, update(ProductQna).where(ProductQna.customer_id == customer_id)
                                             .values(text=ERASED))
        result.claims = _changed(s, update(Claim).where(Claim.customer_id == customer_id).values(reason=None))
        result.queued_messages = _changed(s, delete(OutboxMessage).where(or_(
            OutboxMessage.customer_id == customer_id, OutboxMessage.conversation_id.in_(conv_ids),
            OutboxMessage.recipient.in_(contacts))))
        s.add(AuditLog(actor=actor, action="privacy.forget", target_type="customer", target_id=customer_id,
                       details={k: v for k, v in result.as_dict().items() if k != "customer_id"}))
    # after the commit: a failure here leaves files or checkpoints no row points at, never the reverse
    _remove_files(settings, files)
    result.checkpoints = _delete_checkpoints(settings, thread_ids)
    return result


@dataclass
class PurgeResult:
    conversations: int = 0
    attachments: int = 0
    queued_messages: int = 0
    checkpoints: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _cutoff(now: datetime, days: int) -> datetime | None:
    return now - timedelta(days=days) if days > 0 else None


def purge(settings: Settings, now: datetime | None = None, actor: str = "system") -> PurgeResult:
    """Delete what the retention settings no longer allow (one transaction, then files and checkpoints)."""
    now = now or utcnow()
    result = PurgeResult()
    files: list[str] = []
    thread_ids: list[str] = []
    with session_scope(engine_for(settings)) as s:
        if (before := _cutoff(now, settings.retention_conversations_days)) is not None:
            old = select(Conversation.id).where(Conversation.updated_at < before,
                                                Conversation.status.not_in(OPEN_STATUSES))
            conv_ids = list(s.scalars(old))
            thread_ids = list(s.scalars(select(Conversation.thread_id).where(Conversation.id.in_(conv_ids))))
            files += _attachment_paths(s, Attachment.conversation_id.in_(conv_ids))
            s.execute(delete(Attachment).where(Attachment.conversation_id.in_(conv_ids)))
            s.execute(delete(Message).where(Message.conversation_id.in_(conv_ids)))
            result.conversations = _changed(s, delete(Conversation).where(Conversation.id.in_(conv_ids)))
        if (before := _cutoff(now, settings.retention_attachments_days)) is not None:
            files += _attachment_paths(s, Attachment.created_at < before)
            s.execute(delete(Attachment).where(Attachment.created_at < before))
        result.attachments = len(set(files))
        if (before := _cutoff(now, settings.retention_outbox_days)) is not None:
            result.queued_messages = _changed(s, delete(OutboxMessage).where(OutboxMessage.created_at < before))
        if any(result.as_dict().values()):
            s.add(AuditLog(actor=actor, action="privacy.purge", target_type="retention", target_id=None,
                           details=result.as_dict()))
    _remove_files(settings, files)
    result.checkpoints = _delete_checkpoints(settings, thread_ids)
    return result


def _attachment_paths(s: Session, condition: Any) -> list[str]:
    return list(s.scalars(select(Attachment.path).where(condition)))


class PurgeSchedule:
    """`purge` every `settings.purge_interval_hours` in a daemon thread of the serving process (with several
    replicas each purges; the deletes are idempotent)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stopped = threading.Event()

    def start(self) -> None:
        if self.settings.purge_interval_hours > 0:
            threading.Thread(target=self._loop, name="sajang-purge", daemon=True).start()

    def _loop(self) -> None:
        # the first purge a few minutes after start (not during the warm-up), then every interval
        wait = min(self.settings.purge_interval_hours * 3600, 300.0)
        while not self.stopped.wait(wait):
            wait = self.settings.purge_interval_hours * 3600
            try:
                log.info("retention purge: %s", purge(self.settings).as_dict())
            except Exception:
                log.exception("retention purge failed")

    def stop(self) -> None:
        self.stopped.set()
