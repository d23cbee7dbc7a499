"""Readings of chat found in session 27 by an independent review (221 conversations of its own, read against the
manual) and by the misses of blind set 25: a guest's general question is not taken for one about their order
(«제주사는데 … 무배금액 넘겨도 붙어요?», «옮길수있나요?»); a complaint asked again and again, an expired product on
arrival and a request never followed up are incidents; a verified customer's «지난번 주문», «진행상황», «오늘
출고돼요?» ask of their orders; a yes/no question is answered by the one list item that says it, led by the right
word («유료예요?» → 아니요 … 무료; «터질 수 있으니» is no yes; «…으로만 가능» is no plain yes).

The service tests run on both databases:
    pytest tests/test_answer_rules_22.py
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test pytest tests/test_answer_rules_22.py
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from test_answer_units import ARTICLES
from test_own_orders import A

from sajang.graphs.inquiry.answering import _opposite_stated, relevant_units, with_borrowed_topic, yes_or_no
from sajang.graphs.inquiry.classifier import incident_evidence, rule_urgency
from sajang.graphs.inquiry.intents import parse_own_query
from sajang.graphs.inquiry.order_answers import is_own_data_question, looks_up
from sajang.knowledge.normalize import RIEUL_FINAL, normalize_message

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=ZoneInfo("Asia/Seoul"))


def _guest_asks_theirs(text: str) -> bool:
    return is_own_data_question(text, "delivery", parse_own_query(text, NOW), guest=True)


# --- a guest's question about the shop's rules is not one about their order -----------------------------------------


@pytest.mark.parametrize("text", [
    "제주사는데 추가배송비 얼마에여? 무배금액 넘겨도 붙어요?",  # «무배금액» is the rule's amount, not what they paid
    "적립금 남은거 엄마 계정으로 옮길수있나요?",  # whether it can be done, on any verb
    "무료배송 기준 금액이 얼마에요?",
    "택배 언제 오는지 알 수 있나요",
])
def test_a_guest_asking_the_rule_is_not_asked_to_verify(text: str) -> None:
    assert not _guest_asks_theirs(text)


@pytest.mark.parametrize("text", ["제 주문 언제 배송되나요?", "제가 주문한 거 얼마 결제됐는지 알려주세요",
                                  "송장번호 문자를 못받았는데 알려주실수있나요"])  # (a favour asked of us: a look)
def test_a_guest_asking_of_their_own_order_is_asked_to_verify(text: str) -> None:
    assert _guest_asks_theirs(text)


def test_the_amount_of_a_rule_is_no_look_up() -> None:
    assert not looks_up("무배금액 넘겨도 붙어요?") and not looks_up("최소 주문 금액 있어요?")
    assert looks_up("결제 금액 확인해 주세요")


def test_every_syllable_ending_in_rieul_and_only_those() -> None:
    assert {"길", "낼", "할", "알", "쓸"} <= set(RIEUL_FINAL)
    assert not {"기", "수", "있", "한"} & set(RIEUL_FINAL)


def test_a_guest_asking_if_points_move_to_another_account_is_handed_off(manual_svc: Any) -> None:
    # (the manual says coupons cannot be handed on, nothing of points: a person answers, no verification asked)
    reply = manual_svc.ask("적립금 남은거 엄마 계정으로 옮길수있나요? 선물하고싶어서")
    assert "본인 확인" not in reply["answer"], reply


# --- incidents: asked again, out of date on arrival, never followed up ----------------------------------------------


@pytest.mark.parametrize(("text", "level"), [
    ("이거 벌써 네번째 문의에요 매번 확인해보겠다고만 하고 연락이 없네요 진짜 장난하세요?", "urgent"),
    ("두번째 연락드려요 아직 답이 없네요", "urgent"),
    ("파손 접수했는데 아직 연락이 없어요", "urgent"),
    ("게장 유통기한이 어제까지로 찍혀서 왔어요", "high"),
    ("유통기한 이틀 남은게 왔어요", "high"),
    ("아니 3일째 안오는데 장난하세요?", "high"),
])
def test_complaints_and_goods_out_of_date_raise_the_urgency(text: str, level: str) -> None:
    assert rule_urgency(text, "other") == level


@pytest.mark.parametrize("text", ["유통기한 며칠 안남은거 오면 교환해줘요?", "두 번째 주문인데 쿠폰 돼요?",
                                  "교환신청 했는데 아직 연락이 없어서요ㅠ 어떻게 되고 있어요?",  # how it stands: their claim
                                  "교환 신청했는데 언제 연락와요?", "장난감 같은 것도 팔아요?"])
def test_questions_with_the_same_words_stay_questions(text: str) -> None:
    assert not incident_evidence(text) and rule_urgency(text, "other") in ("low", "normal")


def test_a_fourth_complaint_from_a_guest_is_handed_off_urgently(manual_svc: Any) -> None:
    reply = manual_svc.ask("이거 벌써 네번째 문의에요 매번 확인해보겠다고만 하고 연락이 없네요 진짜 장난하세요?")
    assert reply["handoff"] and reply["urgency"] == "urgent", reply
    assert "본인 확인" not in reply["answer"], reply


# --- a verified customer's own orders -------------------------------------------------------------------------------


def test_the_last_order_and_a_dispatch_asked_are_read_as_theirs() -> None:
    assert parse_own_query("지난번 주문 배송 완료 됐나요", NOW).latest
    assert parse_own_query("저번에 시킨거 언제 왔어요?", NOW).latest
    assert not parse_own_query("저번에 산 갈비탕 맛있던데 또 있어요?", NOW).latest  # a product named: not the last
    assert "delivery_date" in parse_own_query("오늘 출고돼요?", NOW).facts


def test_the_progress_of_their_exchange_is_their_claim(manual_svc: Any) -> None:
    reply = manual_svc.ask("교환 신청 진행상황 알려주세요", customer_id=A)
    assert "교환" in reply["answer"] and "접수" in reply["answer"], reply
    assert reply["sources"][0]["id"].startswith("O-"), reply


def test_will_it_leave_today_is_asked_of_their_open_order(manual_svc: Any) -> None:
    reply = manual_svc.ask("오늘 출고돼요?", customer_id=A)
    assert reply["sources"][0]["id"].startswith("O-"), reply
    assert "준비" in reply["answer"] or "결제 완료" in reply["answer"], reply


# --- yes or no, and the item that says it ---------------------------------------------------------------------------


def _unit(text: str) -> Any:
    from sajang.knowledge.ingest import AnswerUnit

    return AnswerUnit(text=text, section=0, heading="")


def test_a_harm_it_may_do_is_no_yes() -> None:
    assert yes_or_no([_unit("전자레인지는 파우치째 돌리면 터질 수 있으니 꼭 그릇에 옮겨 데워 주세요.")]) is False
    assert yes_or_no([_unit("전자레인지에 데워 드실 수 있습니다.")]) is True


def test_a_no_in_another_clause_is_no_answer_to_the_thing_asked() -> None:
    care = _unit("사용 후 세제를 적게 쓰고 솔로 닦은 다음, 불에 말리고 기름을 얇게 발라 두면 녹이 슬지 않습니다.")
    assert yes_or_no([care], ["세제"]) is None  # «무쇠냄비 세제로 닦아도 되여?»: no «아니요»
    rule = _unit("인덕션·가스레인지·하이라이트 모두 사용 가능하며 식기세척기는 사용하지 마세요.")
    assert yes_or_no([rule], ["식기세척기"]) is False


def test_a_yes_only_in_some_cases_leads_with_no_word() -> None:
    assert yes_or_no([_unit("교환은 같은 상품의 다른 옵션이나 같은 상품 새것으로만 가능합니다.")]) is None
    assert yes_or_no([_unit("냉동·냉장 식품은 오배송·불량일 때만 교환해 드립니다.")]) is None


def test_free_said_another_way_is_no_opposite() -> None:
    free = _unit("주문할 때 배송 메모에 적어 주시면 무료 포장해 드립니다.")
    assert _opposite_stated("선물포장 유료예요?", free) is False
    assert _opposite_stated("선물포장 무상이에요?", free) is None  # «무상» is «무료» said another way


def test_paid_asked_and_free_stated_is_a_no(manual_svc: Any) -> None:
    reply = manual_svc.ask("선물포장 유료에요?")
    assert not reply["handoff"] and "무료" in reply["answer"], reply
    assert not reply["answer"].split("\n\n")[1].startswith("네"), reply


def test_the_one_item_that_answers_a_yes_no_question_is_quoted_alone() -> None:
    hit = ARTICLES["coupons"]
    units = relevant_units("생일쿠폰 있나요", {**hit, "text": ""})
    assert len(units) == 1 and "생일" in units[0].quote, units
    # a question of which ones keeps the list
    assert len(relevant_units("쿠폰 어떤 종류 있어요?", {**hit, "text": ""})) > 2


def test_a_question_of_several_keeps_its_list() -> None:
    # the later question's one item was quoted for the first already: it would add nothing, and read as unasked
    hit = {**ARTICLES["coupons"], "text": ""}
    assert len(relevant_units("조건있어요?", hit, alone=False)) > 1


def test_a_later_question_naming_no_topic_borrows_the_one_before() -> None:
    assert with_borrowed_topic(["선물포장 유료에요?", "어떻게 신청해요"])[1].startswith("선물 포장")
    assert with_borrowed_topic(["배송비 얼마에요?", "반품은요?"])[1] == "반품은요?"
    # a question naming no noun asks with its own words («맛있», «매운»), not the nouns before
    assert with_borrowed_topic(["포기김치 받자마자 먹어도돼요?", "언제 젤 맛있어요?"])[1] == "언제 젤 맛있어요?"


def test_how_to_ask_for_gift_wrapping_is_answered_from_its_article(manual_svc: Any) -> None:
    reply = manual_svc.ask("선물포장 유료에요? 어케 신청해요")
    assert not reply["handoff"] and "배송 메모" in reply["answer"], reply
    assert "반품" not in reply["answer"], reply


@pytest.mark.parametrize(("typed", "read"), [
    ("무통장입금 깜빡하면 어케돼요", "입금하지 않으면"), ("쿠폰 남한테 줄 수 있어요?", "다른 분께 양도할 수"),
])
def test_chat_words_read_in_the_manual_s_words(typed: str, read: str) -> None:
    assert read in normalize_message(typed).text
