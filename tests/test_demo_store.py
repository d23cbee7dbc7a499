"""The demo shop on the real database: coherence invariants, planted stories, determinism."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select

from sajang.db.demo import KST, LOW_STOCK_PRODUCTS, SPIKE_PRODUCT, seed_demo_store
from sajang.db.engine import get_engine, session_scope
from sajang.db.errors import DataError
from sajang.db.models import Claim, Customer, Order, OrderItem, Product, ProductQna, Review, Settlement

TODAY = date(2026, 11, 24)
NOW = datetime.combine(TODAY, time(15), timezone(timedelta(hours=9))).astimezone(UTC)


@pytest.fixture
def shop(engine: Engine) -> tuple[Engine, dict]:
    counts = seed_demo_store(engine, customers=120, seed=7, today=TODAY)
    return engine, counts


def _rows(engine: Engine, model: type, order_by) -> list[tuple]:  # type: ignore[no-untyped-def]
    cols = [c for c in model.__table__.columns if c.name != "id" or model is not OrderItem]
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(*cols).order_by(order_by))]


def test_counts_and_orders_are_coherent(shop: tuple[Engine, dict]) -> None:
    engine, counts = shop
    assert counts["customers"] == 120 and counts["products"] == 40
    assert 800 <= counts["orders"] <= 1600  # ~10 orders per customer
    with session_scope(engine) as s:
        items = defaultdict(Decimal)
        for order_id, amount, qty, unit in s.execute(
                select(OrderItem.order_id, OrderItem.amount, OrderItem.quantity, OrderItem.unit_price)):
            assert amount == unit * qty
            items[order_id] += amount
        orders = s.scalars(select(Order)).all()
        assert len(orders) == counts["orders"] == len(items)
        for o in orders:
            fee = Decimal(0) if items[o.id] >= 50000 else Decimal(3000)
            assert o.shipping_fee == fee, o.id
            assert o.amount == items[o.id] + fee, o.id
            assert o.ordered_at <= NOW
            if o.status in ("shipping", "delivered", "returned", "exchanged"):
                assert o.tracking_no and o.courier and o.shipped_at and o.shipped_at > o.ordered_at
                # dispatch obeys the 14:00 KST cut-off and never happens on a Sunday
                local, shipped = o.ordered_at.astimezone(KST), o.shipped_at.astimezone(KST)
                assert shipped.date() >= local.date() and shipped.weekday() != 6
                if local.hour >= 14:
                    assert shipped.date() > local.date()
            if o.status in ("delivered", "returned", "exchanged"):
                assert o.delivered_at and o.shipped_at < o.delivered_at <= NOW
            if o.status in ("paid", "preparing", "cancelled"):
                assert o.tracking_no is None and o.delivered_at is None
            if o.status in ("paid", "preparing", "shipping"):
                assert NOW - o.ordered_at < timedelta(days=4)  # live statuses only for recent orders
        statuses = {o.status for o in orders}
        assert {"paid", "preparing", "shipping", "delivered", "cancelled"} <= statuses
        # customer totals derive from orders: every customer ordered, joined before the first order
        first = dict(s.execute(select(Order.customer_id, func.min(Order.ordered_at)).group_by(Order.customer_id)).all())
        for c in s.scalars(select(Customer)):
            assert c.id in first and c.joined_at <= first[c.id]
            assert c.phone and c.phone.startswith("010-0000-")


def test_claims_reviews_settlements_stock(shop: tuple[Engine, dict]) -> None:
    engine, _ = shop
    with session_scope(engine) as s:
        orders = {o.id: o for o in s.scalars(select(Order))}
        lines = defaultdict(set)
        for oid, pid in s.execute(select(OrderItem.order_id, OrderItem.product_id)):
            lines[oid].add(pid)
        claims = s.scalars(select(Claim)).all()
        assert claims
        for c in claims:
            o = orders[c.order_id]
            assert c.customer_id == o.customer_id and c.product_id in lines[o.id]
            assert o.ordered_at <= c.created_at <= NOW and c.reason
            if c.status in ("completed", "rejected"):
                assert c.resolved_at is not None and c.resolved_at >= c.created_at
            else:
                assert c.resolved_at is None
            if c.type == "cancel" and c.status == "completed":
                assert o.status == "cancelled"
            if c.type in ("return", "exchange", "refund"):
                assert o.delivered_at is not None and c.created_at >= o.delivered_at
            if c.type == "return" and c.status == "completed":
                assert o.status == "returned"
        assert any(c.status in ("requested", "in_progress") for c in claims)

        reviews = s.scalars(select(Review)).all()
        assert reviews
        for r in reviews:
            o = orders[r.order_id]
            assert o.status == "delivered" and o.customer_id == r.customer_id
            assert r.product_id in lines[o.id] and o.delivered_at <= r.created_at <= NOW
            assert 1 <= r.rating <= 5 and r.text

        sales = defaultdict(Decimal)
        for o in orders.values():
            day = o.ordered_at.astimezone(KST).date()
            if o.status not in ("cancelled", "returned") and day < TODAY:
                sales[day] += o.amount
        settlements = s.scalars(select(Settlement)).all()
        assert {st.settled_on for st in settlements} == set(sales)
        for st in settlements:
            assert st.sales == sales[st.settled_on]
            assert st.commission == (st.sales * Decimal("0.055")).quantize(Decimal(1), rounding="ROUND_HALF_UP")
            assert st.amount == st.sales - st.commission

        for p in s.scalars(select(Product)):
            assert (p.stock == 0) == (p.status == "sold_out")
            assert (p.restock_on is not None) == (p.status == "sold_out")
            if p.restock_on:
                assert p.restock_on > TODAY

        qna = s.scalars(select(ProductQna)).all()
        for q in qna:
            assert q.asked_at <= NOW and q.answered == (q.answer is not None) == (q.answered_at is not None)
        assert sum(not q.answered for q in qna) >= 5


def test_planted_stories(shop: tuple[Engine, dict]) -> None:
    engine, _ = shop
    week_ago = NOW - timedelta(days=7)
    with session_scope(engine) as s:
        hong = s.get(Customer, "C-00001")
        assert hong is not None and hong.name == "홍길동"
        recent = s.scalars(select(Order).where(Order.customer_id == "C-00001",
                                               Order.ordered_at >= NOW - timedelta(days=14))).all()
        statuses = {o.status for o in recent}
        assert {"paid", "preparing", "shipping", "delivered", "cancelled"} <= statuses
        assert all(o.tracking_no for o in recent if o.status == "shipping")
        assert s.scalar(select(func.count()).select_from(Claim).where(
            Claim.customer_id == "C-00001", Claim.status == "requested"))
        assert s.scalar(select(func.count()).select_from(Review).where(Review.customer_id == "C-00001")) >= 2

        # the spike: one product has ≥ 6 one/two-star reviews this week, no other product more than 2
        low = s.execute(select(Review.product_id, func.count()).where(
            Review.rating <= 2, Review.created_at >= week_ago).group_by(Review.product_id)).all()
        by_product = dict(low)
        assert by_product.get(SPIKE_PRODUCT, 0) >= 6
        assert all(n <= 2 for pid, n in by_product.items() if pid != SPIKE_PRODUCT)
        spike_texts = s.scalars(select(Review.text).where(Review.product_id == SPIKE_PRODUCT, Review.rating <= 2,
                                                          Review.created_at >= week_ago)).all()
        assert any("샜" in t or "터져" in t for t in spike_texts)

        # low stock: days of cover (stock / daily units of the last 30 days) below the lead time
        since = NOW - timedelta(days=30)
        units = dict(s.execute(select(OrderItem.product_id, func.sum(OrderItem.quantity))
                               .join(Order, Order.id == OrderItem.order_id)
                               .where(Order.ordered_at >= since, Order.status != "cancelled")
                               .group_by(OrderItem.product_id)).all())
        for pid in LOW_STOCK_PRODUCTS:
            p = s.get(Product, pid)
            assert p is not None and p.status == "on_sale" and 0 < p.stock < p.safety_stock
            daily = units[pid] / 30
            assert p.stock / daily < p.lead_time_days, pid
        sold_out = s.scalars(select(Product).where(Product.status == "sold_out")).all()
        assert len(sold_out) >= 1


def test_every_rfm_archetype_shape_exists(shop: tuple[Engine, dict]) -> None:
    """Recency/frequency spread wide enough for every segment: recent heavy buyers, one-timers, lapsed."""
    engine, _ = shop
    with session_scope(engine) as s:
        stats = s.execute(select(Order.customer_id, func.count(), func.max(Order.ordered_at))
                          .group_by(Order.customer_id)).all()
    rec = [(n, (NOW - last).days) for _cid, n, last in stats]
    assert any(n >= 25 and d <= 14 for n, d in rec)  # champions
    assert any(n == 1 and d <= 14 for n, d in rec)  # new
    assert any(n >= 15 and d >= 150 for n, d in rec)  # can't lose them
    assert any(n <= 2 and d >= 300 for n, d in rec)  # lost
    assert any(3 <= n <= 8 and 45 <= d <= 110 for n, d in rec)  # needs attention / about to sleep


def test_same_seed_same_rows_and_refuses_non_empty(shop: tuple[Engine, dict], databases) -> None:  # type: ignore[no-untyped-def]
    engine, _ = shop
    other = get_engine(databases.fresh())
    seed_demo_store(other, customers=120, seed=7, today=TODAY)
    third = get_engine(databases.fresh())
    seed_demo_store(third, customers=120, seed=8, today=TODAY)
    for model, key in ((Customer, Customer.id), (Order, Order.id), (OrderItem, OrderItem.id), (Claim, Claim.id),
                       (Review, Review.id), (ProductQna, ProductQna.id), (Product, Product.id),
                       (Settlement, Settlement.settled_on)):
        assert _rows(engine, model, key) == _rows(other, model, key), model.__tablename__
    assert _rows(engine, Order, Order.id) != _rows(third, Order, Order.id)
    assert _rows(engine, Customer, Customer.id) != _rows(third, Customer, Customer.id)

    with pytest.raises(DataError, match="already has data"):
        seed_demo_store(engine, customers=50, seed=1, today=TODAY)
    counts = seed_demo_store(engine, customers=50, seed=1, today=TODAY, reset=True)
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Customer)) == counts["customers"] == 50
        assert s.scalar(select(func.count()).select_from(Order)) == counts["orders"]


def test_tiny_shop_still_has_its_stories(engine: Engine) -> None:
    from sqlalchemy import inspect

    def schema() -> dict[str, tuple[set, set]]:
        insp = inspect(engine)
        return {t: ({ix["name"] for ix in insp.get_indexes(t)},
                    {(tuple(fk["constrained_columns"]), fk["referred_table"]) for fk in insp.get_foreign_keys(t)})
                for t in ("orders", "order_items", "claims", "reviews", "product_qna")}

    before = schema()
    seed_demo_store(engine, customers=12, seed=3, today=TODAY, rebuild_indexes=True)  # the big-shop load path
    assert schema() == before and before["orders"][0] and before["order_items"][1]
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Review).where(
            Review.product_id == SPIKE_PRODUCT, Review.rating <= 2, Review.created_at >= NOW - timedelta(days=7))) >= 6
        for pid in LOW_STOCK_PRODUCTS:
            p = s.get(Product, pid)
            assert p is not None and p.stock < p.safety_stock


def test_default_today_is_now(engine: Engine) -> None:
    counts = seed_demo_store(engine, customers=15, seed=5)
    now = datetime.now(UTC)
    assert counts["today"] == now.astimezone(KST).date().isoformat()
    with session_scope(engine) as s:
        assert s.scalar(select(func.max(Order.ordered_at))) <= now


def test_manual_articles_follow_the_format_and_the_store_policy() -> None:
    """Every article parses (front matter, `##` sections), has a DESIGN.md category and quotes the policy."""
    from sajang.app.demo import MANUAL_DIR
    from sajang.config import StorePolicy
    from sajang.knowledge.ingest import read_manual_dir
    from sajang.ui.i18n import CATEGORY_LABELS

    articles, files = read_manual_dir(MANUAL_DIR)
    assert files >= 30 and len(articles) == files
    assert len({a["id"] for a in articles}) == len(articles)
    text = {a["id"]: a["body"] for a in articles}
    for a in articles:
        assert a["category"] in CATEGORY_LABELS, a["id"]
        assert a["title"] and a["body"].count("## ") >= 2, a["id"]
        assert 400 <= len(a["body"]) <= 4000, (a["id"], len(a["body"]))
    assert set(CATEGORY_LABELS) - {"human", "other"} <= {a["category"] for a in articles}
    policy = StorePolicy()
    won = lambda d: f"{int(d):,}원"  # noqa: E731
    assert won(policy.delivery_fee) in text["delivery-fee"] and won(policy.free_shipping_threshold) in text["delivery-fee"]
    assert won(policy.return_fee) in text["return-fee"] and won(policy.exchange_fee) in text["exchange-policy"]
    assert f"{policy.return_window_days}일" in text["return-policy"]
    assert "오후 2시" in text["delivery-dispatch"] and policy.dispatch_cutoff in text["delivery-dispatch"]
    assert policy.cs_phone in text["cs-hours"] and "평일 10:00–17:00" in text["cs-hours"]
    assert policy.courier in text["delivery-tracking"]
    # no article contradicts the fee or the window with another number
    for body in text.values():
        assert "무료배송 기준(3" not in body and "30일 안에 반품" not in body
