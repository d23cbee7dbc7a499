"""Readings of chat found in session 16 (the thirteenth held-out set, read after its blind measure), each checked
on messages of its own kind worded for this file.

The service tests run on both databases:
    pytest tests/test_answer_rules_11.py
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test pytest tests/test_answer_rules_11.py
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from test_answer_rules_10 import _quoted
from test_answer_units import ARTICLES, _reply
from test_own_orders import A

from sajang.graphs.inquiry.answering import (
    asked_things,
    question_parts,
    relevant_units,
    thing_asked_missing,
    thing_there,
)
from sajang.graphs.inquiry.classifier import incident_evidence
from sajang.graphs.inquiry.intents import parse_own_query
from sajang.graphs.inquiry.order_answers import is_own_data_question
from sajang.knowledge.normalize import normalize_message

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=ZoneInfo("Asia/Seoul"))


# --- chat words in the manual's words ---------------------------------------------------------------------

@pytest.mark.parametrize(("typed", "read"), [
    ("비번까먹음", "비밀번호 잊음"),
    ("아이디 까먹은 거 같아요", "아이디 잊은 거 같아요"),
    ("고객센터 전번좀", "고객센터 전화번호좀"),
    ("3개 시켯는데 1개만 취소 돼요?", "3개 시켰는데 일부만 취소 돼요?"),
    ("하나만 반품 되나요", "일부만 반품 되나요"),
])
def test_chat_words_are_read_as_the_manuals(typed: str, read: str) -> None:
    assert normalize_message(typed).text == read


# --- the questions of a message ---------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "parts"), [
    ("배송비 얼마에요 얼마 이상 사면 무료?", ["배송비 얼마에요", "얼마 이상 사면 무료?"]),
    ("반품 어떻게 해요 교환은 며칠 걸려요", ["반품 어떻게 해요", "교환은 며칠 걸려요"]),
    # one question asked again, or a second line that names no topic of its own: one part
    ("이거 어떻게 해요 좀 알려주세요?", ["이거 어떻게 해요 좀 알려주세요?"]),
    ("배송비 얼마에요 알려주세요", ["배송비 얼마에요 알려주세요"]),
    ("상담 몇 시까지 해요 토요일도 해요?", ["상담 몇 시까지 해요 토요일도 해요?"]),
])
def test_two_questions_without_a_mark_between_them_are_two(text: str, parts: list[str]) -> None:
    assert question_parts(text) == parts


def test_each_of_two_unmarked_questions_is_answered() -> None:
    answer = _reply("배송비 얼마에요 얼마 이상 사면 무료?", "delivery-fee")
    assert "3,000원" in answer and "50,000원" in answer, answer


# --- what a yes/no question asks for ----------------------------------------------------------------------

def test_the_thing_asked_is_read_past_a_filler_and_a_purchase() -> None:
    assert asked_things("단체로 주문할 때 할인 같은 게 있나요?")[0] == ["할인"]
    assert asked_things("무쇠냄비 뚜껑만 따로 구매 가능할까요")[0] == ["뚜껑"]
    # «김치만 취소»: whether a partial cancel is possible, not whether the shop has kimchi
    assert asked_things("김치만 취소 가능해요?")[0] == []


def test_the_unit_naming_the_thing_asked_answers_a_story_before_it() -> None:
    question = normalize_message("저희 회사 직원이 45명인데 설에 집으로 선물을 보내려고 합니다. 작년엔 다른 업체였는데 "
                                 "배송이 엉망이라서요.. 밀키트로 단체 주문할 때 할인 같은 게 있나요?").text
    assert "5~10%" in _quoted(question, "bulk-orders")


def test_a_word_the_article_writes_otherwise_is_no_thing_it_never_names() -> None:
    assert not thing_asked_missing("쿠폰 중복 되나요?", ARTICLES["coupons"])  # the article says «함께»
    assert thing_asked_missing("쿠폰 연장 되나요?", ARTICLES["coupons"])


def test_whether_there_is_a_thing_is_what_the_unit_naming_it_says() -> None:
    units = relevant_units("결제 완료 상태면 취소 수수료 있어요?", ARTICLES["cancel-before-dispatch"])
    assert thing_there("결제 완료 상태면 취소 수수료 있어요?", units) is False
    answer = _reply("결제 완료 상태면 취소 수수료 있어요?", "cancel-before-dispatch")
    assert answer.split("\n\n")[1].startswith("아니요"), answer
    # a unit naming the thing without saying there is none or some: no verdict from it
    assert thing_there("단체 주문 할인 있나요?", relevant_units("단체 주문 할인 있나요?", ARTICLES["bulk-orders"])) is None


def test_a_deadline_at_the_end_of_the_month_is_a_date_asked_for() -> None:
    quoted = _quoted("현금영수증 번호 안 넣었는데 언제까지 말하면 돼요?", "receipts-tax-invoice")
    assert "말일" in quoted, quoted


# --- what is a report -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "kind"), [
    ("만두먹다가 딱딱한거 씹혀서 뱉어보니까 쇳조각 같은거 나왔어요", "foreign_object"),
    ("먹다가 금속 조각이 나왔어요", "foreign_object"),
    ("씹다가 이빨 아파요 뭐가 들어있었던 거 같은데", "safety"),
    ("어제 먹고 배가 너무 아파요", "safety"),
    ("선물세트 상자가 텅 비어서 왔다네요", "missing"),
    ("빈 박스만 왔어요", "missing"),
])
def test_a_hard_piece_a_hurt_tooth_and_an_empty_box_are_reports(text: str, kind: str) -> None:
    assert kind in incident_evidence(text)


@pytest.mark.parametrize("text", [
    "이가 아파서 딱딱한 건 못 먹는데 부드러운 메뉴 있어요?",
    "배가 고파요 오늘 주문하면 언제 와요?",
    "장바구니가 비어 있어요",
    "택배 상자 비어 있으면 어떻게 해요?",
])
def test_everyday_lines_with_those_words_are_no_report(text: str) -> None:
    assert incident_evidence(text) == []


# --- their own orders -------------------------------------------------------------------------------------

def test_what_the_delivery_fee_came_to_is_the_amount_paid_not_when_it_left() -> None:
    query = parse_own_query("제일 최근 주문 배송비 얼마 나갔어요?", NOW)
    assert "amount" in query.facts and "delivery_date" not in query.facts
    assert "delivery_date" in parse_own_query("만두 주문 아직 안 나갔죠?", NOW).facts


def test_which_courier_brought_a_product_is_its_tracking() -> None:
    query = parse_own_query("참기름 샀을 때 어느 택배로 왔었어요", NOW)
    assert query.facts == ("tracking",) and query.products == ("참기름",)


def test_a_verified_customer_asking_us_to_look_is_answered_from_their_orders(manual_svc: Any) -> None:
    text = "결제 해놨는데 아직 출발 안 했죠? 상태 좀 봐주세요"
    assert parse_own_query(text, NOW).products == ()  # «출발» is no product
    reply = manual_svc.ask(text, customer_id=A)
    assert not reply["handoff"] and "주문번호" in reply["answer"] and "상태" in reply["answer"], reply
    fee = manual_svc.ask("제일 최근 주문 배송비 얼마 나갔어요?", customer_id=A)
    assert not fee["handoff"] and "배송비" in fee["answer"] and "원" in fee["answer"], fee


def test_an_order_someone_placed_for_a_guest_is_theirs_to_verify() -> None:
    text = "딸이 주문해 준 김치가 아직 안 왔는데 언제 오는지 알 수 있나요~~"
    assert is_own_data_question(text, "delivery", parse_own_query(text, NOW), guest=True)
    # a relative in a question about the shop's rule is no order of theirs
    other = "엄마한테 선물로 보내려는데 가격표 빼고 보내 주나요?"
    assert not is_own_data_question(other, "delivery", parse_own_query(other, NOW), guest=True)


# --- the conversation -------------------------------------------------------------------------------------

def test_a_bare_question_after_an_answer_asks_of_its_topic(manual_svc: Any) -> None:
    first = manual_svc.ask("무통장으로 결제했는데 현금영수증 번호를 안넣었어요ㅠ")
    assert "현금영수증" in first["answer"], first
    when = manual_svc.ask("언제까지 말하면 돼요?", thread_id=first["thread_id"])
    assert not when["handoff"] and "말일" in when["answer"], when


def test_a_fee_asked_as_whether_money_is_taken_is_answered_with_the_fee_rule() -> None:
    quoted = _quoted("선물포장 하면 돈 따로 받으시나요?", "gift-wrapping")
    assert "무료" in quoted, quoted


def test_a_partial_cancel_typed_with_a_count_is_the_cancel_rule(manual_svc: Any) -> None:
    reply = manual_svc.ask("3개 시켯는데 1개만 취소 되나여? 그럼 배송비는 어케되요")
    assert reply["sources"][0]["id"] == "cancel-before-dispatch", reply
    assert "50,000원" in reply["answer"], reply["answer"]


def test_telling_how_many_orders_were_placed_gets_the_list_of_them(manual_svc: Any) -> None:
    assert "list" in parse_own_query("주문을 두개 했는데요", NOW).facts
    # with a question after it, that question is answered
    assert "list" not in parse_own_query("주문 두개 했는데 하나는 언제와요?", NOW).facts
    reply = manual_svc.ask("주문을 두개 했는데요", customer_id=A)
    assert not reply["handoff"] and reply["answer"].count("O-") >= 2, reply
    guest = manual_svc.ask("주문을 두개 했는데요")
    assert "주문번호" in guest["answer"] and "4자리" in guest["answer"] and "O-2026" not in guest["answer"].replace(
        "O-20261120-00012", ""), guest


@pytest.mark.parametrize(("question", "article"), [
    ("배송 시간 저녁7시 이후로 지정 가능함?", "delivery-dispatch"),
    ("카카오페이로 결제하면 추가할인 ㄱㄴ? ㅋㅋ", "payment-methods"),
])
def test_a_thing_asked_with_a_terse_ending_is_still_a_thing_asked(question: str, article: str) -> None:
    assert thing_asked_missing(normalize_message(question).text, ARTICLES[article])
    assert not thing_asked_missing("선물포장 가능?", ARTICLES["gift-wrapping"])


# --- the independent review's counter-examples -------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "오늘 택배 나갔나요?", "택배나갔나요", "택배가 아파트 1층에 있다는데 맞나요?",
    "어금니 아파서 씹기 힘든데 갈비탕 고기 부드러워요?", "애가 배 아프다고 해서 죽 같은 거 주문하려는데 있나요?",
    "무쇠냄비 처음 쓸때 쇳가루 나오나요?", "금속 수세미로 무쇠냄비 닦으면 쇳가루 생겨요?",
    "다 먹고 아이스박스 비어있는데 회수해가시나요?",
])
def test_a_parcel_a_sore_tooth_told_before_ordering_and_cast_iron_care_are_no_reports(text: str) -> None:
    assert incident_evidence(text) == []


@pytest.mark.parametrize(("typed", "read"), [
    ("전번에 시킨 만두 또 시키고 싶어요", "전번에 시킨 만두 또 시키고 싶어요"),  # 지난번, not a phone number
    ("핸드폰번호로 주문조회 돼요?", "핸드폰번호로 주문조회 돼요?"),
    ("대부분 취소되나요", "대부분 취소되나요"),
])
def test_lexicon_lines_do_not_rewrite_other_words(typed: str, read: str) -> None:
    assert normalize_message(typed).text.replace(" ", "") == read.replace(" ", "")


def test_a_fee_with_a_price_or_none_by_case_gets_no_wrong_no() -> None:
    for question, article in (("배송비 있어요?", "delivery-fee"), ("교환 배송비 있어요?", "exchange-policy")):
        assert thing_there(question, relevant_units(question, ARTICLES[article])) is not False, question
        answer = _reply(question, article)
        assert not answer.split("\n\n")[1].startswith("아니요"), answer


def test_a_split_needs_a_question_asked_not_one_told() -> None:
    for text in ("어디쯤인지 몰라서 답답해요 언제 와요", "뭐가 잘못된건지 모르겠어요 반품 어떻게 해요?",
                 "얼마 전에 샀어요 언제 와요?"):
        assert question_parts(text) == [text], text


def test_whose_order_a_relative_placed_is_read_by_tense_and_by_who_asks(manual_svc: Any) -> None:
    future = "엄마가 주문해 준다는데 비회원도 주문 돼요?"
    assert not is_own_data_question(future, "delivery", parse_own_query(future, NOW), guest=True)
    # a verified customer's own account does not hold the order a friend placed
    reply = manual_svc.ask("친구가 선물로 주문해 준 갈비탕 언제 와요?", customer_id=A)
    assert "O-2026" not in reply["answer"], reply["answer"]


@pytest.mark.parametrize("text", ["어떤 택배사 쓰시는지 알려주세요", "무슨 택배로 오는지 알려주세요", "배송조회 하는 법 좀 알려주세요",
                                  "딸이 결제해 준다는데 다른 사람 카드로 결제해도 되나요?"])
def test_a_verified_customers_question_about_the_shop_shows_no_order(manual_svc: Any, text: str) -> None:
    reply = manual_svc.ask(text, customer_id=A)
    assert "O-2026" not in (reply["answer"] or ""), reply["answer"]


def test_a_duplicate_order_is_no_list_asked() -> None:
    assert "list" not in parse_own_query("실수로 같은거 주문을 두번 했네요ㅠ", NOW).facts


def test_a_line_telling_what_happened_is_no_bare_question_of_the_previous_topic(manual_svc: Any) -> None:
    first = manual_svc.ask("만두 어떻게 구워요?")
    told = manual_svc.ask("먹다가 뭐가 씹혔어요 어떡하죠?", thread_id=first["thread_id"])
    assert told["handoff"] or "굽" not in (told["answer"] or ""), told
    installment = manual_svc.ask("카드 할부 돼요?")
    other = manual_svc.ask("어디서 사요?", thread_id=installment["thread_id"])
    assert "할부" not in (other["answer"] or ""), other


def test_a_guest_who_gave_the_number_is_not_asked_for_it_again_while_waiting(manual_svc: Any) -> None:
    first = manual_svc.ask("상담원 연결해 주세요")
    manual_svc.ask("주문번호 O-20261120-00012 이에요", thread_id=first["thread_id"])
    again = manual_svc.ask("그거 언제 와요?", thread_id=first["thread_id"])
    assert "주문번호" not in (again["answer"] or ""), again
    digits = manual_svc.ask("폰 뒷자리 1234에요 제 주문 어디쯤이에요?", thread_id=first["thread_id"])
    assert "4자리" not in (digits["answer"] or ""), digits
