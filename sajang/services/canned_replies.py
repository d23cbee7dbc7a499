"""Canned replies (macros): saved replies the admin writes and agents insert into the hub's reply box.

A reply's body may carry variables in braces, filled from the open conversation when an agent picks it:

- `{고객명}` the customer's name (a guest's given name), `{주문번호}` `{주문상태}` `{송장번호}` of their latest order,
- `{배송비}` `{무료배송기준}` `{상담시간}` `{고객센터}` `{상호}` `{택배사}` from the store policy in effect
  (`sajang.services.store_settings`), `{상담원}` the agent's name.

A value the conversation does not have (a guest has no order) becomes a visible placeholder such as
`[주문번호 입력]` for the agent to fill in, never "None"; a name that is not a known variable stays as
written (`{쿠폰코드}`), so a typo shows. A particle written both ways right after a variable
(`{고객명}을(를)`) takes the form the filled-in word needs. The text is never sent from here: the hub puts
it in the reply box for the agent to edit. Only the admin creates, edits and deletes (each change audited).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from sajang.config import Settings
from sajang.db.engine import session_scope
from sajang.db.models import CannedReply, Customer, Order
from sajang.db.queries import audit
from sajang.db.types import utcnow
from sajang.errors import Conflict, Forbidden, NotFound, SajangError
from sajang.graphs.common.context import engine_for
from sajang.graphs.inquiry.conversations import conversation_row
from sajang.knowledge.normalize import particle_after
from sajang.labels import ORDER_STATUS_LABELS
from sajang.services.accounts import StaffMember
from sajang.services.store_settings import current_policy

MAX_TITLE_CHARS = 100
MAX_BODY_CHARS = 2000
MAX_REPLIES = 500  # a list an agent can scan; more is a sign of a mistake (or a script gone wrong)

# the variables, in the order the hub lists them
VARIABLES: tuple[str, ...] = ("고객명", "주문번호", "주문상태", "송장번호", "배송비", "무료배송기준", "상담시간",
                              "고객센터", "상호", "택배사", "상담원")
# a variable, and a particle written both ways right after it, e.g. {고객명}을(를) or {상호}이(가)
_VARIABLE = re.compile(r"\{([^{}\s]{1,20})\}(을\(를\)|를\(을\)|이\(가\)|가\(이\)|은\(는\)|는\(은\)|과\(와\)|와\(과\))?")


class InvalidCannedReply(SajangError):
    code = "invalid_canned_reply"
    status_code = 422


@dataclass(frozen=True)
class CannedReplyView:
    id: int
    title: str
    body: str
    updated_at: datetime | None = None
    updated_by: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["updated_at"] = self.updated_at.isoformat() if self.updated_at else None
        return out


@dataclass(frozen=True)
class RenderedReply:
    """The filled-in text, the variables left as placeholders (`missing`) and the unknown ones kept as written."""

    id: int
    title: str
    text: str
    missing: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def placeholder(name: str) -> str:
    """What a variable without a value becomes: visible, and plainly something to fill in."""
    return f"[{name} 입력]"


def fill(body: str, values: dict[str, str | None]) -> tuple[str, list[str], list[str]]:
    """`body` with its variables filled from `values` (a known variable whose value is None or empty → its
    placeholder; a name not in `VARIABLES` stays as written). Returns the text, missing and unknown names."""
    missing: list[str] = []
    unknown: list[str] = []

    def value_of(name: str) -> str | None:
        if name not in VARIABLES:
            if name not in unknown:
                unknown.append(name)
            return None
        value = (values.get(name) or "").strip()
        if not value:
            if name not in missing:
                missing.append(name)
            return placeholder(name)
        return value

    def one(m: re.Match[str]) -> str:
        name, both = m.group(1), m.group(2) or ""
        value = value_of(name)
        if value is None:
            return m.group(0)
        if not both or value == placeholder(name):
            return value + both  # no value yet: the agent picks the particle with the word
        return value + particle_after(value, both[0])

    text = _VARIABLE.sub(one, body)  # one pass: a filled-in value is never read as a variable again
    return text, missing, unknown


def _won(value: Decimal | int | None) -> str | None:
    return None if value is None else f"{int(value):,}원"


def variables_for(settings: Settings, thread_id: str, agent: StaffMember | None = None) -> dict[str, str | None]:
    """Every variable's value for one conversation (None = this conversation does not have it)."""
    engine = engine_for(settings)
    conv = conversation_row(engine, thread_id)
    if conv is None:
        raise NotFound(f"conversation {thread_id} not found", code="conversation_not_found")
    policy = current_policy(settings)
    name: str | None = conv.get("guest_name")
    order: Order | None = None
    if conv.get("customer_id"):
        with session_scope(engine) as s:
            name = s.scalar(select(Customer.name).where(Customer.id == conv["customer_id"])) or name
            order = s.scalars(select(Order).where(Order.customer_id == conv["customer_id"])
                              .order_by(Order.ordered_at.desc(), Order.id.desc()).limit(1)).first()
            if order is not None:
                s.expunge(order)
    tracking = " ".join(x for x in (order.courier, order.tracking_no) if x) if order and order.tracking_no else None
    return {
        "고객명": name,
        "주문번호": order.id if order else None,
        "주문상태": ORDER_STATUS_LABELS.get(order.status, {}).get("ko", order.status) if order else None,
        "송장번호": tracking,
        "배송비": _won(policy.delivery_fee),
        "무료배송기준": _won(policy.free_shipping_threshold),
        "상담시간": policy.cs_hours,
        "고객센터": policy.cs_phone,
        "상호": policy.shop_name,
        "택배사": policy.courier,
        "상담원": agent.name if agent is not None else None,
    }


# --- the list -----------------------------------------------------------------------------------


def _view(row: CannedReply) -> CannedReplyView:
    return CannedReplyView(id=row.id, title=row.title, body=row.body, updated_at=row.updated_at,
                           updated_by=row.updated_by)


def list_replies(settings: Settings) -> list[CannedReplyView]:
    """All saved replies, by title."""
    with session_scope(engine_for(settings)) as s:
        return [_view(r) for r in s.scalars(select(CannedReply).order_by(CannedReply.title, CannedReply.id)
                                             .limit(MAX_REPLIES))]


def get_reply(settings: Settings, reply_id: int) -> CannedReplyView:
    with session_scope(engine_for(settings)) as s:
        row = s.get(CannedReply, reply_id)
        if row is None:
            raise NotFound(f"canned reply {reply_id} not found", code="canned_reply_not_found")
        return _view(row)


def _admin(me: StaffMember | None) -> str:
    if me is None or me.role != "admin":
        raise Forbidden("only the admin edits canned replies", code="admin_only")
    return me.username


def _clean(title: str, body: str) -> tuple[str, str]:
    title = " ".join(str(title or "").split())
    body = str(body or "").replace("\r\n", "\n").strip()
    if not title:
        raise InvalidCannedReply("the title is empty")
    if len(title) > MAX_TITLE_CHARS:
        raise InvalidCannedReply(f"the title is longer than {MAX_TITLE_CHARS} characters")
    if not body:
        raise InvalidCannedReply("the reply text is empty")
    if len(body) > MAX_BODY_CHARS:
        raise InvalidCannedReply(f"the reply text is longer than {MAX_BODY_CHARS} characters")
    if "\x00" in title or "\x00" in body:
        raise InvalidCannedReply("the text contains a NUL character")
    return title, body


def _duplicate(title: str) -> Conflict:
    return Conflict(f"a canned reply titled {title!r} already exists", code="duplicate_title")


def create_reply(settings: Settings, title: str, body: str, me: StaffMember | None) -> CannedReplyView:
    actor = _admin(me)
    title, body = _clean(title, body)
    try:
        with session_scope(engine_for(settings)) as s:
            if (s.scalar(select(func.count(CannedReply.id))) or 0) >= MAX_REPLIES:
                raise InvalidCannedReply(f"there are already {MAX_REPLIES} canned replies")
            if s.scalar(select(CannedReply.id).where(CannedReply.title == title)) is not None:
                raise _duplicate(title)
            row = CannedReply(title=title, body=body, updated_by=actor)
            s.add(row)
            s.flush()
            audit(s, actor, "canned_reply.create", "canned_reply", row.id, title=title)
            return _view(row)
    except IntegrityError:  # the same title saved at the same moment by another tab
        raise _duplicate(title) from None


def update_reply(settings: Settings, reply_id: int, me: StaffMember | None, title: str | None = None,
                 body: str | None = None) -> CannedReplyView:
    actor = _admin(me)
    try:
        with session_scope(engine_for(settings)) as s:
            row = s.get(CannedReply, reply_id)
            if row is None:
                raise NotFound(f"canned reply {reply_id} not found", code="canned_reply_not_found")
            new_title, new_body = _clean(row.title if title is None else title, row.body if body is None else body)
            if new_title != row.title and s.scalar(
                    select(CannedReply.id).where(CannedReply.title == new_title)) is not None:
                raise _duplicate(new_title)
            changed = [k for k, old, new in (("title", row.title, new_title), ("body", row.body, new_body))
                       if old != new]
            if changed:
                row.title, row.body, row.updated_at, row.updated_by = new_title, new_body, utcnow(), actor
                s.flush()
                audit(s, actor, "canned_reply.update", "canned_reply", row.id, fields=changed)
            return _view(row)
    except IntegrityError:
        raise _duplicate(str(title)) from None


def delete_reply(settings: Settings, reply_id: int, me: StaffMember | None) -> None:
    actor = _admin(me)
    with session_scope(engine_for(settings)) as s:
        row = s.get(CannedReply, reply_id)
        if row is None:
            raise NotFound(f"canned reply {reply_id} not found", code="canned_reply_not_found")
        audit(s, actor, "canned_reply.delete", "canned_reply", row.id, title=row.title)
        s.delete(row)


def render_reply(settings: Settings, reply_id: int, thread_id: str, agent: StaffMember | None = None
                 ) -> RenderedReply:
    """The reply filled in for this conversation, for the agent to edit; nothing is sent."""
    reply = get_reply(settings, reply_id)
    text, missing, unknown = fill(reply.body, variables_for(settings, thread_id, agent))
    return RenderedReply(id=reply.id, title=reply.title, text=text, missing=missing, unknown=unknown)


DEMO_REPLIES: tuple[tuple[str, str], ...] = (
    ("첫 인사", "안녕하세요 {고객명}님, {상호} 상담원 {상담원}입니다. 문의 주셔서 감사합니다. 바로 확인해 드릴게요."),
    ("배송 조회 안내", "{고객명}님, 주문번호 {주문번호} 주문은 현재 「{주문상태}」 상태입니다. 송장번호는 {송장번호}이며, "
                 "택배사 사이트에서 배송 위치를 확인하실 수 있어요."),
    ("배송비 안내", "배송비는 {배송비}이며, {무료배송기준} 이상 구매하시면 무료로 배송해 드립니다."),
    ("상담 시간 안내", "상담 가능 시간은 {상담시간}입니다. 전화 문의는 {고객센터}로 주세요."),
    ("마무리 인사", "더 궁금하신 점이 있으면 언제든 말씀해 주세요. {상호}을(를) 이용해 주셔서 감사합니다!"),
)


def seed_demo_replies(settings: Settings, actor: str = "system") -> int:
    """The demo shop's canned replies (only those whose title is not taken yet); how many were added."""
    added = 0
    with session_scope(engine_for(settings)) as s:
        taken = set(s.scalars(select(CannedReply.title)))
        for title, body in DEMO_REPLIES:
            if title not in taken:
                s.add(CannedReply(title=title, body=body, updated_by=actor))
                added += 1
        if added:
            audit(s, actor, "canned_reply.seed", "canned_reply", None, count=added)
    return added
