"""Readings of chat found in session 24 by an independent review (315 messages of its own, read against the manual):
feelings and relatives named around a question are no topic the manual lacks; chat words for the manual's; incidents
told in other words (a tooth hurt, a pouch burst, meat turned green); a period's length asked with «얼마»; follow-ups
that keep the previous question's rule («적립금은요?» after what cancelling does to coupons) or its measure
(«불량이면요?» after the return period); a wrong item reported answered with what the shop does, not what to check;
the order meant by «이번에», the item named said with its count, and where an order goes.

The service tests run on both databases:
    pytest tests/test_answer_rules_19.py
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test pytest tests/test_answer_rules_19.py
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from test_answer_units import _reply
from test_own_orders import A

from sajang.config import StorePolicy
from sajang.graphs.inquiry.answering import _asked_types, _hard_kinds
from sajang.graphs.inquiry.classifier import incident_evidence, reports_injury, rule_urgency
from sajang.graphs.inquiry.handoff import _urgent_notice
from sajang.graphs.inquiry.intents import LATEST, parse_own_query
from sajang.graphs.inquiry.order_answers import order_detail
from sajang.graphs.inquiry.prompts import T
from sajang.knowledge.normalize import normalize_message
from sajang.knowledge.text import topic_nouns

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=ZoneInfo("Asia/Seoul"))

# --- words around the question ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "word"), [
    ("와 배송비 3천원 실화냐 얼마부터 무료에요", "실화"),
    ("실망이에요 갈비탕 국물이 왜 이렇게 맑아요", "실망"),
    ("짜증나네 비밀번호 잊음", "짜증"),
    ("어머님이 전자레인지밖에 없으시대요", "어머님"),
])
def test_feelings_and_relatives_are_no_topic(text: str, word: str) -> None:
    nouns = topic_nouns(text)
    assert nouns and word not in nouns, nouns


@pytest.mark.parametrize(("typed", "read"), [
    ("결제 머머로 할수있어요?", "결제 뭐뭐로 할수있어요?"),
    ("할부가 왜 안떠요", "할부가 왜 안 보여요"),
    ("갑각류 알러지 있는데", "새우·게 알레르기 있는데"),
    ("광고문자 그만 받고 싶어요", "할인·이벤트 알림 그만 받고 싶어요"),
    ("돈 언제 돌려받아요", "환불 언제 받아요"),
])
def test_chat_words_are_read_as_the_manual_writes_them(typed: str, read: str) -> None:
    assert normalize_message(typed).text == read


# --- incidents told in other words --------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "kind"), [
    ("애기가 떡볶이 먹다가 딱딱한거 씹어서 이가 아프대요", "safety"),
    ("갈비탕 파우치 터져서 상자가 국물바다에요", "damage"),
    ("부대찌개 소스가 터져서 다 새있어요", "damage"),
    ("삼겹살 색이 초록색이에요 이거 먹어도 돼요?", "spoilage"),
])
def test_an_incident_told_in_other_words_is_reported(text: str, kind: str) -> None:
    assert kind in incident_evidence(text)
    assert rule_urgency(text, "damage_defect") in ("high", "urgent")


@pytest.mark.parametrize("text", ["이가 아파서 부드러운 거 있어요?", "유리용기 초록색 있어요?", "소스 따로 팔아요?",
                                  "갈비탕 파우치째 전자레인지 돌려도 돼요?"])
def test_the_same_words_asking_something_else_report_nothing(text: str) -> None:
    assert not incident_evidence(text)


@pytest.mark.parametrize(("text", "injured"), [
    ("애기가 떡볶이 먹다가 딱딱한거 씹어서 이가 아프대요", True), ("냄비 손잡이가 뜨거워서 손 데었어요", True),
    ("유리용기가 깨져서 왔는데 꺼내다가 손을 베였어요ㅠㅠ 피나요", True),
    ("게장 먹고 나서 얼굴이 퉁퉁 부었어요", False), ("어제 먹고 배가 너무 아파요", False),
])
def test_an_injury_gets_the_notice_for_a_wound_an_illness_the_one_for_a_reaction(text: str, injured: bool) -> None:
    assert "safety" in incident_evidence(text)
    notice = T[_urgent_notice({"safety"}, photo_sent=False, injured=reports_injury(text))]
    assert ("다치신" in notice["ko"]) is injured and ("두드러기" in notice["ko"]) is not injured, notice


@pytest.mark.parametrize(("text", "kind"), [
    ("냄비 손잡이가 뜨거워서 손 데었어요", "safety"), ("삼겹살이 초록색으로 변했어요", "spoilage"),
    ("만두 속이 초록색인데 먹어도 돼요?", "spoilage"), ("my son bit something hard and his tooth hurts", "safety"),
])
def test_more_incidents_told_in_other_words(text: str, kind: str) -> None:
    assert kind in incident_evidence(text)


# --- what is asked --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("question", ["반품기간 얼마에요", "유통기한이 얼마예요?", "교환 기간은 얼마나 돼요"])
def test_a_periods_length_asked_with_eolma_is_a_duration(question: str) -> None:
    assert _hard_kinds(question) == {"duration"} and "money" not in _asked_types(question)


def test_a_fee_asked_with_eolma_stays_money() -> None:
    assert _hard_kinds("반품 배송비 얼마고 기간은 며칠") == {"duration", "money"}
    assert _hard_kinds("배송비 얼마에요") == {"money"}


# --- a wrong item reported ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("question", ["주문한거랑 다른 상품이 왔어요ㅠㅠ 어떻게 해요", "순한맛 시켰는데 매운맛 왔어요ㅡㅡ",
                                      "주문한거랑 다른게 왔네요 ㅡㅡ 어떻게 할거에요"])
def test_a_wrong_item_reported_is_answered_with_what_the_shop_does(question: str) -> None:
    answer = _reply(question, "exchange-wrong-item")
    assert "다시 보내 드립니다" in answer, answer
    assert "비교해 주세요" not in answer, answer  # what to check first is no answer once it came


def test_a_question_of_its_own_after_the_report_gets_its_answer() -> None:
    answer = _reply("된장찌개 시켰는데 부대찌개가 왔네요ㅋㅋ 이거 그냥 먹어도 돼요?", "exchange-wrong-item")
    assert "드셔도 됩니다" in answer and "비교해 주세요" not in answer, answer


def test_a_wrong_item_to_come_is_asked_of_the_rule() -> None:
    answer = _reply("혹시 나중에 주문이랑 다른 상품이 오면 며칠 안에 말씀드려야 하나요?", "exchange-wrong-item")
    assert "7일" in answer, answer


def test_items_of_two_sections_stand_each_under_its_own_heading() -> None:
    answer = _reply("순한맛 시켰는데 매운맛 왔어요ㅡㅡ", "exchange-wrong-item")
    assert "처리 방법:\n- 주문하신 상품을 배송비 없이" in answer, answer


# --- follow-ups -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("turns", "stated", "article"), [
    # 쿠폰 was a detail of the cancel article, which speaks of 적립금 beside it
    (["취소하면 쿠폰 돌려줘요?", "적립금은요?"], "즉시 돌아가", "cancel-before-dispatch"),
    # 적립금 was the points article's own topic: the coupons article answers
    (["적립금 어떻게 쌓여요", "쿠폰은요?"], "쿠폰", "coupons"),
    # a row of the list just quoted
    (["재입고 보통 얼마나 걸려요", "주방용품은요?"], "7~10일", "stock-restock"),
    # the period asked, of the case named
    (["반품기간 얼마에요", "불량이면요?"], "30일", "return-policy"),
])
def test_a_follow_up_keeps_what_the_previous_question_asked(manual_svc: Any, turns: list[str], stated: str,
                                                             article: str) -> None:
    reply = manual_svc.ask(turns[0])
    for line in turns[1:]:
        reply = manual_svc.ask(line, thread_id=reply["thread_id"])
    assert not reply["handoff"] and stated in reply["answer"], reply
    assert reply["sources"][0]["id"] == article, reply["sources"]


# --- their own orders --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "latest"), [
    ("이번에 떡볶이 2개 시킨거 맞죠?", True), ("이번 주문 언제 와요", True), ("이번에 시킨 만두", True),
    ("이번 주에 시킨거", False), ("이번주 주문 몇 건이에요", False),
])
def test_ibeone_means_the_newest_order(text: str, latest: bool) -> None:
    assert bool(LATEST.search(text)) is latest


@pytest.mark.parametrize("text", ["배송지 어디로 돼 있어요?", "제 주문 배송지 어디로 돼있어요"])
def test_where_their_order_goes_is_theirs(manual_svc: Any, text: str) -> None:
    reply = manual_svc.ask(text, customer_id=A)
    # (the test shop's orders have no address: the reply says so rather than a dash)
    assert not reply["handoff"] and "배송지가 따로 적혀 있지 않아요" in reply["answer"], reply


def test_the_item_named_is_said_with_its_count(manual_svc: Any) -> None:
    reply = manual_svc.ask("이번에 떡볶이 2개 시킨거 맞죠?", customer_id=A)
    assert not reply["handoff"] and "매콤 떡볶이 (2인분) 2개" in reply["answer"], reply


@pytest.mark.parametrize("text", ["제 주문 배송지 어디로 돼있어요", "받는 사람 누구로 돼 있어요?", "만두 시킨거 어디로 보내요?",
                                  "what's the shipping address on my order"])
def test_where_an_order_goes_is_asked(text: str) -> None:
    assert "ship_to" in parse_own_query(text, NOW).facts


def test_where_an_order_goes_is_answered_with_the_particle_its_address_takes() -> None:
    order = {"order_id": "O-20261202-00001", "ordered_at": NOW.isoformat(), "status": "paid", "status_label": "결제 완료",
             "amount": "10000", "shipping_fee": "3000", "items": [{"name": "포기김치 (3kg)", "quantity": 1}],
             "claims": [], "recipient": "홍길동", "address": "서울시 마포구 월드컵로 1, 101동 1001호"}
    query = parse_own_query("배송지 어디로 돼 있어요?", NOW)
    said = " ".join(order_detail(order, query, "ko", StorePolicy(), NOW))
    assert "홍길동 님" in said and "1001호로 되어 있어요" in said, said
    said = " ".join(order_detail({**order, "address": "부산시 동래구 청림로 193"}, query, "ko", StorePolicy(), NOW))
    assert "청림로 193으로 되어 있어요" in said, said


# --- a story told before the question -------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "article"), [
    # the story's 만두 found the cooking article, which says nothing of signing up
    ("친구가 여기 만두 맛있다고 해서 처음 시켜보려는데 가입하면 머 있어요?", "account"),
    # the story names the topic; «냉장고» of the question is said by the article's «냉장»
    ("밀키트 받았는데요 며칠 안에 먹어야 되나요~~ 일단 냉장고에 넣어 뒀어요", "cooking-mealkit"),
    ("갈비탕 받았는데 냉동해도 되나요", "cooking-galbitang"),
])
def test_a_question_after_a_story_is_searched_alone_only_when_the_story_led_astray(manual_svc: Any, text: str,
                                                                                   article: str) -> None:
    reply = manual_svc.ask(text)
    assert not reply["handoff"] and reply["sources"][0]["id"] == article, reply


def test_the_first_message_of_a_process_is_read_with_the_shops_words(settings: Any, manual_shop: Any) -> None:
    """The shop's words are registered when the knowledge base loads its index; the first message of a process came
    before that and was spaced otherwise («상품 준비 중이에요» against «상품준비 중이에요» afterwards)."""
    from sajang.knowledge import normalize
    from sajang.knowledge.service import get_knowledge, read_chat

    text = "맘이 바껴서 취소하고 싶은데 상품준비중이에요"
    with normalize._shop_words_lock:
        normalize._shop_words.pop(str(settings.data_dir), None)  # as a process that has searched nothing yet
    first = read_chat(settings, text).text
    get_knowledge(settings).search("배송비", k=1)
    assert read_chat(settings, text).text == first
