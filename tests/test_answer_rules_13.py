"""Readings of chat found in session 18 (held-out set 15, read after set 16 was written blind and measured), each
checked on messages of its own kind worded for this file.

The service tests run on both databases:
    pytest tests/test_answer_rules_13.py
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test pytest tests/test_answer_rules_13.py
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from test_answer_units import ARTICLES
from test_own_orders import A

from sajang.graphs.inquiry.answering import prefer_named_topic, prefer_remote_area, relevant_units
from sajang.graphs.inquiry.classifier import incident_evidence
from sajang.graphs.inquiry.intents import OwnDataQuery, date_range, parse_own_query
from sajang.graphs.inquiry.order_answers import _when_en, is_own_data_question
from sajang.knowledge.text import morphemes

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=ZoneInfo("Asia/Seoul"))


def _hit(article: str, title: str, score: float, body: str = "") -> dict[str, Any]:
    return {"id": article, "title": title, "score": score, "kind": "manual", "text": "", "body": body or title,
            "category": "delivery" if article.startswith("delivery") else "other"}


# --- which article --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["울릉도인데 냉동만두 주문하면 무슨요일 출고예요?", "제주살아요 냉동식품 시키면 무슨요일에 나가요"])
def test_a_remote_place_gets_its_own_days_for_fresh_food(manual_svc: Any, text: str) -> None:
    reply = manual_svc.ask(text)
    assert not reply["handoff"] and "월요일" in reply["answer"] and "화요일" in reply["answer"], reply


def test_the_remote_area_article_moves_first_only_for_a_remote_place() -> None:
    hits = [_hit("delivery-dispatch", "출고 마감 시간과 배송 기간", 0.95), _hit("refunds", "환불", 0.9),
            _hit("delivery-remote-area", "제주·도서산간 배송", 0.85, "신선식품은 월요일과 화요일에만 출고합니다. 보통 2~3일 걸립니다.")]
    asked = "제주도 사는데 냉동식품 언제 출고돼요"
    assert prefer_remote_area(asked, hits, "delivery")[0]["id"] == "delivery-remote-area"
    assert prefer_remote_area("냉동식품 언제 출고돼요", hits, "delivery")[0]["id"] == "delivery-dispatch"
    assert prefer_remote_area(asked, hits, "payment")[0]["id"] == "delivery-dispatch"  # not a delivery question
    far = [hits[0], _hit("delivery-remote-area", "제주·도서산간 배송", 0.5)]
    assert prefer_remote_area(asked, far, "delivery")[0]["id"] == "delivery-dispatch"


@pytest.mark.parametrize(("text", "article"), [("제주도인데 무통장입금 되나요?", "payment-methods"),
                                               ("제주도 사는데 배송지 변경하고 싶어요", "delivery-address-change")])
def test_another_topic_asked_by_someone_living_there_keeps_its_article(manual_svc: Any, text: str,
                                                                       article: str) -> None:
    reply = manual_svc.ask(text)
    assert reply["sources"] and reply["sources"][0]["id"] == article, reply


def test_a_place_typed_together_with_its_verb_is_still_the_place() -> None:
    assert ("제주", "NNP") in morphemes("제주살아요 냉장김치 시키면 무슨요일에 보내줘요")


def test_both_titles_naming_the_message_the_one_of_its_category_answers(manual_svc: Any) -> None:
    reply = manual_svc.ask("리뷰 적립금 언제드러와요? 배송받은지 이틀 됐는데 그대로네요")
    assert not reply["handoff"] and reply["sources"][0]["id"] == "points", reply


# --- which unit -----------------------------------------------------------------------------------------------

def test_which_courier_is_answered_with_the_one_the_shop_uses(manual_svc: Any) -> None:
    reply = manual_svc.ask("택배사 어디꺼 써요? 한진이에요?")
    assert not reply["handoff"] and "CJ대한통운" in reply["answer"].split("\n\n")[1], reply


def test_whether_there_is_a_discount_quotes_the_discount_on_its_own_line(manual_svc: Any) -> None:
    reply = manual_svc.ask("학원 간식으로 35세트쯤 주문할건데 할인있어요")
    assert "5~10%" in reply["answer"], reply
    assert "\n- 수량에 따라 5~10% 할인" in reply["answer"], reply  # not run into the sentence before it


def test_a_rule_for_before_dispatch_is_no_answer_once_it_shipped(manual_svc: Any) -> None:
    reply = manual_svc.ask("이미 배송중으로 바뀌었는데 받는 주소 고치려면 어떻게 해요")
    first = reply["answer"].split("\n\n")[1]
    assert "택배사" in first and "출고 전까지" not in first, reply


@pytest.mark.parametrize("text", ["혹시 지금 주문 넣으면 오늘 바로 발송되나요? 몇시까지 결제해야돼요",
                                  "예전 주소로 주문이 들어갔어요 아직 상품준비중인데 바꿀수있나요"])
def test_a_process_word_or_an_everyday_word_the_manual_lacks_does_not_hand_off(manual_svc: Any, text: str) -> None:
    reply = manual_svc.ask(text)
    assert not reply["handoff"], reply


# --- reports --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "불량이라는 걸 한참 지나서 알았는데 받은 지 6주째예요 반품 신청 아직 가능한가요?",
    "산 지 3주 넘었는데 이제 보니 불량이네요. 교환 기간 지난 건가요?",
    "송장이 두개 왔는데 박스가 하나만 왔어요 나머지는 언제 와요?",
])
def test_a_defect_found_long_after_or_a_parcel_in_two_boxes_is_a_question(text: str) -> None:
    assert incident_evidence(text) == []


@pytest.mark.parametrize(("text", "kind"), [
    ("오늘 받은 찜기가 불량이에요 반품 되나요?", "defect"),
    ("받은 지 사흘 지났는데 전골냄비 불량이에요 교환돼요?", "defect"),  # days are no long while
    ("받은지 4일째인데 찜기 불량이에요 반품 돼요?", "defect"),
    ("받은지 3주 지났는데 냄비 불량이라 손을 데었어요 환불 가능한가요?", "defect"),  # harm told, however late
    ("박스 하나가 없어졌어요", "missing"),
    ("떡볶이 3봉 시켰는데 1봉만 왔어요", "missing"),
    ("박스 열어보니 장조림이 아예 없어요", "missing"),
])
def test_a_fresh_defect_or_a_missing_thing_stays_a_report(text: str, kind: str) -> None:
    assert kind in incident_evidence(text)


def test_a_defect_found_late_gets_the_return_periods(manual_svc: Any) -> None:
    reply = manual_svc.ask("불량인걸 뒤늦게 알았어요 받은지 두달 다돼가는데 반품 되나요")
    assert not reply["handoff"] and "30일" in reply["answer"] and "3개월" in reply["answer"], reply


# --- own orders -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "label"), [("can you show me what i ordered in November", "11월"),
                                             ("the order from Nov 20th", "11월 20일"),
                                             ("my order of 3 october", "10월 3일")])
def test_an_english_month_is_a_date(text: str, label: str) -> None:
    found = date_range(text, NOW)
    assert found is not None and found[2] == label


@pytest.mark.parametrize("text", ["may i cancel my order", "i marched to the door", "Hi, this is Jan. where is my order?",
                                  "my id is june.park@naver.com", "orders from December 2025", "it came 5 days late",
                                  "they may 5 days late"])
def test_english_words_that_look_like_months_are_none(text: str) -> None:
    assert date_range(text, NOW) is None


def test_a_month_with_a_dot_keeps_its_day() -> None:
    found = date_range("my order from Nov. 30", NOW)
    assert found is not None and found[2] == "11월 30일"


def test_a_month_asked_in_english_is_answered_in_english(manual_svc: Any) -> None:
    month = datetime.now(ZoneInfo("Asia/Seoul")).strftime("%B")  # the shop's orders are days before today
    reply = manual_svc.ask(f"hi, which orders did i place in {month}?", customer_id=A)
    answer = reply["answer"]
    assert not reply["handoff"] and ("placed on" in answer or f"orders from {month}" in answer) and "월" not in answer, reply


@pytest.mark.parametrize(("label", "english"), [("11월", " from November"), ("11월 20일", " from Nov 20"),
                                                ("지난주", " from last week"), ("어제", " placed yesterday"), ("3일 전", "")])
def test_a_date_word_is_said_in_english_after_orders(label: str, english: str) -> None:
    assert _when_en(OwnDataQuery(date_label=label), "en") == english
    assert _when_en(OwnDataQuery(date_label=label), "ko") == ""


def test_putting_a_thing_somewhere_is_no_order_placed() -> None:
    text = "I placed the kimchi in the fridge right away, is it ok?"
    assert not is_own_data_question(text, "product", parse_own_query(text, NOW))


def test_not_that_one_asks_of_another_order() -> None:
    assert not parse_own_query("그거 말고 어제 주문한 건 어디쯤이에요?", NOW).same_order
    assert not parse_own_query("그 주문 빼고 다른 거는요", NOW).same_order
    assert not parse_own_query("그 주문이 아니라 그저께 주문한 거요", NOW).same_order
    assert not parse_own_query("not that order, what about yesterday's?", NOW).same_order
    assert parse_own_query("그 주문 말인데 언제 와요?", NOW).same_order
    assert parse_own_query("그거 얼마 결제됐어요?", NOW).same_order


# --- own orders found by a name said short, a refund, a day -------------------------------------------------------

def test_a_product_name_said_short_finds_its_order(manual_svc: Any) -> None:
    reply = manual_svc.ask("고기만두 시킨거 언제 받았었죠?", customer_id=A)
    assert "고기 왕만두" in reply["answer"] and "삼겹살" not in reply["answer"], reply
    reply = manual_svc.ask("두부 주문한거 송장번호 알려주세요", customer_id=A)
    assert "639955556666" in reply["answer"], reply  # the delivered order with 두부, not the parcel on its way


def test_a_name_said_short_is_no_two_letters_far_apart() -> None:
    from sajang.graphs.inquiry.order_answers import matches_product
    order = {"items": [{"name": "고기 왕만두 (1.4kg)"}]}
    assert matches_product(order, "고기만두") and matches_product(order, "왕만두")
    assert not matches_product(order, "고두") and not matches_product(order, "김치만두")


def test_whether_the_refund_came_is_asked_of_the_cancelled_order(manual_svc: Any) -> None:
    reply = manual_svc.ask("환불금 들어왔는지 확인 좀 해주세요", customer_id=A)
    assert "LA갈비" in reply["answer"] and "취소" in reply["answer"], reply


def test_what_the_order_of_a_day_held_is_their_order() -> None:
    text = "11월 26일 주문 뭐 들어있었죠"
    assert is_own_data_question(text, "delivery", parse_own_query(text, NOW))
    deadline = "12월 24일 주문 마감이 언제예요?"
    assert not is_own_data_question(deadline, "delivery", parse_own_query(deadline, NOW))


# --- the unit whose examples name the product ------------------------------------------------------------------

def _quoted(question: str, article: str) -> str:
    return " ".join(u.quote for u in relevant_units(question, ARTICLES[article]))


def test_a_return_of_a_named_food_quotes_the_rule_whose_examples_name_it() -> None:
    frozen = _quoted("만두 받았는데 맘이 바뀌었어요 반품 돼요?", "fresh-food-return")
    assert "다시 판매할 수 없습니다" in frozen and not frozen.startswith("참기름"), frozen
    shelf = _quoted("들기름 안 뜯었는데 맘 바뀌면 반품돼요?", "fresh-food-return")
    assert shelf.startswith("참기름"), shelf


def test_of_two_titles_naming_the_message_the_one_naming_more_of_it_is_first() -> None:
    hits = [{"id": "kimchi-storage", "title": "김치·반찬 보관과 숙성", "score": 0.93, "kind": "manual",
             "category": "product", "body": "김치는 냉장 보관"},
            {"id": "return-policy", "title": "반품 기준과 신청 기간", "score": 0.92, "kind": "manual",
             "category": "return_refund", "body": "반품은 7일 안에"},
            {"id": "fresh-food-return", "title": "신선식품 반품 제한", "score": 0.91, "kind": "manual",
             "category": "return_refund", "body": "김치, 만두 등은 단순 변심 반품이 제한됩니다"}]
    assert prefer_named_topic("김치 맘에 안 드는데 반품 돼요?", hits, "return_refund")[0]["id"] == "fresh-food-return"
