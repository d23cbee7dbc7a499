"""Dashboard numbers against direct SQL on the demo shop; the trigger-kept sales rollups through imports and
edits; spike detector on planted spikes and on noise."""

from __future__ import annotations

import re
import statistics
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats
from sqlalchemy import Engine, delete, event, insert, select, text, update

from sajang.db import dashboard as dash
from sajang.db.demo import seed_demo_store
from sajang.db.engine import session_scope
from sajang.db.importers import import_file
from sajang.db.models import Claim, Conversation, Customer, Order, OrderItem, Product, Review

TODAY = date(2026, 11, 24)
NOW = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)  # 15:00 KST: the demo's reference time for TODAY


@pytest.fixture
def demo(engine: Engine) -> Engine:
    seed_demo_store(engine, customers=300, seed=42, today=TODAY)
    return engine


def _one(engine: Engine, sql: str, **params: object) -> object:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def test_kpis_equal_direct_sql(demo: Engine) -> None:
    engine = demo
    # conversations: a few bot-only, a few handed off with known first-response delays
    waits = [3, 7, 12, 30, 45]
    with engine.begin() as conn:
        rows = []
        for i in range(12):
            created = NOW - timedelta(days=i % 4, hours=1)
            handed = i < len(waits)
            rows.append({"thread_id": f"t-{i}", "customer_id": "C-00001", "status": "resolved" if handed else "bot",
                         "created_at": created, "updated_at": created, "handed_off": handed,
                         "handed_off_at": created + timedelta(minutes=1) if handed else None,
                         "first_response_at": created + timedelta(minutes=1 + waits[i]) if handed else None})
        conn.execute(insert(Conversation), rows)
    k = dash.kpis(engine, NOW)
    assert k["unanswered_qna"] == _one(engine, "SELECT count(*) FROM product_qna WHERE NOT answered") > 0
    for t in dash.CLAIM_TYPES:
        assert k["open_claims"][t] == _one(
            engine, "SELECT count(*) FROM claims WHERE type = :t AND status IN ('requested', 'in_progress')", t=t)
    assert k["open_claims_total"] > 0
    with engine.connect() as conn:
        settled_on, amount = conn.execute(text(
            "SELECT settled_on, amount FROM settlements ORDER BY settled_on DESC LIMIT 1")).one()
    assert k["latest_settlement"]["settled_on"] == str(settled_on)[:10] == (TODAY - timedelta(days=1)).isoformat()
    assert k["latest_settlement"]["amount"] == Decimal(str(amount))
    today_start = datetime(2026, 11, 23, 15, tzinfo=UTC)  # 00:00 KST
    assert k["inquiries_today"] == sum(1 for r in rows if r["created_at"] >= today_start) > 0
    assert k["bot_resolved_share"] == pytest.approx(7 / 12)
    assert k["median_first_response_minutes"] == pytest.approx(statistics.median(waits))
    low = dash.low_stock(engine, NOW)
    assert k["low_stock"] == len(low)


def _direct_units(engine: Engine) -> dict[str, int]:
    """Units per product sold in the last 30 days up to NOW, straight from orders and items."""
    since = NOW - timedelta(days=dash.SALES_WINDOW_DAYS)
    with engine.connect() as conn:
        return {pid: int(n) for pid, n in conn.execute(text(
            "SELECT i.product_id, SUM(i.quantity) FROM order_items i JOIN orders o ON o.id = i.order_id "
            "WHERE o.ordered_at >= :since AND o.ordered_at <= :now AND o.status NOT IN ('cancelled', 'returned') "
            "AND i.product_id IS NOT NULL GROUP BY i.product_id"),
            {"since": _bind(engine, since), "now": _bind(engine, NOW)}).all()}


def _dashboard_units(engine: Engine) -> dict[str, int]:
    sold = dash.units_sold(NOW - timedelta(days=dash.SALES_WINDOW_DAYS), NOW)
    with engine.connect() as conn:
        return {pid: int(n) for pid, n in conn.execute(select(sold.c.product_id, sold.c.units)).all() if n}


def test_low_stock_is_days_of_cover_against_lead_time(demo: Engine) -> None:
    engine = demo
    units = _direct_units(engine)
    assert _dashboard_units(engine) == units
    with engine.connect() as conn:
        products = conn.execute(text("SELECT id, stock, lead_time_days, status FROM products")).all()
    expected = {pid for pid, stock, lead, status in products
                if status != "hidden" and units.get(pid) and stock / (units[pid] / 30) < lead}
    got = {a["product_id"]: a for a in dash.low_stock(engine, NOW)}
    assert set(got) == expected
    # the demo's planted low-stock products are found; a well-stocked best seller is not
    assert {"P-009", "P-005", "P-025"} <= set(got)
    assert all(a["days_of_cover"] < a["lead_time_days"] for a in got.values())


def _bind(engine: Engine, ts: datetime) -> object:
    """A timestamp as the column stores it (SQLite: naive UTC text)."""
    if engine.dialect.name == "sqlite":
        return ts.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    return ts


def test_demo_review_spike_fires_only_on_the_planted_product(demo: Engine) -> None:
    spikes = dash.review_spikes(demo, NOW)
    assert [s["product_id"] for s in spikes] == ["P-001"]
    s = spikes[0]
    assert s["recent"] >= 5 and s["p_value"] < dash.SPIKE_ALPHA
    assert len(s["items"]) == s["recent"] and all(i["rating"] <= 2 for i in s["items"])
    recent = _one(demo, "SELECT count(*) FROM reviews WHERE product_id = 'P-001' AND rating <= 2 "
                        "AND created_at >= :a AND created_at <= :b",
                  a=_bind(demo, NOW - timedelta(days=7)), b=_bind(demo, NOW))
    assert s["recent"] == recent
    alerts = dash.risk_alerts(demo, NOW)
    assert alerts[0]["id"] == "review_spike:P-001"
    assert {a["kind"] for a in alerts} >= {"review_spike", "low_stock"}


def _kst_day(at: object) -> str:
    """The KST day of a stored timestamp (SQLite returns naive UTC text through `text()`)."""
    ts = datetime.fromisoformat(at) if isinstance(at, str) else at
    assert isinstance(ts, datetime)
    ts = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
    return (ts.astimezone(UTC) + timedelta(hours=9)).date().isoformat()


def _check_daily_sales(engine: Engine, days: int = 90) -> list[dict[str, Any]]:
    """The sales chart equals orders and revenue per KST day counted in Python from the orders table."""
    sales = dash.daily_sales(engine, days, NOW)
    assert len(sales) == days and sales[-1]["day"] == TODAY.isoformat()
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT ordered_at, amount, status FROM orders")).all()
    by_day: dict[str, list[Decimal]] = {}
    for at, amount, status in rows:
        ts = datetime.fromisoformat(at) if isinstance(at, str) else at
        if status in ("cancelled", "returned") or (ts if ts.tzinfo else ts.replace(tzinfo=UTC)) > NOW:
            continue
        by_day.setdefault(_kst_day(at), []).append(Decimal(str(amount)))
    for point in sales:
        assert point["orders"] == len(by_day.get(str(point["day"]), []))
        assert point["revenue"] == sum(by_day.get(str(point["day"]), []), Decimal(0))
    return sales


def test_charts_equal_direct_sql(demo: Engine) -> None:
    engine = demo
    sales = _check_daily_sales(engine, 90)
    assert sum(p["orders"] for p in sales) > 100
    assert len(_check_daily_sales(engine, 30)) == 30
    claims = dash.daily_claims(engine, 30, NOW)
    total = _one(engine, "SELECT count(*) FROM claims WHERE created_at >= :a AND created_at <= :b",
                 a=_bind(engine, datetime(2026, 10, 25, 15, tzinfo=UTC)), b=_bind(engine, NOW))
    assert sum(c["claims"] for c in claims) == total


# --- the sales rollups (migration 0004) ------------------------------------------------------------


def _rollups(engine: Engine) -> tuple[dict[str, Any], dict[str, Any]]:
    """(stored, recounted): both rollups as {("day", day): (orders, revenue), (day, product): units}; the
    recount buckets every order and item in Python. Rows a decrement brought to zero are dropped."""
    with engine.connect() as conn:
        stored: dict[Any, Any] = {("day", str(d)[:10]): (int(n), Decimal(str(a))) for d, n, a in conn.execute(
            text("SELECT day, orders, revenue FROM sales_daily")).all() if n or a}
        stored |= {(str(d)[:10], p): int(u) for d, p, u in conn.execute(
            text("SELECT day, product_id, units FROM product_sales_daily")).all() if u}
        orders = {oid: (_kst_day(at), Decimal(str(amount)), status) for oid, at, amount, status in conn.execute(
            text("SELECT id, ordered_at, amount, status FROM orders")).all()}
        items = conn.execute(text("SELECT order_id, product_id, quantity FROM order_items")).all()
    recount: dict[Any, Any] = {}
    for day, amount, status in orders.values():
        if status not in ("cancelled", "returned"):
            n, a = recount.get(("day", day), (0, Decimal(0)))
            recount[("day", day)] = (n + 1, a + amount)
    for oid, pid, qty in items:
        day, _, status = orders[oid]
        if pid is not None and status not in ("cancelled", "returned"):
            recount[(day, pid)] = recount.get((day, pid), 0) + qty
    return stored, recount


def _assert_consistent(engine: Engine) -> None:
    stored, recount = _rollups(engine)
    assert stored == recount
    assert _dashboard_units(engine) == _direct_units(engine)
    _check_daily_sales(engine, 90)


def test_sales_rollups_stay_exact_through_imports_and_edits(demo: Engine, tmp_path: Path) -> None:
    engine = demo
    stored, _ = _rollups(engine)
    assert sum(v for k, v in stored.items() if k[0] != "day") > 1000  # the seeded demo is in the rollup
    _assert_consistent(engine)
    # an import: new orders today (before and after NOW), inside the window's partial first day
    # (2026-10-25 15:00 KST is NOW − 30 days: 14:00 is outside, 16:00 inside) and on whole days
    header = "order_id,customer_id,ordered_at,amount,status,product_id,product_name,quantity\n"
    lines = ["R-1,C-00001,2026-11-24T10:00:00+09:00,30000,paid,P-009,x,3",
             "R-1,C-00001,2026-11-24T10:00:00+09:00,20000,paid,P-005,x,2",
             "R-2,C-00002,2026-11-24T16:00:00+09:00,9000,paid,P-009,x,4",
             "R-3,C-00003,2026-10-25T14:00:00+09:00,5000,delivered,P-025,x,7",
             "R-4,C-00003,2026-10-25T16:00:00+09:00,5000,delivered,P-025,x,5",
             "R-5,C-00004,2026-11-10T12:00:00+09:00,8000,delivered,P-025,x,2",
             "R-5,C-00004,2026-11-10T12:00:00+09:00,1000,delivered,NEW-1,새 상품,1"]
    path = tmp_path / "orders.csv"
    path.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    before = _dashboard_units(engine)
    import_file(engine, "orders", path)
    _assert_consistent(engine)
    after = _dashboard_units(engine)
    assert after["P-009"] - before["P-009"] == 3 and after["P-025"] - before["P-025"] == 5 + 2
    # a re-import: R-1 cancelled, R-5 moved to another day with other lines
    lines[0:2] = [ln.replace(",paid,", ",cancelled,") for ln in lines[0:2]]
    lines[5:7] = ["R-5,C-00004,2026-11-12T12:00:00+09:00,8000,delivered,P-005,x,6"]
    path.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    import_file(engine, "orders", path)
    _assert_consistent(engine)
    # edits through the ORM and plain SQL: a return, a re-dated order, changed and deleted lines, a deleted order
    with engine.begin() as conn:
        oid = conn.execute(text("SELECT o.id FROM orders o JOIN order_items i ON i.order_id = o.id "
                                "WHERE o.status = 'delivered' AND o.ordered_at >= :a ORDER BY o.id LIMIT 1"),
                           {"a": _bind(engine, NOW - timedelta(days=10))}).scalar_one()
        conn.execute(update(Order).where(Order.id == oid).values(status="returned"))
        conn.execute(update(Order).where(Order.id == "R-4").values(ordered_at=NOW - timedelta(days=2)))
        conn.execute(update(Order).where(Order.id == "R-2").values(status="delivered"))  # counted → counted
        conn.execute(update(OrderItem).where(OrderItem.order_id == "R-5").values(quantity=9, product_id="P-009"))
        conn.execute(update(Order).where(Order.id == oid).values(status="delivered"))
        conn.execute(delete(OrderItem).where(OrderItem.order_id == "R-2"))
    _assert_consistent(engine)
    with session_scope(engine) as s:
        s.add(Order(id="R-6", customer_id="C-00005", ordered_at=NOW - timedelta(days=1), amount=Decimal(4000),
                    status="paid"))
        s.flush()
        s.add(OrderItem(order_id="R-6", product_id="P-005", product_name="x", quantity=2, unit_price=Decimal(2000),
                        amount=Decimal(4000)))
    with engine.begin() as conn:
        conn.execute(delete(Order).where(Order.id.in_(["R-3", "R-5"])))  # its items go by the cascade
    _assert_consistent(engine)
    assert _one(engine, "SELECT count(*) FROM order_items WHERE order_id IN ('R-3', 'R-5')") == 0


def test_rebuild_sales_rollup_equals_the_triggers(demo: Engine) -> None:
    with demo.begin() as conn:  # bulk changes through the triggers (the PostgreSQL demo itself is a rebuild)
        conn.execute(update(Order).where(Order.id.in_(select(Order.id).order_by(Order.id).limit(40)))
                     .values(status="returned"))
        conn.execute(delete(OrderItem).where(
            OrderItem.id.in_(select(OrderItem.id).order_by(OrderItem.id.desc()).limit(40))))
    stored, recount = _rollups(demo)
    assert stored == recount
    with demo.begin() as conn:
        dash.rebuild_sales_rollup(conn)
    assert _rollups(demo)[0] == stored


# --- the spike detector on synthetic shops --------------------------------------------------------


def _noise_shop(engine: Engine, seed: int = 3) -> None:
    """40 products with steady negative-review rates (0.2–3 a week) over 91 days, Poisson noise."""
    rng = np.random.default_rng(seed)
    with engine.begin() as conn:
        conn.execute(insert(Product), [{"id": f"N-{i:02d}", "name": f"상품 {i}"} for i in range(40)])
        rows = []
        for i in range(40):
            weekly = [0.2, 0.5, 1.0, 3.0][i % 4]
            for day in range(91):
                for k in range(int(rng.poisson(weekly / 7))):
                    at = NOW - timedelta(days=day, hours=int(rng.integers(0, 23)), minutes=k)
                    rows.append({"id": f"NR-{i}-{day}-{k}", "product_id": f"N-{i:02d}", "rating": int(rng.integers(1, 3)),
                                 "text": "별로예요", "created_at": at})
                    # and positive reviews that must not count
                    rows.append({"id": f"PR-{i}-{day}-{k}", "product_id": f"N-{i:02d}", "rating": 5,
                                 "text": "좋아요", "created_at": at})
        conn.execute(insert(Review), rows)


def test_spike_detector_quiet_on_noise_and_fires_on_a_planted_spike(engine: Engine) -> None:
    _noise_shop(engine)
    assert dash.review_spikes(engine, NOW) == []
    # one bad review on a product with a clean history is not a spike (minimum count)
    with engine.begin() as conn:
        conn.execute(insert(Product), [{"id": "Q-1", "name": "새 상품"}, {"id": "Q-2", "name": "문제 상품"}])
        conn.execute(insert(Review), [{"id": "q1", "product_id": "Q-1", "rating": 1, "text": "별로",
                                       "created_at": NOW - timedelta(days=1)},
                                      {"id": "q2", "product_id": "Q-1", "rating": 2, "text": "별로",
                                       "created_at": NOW - timedelta(days=2)}])
    assert dash.review_spikes(engine, NOW) == []
    # a planted burst on a quiet product (N-01: 0.5/week) fires; the product with 3/week and 4 more does not
    with engine.begin() as conn:
        conn.execute(insert(Review), [{"id": f"spk{k}", "product_id": "N-01", "rating": 1, "text": "파손되어 왔어요",
                                       "created_at": NOW - timedelta(days=k % 6, hours=2)} for k in range(6)]
                     + [{"id": f"busy{k}", "product_id": "N-03", "rating": 2, "text": "그냥 그래요",
                         "created_at": NOW - timedelta(days=k, hours=3)} for k in range(2)])
        # no rating, but the review graph marked it negative: counts
        conn.execute(insert(Review), [{"id": f"neg{k}", "product_id": "Q-2", "rating": None, "negative": True,
                         "text": "포장이 터졌어요", "created_at": NOW - timedelta(hours=5 + k)} for k in range(3)])
    spikes = {s["product_id"]: s for s in dash.review_spikes(engine, NOW)}
    assert set(spikes) == {"N-01", "Q-2"}
    assert {i["review_id"] for i in spikes["N-01"]["items"]} >= {f"spk{k}" for k in range(6)}


def test_review_spike_count_reads_only_the_negative_reviews_index(engine: Engine) -> None:
    """The spike count's predicate must stay the partial index's (SQLite uses it only for an identical term)."""
    _noise_shop(engine)
    seen: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cur: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
        if "GROUP BY reviews.product_id" in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        dash.review_spikes(engine, NOW)
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    [(statement, parameters)] = seen
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SET enable_seqscan = off")  # a test-sized table would be read whole
            # the generic plan, as a pooled connection ends up using once psycopg prepares the statement
            conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
            names: list[str] = []
            conn.exec_driver_sql("PREPARE spikes AS " + re.sub(
                r"%\((\w+)\)s", lambda m: names.append(m.group(1)) or f"${len(names)}", statement))
            args = ", ".join(f"'{v.isoformat()}'" if isinstance(v, datetime) else str(int(v))
                             for v in (parameters[n] for n in names))
            plan = conn.exec_driver_sql(f"EXPLAIN EXECUTE spikes({args})").scalars().all()
        else:
            plan = [r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()]
    assert any("ix_reviews_negative" in line for line in plan), plan


def test_claim_spike(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(insert(Product), [{"id": "K-1", "name": "김치"}, {"id": "K-2", "name": "두부"}])
        conn.execute(insert(Customer), [{"id": "U-1", "name": "김고객"}])
        orders, claims = [], []
        for k in range(30):
            at = NOW - timedelta(days=3 * k + 1)
            orders.append({"id": f"o{k}", "customer_id": "U-1", "ordered_at": at, "amount": Decimal(10000)})
        conn.execute(insert(Order), orders)
        # K-2: one claim every ~3 weeks (steady); K-1: none before, four this week
        for k in range(0, 30, 7):
            claims.append({"id": f"c2-{k}", "order_id": f"o{k}", "customer_id": "U-1", "product_id": "K-2",
                           "type": "return", "created_at": NOW - timedelta(days=3 * k + 1)})
        for k in range(4):
            claims.append({"id": f"c1-{k}", "order_id": f"o{k}", "customer_id": "U-1", "product_id": "K-1",
                           "type": "refund", "reason": "상했어요", "created_at": NOW - timedelta(days=k, hours=1)})
        conn.execute(insert(Claim), claims)
    spikes = dash.claim_spikes(engine, NOW)
    assert [s["product_id"] for s in spikes] == ["K-1"]
    assert sorted(i["claim_id"] for i in spikes[0]["items"]) == [f"c1-{k}" for k in range(4)]


@pytest.mark.parametrize(("k", "lam"), [(3, 0.04), (6, 0.4), (5, 1.0), (1, 2.0), (20, 3.0), (0, 1.0)])
def test_poisson_tail_matches_scipy(k: int, lam: float) -> None:
    assert dash.poisson_tail(k, lam) == pytest.approx(stats.poisson.sf(k - 1, lam), rel=1e-9, abs=1e-300)


def test_empty_store_dashboard(engine: Engine) -> None:
    out = dash.dashboard(engine, NOW)
    assert out["kpis"]["latest_settlement"] is None and out["kpis"]["bot_resolved_share"] is None
    assert out["alerts"] == [] and len(out["sales"]) == 30 and out["segments"]["run_id"] is None
