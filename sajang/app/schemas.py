"""Pydantic request/response models of the REST API (`/api/v1`).

Every text field refuses NUL and unpaired surrogates (PostgreSQL cannot store them) and has a length
cap; the per-shop limits (`SAJANG_MAX_MESSAGE_CHARS` …) are checked in the routes with 413.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

HARD_TEXT_CAP = 20_000  # beyond any configured message limit: refused by validation


def _clean_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("text must be valid Unicode") from exc
    return value


SafeStr = Annotated[str, AfterValidator(_clean_text)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), AfterValidator(_clean_text)]
MessageText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=HARD_TEXT_CAP),
                        AfterValidator(_clean_text)]
# An id typed by a caller (a customer, a member, a review): free text but never NUL, looked up in the database.
IdText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
                   AfterValidator(_clean_text)]
Locale = Literal["ko", "en"]
Role = Literal["admin", "agent"]
ThreadId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
# Row ids fit PostgreSQL's integer: larger values are a 422, not a database error.
RowId = Annotated[int, Field(ge=1, le=2_147_483_647)]

EARLIEST_DATE, LATEST_DATE = date(1990, 1, 1), date(2100, 12, 31)  # older: public order data sets (CDNOW, 1997)


def _date_text_only(value: Any) -> Any:
    """A date as "YYYY-MM-DD": pydantic would read a number as seconds since 1970 (`0` → 1970-01-01)."""
    if isinstance(value, int | float):  # bool too
        raise ValueError("give the date as YYYY-MM-DD")
    return value


def _date_in_range(value: date) -> date:
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise ValueError(f"the date must lie between {EARLIEST_DATE} and {LATEST_DATE}")
    return value


SaneDate = Annotated[date, BeforeValidator(_date_text_only), AfterValidator(_date_in_range)]


class ErrorOut(BaseModel):
    code: str = Field(examples=["not_found"])
    message: str = Field(examples=["no such conversation"])
    errors: list[dict[str, Any]] | None = Field(default=None, description="Validation errors: where and why")


class Health(BaseModel):
    status: str
    version: str


# --- auth ------------------------------------------------------------------------------------------


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    role: Role
    username: str


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    username: str
    display_name: str
    role: Role
    is_active: bool
    locale: str
    last_login_at: datetime | None = None


class UserCreate(BaseModel):
    username: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")]
    password: Annotated[str, StringConstraints(min_length=8, max_length=256), AfterValidator(_clean_text)]
    role: Role = "agent"
    display_name: ShortText | None = None
    locale: Locale = "ko"


class UserUpdate(BaseModel):
    password: Annotated[str, StringConstraints(min_length=8, max_length=256), AfterValidator(_clean_text)] | None = None
    role: Role | None = None
    display_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
                            AfterValidator(_clean_text)] | None = None
    is_active: bool | None = None
    locale: Locale | None = None


# --- chat (customers) ------------------------------------------------------------------------------


class ChatSessionCreate(BaseModel):
    """Guest: nothing or a name. Verified: order number and the last 4 digits of the phone on the order."""

    name: ShortText | None = Field(default=None, description="How to address a guest")
    order_id: IdText | None = None
    phone_last4: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")] | None = None
    locale: Locale = "ko"
    member_id: IdText | None = Field(
        default=None, description="The shop's member id of a logged-in member (the widget); needs member_hash")
    member_hash: Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{64}$")] | None = Field(
        default=None, description="hex HMAC-SHA256 of member_id with SAJANG_WIDGET_SECRET, computed by the shop")
    channel: Literal["api", "widget"] = Field(default="api", description="where the customer writes (the hub shows it)")


class ChatSessionOut(BaseModel):
    thread_id: str
    token: str = Field(description="Bearer token for this conversation only")
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    verified: bool
    customer_id: str | None = None
    customer_name: str | None = None
    locale: Locale


class ChatSessionInfo(BaseModel):
    thread_id: str
    verified: bool
    customer_id: str | None = None
    status: str | None = None
    locale: str


class MessageIn(BaseModel):
    text: MessageText
    attachment_ids: Annotated[list[RowId], Field(max_length=5)] = []
    locale: Locale | None = None


class SourceOut(BaseModel):
    id: str
    title: str
    score: float | None = None
    kind: str | None = None


class AskOut(BaseModel):
    """The answer to one customer message (the `sajang ask --json` object)."""

    thread_id: str
    category: str | None = None
    urgency: str | None = None
    answer: str | None = None
    sources: list[SourceOut] = []
    confidence: float | None = None
    handoff: bool = False
    handoff_reason: str | None = None


class AttachmentOut(BaseModel):
    id: int
    filename: str
    content_type: str
    size: int
    uploaded_by: str
    url: str | None = None


class MessageOut(BaseModel):
    id: int | None = None
    role: str
    text: str
    time: datetime | None = None
    author: str | None = None
    sources: list[SourceOut] = []
    attachments: list[AttachmentOut] = []


class MessagesOut(BaseModel):
    thread_id: str
    status: str | None = None
    messages: list[MessageOut]


class OrderItemOut(BaseModel):
    product_id: str | None = None
    product_name: str
    quantity: int
    amount: str


class OrderOut(BaseModel):
    order_id: str
    ordered_at: datetime
    status: str
    amount: str
    courier: str | None = None
    tracking_no: str | None = None
    items: list[OrderItemOut] = []


# --- agent -----------------------------------------------------------------------------------------

QueueStatus = Literal["new", "pending", "mine", "assigned", "resolved", "all"]


class InquiryOut(BaseModel):
    """One queue row (fields of `InquiryService.list_handoffs`; extra fields pass through)."""

    model_config = ConfigDict(extra="allow")
    thread_id: str
    status: str | None = None
    customer_id: str | None = None
    category: str | None = None
    urgency: str | None = None


class ConversationOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    thread_id: str
    status: str | None = None
    customer_id: str | None = None
    messages: list[dict[str, Any]] = []


class ReplyIn(BaseModel):
    text: MessageText
    attachment_ids: Annotated[list[RowId], Field(max_length=5)] = []
    resolve: bool = False


class FeedbackIn(BaseModel):
    correct_text: MessageText
    message_id: RowId | None = None


class ClaimOut(BaseModel):
    thread_id: str
    claimed: bool
    assignee: str


class ResultOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    ok: bool = True


class CustomerProfileOut(BaseModel):
    """`sajang.db.profile.get_customer_profile` (money as decimal strings)."""

    id: str
    name: str | None = None
    joined_at: datetime | None = None
    total_spent: str
    order_count: int
    last_order_at: datetime | None = None
    claim_count: int
    review_count: int
    segment: str | None = None
    recent_orders: list[dict[str, Any]] = []
    claims: list[dict[str, Any]] = []
    reviews: list[dict[str, Any]] = []


ManualAudience = Literal["customers", "agents"]


class ManualArticleAudienceOut(BaseModel):
    """A manual article and who may read it: `written` is what its text says (front matter `audience:` /
    the agents-only mark), `audience` what is in effect, `overridden` whether the admin's switch decides."""

    id: str
    title: str
    category: str | None = None
    written: ManualAudience
    audience: ManualAudience
    overridden: bool


class ManualAudienceIn(BaseModel):
    """`agents`: customers never read it; `customers`: they may, whatever its text says; `default`: as its
    text says again."""

    model_config = ConfigDict(extra="forbid")
    audience: Literal["agents", "customers", "default"] = Field(examples=["agents"])


class ManualAudienceChangeOut(BaseModel):
    """The article now, who could read it `before`, and the translations switched with it (`x.en`)."""

    article: ManualArticleAudienceOut
    before: ManualAudience
    changed: bool
    translations: list[str]
