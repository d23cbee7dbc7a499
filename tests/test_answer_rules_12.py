"""Readings of chat found in session 17 (the fourteenth held-out set, read after its blind measure), each checked
on messages of its own kind worded for this file.

The service tests run on both databases:
    pytest tests/test_answer_rules_12.py
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test pytest tests/test_answer_rules_12.py
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from test_own_orders import A

from sajang.graphs.inquiry.classifier import incident_evidence
from sajang.graphs.inquiry.intents import parse_own_query
from sajang.graphs.inquiry.order_answers import WRONG_ITEM_REPORT, is_own_data_question
from sajang.knowledge.normalize import normalize_message

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=ZoneInfo("Asia/Seoul"))


# --- chat words -------------------------------------------------------------------------------------------

def test_a_cancel_typed_in_english_loanword_is_a_cancel() -> None:
    assert "취소하면" in normalize_message("결제완료떠있는데캔슬하면수수료있어요?").text


# --- reports ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "kind"), [
    ("무쇠냄비 받았는데 뚜껑에 금이 쫙 가있어요", "damage"),
    ("접시에 금이 가 있네요 새 거인데", "damage"),
    ("제가 주문한 거 말고 다른 사람 이름 적힌 상자가 왔어요", "misdelivered"),
    ("다른 집 택배가 우리 집으로 배달됐어요", "misdelivered"),
])
def test_a_crack_and_somebody_elses_parcel_are_reports(text: str, kind: str) -> None:
    assert kind in incident_evidence(text)


@pytest.mark.parametrize("text", [
    "금이 가 있으면 교환 되나요?",
    "입금이 잘 갔나요",  # money sent, no crack
    "다른 사람 이름으로 주문해도 돼요?",
    "다른 사람 주소로 선물 보내도 되나요",
    "다른사람 택배는 다 왔는데 제꺼만 안왔어요",  # a late parcel of theirs
    "만약 다른 사람 택배가 도착하면 어떻게 해요?",
    "다른 분 이름으로 주문했는데 도착하면 제가 받아도 되나요",
])
def test_a_case_asked_or_a_gift_to_someone_else_is_no_report(text: str) -> None:
    assert incident_evidence(text) == []


@pytest.mark.parametrize(("text", "report"), [
    ("부대찌개 시켰는데 된장찌개가 왔어요", True),
    ("순한맛 시켰는데 매운맛이 왔네요", True),
    ("주문한거랑 다른게 왔네요", True),
    ("주문했는데 아직 안 왔어요", False),
    ("어제 시켰는데 택배가 왔어요", False),
    ("시켰는데 문자가 왔어요", False),
    ("만두 2봉 시켰는데 1봉만 왔네요", False),  # a missing item, reported as such
    ("잘못 오면 어떻게 해요", False),
    ("어제 주문했는데 출고문자가 왔어요 언제 도착해요?", False),
    ("주문했는데 결제취소가 왔어요 왜죠?", False),
    ("그저께 시켰는데 오늘 제품이 도착했어요 보관은 어떻게 해요", False),
    ("택배기사님이 잘못 왔다고 하시던데 제 주문 어디쯤이에요?", False),
])
def test_another_product_than_the_one_ordered_is_a_wrong_item_report(text: str, report: bool) -> None:
    assert bool(WRONG_ITEM_REPORT.search(text)) is report


def test_a_wrong_item_report_is_no_question_about_that_orders_status(manual_svc: Any) -> None:
    text = "부대찌개 시켰는데 떡볶이가 왔어요"
    assert not is_own_data_question(text, "exchange", parse_own_query(text, NOW))
    reply = manual_svc.ask(text, customer_id=A)
    assert "주문번호" not in reply["answer"], reply
    assert reply["handoff"] or (reply["sources"] and reply["sources"][0]["id"] == "exchange-wrong-item"), reply


@pytest.mark.parametrize("text", [
    "택배 상자 찌그러져서 오는 경우 있잖아요 그럴 땐 사진을 언제까지 보내야 되는지 미리 알아두려구요",
    "유통기한 얼마 안 남은 게 오면 불량으로 바꿔 준다고 들었는데 며칠 남았을 때 그렇게 해 주시는지 알 수 있을까요",
])
def test_a_case_imagined_ahead_of_time_is_no_report(text: str) -> None:
    assert incident_evidence(text) == []


@pytest.mark.parametrize("text", [
    "상자가 찌그러져서 왔는데 안에 병이 깨졌어요",
    "유통기한 지난 게 왔어요 불량 아닌가요",
])
def test_the_same_words_told_of_a_parcel_received_stay_reports(text: str) -> None:
    assert incident_evidence(text)


# --- their own orders -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["취소한 주문 있잖아요 그거 얼마짜리였죠", "그 주문 얼마 나갔는지도 알려주세요"])
def test_what_an_order_cost_asked_in_chat_words_is_its_amount(text: str) -> None:
    assert "amount" in parse_own_query(text, NOW).facts


def test_a_claim_asked_for_in_their_own_words_is_looked_up(manual_svc: Any) -> None:
    text = "저번에 손만두 다른걸로 바꿔달라고 한거 어떻게 되고있어요??"
    query = parse_own_query(text, NOW)
    assert "claims" in query.facts and is_own_data_question(text, "exchange", query)
    reply = manual_svc.ask(text, customer_id=A)
    assert not reply["handoff"] and "교환" in reply["answer"] and "접수" in reply["answer"], reply


def test_the_items_of_the_orders_a_status_shows_are_each_listed(manual_svc: Any) -> None:
    text = "결제완료로 떠있는 주문 안에 뭐뭐 들어있는지 알려주세요"
    assert is_own_data_question(text, "delivery", parse_own_query(text, NOW))
    reply = manual_svc.ask(text, customer_id=A)
    assert "부대찌개 밀키트" in reply["answer"] and "매콤 떡볶이" in reply["answer"], reply
    amount = manual_svc.ask("취소한 주문 있잖아요 그거 얼마짜리였죠", customer_id=A)
    assert "42,900원" in amount["answer"], amount


# --- two questions in one line -----------------------------------------------------------------------------

def test_a_yes_no_question_ended_plainly_before_another_is_its_own_question() -> None:
    from sajang.graphs.inquiry.answering import question_parts

    assert question_parts("참기름 뜯지도 않았는데 반품 되나요 배송비는 얼마 내요") == [
        "참기름 뜯지도 않았는데 반품 되나요", "배송비는 얼마 내요"]
    for one in ("혹시 되나요 배송비 얼마에요",  # too short to stand alone
                "이거 선물포장 되나요 얼마에요",  # the price of the same thing
                "김치에서 이상한 냄새가 나요 어떻게 해야 돼요",  # «나요» telling, not asking
                "냉동만두 냉장실에 둬도 되나요 며칠까지요?"):
        assert question_parts(one) == [one], one


def test_an_order_placed_for_a_guest_told_as_hearsay_is_theirs_to_verify() -> None:
    text = "안녕하세요 딸이 제 앞으로 김치를 주문해 줬다는데 언제쯤 오는지 알 수 있을까요"
    assert is_own_data_question(text, "delivery", parse_own_query(text, NOW), guest=True)
    for other in ("엄마가 김치를 주문해 준다는데 비회원도 주문 돼요?",  # an order to come: the shop's rule
                  "아버지가 김치 주문해 주신다는데 언제 와요?",
                  "친구가 여기서 시켜줬는데 맛있더라고요 저도 주문하면 언제 와요?",  # their own order, imagined
                  "딸기 한 박스 주문해 주신 분들 사은품 언제 와요?"):  # 딸기 is no daughter
        assert not is_own_data_question(other, "delivery", parse_own_query(other, NOW), guest=True), other


def test_whether_a_delivery_fee_was_charged_is_the_amount_paid_not_the_dispatch() -> None:
    assert parse_own_query("삼겹살 들어간 주문 배송비 나갔나요? 무배였던거같은데", NOW).facts == ("amount",)
    assert parse_own_query("만두 주문 아직 안 나갔죠?", NOW).facts == ("delivery_date",)


def test_the_courier_a_parcel_was_sent_with_is_that_orders_tracking(manual_svc: Any) -> None:
    sent = manual_svc.ask("택배 어느 택배사로 보내셨어요?", customer_id=A)
    assert not sent["handoff"] and "CJ대한통운" in sent["answer"] and "주문번호" in sent["answer"], sent
    shop = manual_svc.ask("어느 택배사로 보내세요?", customer_id=A)  # the shop's courier, no order of theirs
    assert "주문번호" not in shop["answer"], shop


def test_the_dialect_conditional_is_read_as_the_standard_one() -> None:
    assert normalize_message("반품하믄 환불 언제되요?").text == "반품하면 환불 언제 돼요?"
