"""RFM in SQL against a plain pandas reference, on the real CDNOW transactions and on small shops."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy import Engine, func, insert, select

from sajang.db.engine import session_scope
from sajang.db.models import Customer, CustomerSegment, Order, SegmentationRun
from sajang.db.rfm import (
    SEGMENT_GRID,
    SEGMENT_IDS,
    SEGMENT_LABELS,
    compute_rfm,
    day_end_utc,
    latest_segment,
    segment_counts,
    segment_for,
    segment_moves,
    write_run_segments,
)
from tests.conftest import shared_data


def load_cdnow(engine: Engine) -> pd.DataFrame:
    """CDNOW rows → customers + orders (one order per row, ids synthesised), bulk inserted."""
    df = pd.read_csv(shared_data("rfm/cdnow_master_transactions.csv"), dtype={"customer_id": str})
    df["date"] = pd.to_datetime(df["date"]).dt.date
    df["order_id"] = [f"CD-{i:06d}" for i in range(len(df))]
    # every 50th order is cancelled: those must not count
    df["status"] = ["cancelled" if i % 50 == 7 else "delivered" for i in range(len(df))]
    customers = [{"id": c} for c in sorted(df["customer_id"].unique())]
    # 12:00 KST on the order's date (stored in UTC)
    orders = [
        {"id": oid, "customer_id": cid, "ordered_at": datetime(d.year, d.month, d.day, 3, tzinfo=UTC),
         "amount": Decimal(str(v)), "status": st}
        for oid, cid, d, v, st in zip(df["order_id"], df["customer_id"], df["date"], df["dollar_value"],
                                      df["status"], strict=True)
    ]
    with engine.begin() as conn:
        conn.execute(insert(Customer), customers)
        for i in range(0, len(orders), 20000):
            conn.execute(insert(Order), orders[i:i + 20000])
    return df


def pandas_reference(df: pd.DataFrame, as_of: date, *, small_shop_min: int = 50) -> pd.DataFrame:
    """The textbook computation, written independently of the SQL (same documented tie rule)."""
    d = df[(df["status"] != "cancelled") & (df["date"] <= as_of)]
    g = d.groupby("customer_id").agg(last=("date", "max"), frequency=("order_id", "nunique"),
                                     monetary=("dollar_value", "sum"))
    g["recency_days"] = [(as_of - x).days for x in g["last"]]
    g["monetary"] = g["monetary"].round(2)
    n = len(g)
    # b = customers strictly worse → score 1 + floor(5 b / n)
    g["r"] = 1 + (5 * (g["recency_days"].rank(method="min", ascending=False).astype(int) - 1)) // n
    g["f"] = 1 + (5 * (g["frequency"].rank(method="min").astype(int) - 1)) // n
    g["m"] = 1 + (5 * (g["monetary"].rank(method="min").astype(int) - 1)) // n
    if n < small_shop_min:
        g["r"] = g["recency_days"].map(lambda x: 5 if x <= 30 else 4 if x <= 60 else 3 if x <= 90 else
                                       2 if x <= 180 else 1)
        g["f"] = g["frequency"].map(lambda x: 5 if x >= 6 else 4 if x >= 4 else 3 if x >= 3 else 2 if x >= 2 else 1)
    return g.sort_index()


def _compare(rows: list[dict], ref: pd.DataFrame) -> None:
    got = pd.DataFrame(rows).set_index("customer_id").sort_index()
    assert list(got.index) == list(ref.index)
    for col in ("recency_days", "frequency", "r", "f", "m"):
        mismatch = (got[col].astype(int) != ref[col].astype(int)).sum()
        assert mismatch == 0, f"{col}: {mismatch} customers differ"
    money = (got["monetary"].astype(float) - ref["monetary"]).abs().max()
    assert money < 0.005


@pytest.mark.parametrize("as_of", [date(1998, 6, 30), date(1997, 9, 30)])
def test_rfm_matches_pandas_on_cdnow(engine: Engine, as_of: date) -> None:
    df = load_cdnow(engine)
    rows = compute_rfm(engine, as_of)
    ref = pandas_reference(df, as_of)
    assert len(rows) > 5000
    _compare(rows, ref)
    # every scored customer has exactly the grid's segment; every score 1–5 used for R
    for row in rows:
        assert row["segment"] == segment_for(row["r"], row["f"])
    assert {row["r"] for row in rows} == {1, 2, 3, 4, 5}
    # equal values share a score (the documented tie rule)
    got = pd.DataFrame(rows)
    for col, score in (("recency_days", "r"), ("frequency", "f"), ("monetary", "m")):
        assert (got.groupby(col)[score].nunique() == 1).all()


def test_run_writes_every_customer_once_and_moves(engine: Engine) -> None:
    df = load_cdnow(engine)
    with session_scope(engine) as s:
        runs = [SegmentationRun(as_of=d) for d in (date(1997, 9, 30), date(1998, 6, 30))]
        s.add_all(runs)
        s.flush()
        ids = [r.id for r in runs]
    with engine.begin() as conn:
        n1 = write_run_segments(conn, ids[0], date(1997, 9, 30))
        n2 = write_run_segments(conn, ids[1], date(1998, 6, 30))
        counts = segment_counts(conn, ids[1])
        moves = segment_moves(conn, ids[1], ids[0])
        dup = conn.execute(select(CustomerSegment.customer_id).where(CustomerSegment.run_id == ids[1])
                           .group_by(CustomerSegment.customer_id).having(func.count() > 1)).all()
    buyers = df[(df["status"] != "cancelled")]["customer_id"].nunique()
    assert n2 == buyers and sum(counts.values()) == buyers and not dup
    assert list(counts) == list(SEGMENT_IDS)
    assert n1 < n2
    # moves agree with a direct comparison of the two runs' rows
    with engine.connect() as conn:
        before = dict(conn.execute(select(CustomerSegment.customer_id, CustomerSegment.segment)
                                   .where(CustomerSegment.run_id == ids[0])).all())
        after = dict(conn.execute(select(CustomerSegment.customer_id, CustomerSegment.segment)
                                  .where(CustomerSegment.run_id == ids[1])).all())
    expected: dict[tuple, int] = {}
    for cid, seg in after.items():
        if before.get(cid) != seg:
            expected[(before.get(cid), seg)] = expected.get((before.get(cid), seg), 0) + 1
    assert {(m["from"], m["to"]): m["customers"] for m in moves} == expected
    assert any(m["from"] is None for m in moves)
    # the same customer, as seen by the agent hub
    cid = df["customer_id"].iloc[0]
    with engine.connect() as conn:
        seg = conn.scalar(select(CustomerSegment.segment).where(CustomerSegment.run_id == ids[1],
                                                                CustomerSegment.customer_id == cid))
    assert latest_segment(engine, cid) == seg
    assert latest_segment(engine, "no-such-customer") is None


def _small_shop(engine: Engine, today: date) -> dict[str, tuple[int, int, list[Decimal]]]:
    """30 customers with known (days since last order, order count, amounts)."""
    plan: dict[str, tuple[int, int, list[Decimal]]] = {}
    for i in range(30):
        days = [0, 10, 31, 45, 70, 100, 200, 400][i % 8]
        n_orders = 1 + (i * 7) % 8
        plan[f"S-{i:03d}"] = (days, n_orders, [Decimal(15000 + 1000 * k) for k in range(n_orders)])
    with engine.begin() as conn:
        conn.execute(insert(Customer), [{"id": c, "name": f"고객{c}"} for c in plan])
        rows = []
        for cid, (days, n_orders, amounts) in plan.items():
            last = datetime.combine(today - timedelta(days=days), datetime.min.time(), tzinfo=UTC) + timedelta(hours=5)
            for k in range(n_orders):
                rows.append({"id": f"{cid}-{k}", "customer_id": cid, "ordered_at": last - timedelta(days=3 * k),
                             "amount": amounts[k], "status": "delivered"})
        # cancelled and returned orders never count, even when they are the latest
        rows.append({"id": "S-000-x", "customer_id": "S-000", "ordered_at": last + timedelta(days=1),
                     "amount": Decimal(999000), "status": "cancelled"})
        rows.append({"id": "S-001-x", "customer_id": "S-001", "ordered_at": last, "amount": Decimal(5000),
                     "status": "returned"})
        conn.execute(insert(Order), rows)
    return plan


def test_small_shop_uses_fixed_thresholds(engine: Engine) -> None:
    today = date(2026, 11, 24)
    plan = _small_shop(engine, today)
    rows = {r["customer_id"]: r for r in compute_rfm(engine, today)}
    assert set(rows) == set(plan)
    for cid, (days, n_orders, amounts) in plan.items():
        row = rows[cid]
        assert row["recency_days"] == days and row["frequency"] == n_orders
        assert row["monetary"] == sum(amounts)
        assert row["r"] == (5 if days <= 30 else 4 if days <= 60 else 3 if days <= 90 else 2 if days <= 180 else 1)
        assert row["f"] == (5 if n_orders >= 6 else 4 if n_orders >= 4 else 3 if n_orders >= 3 else
                            2 if n_orders >= 2 else 1)
        assert row["segment"] == SEGMENT_GRID[row["r"]][row["f"] - 1]
    # with the fallback switched off the same shop is scored by quintiles (different R for someone)
    quint = {r["customer_id"]: r for r in compute_rfm(engine, today, small_shop_min=0)}
    assert any(quint[c]["r"] != rows[c]["r"] for c in plan)


def test_as_of_day_boundary_is_shop_local(engine: Engine) -> None:
    """An order at 23:30 KST on the as-of day counts (recency 0); one at 00:10 KST the next day does not;
    04:00 KST two days before is 2 days."""
    as_of = date(2026, 3, 1)
    end = day_end_utc(as_of)
    with engine.begin() as conn:
        conn.execute(insert(Customer), [{"id": "A"}, {"id": "B"}])
        conn.execute(insert(Order), [
            {"id": "a1", "customer_id": "A", "ordered_at": end - timedelta(minutes=30), "amount": Decimal(1000)},
            {"id": "b1", "customer_id": "B", "ordered_at": end + timedelta(minutes=10), "amount": Decimal(1000)},
            {"id": "b0", "customer_id": "B", "ordered_at": end - timedelta(days=2, hours=20), "amount": Decimal(1000)},
        ])
    rows = {r["customer_id"]: r for r in compute_rfm(engine, as_of)}
    assert rows["A"]["recency_days"] == 0 and rows["A"]["frequency"] == 1
    assert rows["B"]["recency_days"] == 2 and rows["B"]["frequency"] == 1


def test_labels_cover_every_segment() -> None:
    assert set(SEGMENT_LABELS) == set(SEGMENT_IDS)
    assert {s for row in SEGMENT_GRID.values() for s in row} == set(SEGMENT_IDS)
    assert SEGMENT_LABELS["at_risk"]["ko"] == "이탈 위험"


def test_rfm_matches_pandas_on_the_demo_shop(engine: Engine) -> None:
    """The demo shop (Korean, KST timestamps, cancelled/returned orders) against pandas on its raw orders."""
    from sajang.db.demo import seed_demo_store

    today = date(2026, 11, 24)
    seed_demo_store(engine, customers=300, seed=42, today=today)
    with engine.connect() as conn:
        raw = pd.read_sql(select(Order.id.label("order_id"), Order.customer_id, Order.ordered_at,
                                 Order.amount, Order.status), conn)
    ts = pd.to_datetime(raw["ordered_at"], utc=True, format="mixed")
    raw["date"] = (ts + pd.Timedelta(hours=9)).dt.date  # the shop's (KST) calendar day
    raw["dollar_value"] = raw["amount"].astype(float)
    raw["status"] = raw["status"].where(~raw["status"].isin(["cancelled", "returned"]), "cancelled")
    ref = pandas_reference(raw, today)
    rows = compute_rfm(engine, today)
    assert len(rows) > 250
    _compare(rows, ref)
    segments = {r["segment"] for r in rows}
    assert len(segments) >= 8  # the demo draws customers from every archetype
