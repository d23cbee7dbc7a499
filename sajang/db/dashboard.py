"""The owner dashboard's numbers: KPIs, risk alerts (with the items behind each) and chart series.

Every figure is one aggregate statement over indexed columns (see `models.py`); days are KST days
(`rfm.local_date_expr`). Sales over whole past days (the sales chart, units for days of cover) are read
from `sales_daily` / `product_sales_daily`, rollups that triggers on `orders` and `order_items` keep exact
(migration 0004); only today so far and a window's partial first day are summed from the orders. At
100k customers (~1M orders) the page's statements then read thousands of rows, not all 1.5M order
items (see bench/README.md, "dashboard"). Alert rules, documented because the owner acts on them:

Low stock (days of cover)
    daily sales = units sold in the last `SALES_WINDOW_DAYS` days (orders not cancelled/returned) ÷ the
    window; days of cover = stock ÷ daily sales. A product on sale with recent sales alerts when its
    cover is shorter than its `lead_time_days` (a reorder placed now arrives after it runs out);
    "critical" when it is out of stock or covers less than half the lead time. Ordered by the units the
    shop will be short of before a reorder placed now arrives ((lead time − cover) × daily sales). A slow product with
    little stock is not alarming, a fast one with "plenty" may be.

Spikes (negative reviews, claims) per product
    x = events in the last `SPIKE_WINDOW_DAYS` (7) days; baseline = the product's own events in the
    `BASELINE_DAYS` (84) days before, as a weekly rate λ = (baseline + 0.5) × 7 / 84 (the 0.5 keeps a
    product with a clean history from having a zero rate). Alert when x ≥ `SPIKE_MIN_COUNT` (3) and the
    Poisson tail P(X ≥ x | λ) < `SPIKE_ALPHA` (0.001, strict because every product is tested each time).
    Negative review = rating ≤ 2, or no rating and the review graph marked it negative.
"""

from __future__ import annotations

import math
import statistics
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Connection,
    Date,
    Engine,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    true,
    union_all,
)

from .models import (
    Claim,
    Conversation,
    Order,
    OrderItem,
    Product,
    ProductQna,
    ProductSalesDaily,
    Review,
    SalesDaily,
    SegmentationRun,
    Settlement,
)
from .rfm import (
    EXCLUDED_ORDER_STATUSES,
    SEGMENT_IDS,
    SHOP_UTC_OFFSET_HOURS,
    local_date_expr,
    run_moves,
)

OPEN_CLAIM_STATUSES = ("requested", "in_progress")
CLAIM_TYPES = ("cancel", "return", "exchange", "refund")
SALES_WINDOW_DAYS = 30
KPI_WINDOW_DAYS = 30  # bot share and first response time look at the last 30 days
SPIKE_WINDOW_DAYS = 7
BASELINE_DAYS = 84
SPIKE_MIN_COUNT = 3
SPIKE_ALPHA = 0.001
ITEMS_PER_ALERT = 20


def poisson_tail(k: int, lam: float) -> float:
    """P(X ≥ k) for X ~ Poisson(lam), summed in log space (accurate for tiny tails)."""
    if k <= 0:
        return 1.0
    if lam <= 0:
        return 0.0
    total = 0.0
    i = k
    while True:
        term = math.exp(-lam + i * math.log(lam) - math.lgamma(i + 1))
        total += term
        if term < total * 1e-15 or i > k + 10_000:
            break
        i += 1
    return min(total, 1.0)


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC)


def local_today(now: datetime) -> date:
    return (now + timedelta(hours=SHOP_UTC_OFFSET_HOURS)).date()


def local_day_start(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC) - timedelta(hours=SHOP_UTC_OFFSET_HOURS)


# --- KPIs ----------------------------------------------------------------------------------------


def kpis(engine: Engine, now: datetime | None = None, low: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The cards at the top of the dashboard (`low` = `low_stock()` when the caller already has it)."""
    now = _now(now)
    today_start = local_day_start(local_today(now))
    since = now - timedelta(days=KPI_WINDOW_DAYS)
    with engine.connect() as conn:
        unanswered = conn.scalar(select(func.count()).select_from(ProductQna).where(ProductQna.answered.is_(False)))
        open_claims = dict(conn.execute(
            select(Claim.type, func.count()).where(Claim.status.in_(OPEN_CLAIM_STATUSES)).group_by(Claim.type)).all())
        settle = conn.execute(select(Settlement.settled_on, Settlement.amount)
                              .order_by(Settlement.settled_on.desc()).limit(1)).first()
        conv = conn.execute(select(func.count(), func.sum(case((Conversation.handed_off.is_(False), 1), else_=0)))
                            .where(Conversation.created_at >= since)).one()
        today_count = conn.scalar(select(func.count()).select_from(Conversation)
                                  .where(Conversation.created_at >= today_start))
        waits = conn.execute(select(Conversation.handed_off_at, Conversation.first_response_at).where(
            Conversation.handed_off_at >= since, Conversation.first_response_at.is_not(None))).all()
        waiting_now = conn.scalar(select(func.count()).select_from(Conversation)
                                  .where(Conversation.status.in_(("new", "assigned"))))
    total_30 = int(conv[0] or 0)
    bot_only = int(conv[1] or 0)
    minutes = [(b - a).total_seconds() / 60 for a, b in waits if a and b and b >= a]
    low = low_stock(engine, now) if low is None else low
    return {
        "unanswered_qna": int(unanswered or 0),
        "open_claims": {t: int(open_claims.get(t, 0)) for t in CLAIM_TYPES},
        "open_claims_total": int(sum(open_claims.values())),
        "low_stock": len(low),
        "latest_settlement": {"settled_on": settle[0].isoformat(), "amount": Decimal(settle[1])} if settle else None,
        "inquiries_today": int(today_count or 0),
        "waiting_for_agent": int(waiting_now or 0),
        "bot_resolved_share": (bot_only / total_30) if total_30 else None,
        "bot_window_conversations": total_30,
        "median_first_response_minutes": statistics.median(minutes) if minutes else None,
        "first_responses": len(minutes),
        "as_of": now.isoformat(),
    }


# --- alerts --------------------------------------------------------------------------------------


def _full_days(since: datetime, now: datetime) -> tuple[date, date]:
    """(first, last) KST days lying wholly inside [since, now] (first > last when there is none)."""
    first = local_today(since)
    if local_day_start(first) < since:
        first += timedelta(days=1)
    return first, local_today(now) - timedelta(days=1)


def _live_ranges(since: datetime, now: datetime) -> Any:
    """`orders.ordered_at` in [since, now] outside the whole days the rollups answer for."""
    first, last = _full_days(since, now)
    if first > last:
        return and_(Order.ordered_at >= since, Order.ordered_at <= now)
    return or_(and_(Order.ordered_at >= since, Order.ordered_at < local_day_start(first)),
               and_(Order.ordered_at >= local_day_start(last + timedelta(days=1)), Order.ordered_at <= now))


def units_sold(since: datetime, now: datetime) -> Any:
    """Subquery (product_id, units): units sold in [since, now], orders not cancelled/returned.

    Whole KST days come from the trigger-maintained `product_sales_daily` (a row per product a day); the
    partial days at both ends (today so far, and the window's first day) join `order_items` to `orders`:
    a few thousand rows that PostgreSQL reaches through `ix_orders_ordered_at` and `ix_order_items_order`.
    """
    first, last = _full_days(since, now)
    rollup = (select(ProductSalesDaily.product_id, ProductSalesDaily.units)
              .where(ProductSalesDaily.day >= first, ProductSalesDaily.day <= last))
    live = (select(OrderItem.product_id, OrderItem.quantity.label("units"))
            .join(Order, Order.id == OrderItem.order_id)
            .where(_live_ranges(since, now), Order.status.notin_(EXCLUDED_ORDER_STATUSES),
                   OrderItem.product_id.is_not(None)))
    both = union_all(rollup, live).subquery()
    return (select(both.c.product_id, func.sum(both.c.units).label("units"))
            .group_by(both.c.product_id).subquery())


def low_stock(engine: Engine, now: datetime | None = None) -> list[dict[str, Any]]:
    """Products whose days of cover are shorter than their lead time, most urgent first."""
    now = _now(now)
    sold = units_sold(now - timedelta(days=SALES_WINDOW_DAYS), now)
    with engine.connect() as conn:
        rows = conn.execute(
            select(Product.id, Product.name, Product.stock, Product.safety_stock, Product.lead_time_days,
                   Product.status, Product.restock_on, sold.c.units)
            .join(sold, sold.c.product_id == Product.id)
            .where(Product.status != "hidden", sold.c.units > 0)
        ).all()
    out = []
    for pid, name, stock, safety, lead, status, restock_on, units in rows:
        daily = float(units) / SALES_WINDOW_DAYS
        cover = max(stock, 0) / daily
        if cover >= lead:
            continue
        out.append({
            "kind": "low_stock", "product_id": pid, "product_name": name, "stock": int(stock),
            "safety_stock": int(safety), "lead_time_days": int(lead), "daily_sales": round(daily, 2),
            "days_of_cover": round(cover, 1), "status": status,
            "shortfall_units": round((lead - cover) * daily, 1),
            "restock_on": restock_on.isoformat() if restock_on else None,
            "severity": "critical" if stock <= 0 or cover < lead / 2 else "warning",
            "items": [{"product_id": pid, "name": name, "stock": int(stock), "daily_sales": round(daily, 2),
                       "days_of_cover": round(cover, 1), "lead_time_days": int(lead)}],
        })
    # most urgent first: the most units the shop will be short of before a reorder placed now arrives
    out.sort(key=lambda a: (-a["shortfall_units"], a["product_id"]))
    return out


def _negative_review() -> Any:
    # constants, not bound parameters: the partial index `ix_reviews_negative` has this predicate, and
    # PostgreSQL's generic plan (psycopg prepares a statement after 5 runs on a pooled connection) cannot
    # prove `rating <= $1` implies `rating <= 2`
    return or_(Review.rating <= literal_column("2"), and_(Review.rating.is_(None), Review.negative.is_(true())))


def _spikes(engine: Engine, now: datetime, table: Any, when: Any, product: Any, cond: Any) -> list[dict[str, Any]]:
    recent_start = now - timedelta(days=SPIKE_WINDOW_DAYS)
    base_start = recent_start - timedelta(days=BASELINE_DAYS)
    stmt = (
        select(product, func.sum(case((when >= recent_start, 1), else_=0)).label("recent"),
               func.sum(case((when < recent_start, 1), else_=0)).label("base"))
        .select_from(table)
        .where(when >= base_start, when <= now, product.is_not(None), cond)
        .group_by(product)
    )
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    out = []
    for pid, recent, base in rows:
        recent, base = int(recent or 0), int(base or 0)
        if recent < SPIKE_MIN_COUNT:
            continue
        lam = (base + 0.5) * SPIKE_WINDOW_DAYS / BASELINE_DAYS
        p = poisson_tail(recent, lam)
        if p < SPIKE_ALPHA:
            out.append({"product_id": pid, "recent": recent, "baseline": base,
                        "baseline_weekly": round(base * SPIKE_WINDOW_DAYS / BASELINE_DAYS, 2), "p_value": p,
                        "window_days": SPIKE_WINDOW_DAYS, "severity": "critical" if p < SPIKE_ALPHA / 100 else "warning"})
    out.sort(key=lambda a: a["p_value"])
    return out


def _product_names(engine: Engine, ids: list[str]) -> dict[str, str]:
    if not ids:
        return {}
    with engine.connect() as conn:
        return dict(conn.execute(select(Product.id, Product.name).where(Product.id.in_(ids))).all())


def review_spikes(engine: Engine, now: datetime | None = None) -> list[dict[str, Any]]:
    """Products with a significant burst of negative reviews in the last week, with those reviews."""
    now = _now(now)
    spikes = _spikes(engine, now, Review.__table__, Review.created_at, Review.product_id, _negative_review())
    names = _product_names(engine, [s["product_id"] for s in spikes])
    recent_start = now - timedelta(days=SPIKE_WINDOW_DAYS)
    with engine.connect() as conn:
        for s in spikes:
            s.update(kind="review_spike", product_name=names.get(s["product_id"], s["product_id"]))
            rows = conn.execute(select(Review.id, Review.rating, Review.text, Review.created_at, Review.reply_status)
                                .where(Review.product_id == s["product_id"], Review.created_at >= recent_start,
                                       Review.created_at <= now, _negative_review())
                                .order_by(Review.created_at.desc()).limit(ITEMS_PER_ALERT)).all()
            s["items"] = [{"review_id": r[0], "rating": r[1], "text": r[2], "created_at": r[3].isoformat(),
                           "reply_status": r[4]} for r in rows]
    return spikes


def claim_spikes(engine: Engine, now: datetime | None = None) -> list[dict[str, Any]]:
    """Products with a significant burst of claims (any type) in the last week, with those claims."""
    now = _now(now)
    spikes = _spikes(engine, now, Claim.__table__, Claim.created_at, Claim.product_id, Claim.id.is_not(None))
    names = _product_names(engine, [s["product_id"] for s in spikes])
    recent_start = now - timedelta(days=SPIKE_WINDOW_DAYS)
    with engine.connect() as conn:
        for s in spikes:
            s.update(kind="claim_spike", product_name=names.get(s["product_id"], s["product_id"]))
            rows = conn.execute(select(Claim.id, Claim.type, Claim.status, Claim.reason, Claim.order_id,
                                       Claim.created_at)
                                .where(Claim.product_id == s["product_id"], Claim.created_at >= recent_start,
                                       Claim.created_at <= now)
                                .order_by(Claim.created_at.desc()).limit(ITEMS_PER_ALERT)).all()
            s["items"] = [{"claim_id": r[0], "type": r[1], "status": r[2], "reason": r[3], "order_id": r[4],
                           "created_at": r[5].isoformat()} for r in rows]
    return spikes


def risk_alerts(engine: Engine, now: datetime | None = None, low: list[dict[str, Any]] | None = None
                ) -> list[dict[str, Any]]:
    """All alerts: spikes first (they hurt the shop's rating), then stock, each with its items."""
    now = _now(now)
    low = low_stock(engine, now) if low is None else low
    alerts = review_spikes(engine, now) + claim_spikes(engine, now) + low
    for i, a in enumerate(alerts):
        a["id"] = f"{a['kind']}:{a['product_id']}"
        a["order"] = i
    return alerts


# --- the sales rollups -----------------------------------------------------------------------------


def _day_column(col: Any, dialect: str) -> Any:
    """The KST day of a UTC timestamp as the rollups store it (a DATE; SQLite: 'YYYY-MM-DD' text)."""
    if dialect == "sqlite":
        return func.date(col, f"+{SHOP_UTC_OFFSET_HOURS} hours")
    return cast(func.timezone("Asia/Seoul", col), Date)


def rebuild_sales_rollup(conn: Connection) -> None:
    """Recompute `sales_daily` and `product_sales_daily` from the orders, in the caller's transaction.

    The triggers of migration 0004 keep them exact row by row; this is for bulk loads that switch the
    triggers off (the demo generator on PostgreSQL) and for checking the rollups in tests.
    """
    day = _day_column(Order.ordered_at, conn.dialect.name)
    counted = Order.status.notin_(EXCLUDED_ORDER_STATUSES)
    conn.execute(delete(SalesDaily))
    conn.execute(delete(ProductSalesDaily))
    conn.execute(insert(SalesDaily).from_select(
        ["day", "orders", "revenue"],
        select(day, func.count(), func.sum(Order.amount)).where(counted).group_by(day)))
    conn.execute(insert(ProductSalesDaily).from_select(
        ["day", "product_id", "units"],
        select(day, OrderItem.product_id, func.sum(OrderItem.quantity))
        .join(Order, Order.id == OrderItem.order_id)
        .where(counted, OrderItem.product_id.is_not(None)).group_by(day, OrderItem.product_id)))


# --- charts --------------------------------------------------------------------------------------


def _day_range(end: date, days: int) -> list[date]:
    return [end - timedelta(days=days - 1 - i) for i in range(days)]


def daily_sales(engine: Engine, days: int = 30, now: datetime | None = None) -> list[dict[str, Any]]:
    """Revenue (orders not cancelled/returned) and order count per KST day, oldest first, zeros filled."""
    now = _now(now)
    end = local_today(now)
    # past days from the trigger-maintained rollup, today (up to `now`) from the orders themselves
    past = (select(SalesDaily.day, SalesDaily.orders, SalesDaily.revenue)
            .where(SalesDaily.day >= end - timedelta(days=days - 1), SalesDaily.day < end))
    today = (select(func.count(), func.sum(Order.amount))
             .where(Order.ordered_at >= local_day_start(end), Order.ordered_at <= now,
                    Order.status.notin_(EXCLUDED_ORDER_STATUSES)))
    with engine.connect() as conn:
        found = {str(d): (int(n), Decimal(str(a or 0))) for d, n, a in conn.execute(past).all()}
        n, a = conn.execute(today).one()
    found[end.isoformat()] = (int(n or 0), Decimal(str(a or 0)))
    return [{"day": d.isoformat(), "orders": found.get(d.isoformat(), (0, Decimal(0)))[0],
             "revenue": found.get(d.isoformat(), (0, Decimal(0)))[1]} for d in _day_range(end, days)]


def daily_claims(engine: Engine, days: int = 30, now: datetime | None = None) -> list[dict[str, Any]]:
    """Claims per KST day and type (long format for a stacked/colored chart), zeros filled."""
    now = _now(now)
    end = local_today(now)
    start = local_day_start(end - timedelta(days=days - 1))
    day = local_date_expr(Claim.created_at, engine.dialect.name).label("day")
    stmt = (select(day, Claim.type, func.count()).where(Claim.created_at >= start, Claim.created_at <= now)
            .group_by(day, Claim.type))
    with engine.connect() as conn:
        found = {(str(d), t): int(n) for d, t, n in conn.execute(stmt).all()}
    return [{"day": d.isoformat(), "type": t, "claims": found.get((d.isoformat(), t), 0)}
            for d in _day_range(end, days) for t in CLAIM_TYPES]


def segment_overview(engine: Engine) -> dict[str, Any]:
    """Latest (not cancelled) run: counts per segment, the previous run's counts and the moves between them
    (counts and moves as stored with the runs: no scan of `customer_segments`)."""
    sr = SegmentationRun.__table__.c
    with engine.connect() as conn:
        run = conn.execute(select(sr.id, sr.as_of, sr.status, sr.method, sr.segment_counts, sr.moves)
                           .where(sr.status != "cancelled").order_by(sr.id.desc()).limit(1)).first()
        if run is None:
            return {"run_id": None, "segments": {}, "previous": {}, "moves": []}
        prev, moves = run_moves(conn, run.id, run.moves)
        prev_counts = conn.scalar(select(sr.segment_counts).where(sr.id == prev)) if prev is not None else None

    def full(counts: dict[str, Any] | None) -> dict[str, int]:
        return {s: int((counts or {}).get(s, 0)) for s in SEGMENT_IDS} if counts else {}

    return {"run_id": run.id, "as_of": run.as_of.isoformat(), "status": run.status, "method": run.method,
            "previous_run_id": prev, "segments": full(run.segment_counts), "previous": full(prev_counts),
            "moves": moves}


def dashboard(engine: Engine, now: datetime | None = None, days: int = 30) -> dict[str, Any]:
    """Everything the /admin page shows, in one call."""
    now = _now(now)
    low = low_stock(engine, now)
    return {"kpis": kpis(engine, now, low), "alerts": risk_alerts(engine, now, low), "sales": daily_sales(engine, days, now),
            "claims": daily_claims(engine, days, now), "segments": segment_overview(engine)}
