"""Customer profile queries on the real database (SQLite, and PostgreSQL with DATABASE_URL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, event

from sajang.db.engine import session_scope
from sajang.db.models import Claim, Customer, Order, OrderItem, Product, Review
from sajang.db.profile import customer_names, get_customer_profile

T0 = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)


def _store(engine: Engine) -> None:
    """Two customers; only 김하나's rows may appear in her profile."""
    with session_scope(engine) as s:
        s.add_all([
            Customer(id="C-1", name="김하나", joined_at=T0 - timedelta(days=400)),
            Customer(id="C-2", name="박두리"),
            Customer(id="C-3", name=None),
            Product(id="P-1", name="순살 갈비탕", price=Decimal(12900)),
            Product(id="P-2", name="왕만두", price=Decimal(8900)),
        ])
        s.flush()
        statuses = ["delivered", "delivered", "cancelled", "shipping", "returned", "paid", "preparing"]
        for i, status in enumerate(statuses):
            oid = f"O-1-{i}"
            s.add(Order(id=oid, customer_id="C-1", ordered_at=T0 + timedelta(days=i), status=status,
                        amount=Decimal(10000 + i * 1000), courier="CJ대한통운" if status == "shipping" else None,
                        tracking_no="123456789012" if status == "shipping" else None))
            s.flush()
            s.add(OrderItem(order_id=oid, product_id="P-1", product_name="순살 갈비탕", quantity=1 + i % 2,
                            unit_price=Decimal(5000), amount=Decimal(5000)))
            if i == 6:
                s.add(OrderItem(order_id=oid, product_id="P-2", product_name="왕만두", quantity=1,
                                unit_price=Decimal(8900), amount=Decimal(8900)))
        s.add(Order(id="O-2-0", customer_id="C-2", ordered_at=T0, amount=Decimal(99000), status="delivered"))
        s.flush()
        s.add_all([
            Claim(id="CL-1", order_id="O-1-4", customer_id="C-1", product_id="P-1", type="return",
                  status="completed", reason="국물이 새서 왔어요", created_at=T0 + timedelta(days=5)),
            Claim(id="CL-2", order_id="O-2-0", customer_id="C-2", product_id="P-2", type="refund",
                  status="requested", reason="다른 고객의 클레임", created_at=T0 + timedelta(days=1)),
            Review(id="R-1", product_id="P-1", customer_id="C-1", order_id="O-1-0", rating=2,
                   text="포장이 터져서 왔어요", created_at=T0 + timedelta(days=3)),
            Review(id="R-2", product_id="P-2", customer_id="C-1", rating=5, text="만두가 정말 맛있어요",
                   created_at=T0 + timedelta(days=8)),
            Review(id="R-3", product_id="P-2", customer_id="C-2", rating=1, text="다른 고객 리뷰",
                   created_at=T0 + timedelta(days=9)),
        ])


def test_profile_totals_orders_claims_reviews(engine: Engine) -> None:
    _store(engine)
    p = get_customer_profile(engine, "C-1", recent_orders=3)
    assert p is not None
    assert (p.id, p.name) == ("C-1", "김하나")
    # 7 orders; cancelled (12000) and returned (14000) excluded from the money
    assert p.order_count == 7
    assert p.total_spent == Decimal(sum(10000 + i * 1000 for i in range(7)) - 12000 - 14000)
    assert p.last_order_at == T0 + timedelta(days=6)
    assert [o.id for o in p.recent_orders] == ["O-1-6", "O-1-5", "O-1-4"]
    assert [o.status for o in p.recent_orders] == ["preparing", "paid", "returned"]
    assert p.recent_orders[0].items == ["순살 갈비탕", "왕만두"]
    assert p.recent_orders[1].items == ["순살 갈비탕 ×2"]
    assert p.recent_orders[0].ordered_at.tzinfo is not None
    assert [(c.id, c.type, c.status, c.product_name) for c in p.claims] == [
        ("CL-1", "return", "completed", "순살 갈비탕")]
    assert p.claim_count == 1 and p.review_count == 2
    assert [(r.id, r.rating, r.product_name) for r in p.reviews] == [("R-2", 5, "왕만두"), ("R-1", 2, "순살 갈비탕")]
    assert p.reviews[1].text == "포장이 터져서 왔어요"


def test_profile_shipping_order_has_tracking(engine: Engine) -> None:
    _store(engine)
    p = get_customer_profile(engine, "C-1", recent_orders=10)
    assert p is not None
    shipping = [o for o in p.recent_orders if o.status == "shipping"]
    assert [(o.courier, o.tracking_no) for o in shipping] == [("CJ대한통운", "123456789012")]
    assert len(p.recent_orders) == 7


def test_profile_unknown_and_empty_customers(engine: Engine) -> None:
    _store(engine)
    assert get_customer_profile(engine, "C-404") is None
    p = get_customer_profile(engine, "C-3")
    assert p is not None
    assert (p.order_count, p.total_spent, p.last_order_at) == (0, Decimal(0), None)
    assert p.recent_orders == [] and p.claims == [] and p.reviews == []


def test_profile_query_count_is_constant(engine: Engine) -> None:
    """No N+1: the number of statements does not grow with the number of orders shown."""
    _store(engine)
    counts = []
    for n in (1, 7):
        seen: list[str] = []

        def count(*args: object, _seen: list[str] = seen) -> None:
            _seen.append(str(args[2]))

        event.listen(engine, "before_cursor_execute", count)
        try:
            get_customer_profile(engine, "C-1", recent_orders=n, with_segment=False)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        counts.append(len([q for q in seen if q.lstrip().upper().startswith("SELECT")]))
    assert counts[0] == counts[1] <= 5


def test_customer_names_batch(engine: Engine) -> None:
    _store(engine)
    assert customer_names(engine, ["C-1", "C-2", "C-3", "C-404", ""]) == {"C-1": "김하나", "C-2": "박두리"}
    assert customer_names(engine, []) == {}


def _segment_runs(engine: Engine, *runs: tuple[str, str]) -> None:
    """(status, segment of C-1) per run, in order."""
    from datetime import date

    from sajang.db.models import CustomerSegment, SegmentationRun

    with session_scope(engine) as s:
        for status, segment in runs:
            run = SegmentationRun(as_of=date(2026, 11, 20), status=status)
            s.add(run)
            s.flush()
            s.add(CustomerSegment(run_id=run.id, customer_id="C-1", recency_days=40, frequency=7,
                                  monetary=Decimal(58000), r=2, f=5, m=4, segment=segment))


def test_profile_segment_is_the_latest_run_with_korean_label(engine: Engine) -> None:
    from sajang.ui.agent_hub import AgentHub

    _store(engine)
    assert get_customer_profile(engine, "C-1").segment is None  # type: ignore[union-attr]
    _segment_runs(engine, ("executed", "loyal"), ("awaiting_approval", "at_risk"), ("cancelled", "lost"))
    p = get_customer_profile(engine, "C-1")
    assert p is not None and p.segment == "at_risk"  # the cancelled run does not count
    assert get_customer_profile(engine, "C-1", with_segment=False).segment is None  # type: ignore[union-attr]
    assert AgentHub.segment_text("at_risk", "ko") == "이탈 위험"
    assert AgentHub.segment_text("at_risk", "en") == "At risk"
    assert AgentHub.segment_text(None, "ko") == "세그먼트 미분류"
