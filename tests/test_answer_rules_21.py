"""Readings of chat found in session 26 by an independent review (229 conversations of its own, read against the
manual) and by probes of the questions a food shop hears most: «내일 도착해요?» is the next day of the manual; a
question about a case imagined is no incident reported; a product named with a stock or price question is answered
from the products table; a product named in a shop-wide rule's question does not sink it; the remote-area article
answers only questions naming such a place; a wish followed by «어떻게 해요» asks the steps.

The service tests run on both databases:
    pytest tests/test_answer_rules_21.py
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test pytest tests/test_answer_rules_21.py
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from test_answer_units import ARTICLES

from sajang.config import StorePolicy
from sajang.db.engine import session_scope
from sajang.graphs.inquiry.answering import needs_action, prefer_remote_area, relevant_units, without_products
from sajang.graphs.inquiry.classifier import incident_evidence, rule_urgency, wrong_item_reported
from sajang.graphs.inquiry.intents import parse_own_query
from sajang.graphs.inquiry.order_answers import is_order_question
from sajang.graphs.inquiry.product_answers import product_reply, products_named
from sajang.knowledge.normalize import normalize_message

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=ZoneInfo("Asia/Seoul"))
KST = ZoneInfo("Asia/Seoul")


# --- the next day, as the manual writes it -------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "read"), [
    ("오늘 주문하면 내일 도착해요?", "다음 날 도착"), ("지금 시키면 내일 받을수있나요", "다음 날 받"),
    ("낼 와요?", "다음 날 도착"), ("주문하면 받기까지 얼마나 걸려요?", "며칠 걸려"),
])
def test_tomorrow_and_how_long_are_read_in_the_manual_s_words(typed: str, read: str) -> None:
    assert read in normalize_message(typed).text


def test_will_it_arrive_tomorrow_is_answered_from_the_dispatch_rules(manual_svc: Any) -> None:
    reply = manual_svc.ask("오늘 주문하면 내일 도착해요?")
    assert not reply["handoff"] and reply["sources"][0]["id"] == "delivery-dispatch", reply
    assert "오후 2시" in reply["answer"] or "다음 날" in reply["answer"], reply


def test_a_verified_customer_asking_if_it_comes_tomorrow_asks_of_their_parcel() -> None:
    assert is_order_question("내일 도착해요?", "delivery") and is_order_question("택배 오늘 와요?", "delivery")
    assert not is_order_question("오늘 주문하면 내일 도착해요?", "delivery")  # a purchase imagined: the rule


def test_today_said_of_the_parcel_coming_is_no_day_of_ordering() -> None:
    assert parse_own_query("택배 오늘 와요?", NOW).since is None
    assert parse_own_query("오늘 주문한 거 언제 와요?", NOW).since is not None


# --- the remote-area article answers remote places -------------------------------------------------------------------


def _hits(*ids: str) -> list[dict[str, Any]]:
    return [{**ARTICLES[i], "kind": "manual", "score": 0.9 - 0.01 * n} for n, i in enumerate(ids)]


def test_the_remote_area_article_is_passed_over_when_no_such_place_is_named() -> None:
    hits = _hits("delivery-remote-area", "delivery-dispatch")
    assert prefer_remote_area("배송 보통 며칠 걸려요", hits, "delivery")[0]["id"] == "delivery-dispatch"
    assert prefer_remote_area("제주도 배송 며칠 걸려요", hits, "delivery")[0]["id"] == "delivery-remote-area"
    # a place the delivery article never speaks of may be one of those places: the remote-area article stays
    assert prefer_remote_area("완도 배송 며칠 걸려요", hits, "delivery")[0]["id"] == "delivery-remote-area"


def test_how_many_days_it_takes_is_not_the_holiday_delay() -> None:
    quoted = " ".join(u.quote for u in relevant_units("택배 며칠 만에 도착해요", ARTICLES["delivery-dispatch"]))
    assert "다음 날" in quoted and "명절" not in quoted, quoted


# --- a case imagined is no incident ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "파손을 24시간 지나서 발견하면 접수 안되나요?", "갈비탕 국물이 새서 다른 상품까지 젖으면 그것도 보상돼요?",
    "혹시 냉동식품이 배송중에 다 녹아버리면 환불 되는거죠?", "갈비탕 국물이 완전 맑은데 상한거 아니죠??",
    "파손된거 재발송 해주면 언제 출발해요?", "파손된 냉동식품은 택배로 다시 보내야되나요",
    "김치 국물이 새서 오는 경우도 있나요?",
])
def test_a_question_about_a_case_imagined_is_no_incident(text: str) -> None:
    assert incident_evidence(text) == [], text
    assert rule_urgency(text, "other") not in ("high", "urgent"), text


@pytest.mark.parametrize(("text", "kind"), [
    ("국물이 새서 다른 상품까지 다 젖었어요", "damage"), ("냉동식품이 다 녹아버렸어요 환불해주세요", "defect"),
    ("깨져서 왔는데 재발송 해주시면 안돼요?", "damage"), ("제가 받은 파손된 상품은 다시 보내야 되나요", "damage"),
    ("도마가 금간채로 왔어요 사진 있어요", "damage"),
])
def test_the_same_words_told_of_what_came_stay_an_incident(text: str, kind: str) -> None:
    assert kind in incident_evidence(text), text


def test_what_was_ordered_then_what_came_is_a_wrong_item() -> None:
    assert wrong_item_reported("주문한건 부대찌개인데 닭갈비가 왔네요;;")
    assert not wrong_item_reported("주문한 건 부대찌개인데 닭갈비가 왔는데 어떻게 해요?")  # asked: the manual answers


# --- a wish, then how ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "asks_us"), [
    ("반품하고싶어요 어떻게 해요", False), ("취소할래요 어케해요", False), ("교환 원합니다 방법 알려주세요", False),
    ("반품하고 싶어요", True), ("환불해 주세요 어떻게 해요", True), ("반품할래요 빨리요", True),
])
def test_a_wish_followed_by_how_asks_the_steps(text: str, asks_us: bool) -> None:
    assert needs_action(text) is asks_us


def test_a_guest_wishing_to_return_is_told_how(manual_svc: Any) -> None:
    reply = manual_svc.ask("반품하고싶어요 어떻게 해요")
    assert not reply["handoff"] and "반품 신청" in reply["answer"], reply


# --- the least points one may use -----------------------------------------------------------------------------------


def test_the_least_amount_of_points_is_the_line_the_manual_states(manual_svc: Any) -> None:
    reply = manual_svc.ask("적립금 사용 최소금액 있어요?")
    assert not reply["handoff"] and "1,000원" in reply["answer"], reply


# --- products named: the products table, or the shop-wide rule ------------------------------------------------------


CATALOGUE = [
    {"id": "P-1", "name": "순살 갈비탕 (800g, 2인분)", "price": Decimal(12900), "stock": 55, "status": "on_sale",
     "restock_on": None},
    {"id": "P-2", "name": "간장게장 (1kg)", "price": Decimal(34900), "stock": 0, "status": "sold_out",
     "restock_on": date(2026, 12, 5)},
    {"id": "P-3", "name": "포기김치 (3kg)", "price": Decimal(24900), "stock": 13, "status": "on_sale", "restock_on": None},
    {"id": "P-4", "name": "김치 손만두 (1kg)", "price": Decimal(9900), "stock": 25, "status": "on_sale", "restock_on": None},
    {"id": "P-5", "name": "고기 왕만두 (1.4kg)", "price": Decimal(10900), "stock": 1, "status": "on_sale",
     "restock_on": None},
    {"id": "P-6", "name": "명절 한우 선물세트 (1.2kg)", "price": Decimal(129000), "stock": 0, "status": "sold_out",
     "restock_on": None},
    {"id": "P-7", "name": "한우 사골곰탕 (500g×3팩)", "price": Decimal(15900), "stock": 15, "status": "on_sale",
     "restock_on": None},
    {"id": "P-8", "name": "보냉 장바구니 (20L)", "price": Decimal(12900), "stock": 10, "status": "on_sale",
     "restock_on": None},
]
POLICY = StorePolicy()


@pytest.mark.parametrize(("text", "ids"), [
    ("간장게장 품절이던데 언제 들어와요?", ["P-2"]), ("만두 재고 있어요?", ["P-4", "P-5"]),
    ("김치 얼마에요", ["P-3"]), ("한우 선물세트 품절이에요?", ["P-6"]), ("참기름 있어요?", []),
])
def test_the_products_a_message_names(text: str, ids: list[str]) -> None:
    assert [p["id"] for p in products_named(text, CATALOGUE)] == ids


@pytest.mark.parametrize(("text", "said"), [
    ("간장게장 품절이던데 언제 들어와요?", "12월 5일"), ("순살갈비탕 얼마에요", "12,900원"),
    ("만두 재고 있어요?", "재고가 있어"), ("한우 선물세트 품절이에요?", "재입고 알림"),
])
def test_stock_and_price_of_a_product_named_come_from_the_table(text: str, said: str) -> None:
    reply = product_reply(text, CATALOGUE, category="stock", locale="ko", policy=POLICY, today=date(2026, 12, 2))
    assert reply is not None and said in reply["answer"], reply
    assert reply["sources"][0]["kind"] == "product"


@pytest.mark.parametrize("text", ["갈비탕 배송비 얼마에요", "만두 반품 되나요?", "품절된 상품 언제 재입고돼요?",
                                  "간장게장 주문했는데 품절이라고 취소됐어요 환불은요?",
                                  # «얼마» of another thing; a product's word said as a place things are put
                                  "갈비탕 한팩 칼로리 얼마에요?", "장바구니에 넣어두면 재고 잡아주는거에요?",
                                  "간장게장 품절이던데 보통 다시 들어오는데 얼마나 걸려요",
                                  "딴 데서 같은 떡볶이 더 싸게 팔던데 가격 맞춰줌?"])
def test_a_rule_asked_with_a_product_or_no_product_goes_to_the_manual(text: str) -> None:
    assert product_reply(text, CATALOGUE, category="stock", locale="ko", policy=POLICY, today=date(2026, 12, 2)) is None


def test_a_product_s_restock_date_is_answered_in_the_chat(manual_svc: Any, engine: Engine) -> None:
    from sajang.db.models import Product

    back = datetime.now(KST).date() + timedelta(days=3)
    with session_scope(engine) as s:
        s.add(Product(id="P-T21", name="간장게장 (1kg)", price=Decimal(34900), cost=Decimal(20000), stock=0,
                      status="sold_out", restock_on=back))
    reply = manual_svc.ask("간장게장 품절이던데 언제 들어와요?")
    assert not reply["handoff"] and f"{back.month}월 {back.day}일" in reply["answer"], reply
    assert reply["sources"][0]["id"] == "product:P-T21", reply


def test_the_product_words_are_taken_out_of_a_shop_wide_question() -> None:
    kinds = {"갈비탕", "왕만두"}
    assert without_products("갈비탕 배송비 얼마에요", kinds) == "배송비 얼마에요"
    assert without_products("만두 반품 되나요", kinds) == "반품 되나요"
    assert without_products("배송비 얼마에요", kinds) is None
    assert without_products("갈비탕 얼마에요", kinds) is None  # nothing asked is left


def test_a_fee_asked_with_a_product_named_is_answered(manual_svc: Any, engine: Engine) -> None:
    from sajang.db.models import Product

    with session_scope(engine) as s:
        s.add(Product(id="P-T22", name="무농약 들기름 (300ml)", price=Decimal(15900), cost=Decimal(9000), stock=5))
    reply = manual_svc.ask("들기름 배송비 얼마에요")
    assert not reply["handoff"] and reply["sources"][0]["id"] == "delivery-fee", reply
    assert "3,000원" in reply["answer"], reply


def test_a_chilled_food_exchange_is_answered_by_its_rule(manual_svc: Any) -> None:
    reply = manual_svc.ask("김치 교환 가능해요?")
    assert not reply["handoff"] and "냉동·냉장 식품: 단순 변심 교환은 어렵고" in reply["answer"], reply
