"""RFM segmentation in SQL: recency / frequency / monetary as of a date, scores 1–5, named segments.

Everything per customer happens inside the database (one `INSERT … SELECT` with window functions),
with the same SQLAlchemy Core statement on SQLite (≥ 3.35: window functions, `AS MATERIALIZED`) and
PostgreSQL (≥ 12); Python only handles
the per-run summaries. The rules, all documented here because the owner sees their results:

Which orders count
    Orders placed before the end of the `as_of` day in the shop's time zone (KST, UTC+9) whose
    status is not `cancelled` or `returned` (the money came back, so they are not purchases).
    `exchanged` orders count: the customer kept buying from the shop. A customer with no counted
    order is not segmented at all (there is nothing to score) and appears in no segment.

Values
    recency_days = as_of − the (KST) day of the last counted order, in whole days (0 = bought today);
    frequency = number of distinct counted orders; monetary = sum of their `amount` (shipping excluded),
    rounded to 2 places before ranking so float sums on SQLite rank like exact sums on PostgreSQL.

Scores (quintiles, 5 best) and the tie rule
    score = 1 + ⌊5 · b / n⌋ where n = scored customers and b = customers strictly *worse* than this one
    (larger recency_days; smaller frequency; smaller monetary) — i.e. 5 × percent-rank on a 0…n scale,
    computed with `rank()` and integer arithmetic, so it is exact on both databases. Equal values always
    share a score (the lowest value always scores 1); when one value covers many customers (most shops:
    "1 order") the quintiles are uneven and some scores can be empty. That is deliberate: splitting
    identical customers by an arbitrary order would make segments depend on row order.

Small shops (fewer than `SMALL_SHOP_MIN_CUSTOMERS` scored customers)
    Quintiles of 30 customers are noise, so R and F use fixed thresholds instead (`FALLBACK_R_DAYS`,
    `FALLBACK_F_ORDERS`). M stays rank-based in both modes: money thresholds would depend on the
    currency and the shop's prices, and M does not decide the segment (below).

Segments
    From the R × F grid `SEGMENT_GRID` (the classic RFM segment map; M is shown and used to size
    proposals, not to pick the segment, so a one-order big spender is still "new", not "champion").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TextIO

from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    and_,
    case,
    cast,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from .models import Coupon, CustomerSegment, Order, OutboxMessage, SegmentationRun

SHOP_UTC_OFFSET_HOURS = 9  # KST has no daylight saving time
EXCLUDED_ORDER_STATUSES = ("cancelled", "returned")
SMALL_SHOP_MIN_CUSTOMERS = 50
# recency_days ≤ threshold → score (checked top-down; anything older scores 1)
FALLBACK_R_DAYS: tuple[tuple[int, int], ...] = ((30, 5), (60, 4), (90, 3), (180, 2))
# frequency ≥ threshold → score (checked top-down; one order scores 1)
FALLBACK_F_ORDERS: tuple[tuple[int, int], ...] = ((6, 5), (4, 4), (3, 3), (2, 2))

SEGMENT_IDS: tuple[str, ...] = (
    "champions", "loyal", "potential_loyalist", "new", "promising", "needs_attention",
    "about_to_sleep", "at_risk", "cant_lose", "hibernating", "lost",
)
SEGMENT_LABELS: dict[str, dict[str, str]] = {
    "champions": {"ko": "VIP", "en": "Champions"},
    "loyal": {"ko": "충성 고객", "en": "Loyal"},
    "potential_loyalist": {"ko": "충성 후보", "en": "Potential loyalist"},
    "new": {"ko": "신규 고객", "en": "New"},
    "promising": {"ko": "유망 고객", "en": "Promising"},
    "needs_attention": {"ko": "관심 필요", "en": "Needs attention"},
    "about_to_sleep": {"ko": "휴면 직전", "en": "About to sleep"},
    "at_risk": {"ko": "이탈 위험", "en": "At risk"},
    "cant_lose": {"ko": "놓치면 안 될 고객", "en": "Can't lose them"},
    "hibernating": {"ko": "휴면 고객", "en": "Hibernating"},
    "lost": {"ko": "이탈 고객", "en": "Lost"},
}
SEGMENT_DESCRIPTIONS: dict[str, str] = {
    "champions": "최근에 샀고 자주 사는 최고 고객",
    "loyal": "꾸준히 자주 사는 단골",
    "potential_loyalist": "최근 몇 번 산, 단골이 될 수 있는 고객",
    "new": "최근 처음 산 고객",
    "promising": "최근 샀지만 아직 구매가 적은 고객",
    "needs_attention": "구매 간격과 횟수가 모두 중간인 고객",
    "about_to_sleep": "한동안 안 샀고 구매도 적은 고객",
    "at_risk": "전에는 자주 샀는데 오래 안 온 고객",
    "cant_lose": "가장 자주 샀던 고객인데 오래 안 온 고객",
    "hibernating": "오래전에 몇 번 산 고객",
    "lost": "아주 오래전에 한두 번 산 고객",
}

# SEGMENT_GRID[r][f]: rows R = 5…1 (recent → long ago), columns F = 1…5 (few → many orders).
SEGMENT_GRID: dict[int, tuple[str, str, str, str, str]] = {
    5: ("new", "potential_loyalist", "potential_loyalist", "champions", "champions"),
    4: ("promising", "potential_loyalist", "potential_loyalist", "loyal", "loyal"),
    3: ("about_to_sleep", "about_to_sleep", "needs_attention", "loyal", "loyal"),
    2: ("hibernating", "hibernating", "at_risk", "at_risk", "cant_lose"),
    1: ("lost", "lost", "at_risk", "at_risk", "cant_lose"),
}


def segment_for(r: int, f: int) -> str:
    """The segment of one (R, F) pair: the same rule the SQL `CASE` applies."""
    return SEGMENT_GRID[r][f - 1]


def segment_label(segment: str | None, locale: str = "ko") -> str:
    if not segment:
        return ""
    entry = SEGMENT_LABELS.get(segment)
    return (entry.get(locale) or entry["ko"]) if entry else segment


# --- dialect helpers (the only place the two databases differ) -----------------------------------


def local_day_number(col: Any, dialect: str) -> ColumnElement[int]:
    """Days since 1970-01-01 of a UTC timestamp column, counted in the shop's time zone."""
    offset = SHOP_UTC_OFFSET_HOURS * 3600
    if dialect == "sqlite":
        # SQLite stores 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC); strftime('%s') gives epoch seconds.
        return (cast(func.strftime("%s", col), Integer) + offset) // 86400
    return (cast(func.floor(func.extract("epoch", col)), Integer) + offset) // 86400


def local_date_expr(col: Any, dialect: str) -> ColumnElement[Any]:
    """The shop-local calendar day of a UTC timestamp column, as 'YYYY-MM-DD' text on both databases."""
    if dialect == "sqlite":
        return func.date(col, f"+{SHOP_UTC_OFFSET_HOURS} hours")
    return func.to_char(func.timezone("Asia/Seoul", col), "YYYY-MM-DD")


def day_number(d: date) -> int:
    return (d - date(1970, 1, 1)).days


def day_end_utc(d: date) -> datetime:
    """The first instant after the shop-local day `d`, in UTC (orders before it count)."""
    return datetime.combine(d + timedelta(days=1), time(0), tzinfo=UTC) - timedelta(hours=SHOP_UTC_OFFSET_HOURS)


def shop_today(now: datetime | None = None) -> date:
    now = now or datetime.now(UTC)
    return (now.astimezone(UTC) + timedelta(hours=SHOP_UTC_OFFSET_HOURS)).date()


# --- the RFM statement ---------------------------------------------------------------------------


def _fallback_score(value: ColumnElement[Any], rules: Iterable[tuple[int, int]], *, lower_is_better: bool
                    ) -> ColumnElement[int]:
    whens = [((value <= limit) if lower_is_better else (value >= limit), literal(score)) for limit, score in rules]
    return case(*whens, else_=literal(1))


def segment_case(r: ColumnElement[int], f: ColumnElement[int]) -> ColumnElement[str]:
    """`CASE` over the R × F grid of `SEGMENT_GRID`."""
    whens = [(and_(r == rv, f == fv + 1), literal(seg)) for rv, row in SEGMENT_GRID.items()
             for fv, seg in enumerate(row)]
    return case(*whens, else_=literal("lost"))


def rfm_select(dialect: str, as_of: date, *, small_shop_min: int = SMALL_SHOP_MIN_CUSTOMERS) -> Any:
    """SELECT customer_id, recency_days, frequency, monetary, r, f, m, segment, n — one row per scored customer."""
    o = Order.__table__.c
    agg = (
        select(
            o.customer_id,
            func.max(o.ordered_at).label("last_at"),
            func.count().label("frequency"),
            func.round(func.sum(o.amount), 2).label("monetary"),
        )
        .where(o.status.notin_(EXCLUDED_ORDER_STATUSES), o.ordered_at < day_end_utc(as_of))
        .group_by(o.customer_id)
        .cte("rfm_agg")
    )
    recency = (literal(day_number(as_of), Integer) - local_day_number(agg.c.last_at, dialect)).label("recency_days")
    base = select(agg.c.customer_id, recency, agg.c.frequency, agg.c.monetary).cte("rfm_base")
    ranked = select(
        base.c.customer_id, base.c.recency_days, base.c.frequency, base.c.monetary,
        func.count().over().label("n"),
        # rank() − 1 = customers strictly worse (older last order / fewer orders / less money)
        func.rank().over(order_by=base.c.recency_days.desc()).label("r_rank"),
        func.rank().over(order_by=base.c.frequency).label("f_rank"),
        func.rank().over(order_by=base.c.monetary).label("m_rank"),
    ).cte("rfm_ranked").prefix_with("MATERIALIZED")

    def quintile(rank_col: Any) -> ColumnElement[int]:
        return 1 + (5 * (rank_col - 1)) // ranked.c.n

    small = ranked.c.n < small_shop_min
    r = case((small, _fallback_score(ranked.c.recency_days, FALLBACK_R_DAYS, lower_is_better=True)),
             else_=quintile(ranked.c.r_rank))
    f = case((small, _fallback_score(ranked.c.frequency, FALLBACK_F_ORDERS, lower_is_better=False)),
             else_=quintile(ranked.c.f_rank))
    scored = select(
        ranked.c.customer_id, ranked.c.recency_days, ranked.c.frequency, ranked.c.monetary,
        r.label("r"), f.label("f"), quintile(ranked.c.m_rank).label("m"), ranked.c.n,
    ).cte("rfm_scored").prefix_with("MATERIALIZED")  # computed once, not once per CASE branch of the segment
    return select(
        scored.c.customer_id, scored.c.recency_days, scored.c.frequency, scored.c.monetary,
        scored.c.r, scored.c.f, scored.c.m, segment_case(scored.c.r, scored.c.f).label("segment"), scored.c.n,
    )


def tune_for_aggregation(conn: Connection) -> None:
    """PostgreSQL: room for the hash aggregate and the three window sorts in memory (the default 4 MB
    spills 1M orders to disk), and no JIT (its compile time exceeds its gain here). Transaction-local."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL work_mem = '128MB'")
        conn.exec_driver_sql("SET LOCAL jit = off")


def compute_rfm(engine: Engine, as_of: date, *, small_shop_min: int = SMALL_SHOP_MIN_CUSTOMERS
                ) -> list[dict[str, Any]]:
    """RFM rows without writing anything (previews, tests). Ordered by customer id."""
    stmt = rfm_select(engine.dialect.name, as_of, small_shop_min=small_shop_min).subquery()
    with engine.connect() as conn:
        tune_for_aggregation(conn)
        rows = conn.execute(select(stmt).order_by(stmt.c.customer_id)).mappings().all()
    return [_clean_row(row) for row in rows]


def _clean_row(row: Any) -> dict[str, Any]:
    return {
        "customer_id": row["customer_id"], "recency_days": int(row["recency_days"]),
        "frequency": int(row["frequency"]), "monetary": Decimal(str(row["monetary"])).quantize(Decimal("0.01")),
        "r": int(row["r"]), "f": int(row["f"]), "m": int(row["m"]), "segment": row["segment"],
    }


def method_for(n_customers: int, small_shop_min: int = SMALL_SHOP_MIN_CUSTOMERS) -> str:
    return "small_shop_fallback" if n_customers < small_shop_min else "quintiles"


def write_run_segments(conn: Connection, run_id: int, as_of: date, *,
                       small_shop_min: int = SMALL_SHOP_MIN_CUSTOMERS) -> int:
    """Fill `customer_segments` of a run with one INSERT … SELECT; returns the number of customers."""
    rfm = rfm_select(conn.dialect.name, as_of, small_shop_min=small_shop_min).subquery()
    cols = ["run_id", "customer_id", "recency_days", "frequency", "monetary", "r", "f", "m", "segment"]
    src = select(literal(run_id, Integer), rfm.c.customer_id, rfm.c.recency_days, rfm.c.frequency,
                 rfm.c.monetary, rfm.c.r, rfm.c.f, rfm.c.m, rfm.c.segment)
    tune_for_aggregation(conn)
    conn.execute(insert(CustomerSegment).from_select(cols, src))
    return int(conn.scalar(select(func.count()).select_from(CustomerSegment).where(CustomerSegment.run_id == run_id))
               or 0)


def segment_counts(conn: Connection, run_id: int) -> dict[str, int]:
    """{segment id: customers} for every segment id (zeros included), in `SEGMENT_IDS` order."""
    cs = CustomerSegment.__table__.c
    rows = conn.execute(select(cs.segment, func.count()).where(cs.run_id == run_id).group_by(cs.segment)).all()
    found = {seg: int(n) for seg, n in rows}
    return {seg: found.get(seg, 0) for seg in SEGMENT_IDS}


def previous_run_id(conn: Connection, run_id: int) -> int | None:
    """The run before `run_id` that was not cancelled (the baseline for 'what changed')."""
    sr = SegmentationRun.__table__.c
    return conn.scalar(select(func.max(sr.id)).where(sr.id < run_id, sr.status != "cancelled"))


def segment_moves(conn: Connection, run_id: int, prev_run_id: int | None) -> list[dict[str, Any]]:
    """Customers per (segment in the previous run → segment now), changes only; `from` None = newly scored,
    `to` None = no longer scored (no counted order any more). One pass over both runs' rows (primary-key
    ranges), pivoted per customer, instead of an index probe per customer."""
    if prev_run_id is None:
        return []
    cs = CustomerSegment.__table__.c
    per_customer = (
        select(func.max(case((cs.run_id == prev_run_id, cs.segment))).label("from_seg"),
               func.max(case((cs.run_id == run_id, cs.segment))).label("to_seg"))
        .where(cs.run_id.in_((prev_run_id, run_id)))
        .group_by(cs.customer_id)
        .subquery()
    )
    rows = conn.execute(select(per_customer.c.from_seg, per_customer.c.to_seg, func.count())
                        .group_by(per_customer.c.from_seg, per_customer.c.to_seg)).all()
    moves = [{"from": f, "to": t, "customers": int(n)} for f, t, n in rows if f != t]
    moves.sort(key=lambda m: (-m["customers"], m["from"] or "", m["to"] or ""))
    return moves


def run_moves(conn: Connection, run_id: int, stored: dict[str, Any] | None) -> tuple[int | None, list[dict[str, Any]]]:
    """(previous run id, moves): the moves stored with the run while its baseline is still the previous
    run (a baseline cancelled later means recomputing against the new one)."""
    prev = previous_run_id(conn, run_id)
    if stored and stored.get("previous_run_id") == prev and isinstance(stored.get("moves"), list):
        return prev, list(stored["moves"])
    return prev, segment_moves(conn, run_id, prev)


def latest_run(engine: Engine, *, executed_only: bool = False) -> dict[str, Any] | None:
    sr = SegmentationRun.__table__.c
    stmt = select(SegmentationRun.__table__).where(sr.status != "cancelled")
    if executed_only:
        stmt = stmt.where(sr.status == "executed")
    with engine.connect() as conn:
        row = conn.execute(stmt.order_by(sr.id.desc()).limit(1)).mappings().first()
    return dict(row) if row else None


def latest_segment(engine: Engine, customer_id: str) -> str | None:
    """The customer's segment in the most recent (not cancelled) run, or None when the customer was
    not scored in it (no counted order) or no run exists. For the agent hub's customer profile."""
    sr = SegmentationRun.__table__.c
    cs = CustomerSegment.__table__.c
    last = select(func.max(sr.id)).where(sr.status != "cancelled").scalar_subquery()
    with engine.connect() as conn:
        return conn.scalar(select(cs.segment).where(cs.run_id == last, cs.customer_id == customer_id))


def run_customers(engine: Engine, run_id: int, *, segment: str | None = None, limit: int | None = None
                  ) -> list[dict[str, Any]]:
    """The scored customers of a run (CLI `--customers`, API), ordered by customer id."""
    cs = CustomerSegment.__table__.c
    stmt = select(CustomerSegment.__table__).where(cs.run_id == run_id).order_by(cs.customer_id)
    if segment:
        stmt = stmt.where(cs.segment == segment)
    if limit:
        stmt = stmt.limit(limit)
    with engine.connect() as conn:
        return [_clean_row(r) for r in conn.execute(stmt).mappings().all()]


# --- outbox --------------------------------------------------------------------------------------

OUTBOX_CSV_COLUMNS = ["outbox_id", "run_id", "customer_id", "name", "phone", "email", "channel",
                      "coupon_code", "text", "status", "created_at"]


def export_outbox_csv(engine: Engine, out: TextIO, *, run_id: int | None = None, status: str | None = "pending",
                      mark_exported: bool = True, actor: str = "system") -> int:
    """Write outbox messages as CSV (UTF-8; Excel-friendly BOM is the caller's choice) and mark them exported.

    Nothing is sent: the shop uploads the file to its SMS / KakaoTalk / e-mail tool. Returns the row count.
    """
    from .models import AuditLog, CouponIssue, Customer

    ob = OutboxMessage.__table__.c
    cu = Customer.__table__.c
    cp = Coupon.__table__.c
    ci = CouponIssue.__table__.c
    # a «답변 알림» goes to the contact the chat customer left (`recipient`), a guest having no customer row
    phone = case((and_(ob.recipient.is_not(None), ob.channel == "sms"), ob.recipient), else_=cu.phone)
    email = case((and_(ob.recipient.is_not(None), ob.channel == "email"), ob.recipient), else_=cu.email)
    stmt = (  # the customer's own code; the campaign's for issues before per-customer codes (migration 0009)
        select(ob.id, ob.run_id, ob.customer_id, cu.name, phone, email, ob.channel,
               func.coalesce(ci.code, cp.code), ob.text, ob.status, ob.created_at)
        .select_from(OutboxMessage.__table__.outerjoin(Customer.__table__, cu.id == ob.customer_id)
                     .outerjoin(Coupon.__table__, cp.id == ob.coupon_id)
                     .outerjoin(CouponIssue.__table__, and_(ci.coupon_id == ob.coupon_id,
                                                            ci.customer_id == ob.customer_id)))
        .order_by(ob.id)
    )
    if run_id is not None:
        stmt = stmt.where(ob.run_id == run_id)
    if status:
        stmt = stmt.where(ob.status == status)
    writer = csv.writer(out)
    writer.writerow(OUTBOX_CSV_COLUMNS)
    ids: list[int] = []
    with engine.begin() as conn:
        for row in conn.execute(stmt):
            ids.append(row[0])
            writer.writerow(["" if v is None else (v.isoformat() if isinstance(v, datetime) else v) for v in row])
        if mark_exported and ids:
            for start in range(0, len(ids), 5000):
                chunk = ids[start:start + 5000]
                conn.execute(update(OutboxMessage).where(ob.id.in_(chunk), ob.status == "pending")
                             .values(status="exported"))
            conn.execute(insert(AuditLog).values(actor=actor, action="outbox.export", target_type="segmentation_run",
                                                 target_id=None if run_id is None else str(run_id),
                                                 details={"messages": len(ids)}, at=datetime.now(UTC)))
    return len(ids)


def outbox_csv_text(engine: Engine, **kwargs: Any) -> tuple[str, int]:
    buf = io.StringIO()
    n = export_outbox_csv(engine, buf, **kwargs)
    return buf.getvalue(), n


__all__ = [
    "SEGMENT_IDS", "SEGMENT_LABELS", "compute_rfm", "export_outbox_csv", "latest_segment",
    "rfm_select", "segment_counts", "segment_for", "write_run_segments",
]
