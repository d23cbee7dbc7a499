"""The business schema: typed SQLAlchemy 2 models, identical on SQLite and PostgreSQL.

Natural ids from the shop's sales channels (customer, product, order, review, question ids) are
strings and are the primary keys, so re-imports upsert on them. Money is `Money()` (exact decimal),
every timestamp is `UTCDateTime` (aware, UTC). Indexes follow the queries of the queue, the
customer profile and the owner dashboard.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import text as sql_text  # `text` is also a column name below
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from .types import Money, UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, Decimal: Money(), dict[str, Any]: JSON, list[Any]: JSON}


# --- people ---------------------------------------------------------------------------------------


class User(Base):
    """A person who logs in: the owner (`admin`) or a CS agent (`agent`)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))  # admin | agent
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str] = mapped_column(String(8), default="ko")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]


class Customer(Base):
    """A shopper. Totals are never stored: they derive from `orders`."""

    __tablename__ = "customers"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(255))
    joined_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    orders: Mapped[list[Order]] = relationship(back_populates="customer", lazy="raise_on_sql")


# --- catalogue and sales --------------------------------------------------------------------------


class Product(Base):
    __tablename__ = "products"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(64))
    price: Mapped[Decimal | None]
    cost: Mapped[Decimal | None]
    stock: Mapped[int] = mapped_column(Integer, default=0)
    safety_stock: Mapped[int] = mapped_column(Integer, default=0)
    lead_time_days: Mapped[int] = mapped_column(Integer, default=3)  # days from reorder to restock
    status: Mapped[str] = mapped_column(String(16), default="on_sale")  # on_sale | sold_out | hidden
    restock_on: Mapped[date | None] = mapped_column(Date)
    description: Mapped[str | None] = mapped_column(Text)
    # facts product questions ask about (migration 0007); shown beside the question and quoted in answers
    options: Mapped[str | None] = mapped_column(Text)  # e.g. "순한맛 / 매운맛"
    ingredients: Mapped[str | None] = mapped_column(Text)  # 원재료명 (allergens included)
    size: Mapped[str | None] = mapped_column(String(200))  # 용량·중량·치수
    origin: Mapped[str | None] = mapped_column(String(200))  # 원산지
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Order(Base):
    """One order. `status`: paid, preparing, shipping, delivered, cancelled, returned, exchanged."""

    __tablename__ = "orders"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    ordered_at: Mapped[datetime]
    amount: Mapped[Decimal]
    shipping_fee: Mapped[Decimal] = mapped_column(default=Decimal(0))
    status: Mapped[str] = mapped_column(String(16), default="paid")
    courier: Mapped[str | None] = mapped_column(String(32))
    tracking_no: Mapped[str | None] = mapped_column(String(64))
    shipped_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    recipient_name: Mapped[str | None] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(300))
    channel: Mapped[str | None] = mapped_column(String(32))  # smartstore | coupang | cafe24 | own

    customer: Mapped[Customer] = relationship(back_populates="orders", lazy="raise_on_sql")
    items: Mapped[list[OrderItem]] = relationship(back_populates="order", lazy="raise_on_sql")

    __table_args__ = (
        Index("ix_orders_customer_ordered", "customer_id", "ordered_at"),
        Index("ix_orders_ordered_at", "ordered_at"),
        Index("ix_orders_status", "status"),
        Index("ix_orders_rfm", "customer_id", "status", "ordered_at", "amount"),  # covering: RFM (migration 0002)
    )


class OrderItem(Base):
    __tablename__ = "order_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    product_id: Mapped[str | None] = mapped_column(ForeignKey("products.id"))
    product_name: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    unit_price: Mapped[Decimal]
    amount: Mapped[Decimal]

    order: Mapped[Order] = relationship(back_populates="items", lazy="raise_on_sql")

    __table_args__ = (
        Index("ix_order_items_order", "order_id"),
        Index("ix_order_items_product", "product_id"),
    )


class SalesDaily(Base):
    """Orders and revenue per shop-local (KST) day, orders not cancelled/returned. Kept exact by triggers on
    `orders`/`order_items` (migration 0004) whoever writes them; the dashboard reads past days from here."""

    __tablename__ = "sales_daily"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    orders: Mapped[int] = mapped_column(Integer)
    revenue: Mapped[Decimal]


class ProductSalesDaily(Base):
    """Units sold per KST day and product (orders not cancelled/returned); trigger-maintained (migration 0004)."""

    __tablename__ = "product_sales_daily"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    product_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    units: Mapped[int] = mapped_column(Integer)


class Claim(Base):
    """Cancel / return / exchange / refund of an order. `status`: requested, in_progress, completed, rejected."""

    __tablename__ = "claims"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    product_id: Mapped[str | None] = mapped_column(ForeignKey("products.id"))
    type: Mapped[str] = mapped_column(String(16))  # cancel | return | exchange | refund
    status: Mapped[str] = mapped_column(String(16), default="requested")
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_claims_status_type", "status", "type"),
        Index("ix_claims_customer", "customer_id", "created_at"),
        Index("ix_claims_product_created", "product_id", "created_at"),
        Index("ix_claims_order", "order_id"),
    )


class Review(Base):
    """A product review. `reply_status`: none, draft, approved, published, rejected."""

    __tablename__ = "reviews"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    product_id: Mapped[str | None] = mapped_column(ForeignKey("products.id"))
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id"))
    order_id: Mapped[str | None] = mapped_column(ForeignKey("orders.id"))
    rating: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    images: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # filled by the review graph
    negative: Mapped[bool | None] = mapped_column(Boolean)
    sentiment_score: Mapped[float | None] = mapped_column(Float)
    aspects: Mapped[list[Any] | None] = mapped_column(JSON)
    severity: Mapped[str | None] = mapped_column(String(16))
    thread_id: Mapped[str | None] = mapped_column(String(64))
    reply_draft: Mapped[str | None] = mapped_column(Text)
    reply: Mapped[str | None] = mapped_column(Text)
    reply_status: Mapped[str] = mapped_column(String(16), default="none")
    replied_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_reviews_product_created", "product_id", "created_at"),
        Index("ix_reviews_customer", "customer_id"),
        Index("ix_reviews_reply_status", "reply_status"),
        Index("ix_reviews_created", "created_at"),
        # negative reviews only, for the dashboard's spike alert (migration 0005; the predicate as the query
        # in `dashboard._negative_review` renders it, which SQLite needs to use the index)
        Index("ix_reviews_negative", "created_at", "product_id",
              sqlite_where=sql_text("rating <= 2 OR rating IS NULL AND negative IS 1"),
              postgresql_where=sql_text("rating <= 2 OR rating IS NULL AND negative IS true")),
    )


class ProductQna(Base):
    """A product question from the marketplace; `answered` drives the owner's KPI.

    The inbox (migration 0007): `draft_status` none (not drafted yet) | ready (a confident draft) | handoff
    (a person writes it); approving stores `answer`, `answered_by`, `answered_at` and `answered`; the
    export and the marketplace adapters stamp `exported_at` / `posted_at` so nothing leaves twice.
    """

    __tablename__ = "product_qna"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    product_id: Mapped[str | None] = mapped_column(ForeignKey("products.id"))
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id"))
    text: Mapped[str] = mapped_column(Text)
    asked_at: Mapped[datetime] = mapped_column(default=utcnow)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None]
    answered: Mapped[bool] = mapped_column(Boolean, default=False)
    marketplace: Mapped[str | None] = mapped_column(String(16))  # smartstore | coupang | cafe24 | own
    draft_status: Mapped[str] = mapped_column(String(16), default="none", server_default="none")
    draft: Mapped[str | None] = mapped_column(Text)
    draft_confidence: Mapped[float | None] = mapped_column(Float)
    draft_sources: Mapped[list[Any] | None] = mapped_column(JSON)
    handoff_reason: Mapped[str | None] = mapped_column(String(32))
    category: Mapped[str | None] = mapped_column(String(32))
    drafted_at: Mapped[datetime | None]
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_by_name: Mapped[str | None] = mapped_column(String(100))
    exported_at: Mapped[datetime | None]
    posted_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_product_qna_answered", "answered", "asked_at"),)


class Settlement(Base):
    """One day's payout from the marketplace: amount = sales − commission."""

    __tablename__ = "settlements"
    settled_on: Mapped[date] = mapped_column(Date, primary_key=True)
    sales: Mapped[Decimal] = mapped_column(default=Decimal(0))
    commission: Mapped[Decimal] = mapped_column(default=Decimal(0))
    amount: Mapped[Decimal]


# --- customer service -----------------------------------------------------------------------------


class Conversation(Base):
    """An inquiry: one LangGraph thread. `status`: new (waiting for a person), assigned, resolved.

    A chat the bot handles alone stays `bot` until it is handed off; `handed_off` records that it was.
    """

    __tablename__ = "conversations"
    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id"))
    guest_name: Mapped[str | None] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(16), default="chat")  # chat | cli | api
    status: Mapped[str] = mapped_column(String(16), default="bot")  # bot | new | assigned | resolved
    category: Mapped[str | None] = mapped_column(String(32))
    urgency: Mapped[str | None] = mapped_column(String(16))
    subject: Mapped[str | None] = mapped_column(String(300))  # first customer line, for the queue
    handed_off: Mapped[bool] = mapped_column(Boolean, default=False)
    handoff_reason: Mapped[str | None] = mapped_column(String(32))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    handed_off_at: Mapped[datetime | None]
    assigned_at: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]  # first agent reply after the handoff
    resolved_at: Mapped[datetime | None]
    locale: Mapped[str] = mapped_column(String(8), default="ko")
    # «답변 알림 받기»: where the customer wants to be told a person answered (a normalised Korean mobile
    # number or an e-mail address), and when the last such notice was queued (one per burst of replies)
    notify_contact: Mapped[str | None] = mapped_column(String(254))
    notify_sent_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_conversations_status_updated", "status", "updated_at"),
        Index("ix_conversations_assignee_status", "assignee_id", "status"),
        Index("ix_conversations_customer", "customer_id", "created_at"),
        Index("ix_conversations_created", "created_at"),
    )


class Message(Base):
    """One line of a conversation. `role`: customer, ai, agent, system.

    `dedup_key` is unique: a resumed graph node that re-sends the same reply writes it once.
    """

    __tablename__ = "messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    category: Mapped[str | None] = mapped_column(String(32))
    confidence: Mapped[float | None] = mapped_column(Float)
    sources: Mapped[list[Any] | None] = mapped_column(JSON)
    meta: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    dedup_key: Mapped[str | None] = mapped_column(String(128), unique=True)

    __table_args__ = (Index("ix_messages_conversation_created", "conversation_id", "created_at"),)


class ChannelLink(Base):
    """A customer of a messaging channel (KakaoTalk botUserKey, TalkTalk user) and their one conversation.

    `delivered_message_id`: the newest message of that conversation the customer has been sent on the
    channel (agent replies after it are still to deliver); `owner`: who holds the TalkTalk thread (bot |
    partner, after `passThread`)."""

    __tablename__ = "channel_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    thread_id: Mapped[str] = mapped_column(String(64))
    delivered_message_id: Mapped[int | None] = mapped_column(Integer)
    owner: Mapped[str] = mapped_column(String(16), default="bot")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_channel_links_channel_external"),
        Index("ix_channel_links_thread", "thread_id"),
    )


class ChannelEvent(Base):
    """An inbound platform request already handled: a retry of it gets the stored answer, not a new turn."""

    __tablename__ = "channel_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    event_key: Mapped[str] = mapped_column(String(128))
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("channel", "event_key", name="uq_channel_events_channel_key"),)




class CsatRating(Base):
    """The customer's one-tap rating (1–5, optional comment) of a finished conversation: one per conversation."""

    __tablename__ = "csat_ratings"
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), unique=True)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),
                      Index("ix_csat_ratings_created", "created_at"))

class Attachment(Base):
    """A file a customer or agent sent: stored under the data dir, content type checked on upload."""

    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(500))  # relative to the data dir
    uploaded_by: Mapped[str] = mapped_column(String(16))  # customer | agent
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_attachments_conversation", "conversation_id"),)


class Feedback(Base):
    """An agent's verdict on an AI answer (👎 with the correct answer, or 👍)."""

    __tablename__ = "feedback"
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id", ondelete="SET NULL"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    verdict: Mapped[str] = mapped_column(String(8))  # down | up
    correct_answer: Mapped[str | None] = mapped_column(Text)
    learned_answer_id: Mapped[int | None] = mapped_column(ForeignKey("learned_answers.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LearnedAnswer(Base):
    """A correction taught by an agent; ranks with the manual. Undo = deactivate, never delete."""

    __tablename__ = "learned_answers"
    id: Mapped[int] = mapped_column(primary_key=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    author_name: Mapped[str] = mapped_column(String(100))
    source_conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id", ondelete="SET NULL"))
    source_thread_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deactivated_at: Mapped[datetime | None]
    deactivated_by: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (Index("ix_learned_answers_active", "active"),)


class ManualArticle(Base):
    """An article of the shop's CS manual: the source of truth the search indexes are built from."""

    __tablename__ = "manual_articles"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(300))  # file it was imported from
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class EmbeddingCache(Base):
    """Vectors by (model, sha256 of the text): unchanged text is never embedded twice."""

    __tablename__ = "embedding_cache"
    model: Mapped[str] = mapped_column(String(128), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float32, little-endian
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- CRM ------------------------------------------------------------------------------------------


class SegmentationRun(Base):
    """One run of the segmentation graph. `status`: awaiting_approval, executed, cancelled."""

    __tablename__ = "segmentation_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    as_of: Mapped[date] = mapped_column(Date)
    thread_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(24), default="awaiting_approval")
    segment_counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    proposals: Mapped[list[Any]] = mapped_column(default=list)
    method: Mapped[str | None] = mapped_column(String(32))  # quintiles | small_shop_fallback
    # {"previous_run_id", "moves": [{"from", "to", "customers"}]}, stored when computed (migration 0003)
    moves: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    started_by: Mapped[str | None] = mapped_column(String(100))
    approved_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    executed_at: Mapped[datetime | None]


class CustomerSegment(Base):
    __tablename__ = "customer_segments"
    run_id: Mapped[int] = mapped_column(ForeignKey("segmentation_runs.id", ondelete="CASCADE"), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    recency_days: Mapped[int] = mapped_column(Integer)
    frequency: Mapped[int] = mapped_column(Integer)
    monetary: Mapped[Decimal]
    r: Mapped[int] = mapped_column(Integer)
    f: Mapped[int] = mapped_column(Integer)
    m: Mapped[int] = mapped_column(Integer)
    segment: Mapped[str] = mapped_column(String(32))

    __table_args__ = (
        Index("ix_customer_segments_customer", "customer_id", "run_id"),
        Index("ix_customer_segments_run_segment", "run_id", "segment"),
    )


class Coupon(Base):
    __tablename__ = "coupons"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    discount_type: Mapped[str] = mapped_column(String(16))  # percent | amount | gift
    discount_value: Mapped[Decimal]
    min_order_amount: Mapped[Decimal] = mapped_column(default=Decimal(0))
    valid_until: Mapped[date | None] = mapped_column(Date)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("segmentation_runs.id"))
    segment: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CouponIssue(Base):
    """A coupon given to a customer; unique per coupon and customer, so executing twice issues once.
    `code`: the customer's own redeemable code (random, unique; NULL on issues before migration 0009,
    whose customers were sent the campaign's `coupons.code`)."""

    __tablename__ = "coupon_issues"
    id: Mapped[int] = mapped_column(primary_key=True)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons.id", ondelete="CASCADE"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("segmentation_runs.id"))
    code: Mapped[str | None] = mapped_column(String(32))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("coupon_id", "customer_id", name="uq_coupon_issues_coupon_customer"),
        Index("ix_coupon_issues_customer", "customer_id"),
        Index("uq_coupon_issues_code", "code", unique=True),
    )


class OutboxMessage(Base):
    """A message to a customer waiting to be sent by whatever channel the shop uses (exported as CSV).

    A coupon message goes to a customer (their phone / e-mail); a «답변 알림» goes to the contact a chat
    customer left (`recipient`, `conversation_id`; no customer row when they chatted as a guest).
    """

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id"))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    recipient: Mapped[str | None] = mapped_column(String(254))
    channel: Mapped[str] = mapped_column(String(16), default="sms")
    text: Mapped[str] = mapped_column(Text)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("segmentation_runs.id"))
    coupon_id: Mapped[int | None] = mapped_column(ForeignKey("coupons.id"))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | exported | sent
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("run_id", "customer_id", "coupon_id", name="uq_outbox_run_customer_coupon"),
    )


# --- administration -------------------------------------------------------------------------------


class ShopSetting(Base):
    """Key/value overrides of settings the admin edits in the app (store policy …)."""

    __tablename__ = "shop_settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(100))


class CannedReply(Base):
    """A saved reply (macro) the admin writes and agents insert into the reply box: `body` may carry
    variables such as {고객명} or {주문번호}, filled from the open conversation (migration 0010)."""

    __tablename__ = "canned_replies"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100), unique=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(100))


class AuditLog(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))  # username, "cli" or "system"
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str | None] = mapped_column(String(64))
    target_id: Mapped[str | None] = mapped_column(String(128))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (Index("ix_audit_log_at", "at"), Index("ix_audit_log_target", "target_type", "target_id"))
