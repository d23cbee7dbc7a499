"""Dashboard numbers against direct SQL on the demo shop; spike detector on planted spikes and on noise."""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
from scipy import stats
from sqlalchemy import Engine, insert, text

from sajang.db import dashboard as dash
from sajang.db.demo import seed_demo_store
from sajang.db.models import Claim, Conversation, Customer, Order, Product, Review

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


def test_low_stock_is_days_of_cover_against_lead_time(demo: Engine) -> None:
    engine = demo
    since = NOW - timedelta(days=dash.SALES_WINDOW_DAYS)
    with engine.connect() as conn:
        units = dict(conn.execute(text(
            "SELECT i.product_id, SUM(i.quantity) FROM order_items i JOIN orders o ON o.id = i.order_id "
            "WHERE o.ordered_at >= :since AND o.ordered_at <= :now AND o.status NOT IN ('cancelled', 'returned') "
            "GROUP BY i.product_id"), {"since": _bind(engine, since), "now": _bind(engine, NOW)}).all())
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


def test_charts_equal_direct_sql(demo: Engine) -> None:
    engine = demo
    sales = dash.daily_sales(engine, 90, NOW)
    assert len(sales) == 90 and sales[-1]["day"] == TODAY.isoformat()
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT ordered_at, amount, status FROM orders")).all()
    by_day: dict[str, list[Decimal]] = {}
    for at, amount, status in rows:
        at = datetime.fromisoformat(at) if isinstance(at, str) else at
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        if status in ("cancelled", "returned") or at > NOW:
            continue
        day = (at.astimezone(UTC) + timedelta(hours=9)).date().isoformat()
        by_day.setdefault(day, []).append(Decimal(str(amount)))
    for point in sales:
        assert point["orders"] == len(by_day.get(point["day"], []))
        assert point["revenue"] == sum(by_day.get(point["day"], []), Decimal(0))
    assert sum(p["orders"] for p in sales) > 100
    claims = dash.daily_claims(engine, 30, NOW)
    total = _one(engine, "SELECT count(*) FROM claims WHERE created_at >= :a AND created_at <= :b",
                 a=_bind(engine, datetime(2026, 10, 25, 15, tzinfo=UTC)), b=_bind(engine, NOW))
    assert sum(c["claims"] for c in claims) == total


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
