"""«답변 알림 받기»: a chat customer waiting for a person leaves a phone number or an e-mail address and is
told, through the outbox (the same queue the coupon messages go out by), that a person answered.

- `normalize_contact`: a Korean mobile number (010-1234-5678, 01012345678, +82 10 …; the old 011/016/
  017/018/019 numbers may have 3 middle digits) or an e-mail address, normalised; anything else is `InvalidContact` (422);
- `set_contact`: stored on the conversation (personal data: `sajang privacy export` shows it, `forget`
  erases it, with the notices queued for it);
- `queue_reply_notice`: after an agent's reply, one outbox message per burst of replies — the first
  reply after the contact was left, or after the customer wrote again, queues one; the replies that
  follow it before the customer writes again do not. A conditional UPDATE decides it, so of two replies
  at once one queues.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import and_, exists, or_, select, update

from sajang.config import Settings
from sajang.db.engine import session_scope
from sajang.db.models import Conversation, Message, OutboxMessage
from sajang.db.types import utcnow
from sajang.errors import NotFound, SajangError
from sajang.graphs.common.context import engine_for, store_policy

ContactKind = Literal["sms", "email"]
MAX_CONTACT_CHARS = 254
_MOBILE = re.compile(r"^01([016789])(\d{3,4})(\d{4})$")
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
NOTICE = "[{shop}] 문의하신 내용에 상담원이 답변했어요. 이어서 확인하기: {link}"


class InvalidContact(SajangError):
    code = "invalid_contact"
    status_code = 422


@dataclass(frozen=True)
class Contact:
    kind: ContactKind
    value: str

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "contact": self.value}


def normalize_contact(raw: str) -> Contact:
    """A Korean mobile number as 01X-XXXX-XXXX (or 01X-XXX-XXXX) or a lower-cased e-mail address."""
    text = (raw or "").strip()
    if not text or len(text) > MAX_CONTACT_CHARS:
        raise InvalidContact("enter a mobile number (010-1234-5678) or an e-mail address")
    if "@" in text:
        if not _EMAIL.match(text) or len(text.split("@")[0]) > 64:
            raise InvalidContact("not an e-mail address (name@example.com)")
        local, domain = text.split("@", 1)
        return Contact("email", f"{local}@{domain.lower()}")
    digits = re.sub(r"[\s().-]", "", text)
    if digits.startswith("+82"):
        digits = "0" + digits[3:]
    elif digits.startswith("82") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    m = _MOBILE.match(digits)
    if not m or (m.group(1) == "0" and len(m.group(2)) != 4):  # 010 numbers: always 010-XXXX-XXXX
        raise InvalidContact("not a Korean mobile number (010-1234-5678)")
    return Contact("sms", f"01{m.group(1)}-{m.group(2)}-{m.group(3)}")


def contact_kind(value: str) -> ContactKind:
    return "email" if "@" in value else "sms"


def set_contact(settings: Settings, thread_id: str, raw: str) -> Contact:
    """Store where to tell this conversation's customer that a person answered (replaces an earlier one)."""
    contact = normalize_contact(raw)
    with session_scope(engine_for(settings)) as s:
        changed = s.execute(update(Conversation).where(Conversation.thread_id == thread_id)
                            .values(notify_contact=contact.value, notify_sent_at=None))
        if getattr(changed, "rowcount", 0) != 1:
            raise NotFound("no such conversation")
    return contact


def contact_of(settings: Settings, thread_id: str) -> str | None:
    with session_scope(engine_for(settings)) as s:
        return s.scalar(select(Conversation.notify_contact).where(Conversation.thread_id == thread_id))


def chat_link(settings: Settings) -> str:
    base = (settings.public_url or "").rstrip("/")
    return f"{base}/chat/"


def queue_reply_notice(settings: Settings, thread_id: str) -> bool:
    """After an agent's reply: queue the «a person answered» notice when the customer left a contact and
    none was queued since they last wrote. True when this call queued it."""
    conv = Conversation.__table__.c
    now = utcnow()
    text = NOTICE.format(shop=store_policy(settings).shop_name, link=chat_link(settings))
    wrote_since = exists().where(Message.conversation_id == conv.id, Message.role == "customer",
                                 Message.created_at > conv.notify_sent_at)
    with session_scope(engine_for(settings)) as s:
        row = s.execute(
            update(Conversation)
            .where(and_(conv.thread_id == thread_id, conv.notify_contact.is_not(None),
                        or_(conv.notify_sent_at.is_(None), wrote_since)))
            .values(notify_sent_at=now)
            .returning(conv.id, conv.customer_id, conv.notify_contact)).first()
        if row is None:
            return False
        s.add(OutboxMessage(customer_id=row.customer_id, conversation_id=row.id, recipient=row.notify_contact,
                            channel=contact_kind(str(row.notify_contact)), status="pending", created_at=now,
                            text=text))
    return True
