"""Questions about the customer's own orders: intents with slots answered from the database, actions per
order status, and a guest verified in the chat.

Run on both databases:
    pytest tests/test_own_orders.py
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test pytest tests/test_own_orders.py
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select
from test_inquiry_support import MANUAL

from sajang.config import Settings
from sajang.db.engine import session_scope
from sajang.db.models import Claim, Conversation, Customer, Order, OrderItem
from sajang.graphs.inquiry.intents import (
    date_range,
    elliptic_fragment,
    parse_own_query,
    product_words,
    verification_parts,
)
from sajang.graphs.inquiry.order_answers import is_own_data_question

KST = ZoneInfo("Asia/Seoul")
A, B = "C-91001", "C-91002"
A_PHONE4, B_PHONE4 = "5678", "4444"


@dataclass(frozen=True)
class Shop:
    """Order ids of the seeded customers."""

    paid: str
    preparing: str
    shipping: str
    delivered: str
    cancelled: str
    old_mandu: str
    b_shipping: str


A_TRACK, B_TRACK = "639911112222", "640099998888"


def _kst_noon(days_ago: int) -> datetime:
    today = datetime.now(KST).date()
    return datetime.combine(today - timedelta(days=days_ago), time(12, 0), KST).astimezone(UTC)


def seed_orders(engine: Engine) -> Shop:
    """Customer A: an order in every live status, a cancelled one, an open exchange claim and two orders
    with 만두; customer B: a parcel on its way (never shown to A)."""
    now = datetime.now(UTC)

    def oid(at: datetime, n: int) -> str:
        return f"O-{at.astimezone(KST):%Y%m%d}-{91000 + n}"

    # (placed today in Korea whatever the hour the tests run: «어제 주문한 거» finds none of them after midnight KST)
    today_kst = datetime.combine(datetime.now(KST).date(), time(0, 0), KST).astimezone(UTC)
    at = {"paid": max(now - timedelta(minutes=10), today_kst + timedelta(seconds=2)),
          "preparing": max(now - timedelta(minutes=30), today_kst + timedelta(seconds=1)),
          "shipping": _kst_noon(2), "delivered": _kst_noon(5), "cancelled": _kst_noon(12),
          "old_mandu": _kst_noon(40), "b_shipping": _kst_noon(1)}
    ids = {k: oid(v, i) for i, (k, v) in enumerate(at.items(), start=1)}
    with session_scope(engine) as s:
        s.add_all([Customer(id=A, name="김하나", phone="010-1234-5678"),
                   Customer(id=B, name="박두리", phone="010-3333-4444")])
        s.flush()

        def order(key: str, customer: str, status: str, amount: int, fee: int, **kw: Any) -> None:
            s.add(Order(id=ids[key], customer_id=customer, ordered_at=at[key], amount=Decimal(amount),
                        shipping_fee=Decimal(fee), status=status, **kw))

        order("paid", A, "paid", 28700, 3000)
        order("preparing", A, "preparing", 19900, 3000)
        order("shipping", A, "shipping", 34800, 3000, courier="CJ대한통운", tracking_no=A_TRACK,
              shipped_at=at["shipping"] + timedelta(hours=20))
        order("delivered", A, "delivered", 23800, 3000, courier="CJ대한통운", tracking_no="639955556666",
              shipped_at=at["delivered"] + timedelta(hours=20), delivered_at=at["delivered"] + timedelta(days=2))
        order("cancelled", A, "cancelled", 42900, 3000)
        order("old_mandu", A, "delivered", 32700, 0, courier="CJ대한통운", tracking_no="639900001111",
              shipped_at=at["old_mandu"] + timedelta(hours=20), delivered_at=at["old_mandu"] + timedelta(days=1))
        order("b_shipping", B, "shipping", 54000, 0, courier="한진택배", tracking_no=B_TRACK,
              shipped_at=at["b_shipping"] + timedelta(hours=3))
        s.flush()

        def items(key: str, *lines: tuple[str, int, int]) -> None:
            s.add_all([OrderItem(order_id=ids[key], product_name=name, quantity=q, unit_price=Decimal(price),
                                 amount=Decimal(price * q)) for name, q, price in lines])

        items("paid", ("부대찌개 밀키트 (3인분)", 1, 13900), ("매콤 떡볶이 (2인분)", 2, 5900))
        items("preparing", ("소불고기 밀키트 (600g)", 1, 16900))
        items("shipping", ("한돈 삼겹살 (500g)", 2, 15900))
        items("delivered", ("김치 손만두 (1kg)", 1, 9900), ("국산콩 두부 (2모)", 2, 5450))
        items("cancelled", ("LA갈비 (1kg)", 1, 39900))
        items("old_mandu", ("고기 왕만두 (1.4kg)", 3, 10900))
        items("b_shipping", ("고기 왕만두 (1.4kg)", 5, 10800))
        s.add_all([
            Claim(id="CL-91001", order_id=ids["delivered"], customer_id=A, type="exchange", status="requested",
                  reason="김치 손만두 대신 고기 왕만두가 왔어요", created_at=now - timedelta(days=1)),
            Claim(id="CL-91002", order_id=ids["cancelled"], customer_id=A, type="cancel", status="completed",
                  reason="일정 변경", created_at=at["cancelled"] + timedelta(hours=1),
                  resolved_at=at["cancelled"] + timedelta(hours=2)),
            Claim(id="CL-91003", order_id=ids["b_shipping"], customer_id=B, type="exchange", status="in_progress",
                  reason="맛 변경"),
        ])
    return Shop(**ids)


def seed_orders_and_demo_manual(settings: Settings, engine: Engine) -> Shop:
    """`seed_orders` and the whole demo manual: which article wins a near tie depends on what else the manual
    says (a subset of it would measure another shop)."""
    from sajang.knowledge.service import get_knowledge

    ids = seed_orders(engine)
    get_knowledge(settings).import_manual_dir(MANUAL)
    return ids


@pytest.fixture
def shop(engine: Engine) -> Shop:
    return seed_orders(engine)


@pytest.fixture
def svc(settings: Settings, shop: Shop) -> Any:
    from sajang.graphs.inquiry.service import get_inquiry_service

    return get_inquiry_service(settings)


def _never_b(answer: str, shop: Shop) -> None:
    assert shop.b_shipping not in answer and B_TRACK not in answer and "박두리" not in answer


# --- reading the question (no database) -------------------------------------------------------------

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)  # Wednesday 25 November, 15:00 in Korea


@pytest.mark.parametrize(("text", "first", "last", "label"), [
    ("어제 주문한 거", date(2026, 11, 24), date(2026, 11, 24), "어제"),
    ("그저께 시킨 거", date(2026, 11, 23), date(2026, 11, 23), "그저께"),
    ("지난주에 산 거", date(2026, 11, 16), date(2026, 11, 22), "지난주"),
    ("이번 달 주문", date(2026, 11, 1), date(2026, 11, 25), "이번 달"),
    ("11월에 주문한 거", date(2026, 11, 1), date(2026, 11, 30), "11월"),
    ("12월에 산 거", date(2025, 12, 1), date(2025, 12, 31), "12월"),  # December has not come yet this year
    ("11/20 주문", date(2026, 11, 20), date(2026, 11, 20), "11월 20일"),
    ("11월 3일에 시킨 만두", date(2026, 11, 3), date(2026, 11, 3), "11월 3일"),
])
def test_date_words_are_kst_ranges_relative_to_now(text: str, first: date, last: date, label: str) -> None:
    span = date_range(text, NOW)
    assert span is not None
    since, until, said = span
    assert (since.astimezone(KST).date(), (until - timedelta(seconds=1)).astimezone(KST).date()) == (first, last)
    assert since.tzinfo is not None and said == label
    assert date_range("배송비 얼마예요?", NOW) is None


def test_slots_and_facts_of_own_questions() -> None:
    q = parse_own_query("지난주에 주문한 만두 송장번호 알려주세요", NOW)
    assert q.products == ("만두",) and "tracking" in q.facts and q.date_label == "지난주" and q.selects
    q = parse_own_query("취소된 주문 있어요?", NOW)
    assert q.statuses == ("cancelled",) and q.claim_types == ("cancel",) and q.exists_question
    assert parse_own_query("주문 취소해 주세요", NOW).action == "cancel"
    assert parse_own_query("주문 취소해 주세요", NOW).statuses == ()  # a request, not a status named
    assert parse_own_query("교환 신청한 거 어떻게 됐어요", NOW).action is None  # the claim's state, not a new one
    assert "claims" in parse_own_query("교환 신청한 거 어떻게 됐어요", NOW).facts
    assert parse_own_query("배송지 바꾸고 싶어요", NOW).action == "address"
    assert "amount" in parse_own_query("얼마 결제됐는지 알려주세요", NOW).facts
    assert "list" in parse_own_query("최근 주문 내역 보여주세요", NOW).facts
    assert parse_own_query("O-20261120-00012 송장번호요", NOW).order_ids == ("O-20261120-00012",)
    assert parse_own_query("그 주문은요?", NOW).same_order
    # product words: what is left once the order vocabulary is gone
    assert product_words("11월에 산 들기름 송장번호") == ("들기름",)
    assert product_words("삼겹살 시킨 거 언제 와요") == ("삼겹살",)
    assert product_words("에어프라이어는요?") == ("에어프라이어",)
    assert product_words("제 택배 언제 와요? 주문번호 O-20261120-00012") == ()
    assert product_words("did my cancelled order get refunded?") == ()
    # the past tense typed with ㅅ for ㅆ reads as written right
    assert "amount" in parse_own_query("소불고기주문한거배송비냇어요?", NOW).facts
    assert parse_own_query("did my cancelled order get refunded?", NOW).action is None


def test_the_product_words_and_the_search_read_one_analysis_of_a_message(monkeypatch: pytest.MonkeyPatch) -> None:
    """Kiwi holds the GIL while it analyses: the order question's noun runs and the search's morphemes of the
    same message come from one plain analysis (they were two)."""
    from sajang.graphs.inquiry.intents import noun_runs
    from sajang.knowledge import text as text_module

    kiwi, _lock = text_module.kiwi_analyser()
    analysed: list[str] = []
    plain = type(kiwi).tokenize

    def counted(self: Any, text: str, *args: Any, **kwargs: Any) -> Any:
        analysed.append(text)
        return plain(self, text, *args, **kwargs)

    noun_runs.cache_clear()
    text_module.analysis.cache_clear()
    monkeypatch.setattr(type(kiwi), "tokenize", counted)
    message = "11월에 산 들기름 송장번호"
    assert product_words(message) == ("들기름",)
    assert "들기름" in text_module.tokenize(message)
    assert ("들기름", "NNG") in text_module.morphemes(f" {message} ")
    assert analysed == [message]


def test_elliptic_follow_ups_and_verification_messages() -> None:
    assert elliptic_fragment("제주도는요?") == "제주도"
    assert elliptic_fragment("그럼 교환은요?") == "교환"
    assert elliptic_fragment("그 주문은요?") == "그 주문"
    assert elliptic_fragment("And to Jeju?") == "Jeju"
    assert elliptic_fragment("배송은 언제 되나요?") is None
    assert elliptic_fragment("반품 배송비가 얼마인지 알려주실 수 있나요? 제주도는요") is None
    assert verification_parts("O-20261120-00012 1234") == ("O-20261120-00012", "1234")
    assert verification_parts("주문번호 O-20261120-00012 폰 뒷자리는 1234입니다") == ("O-20261120-00012", "1234")
    assert verification_parts("O-20261120-00012 010-9999-8888") == ("O-20261120-00012", "8888")
    assert verification_parts("뒷자리 1234요") == (None, "1234")
    assert verification_parts("2024년에 산 거 언제 와요") == (None, None)


# --- answers from the database ----------------------------------------------------------------------

def test_a_product_named_loosely_picks_that_order(svc: Any, shop: Shop) -> None:
    r = svc.ask("삼겹살 시킨 거 언제 와요?", customer_id=A)
    assert not r["handoff"], r
    assert shop.shipping in r["answer"] and A_TRACK in r["answer"] and "배송 중" in r["answer"]
    assert shop.paid not in r["answer"]  # not the newest open order
    assert r["sources"][0] == {"id": shop.shipping, "title": f"주문 {shop.shipping}", "score": 1.0, "kind": "order"}
    _never_b(r["answer"], shop)


def test_several_orders_with_the_product(svc: Any, shop: Shop) -> None:
    # a list asked: every matching order, newest first, one line each
    r = svc.ask("만두 주문 내역 알려주세요", customer_id=A)
    assert not r["handoff"], r
    assert r["answer"].index(shop.delivered) < r["answer"].index(shop.old_mandu)
    assert shop.paid not in r["answer"] and shop.shipping not in r["answer"]
    # a fact asked: the newest matching order in full, the other one named
    r = svc.ask("만두 시킨 거 얼마 결제됐어요?", customer_id=A)
    assert "23,800원" in r["answer"] and "배송비 3,000원" in r["answer"] and shop.old_mandu in r["answer"]
    assert "32,700원" not in r["answer"]
    _never_b(r["answer"], shop)


def test_a_date_word_picks_the_orders_of_that_day(svc: Any, shop: Shop) -> None:
    r = svc.ask("그저께 주문한 거 어디까지 왔어요?", customer_id=A)
    assert shop.shipping in r["answer"] and A_TRACK in r["answer"], r
    r = svc.ask("어제 주문한 거 있나요?", customer_id=A)
    assert "어제 주문은 없어요" in r["answer"], r  # and the recent ones instead
    assert shop.paid in r["answer"]
    _never_b(r["answer"], shop)


def test_words_that_name_no_product_of_the_shop_are_not_taken_for_one(svc: Any, shop: Shop, engine: Engine) -> None:
    from sajang.db.models import Product

    with session_scope(engine) as s:
        s.add(Product(id="P-T1", name="한돈 삼겹살 (500g)", price=Decimal(15900), cost=Decimal(9000)))
        s.add(Product(id="P-T2", name="무농약 들기름 (300ml)", price=Decimal(15900), cost=Decimal(9000)))
    r = svc.ask("교환 신청했던 거 결과 나왔어요?", customer_id=A)  # "결과" is no product
    assert shop.delivered in r["answer"] and "'접수'" in r["answer"], r
    r = svc.ask("들기름 시킨 거 언제 와요?", customer_id=A)  # sold by the shop, never ordered by A
    assert "들기름 주문은 없어요" in r["answer"] and shop.paid in r["answer"], r


def test_a_status_word_lists_those_orders(svc: Any, shop: Shop) -> None:
    r = svc.ask("취소된 주문 있어요?", customer_id=A)
    assert not r["handoff"], r
    assert shop.cancelled in r["answer"] and "LA갈비" in r["answer"] and "주문 취소" in r["answer"]
    assert shop.paid not in r["answer"] and shop.shipping not in r["answer"]


def test_tracking_is_given_for_the_parcel_on_its_way(svc: Any, shop: Shop) -> None:
    r = svc.ask("송장번호 알려주세요", customer_id=A)
    assert A_TRACK in r["answer"] and "CJ대한통운" in r["answer"] and shop.shipping in r["answer"], r
    # an order not shipped yet has no tracking number: said so, not invented
    r = svc.ask(f"{shop.paid} 송장번호요", customer_id=A)
    assert "운송장 번호가 없어요" in r["answer"] and A_TRACK not in r["answer"]


def test_claim_status_and_amount_and_the_recent_list(svc: Any, shop: Shop) -> None:
    r = svc.ask("교환 신청한 거 어떻게 됐어요?", customer_id=A)
    assert not r["handoff"], r
    assert shop.delivered in r["answer"] and "교환" in r["answer"] and "'접수'" in r["answer"]
    r = svc.ask("얼마 결제됐는지 알려주세요", customer_id=A)
    assert "28,700원" in r["answer"] and shop.paid in r["answer"]
    r = svc.ask("최근 주문 내역 보여주세요", customer_id=A)
    for oid in (shop.paid, shop.preparing, shop.shipping, shop.delivered, shop.cancelled):
        assert oid in r["answer"]
    assert shop.old_mandu not in r["answer"]  # five lines, newest first
    _never_b(r["answer"], shop)


def test_actions_depend_on_that_orders_status(svc: Any, shop: Shop) -> None:
    paid = svc.ask("부대찌개 주문 취소해 주세요", customer_id=A)
    assert not paid["handoff"] and "'주문 취소' 버튼" in paid["answer"] and shop.paid in paid["answer"], paid
    shipping = svc.ask("삼겹살 주문 취소해 주세요", customer_id=A)
    assert not shipping["handoff"] and "취소는 어려워요" in shipping["answer"] and "3,000원" in shipping["answer"]
    # preparing: only a person can stop it before dispatch
    preparing = svc.ask("소불고기 밀키트 주문 취소해 주세요", customer_id=A)
    assert preparing["handoff"] and preparing["handoff_reason"] == "action_required", preparing
    address = svc.ask("삼겹살 시킨 거 배송지 바꾸고 싶어요", customer_id=A)
    assert not address["handoff"] and A_TRACK in address["answer"] and "바꿀 수 없어요" in address["answer"]
    exchange = svc.ask("김치 손만두 교환하고 싶어요", customer_id=A)
    assert not exchange["handoff"] and "이미" in exchange["answer"] and "'접수'" in exchange["answer"]


def test_a_question_right_after_an_order_answer_stays_on_that_order(svc: Any, shop: Shop) -> None:
    first = svc.ask("송장번호 알려주세요", customer_id=A)
    assert A_TRACK in first["answer"], first
    when = svc.ask("언제 도착해요?", customer_id=A, thread_id=first["thread_id"])
    assert shop.shipping in when["answer"] and shop.paid not in when["answer"], when
    # a guest whose typo hides the past tense is still asked to verify, never shown the claim
    guest = svc.ask("교환 접수 됏는지 봐주세여ㅠ")
    assert "4자리" in guest["answer"] and shop.delivered not in guest["answer"], guest


def test_another_customers_order_number_is_not_found(svc: Any, shop: Shop) -> None:
    r = svc.ask(f"{shop.b_shipping} 배송 어디쯤이에요?", customer_id=A)
    assert "확인되지 않습니다" in r["answer"]
    assert B_TRACK not in r["answer"] and "한진" not in r["answer"] and "왕만두" not in r["answer"]


# --- guests --------------------------------------------------------------------------------------------

def _conversation_customer(engine: Engine, thread_id: str) -> str | None:
    with session_scope(engine) as s:
        return s.scalar(select(Conversation.customer_id).where(Conversation.thread_id == thread_id))


def test_a_guest_is_asked_to_verify_then_answered(svc: Any, shop: Shop, engine: Engine) -> None:
    first = svc.ask("삼겹살 시킨 거 어디쯤이에요?")
    assert not first["handoff"], first
    assert "뒤 4자리" in first["answer"] and "주문번호" in first["answer"]
    assert A_TRACK not in first["answer"] and shop.shipping not in first["answer"]
    assert all(source["kind"] != "order" for source in first["sources"])  # at most the manual's general answer
    thread = first["thread_id"]
    # the order number and the digits in one message: verified, and the question held is answered
    done = svc.ask(f"{shop.delivered} {A_PHONE4}", thread_id=thread)
    assert not done["handoff"], done
    assert "본인 확인" in done["answer"] and A_TRACK in done["answer"] and shop.shipping in done["answer"]
    assert _conversation_customer(engine, thread) == A
    # from now on the conversation is A's
    more = svc.ask("송장번호 다시 알려주세요", thread_id=thread)
    assert A_TRACK in more["answer"]
    _never_b(more["answer"], shop)


def test_a_guest_can_verify_over_two_messages(svc: Any, shop: Shop, engine: Engine) -> None:
    first = svc.ask("취소된 주문 있어요?")
    thread = first["thread_id"]
    assert "4자리" in first["answer"] and shop.cancelled not in first["answer"]
    number = svc.ask(f"주문번호는 {shop.paid} 이에요", thread_id=thread)
    assert shop.cancelled not in (number["answer"] or "") and _conversation_customer(engine, thread) is None
    digits = svc.ask(f"뒷자리 {A_PHONE4}요", thread_id=thread)
    assert shop.cancelled in digits["answer"] and "LA갈비" in digits["answer"], digits
    assert _conversation_customer(engine, thread) == A


def test_failed_verifications_are_limited(svc: Any, shop: Shop, engine: Engine) -> None:
    first = svc.ask("제 택배 어디쯤이에요?")
    thread = first["thread_id"]
    for _ in range(5):
        wrong = svc.ask(f"{shop.shipping} 0000", thread_id=thread)
        assert "일치하지 않아요" in wrong["answer"] and A_TRACK not in wrong["answer"]
    # the sixth try is refused even with the right digits: nothing is shown, the chat stays a guest's
    locked = svc.ask(f"{shop.shipping} {A_PHONE4}", thread_id=thread)
    assert "15분" in locked["answer"] and A_TRACK not in locked["answer"]
    assert _conversation_customer(engine, thread) is None
    # B's number with A's digits in another chat: no match, B's data never shown
    other = svc.ask("제 주문 언제 와요?")
    r = svc.ask(f"{shop.b_shipping} {A_PHONE4}", thread_id=other["thread_id"])
    assert "일치하지 않아요" in r["answer"]
    _never_b(r["answer"], shop)


def test_a_verified_customer_never_switches_by_typing_another_order(svc: Any, shop: Shop, engine: Engine) -> None:
    r = svc.ask("제 택배 어디쯤이에요?", customer_id=A)
    again = svc.ask(f"{shop.b_shipping} {B_PHONE4}", customer_id=A, thread_id=r["thread_id"])
    assert _conversation_customer(engine, r["thread_id"]) == A
    assert "확인되지 않습니다" in again["answer"] and B_TRACK not in again["answer"] and "박두리" not in again["answer"]


def test_the_chat_models_order_search_is_scoped_to_the_customer(settings: Settings, shop: Shop) -> None:
    import json

    from sajang.tools.inquiry_tools import search_my_orders

    def conf(customer: str | None) -> dict[str, Any]:
        return {"configurable": {"customer_id": customer, "database_url": settings.resolved_database_url,
                                 "locale": "ko"}}

    found = json.loads(search_my_orders.invoke({"product": "만두"}, conf(A)))["orders"]
    assert [o["order_id"] for o in found] == [shop.delivered, shop.old_mandu]  # never B's 왕만두
    shipping = json.loads(search_my_orders.invoke({"status": "shipping"}, conf(A)))["orders"]
    assert [(o["order_id"], o["tracking_no"]) for o in shipping] == [(shop.shipping, A_TRACK)]
    day = datetime.fromisoformat(shipping[0]["ordered_at"]).astimezone(KST).date().isoformat()
    on_day = json.loads(search_my_orders.invoke({"ordered_from": day}, conf(A)))["orders"]
    assert shop.shipping in [o["order_id"] for o in on_day] and shop.delivered not in [o["order_id"] for o in on_day]
    assert json.loads(search_my_orders.invoke({"product": "만두"}, conf(None)))["error"] == "not_logged_in"
    assert "customer_id" not in search_my_orders.args


@pytest.mark.parametrize("text", ["냉동만두단순변심반품돼요?", "송장번호어디서봐요", "적립금 유효기간 있어요?",
                                  "주소잘못적었는데바꿀수있어요?", "배송완료라고 뜨는데 물건이 없어요ㅠㅠ",
                                  "두개중에하나만취소돼요?"])
def test_a_guests_policy_question_is_not_held_for_verification(svc: Any, shop: Shop, text: str) -> None:
    """What is possible, where it is shown, how long it is valid: the manual's answer, at once, to anyone."""
    query = parse_own_query(text, datetime.now(KST))
    assert not is_own_data_question(text, "other", query, None, guest=True)
    out = svc.ask(text)
    answer = out["answer"] or ""
    assert "4자리" not in answer, answer
    assert A_TRACK not in answer and shop.shipping not in answer


def test_a_guest_wanting_to_change_their_order_gets_the_rule_and_the_offer_to_verify(
        svc: Any, shop: Shop, settings: Settings, tmp_path: Path) -> None:
    """"배송지 바꾸고 싶어요" from a guest: what the manual says (until when it can be changed, how), then the
    request for the order number and digits to look at theirs — never anything of an order before."""
    from sajang.knowledge.service import get_knowledge

    (tmp_path / "manual").mkdir()
    shutil.copy(MANUAL / "delivery-address-change.md", tmp_path / "manual" / "delivery-address-change.md")
    get_knowledge(settings).import_manual_dir(tmp_path / "manual")
    out = svc.ask("배송지바꾸고싶어요")
    answer = out["answer"] or ""
    assert not out["handoff"] and "4자리" in answer and ("출고" in answer or "준비 중" in answer), answer
    assert answer.index("4자리") > answer.index("배송지"), answer  # the rule first, then the offer
    assert A_TRACK not in answer and shop.shipping not in answer and shop.paid not in answer
    listing = svc.ask("제주문내역보여주세요")  # only theirs can answer it: just the verification
    assert (listing["answer"] or "").startswith("주문 정보를 확인하려면"), listing["answer"]


@pytest.mark.parametrize("text", ["제 주문 어디쯤 왔어요?", "주문 취소해주세요", "주문한거 취소하고 싶어요",
                                  "교환 신청한 거 어떻게 됐어요", "제 적립금 얼마 남았어요?"])
def test_a_guest_naming_an_order_of_theirs_is_asked_to_verify(text: str) -> None:
    query = parse_own_query(text, datetime.now(KST))
    assert is_own_data_question(text, "other", query, None, guest=True)


def test_todays_orders_with_their_delivery_fees_and_the_items_asked_loosely(svc: Any, shop: Shop) -> None:
    # «배송비 붙었어요? 총 얼마»: the sum, then each order with what it cost and the fee it paid
    r = svc.ask("오늘 아침 주문 배송비 붙었어요? 총 얼마 나왔어요?", customer_id=A)
    assert "48,600원" in r["answer"], r["answer"]
    assert "28,700원(배송비 3,000원)" in r["answer"] and "19,900원(배송비 3,000원)" in r["answer"], r["answer"]
    # «머머» is «뭐뭐»: the items of the order, not its status alone
    r = svc.ask("오늘 주문한거 머머 들어가있는지 확인좀 해주세여", customer_id=A)
    assert "매콤 떡볶이" in r["answer"] and "소불고기 밀키트" in r["answer"], r["answer"]


def test_an_order_placed_days_ago_in_english(svc: Any, shop: Shop) -> None:
    r = svc.ask("whats going on with the order i placed 2 days ago? has it shipped yet?", customer_id=A)
    assert shop.shipping in r["answer"] and A_TRACK in r["answer"], r["answer"]
