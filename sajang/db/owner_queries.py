"""Read-only questions the owner asks the AI manager, next to the dashboard's own (`dashboard.py`): sales
this week against last week, yesterday's claims, a product's reviews, churn-risk customers. Same rules as
the dashboard: KST days, orders not cancelled/returned count as sales, negative review = rating ≤ 2 or
(no rating and the review graph marked it negative)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, and_, func, or_, select, true

from .dashboard import _now, local_day_start, local_today, segment_overview
from .models import Claim, Conversation, Product, Review
from .models import Order as OrderRow
from .rfm import EXCLUDED_ORDER_STATUSES, local_date_expr

CHURN_SEGMENTS = ("at_risk", "cant_lose")  # 이탈 위험, 놓치면 안 될 고객: valuable customers who stopped buying
REVIEW_WINDOW_DAYS = 90


def _sales_by_day(engine: Engine, start: datetime, end: datetime) -> dict[str, tuple[int, Decimal]]:
    day = local_date_expr(OrderRow.ordered_at, engine.dialect.name).label("day")
    stmt = (select(day, func.count(), func.sum(OrderRow.amount))
            .where(OrderRow.ordered_at >= start, OrderRow.ordered_at <= end,
                   OrderRow.status.notin_(EXCLUDED_ORDER_STATUSES)).group_by(day))
    with engine.connect() as conn:
        return {str(d): (int(n), Decimal(str(a or 0))) for d, n, a in conn.execute(stmt).all()}


def week_sales(engine: Engine, now: datetime | None = None) -> dict[str, Any]:
    """This KST week (Monday → now) against the same span of last week (Monday → this time 7 days ago), and
    last week's full total; `days` pairs each weekday of this week with last week's."""
    now = _now(now)
    today = local_today(now)
    monday = today - timedelta(days=today.weekday())
    last_monday = monday - timedelta(days=7)
    found = _sales_by_day(engine, local_day_start(last_monday), now)
    # last week's matching span ends at this moment a week ago (today's partial day against a partial day)
    cut = now - timedelta(days=7)
    with engine.connect() as conn:
        n, a = conn.execute(select(func.count(), func.sum(OrderRow.amount)).where(
            OrderRow.ordered_at >= local_day_start(today - timedelta(days=7)), OrderRow.ordered_at <= cut,
            OrderRow.status.notin_(EXCLUDED_ORDER_STATUSES))).one()
    last_partial_today = (int(n or 0), Decimal(str(a or 0)))
    days: list[dict[str, Any]] = []
    this_total, prev_total, this_orders, prev_orders = Decimal(0), Decimal(0), 0, 0
    for i in range((today - monday).days + 1):
        d, prev = monday + timedelta(days=i), last_monday + timedelta(days=i)
        this_n, this_a = found.get(d.isoformat(), (0, Decimal(0)))
        prev_n, prev_a = last_partial_today if d == today else found.get(prev.isoformat(), (0, Decimal(0)))
        this_total, prev_total = this_total + this_a, prev_total + prev_a
        this_orders, prev_orders = this_orders + this_n, prev_orders + prev_n
        days.append({"day": d.isoformat(), "weekday": d.weekday(), "revenue": this_a, "orders": this_n,
                     "last_week_day": prev.isoformat(), "last_week_revenue": prev_a, "last_week_orders": prev_n})
    last_full = [found.get((last_monday + timedelta(days=i)).isoformat(), (0, Decimal(0))) for i in range(7)]
    return {"week_start": monday.isoformat(), "today": today.isoformat(), "as_of": now.isoformat(),
            "revenue": this_total, "orders": this_orders,
            "last_week_revenue": prev_total, "last_week_orders": prev_orders,
            "change_pct": float((this_total - prev_total) / prev_total * 100) if prev_total else None,
            "last_week_full_revenue": sum((a for _, a in last_full), Decimal(0)),
            "last_week_full_orders": sum(n for n, _ in last_full), "days": days}


def day_sales(engine: Engine, day: date, until: datetime | None = None) -> dict[str, Any]:
    """Revenue and orders of one KST day (up to `until` when the day is not over)."""
    end = min(until, local_day_start(day + timedelta(days=1))) if until else local_day_start(day + timedelta(days=1))
    with engine.connect() as conn:
        n, a = conn.execute(select(func.count(), func.sum(OrderRow.amount)).where(
            OrderRow.ordered_at >= local_day_start(day), OrderRow.ordered_at < end,
            OrderRow.status.notin_(EXCLUDED_ORDER_STATUSES))).one()
    return {"day": day.isoformat(), "orders": int(n or 0), "revenue": Decimal(str(a or 0))}


def claims_between(engine: Engine, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Claims created in [start, end), newest first, with the product's name."""
    stmt = (select(Claim.id, Claim.type, Claim.status, Claim.reason, Claim.order_id, Claim.product_id,
                   Product.name, Claim.created_at)
            .outerjoin(Product, Product.id == Claim.product_id)
            .where(Claim.created_at >= start, Claim.created_at < end)
            .order_by(Claim.created_at.desc(), Claim.id))
    with engine.connect() as conn:
        return [{"claim_id": r[0], "type": r[1], "status": r[2], "reason": r[3], "order_id": r[4],
                 "product_id": r[5], "product_name": r[6], "created_at": r[7].isoformat()}
                for r in conn.execute(stmt).all()]


def claims_on(engine: Engine, day: date) -> list[dict[str, Any]]:
    return claims_between(engine, local_day_start(day), local_day_start(day + timedelta(days=1)))


def churn_risk(engine: Engine) -> dict[str, Any]:
    """Customers in the churn-risk segments of the latest segmentation run (none before the first run)."""
    overview = segment_overview(engine)
    counts = overview.get("segments") or {}
    previous = overview.get("previous") or {}
    return {"run_id": overview.get("run_id"), "as_of": overview.get("as_of"),
            "segments": {s: int(counts.get(s, 0)) for s in CHURN_SEGMENTS} if counts else {},
            "total": sum(int(counts.get(s, 0)) for s in CHURN_SEGMENTS) if counts else None,
            "previous_total": sum(int(previous.get(s, 0)) for s in CHURN_SEGMENTS) if previous else None}


def find_products(engine: Engine, words: list[str], limit: int = 5) -> list[dict[str, Any]]:
    """Products whose name contains every word (spaces ignored), those with the most reviews first."""
    if not words:
        return []
    squeezed = func.replace(Product.name, " ", "")
    cond = and_(*[squeezed.contains(w.replace(" ", ""), autoescape=True) for w in words])
    reviews = select(Review.product_id, func.count().label("n")).group_by(Review.product_id).subquery()
    stmt = (select(Product.id, Product.name, func.coalesce(reviews.c.n, 0))
            .outerjoin(reviews, reviews.c.product_id == Product.id).where(cond)
            .order_by(func.coalesce(reviews.c.n, 0).desc(), Product.id).limit(limit))
    with engine.connect() as conn:
        return [{"product_id": r[0], "product_name": r[1], "reviews": int(r[2])} for r in conn.execute(stmt).all()]


def negative_review_cond() -> Any:
    return or_(Review.rating <= 2, and_(Review.rating.is_(None), Review.negative.is_(true())))


def product_reviews(engine: Engine, product_id: str, now: datetime | None = None,
                    days: int = REVIEW_WINDOW_DAYS) -> dict[str, Any]:
    """A product's reviews of the last `days`: count, average rating, the negative ones (newest first)."""
    now = _now(now)
    since = now - timedelta(days=days)
    window = and_(Review.product_id == product_id, Review.created_at >= since, Review.created_at <= now)
    with engine.connect() as conn:
        n, avg, neg = conn.execute(select(func.count(), func.avg(Review.rating),
                                          func.count().filter(negative_review_cond())).where(window)).one()
        rows = conn.execute(select(Review.id, Review.rating, Review.text, Review.aspects, Review.created_at)
                            .where(window, negative_review_cond())
                            .order_by(Review.created_at.desc(), Review.id)).all()
    return {"product_id": product_id, "days": days, "reviews": int(n or 0),
            "average_rating": round(float(avg), 2) if avg is not None else None, "negative": int(neg or 0),
            "negative_reviews": [{"review_id": r[0], "rating": r[1], "text": r[2], "aspects": r[3],
                                  "created_at": r[4].isoformat()} for r in rows]}


WAITING_STATUSES = ("new", "assigned")  # handed off, not resolved: a person has to answer


def waiting_queue(engine: Engine) -> dict[str, Any]:
    """Conversations waiting for a person now, and the one waiting longest (since its handoff)."""
    since = func.coalesce(Conversation.handed_off_at, Conversation.created_at)
    with engine.connect() as conn:
        n = conn.scalar(select(func.count()).select_from(Conversation)
                        .where(Conversation.status.in_(WAITING_STATUSES)))
        oldest = conn.execute(select(Conversation.thread_id, Conversation.subject, Conversation.urgency,
                                     since.label("since"))
                              .where(Conversation.status.in_(WAITING_STATUSES))
                              .order_by(since, Conversation.id).limit(1)).first()
    return {"waiting": int(n or 0), "oldest": None if oldest is None else {
        "thread_id": oldest.thread_id, "subject": oldest.subject, "urgency": oldest.urgency,
        "since": oldest.since.isoformat()}}


def negative_reviews_between(engine: Engine, start: datetime, end: datetime) -> dict[str, Any]:
    """Negative reviews created in [start, end): how many, and per product (most first)."""
    stmt = (select(Review.product_id, Product.name, func.count())
            .outerjoin(Product, Product.id == Review.product_id)
            .where(Review.created_at >= start, Review.created_at < end, negative_review_cond())
            .group_by(Review.product_id, Product.name).order_by(func.count().desc(), Review.product_id))
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return {"count": sum(int(r[2]) for r in rows),
            "products": [{"product_id": r[0], "product_name": r[1], "count": int(r[2])} for r in rows]}


__all__ = ["CHURN_SEGMENTS", "churn_risk", "claims_between", "claims_on", "day_sales", "find_products",
           "negative_reviews_between", "product_reviews", "waiting_queue", "week_sales"]
