"""Customer profile queries for the agent hub's right column (and anything else that shows a customer).

One call, a handful of indexed queries, no N+1: an aggregate over `orders`, the latest orders with
their items (one `IN` query), the latest claims and reviews joined to the product name, and the
latest segment from the CRM engineer's `sajang.db.rfm` when that module is present.

Totals follow what a CS agent means by "how much has this customer spent with us": the sum of order
amounts over orders that were not cancelled or returned. `order_count` counts every order the customer
placed (also cancelled ones), so an agent sees a customer who cancels often.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, case, func, select, true

from .engine import session_scope
from .models import Claim, Customer, Order, OrderItem, Product, Review
from .types import UTCDateTime

# Orders whose money went back to the customer do not count towards the total spent.
REFUNDED_STATUSES: frozenset[str] = frozenset({"cancelled", "returned"})
DEFAULT_RECENT_ORDERS = 5
DEFAULT_CLAIMS = 5
DEFAULT_REVIEWS = 5


@dataclass
class OrderLine:
    id: str
    ordered_at: datetime
    amount: Decimal
    status: str
    items: list[str]  # "상품명 ×2"
    courier: str | None = None
    tracking_no: str | None = None


@dataclass
class ClaimLine:
    id: str
    order_id: str
    type: str
    status: str
    reason: str | None
    product_name: str | None
    created_at: datetime


@dataclass
class ReviewLine:
    id: str
    rating: int | None
    text: str
    product_name: str | None
    created_at: datetime
    reply_status: str


@dataclass
class CustomerProfile:
    id: str
    name: str | None
    joined_at: datetime | None
    total_spent: Decimal
    order_count: int
    last_order_at: datetime | None
    claim_count: int
    review_count: int
    segment: str | None
    recent_orders: list[OrderLine] = field(default_factory=list)
    claims: list[ClaimLine] = field(default_factory=list)
    reviews: list[ReviewLine] = field(default_factory=list)


def _latest_segment(engine: Engine, customer_id: str) -> str | None:
    """The CRM engineer's latest segment id; None while that module is absent or has no run yet."""
    try:
        from .rfm import latest_segment
    except ImportError:
        return None
    return latest_segment(engine, customer_id)


def _item_label(name: str, quantity: int) -> str:
    return name if quantity == 1 else f"{name} ×{quantity}"


def get_customer_profile(
    engine: Engine,
    customer_id: str,
    *,
    recent_orders: int = DEFAULT_RECENT_ORDERS,
    claims: int = DEFAULT_CLAIMS,
    reviews: int = DEFAULT_REVIEWS,
    with_segment: bool = True,
) -> CustomerProfile | None:
    """The profile of one customer, or None when the id is unknown."""
    refunded = list(REFUNDED_STATUSES)
    with session_scope(engine) as s:
        # one statement for the header: the customer row plus three correlated aggregates
        order_stats = (
            select(
                func.coalesce(func.sum(case((Order.status.not_in(refunded), Order.amount), else_=0)), 0)
                .label("total"),
                func.count(Order.id).label("count"),
                func.max(Order.ordered_at).label("last"),
            )
            .where(Order.customer_id == customer_id)
            .subquery()
        )
        head = s.execute(
            select(
                Customer.id, Customer.name, Customer.joined_at,
                order_stats.c.total, order_stats.c.count, order_stats.c.last,
                select(func.count(Claim.id)).where(Claim.customer_id == customer_id).scalar_subquery(),
                select(func.count(Review.id)).where(Review.customer_id == customer_id).scalar_subquery(),
            )
            .select_from(Customer)
            .join(order_stats, true())
            .where(Customer.id == customer_id)
        ).one_or_none()
        if head is None:
            return None
        cid, cname, joined_at, total, count, last, claim_count, review_count = head

        orders = s.execute(
            select(Order.id, Order.ordered_at, Order.amount, Order.status, Order.courier, Order.tracking_no)
            .where(Order.customer_id == customer_id)
            .order_by(Order.ordered_at.desc(), Order.id.desc())
            .limit(recent_orders)
        ).all()
        items: dict[str, list[str]] = {o.id: [] for o in orders}
        if orders:
            for order_id, name, quantity in s.execute(
                select(OrderItem.order_id, OrderItem.product_name, OrderItem.quantity)
                .where(OrderItem.order_id.in_(list(items)))
                .order_by(OrderItem.order_id, OrderItem.id)
            ):
                items[order_id].append(_item_label(name, quantity))

        claim_rows = s.execute(
            select(Claim.id, Claim.order_id, Claim.type, Claim.status, Claim.reason, Claim.created_at,
                   Product.name)
            .outerjoin(Product, Product.id == Claim.product_id)
            .where(Claim.customer_id == customer_id)
            .order_by(Claim.created_at.desc(), Claim.id.desc())
            .limit(claims)
        ).all()
        review_rows = s.execute(
            select(Review.id, Review.rating, Review.text, Review.created_at, Review.reply_status, Product.name)
            .outerjoin(Product, Product.id == Review.product_id)
            .where(Review.customer_id == customer_id)
            .order_by(Review.created_at.desc(), Review.id.desc())
            .limit(reviews)
        ).all()
        profile = CustomerProfile(
            id=cid,
            name=cname,
            joined_at=joined_at,
            total_spent=Decimal(total or 0),
            order_count=int(count or 0),
            last_order_at=_as_datetime(last),
            claim_count=int(claim_count),
            review_count=int(review_count),
            segment=None,
            recent_orders=[
                OrderLine(id=o.id, ordered_at=o.ordered_at, amount=o.amount, status=o.status,
                          items=items[o.id], courier=o.courier, tracking_no=o.tracking_no)
                for o in orders
            ],
            claims=[
                ClaimLine(id=c.id, order_id=c.order_id, type=c.type, status=c.status, reason=c.reason,
                          product_name=c.name, created_at=c.created_at)
                for c in claim_rows
            ],
            reviews=[
                ReviewLine(id=r.id, rating=r.rating, text=r.text, product_name=r.name,
                           created_at=r.created_at, reply_status=r.reply_status)
                for r in review_rows
            ],
        )
    if with_segment:
        profile.segment = _latest_segment(engine, customer_id)
    return profile


def _as_datetime(value: Any) -> datetime | None:
    """`max()` through a subquery may lose the UTCDateTime decorator on SQLite: parse and attach UTC."""
    if value is None or (isinstance(value, datetime) and value.tzinfo is not None):
        return value
    return UTCDateTime().process_result_value(value, None)  # type: ignore[arg-type]


def customer_names(engine: Engine, customer_ids: Iterable[str]) -> dict[str, str]:
    """Display names for a batch of customer ids (the queue shows many at once): one query."""
    ids = sorted({c for c in customer_ids if c})
    if not ids:
        return {}
    with session_scope(engine) as s:
        rows = s.execute(select(Customer.id, Customer.name).where(Customer.id.in_(ids))).all()
    return {cid: name for cid, name in rows if name}


__all__ = [
    "REFUNDED_STATUSES",
    "ClaimLine",
    "CustomerProfile",
    "OrderLine",
    "ReviewLine",
    "customer_names",
    "get_customer_profile",
]
