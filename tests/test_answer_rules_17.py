"""Readings of chat found in session 22, from the misses of set 19 (read after it was measured blind) and of
set 21 (written blind by a helper as a second sample of the same writer's style; set 20 stays unread): the
questions of one message split where the second has no question word, counts asked of an article that
states none, requests made before and orders named by their status or day, money not come back that is no
missing item, harm and fraud told in words the rules did not know, and a reply whose quoted units read like
its answer.

The service tests run on both databases:
    pytest tests/test_answer_rules_17.py
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test pytest tests/test_answer_rules_17.py
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from test_answer_units import ARTICLES, _reply
from test_own_orders import A

from sajang.graphs.inquiry.answering import (
    actions_asked,
    asks_value_of_unknown,
    manual_parts,
    question_parts,
)
from sajang.graphs.inquiry.classifier import incident_evidence
from sajang.graphs.inquiry.handoff import _urgent_notice
from sajang.graphs.inquiry.intents import parse_own_query
from sajang.graphs.inquiry.order_answers import is_own_data_question
from sajang.knowledge.normalize import normalize_message

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=ZoneInfo("Asia/Seoul"))


# --- chat endings and the questions of a message -------------------------------------------------------------

@pytest.mark.parametrize(("typed", "read"), [
    ("적립금몇원부터쓸수있어요? 유효기간은요", "적립금 몇 원부터 쓸 수 있어요? 유효 기간은요"),  # no «은 요»
    ("국물 자작하게 하고싶으면욤", "국물 자작하게 하고 싶으면요"),
    ("냉면용 육수", "냉면용 육수"),  # «-용» after 면 is a word's own ending
])
def test_the_polite_ending_stays_with_its_word(typed: str, read: str) -> None:
    assert normalize_message(typed).text == read


@pytest.mark.parametrize(("text", "parts"), [
    ("배송비 얼마에요 5만원넘으면 무료배송인가요?", ["배송비 얼마에요", "5만원넘으면 무료배송인가요?"]),
    ("적립금 몇 원부터 쓸 수 있어요? 유효 기간은요", ["적립금 몇 원부터 쓸 수 있어요?", "유효 기간은요"]),
    ("상담 몇 시까지 해요 토요일도 해요?", ["상담 몇 시까지 해요 토요일도 해요?"]),  # a day asks the same again
    # whether the rule just asked about covers a case too: one question
    ("현금영수증 어디서 받아요 적립금 쓴것도 되나요?", ["현금영수증 어디서 받아요 적립금 쓴것도 되나요?"]),
    ("도마 관리 어떻게해요 식세기 돼요?", ["도마 관리 어떻게해요 식세기 돼요?"]),
])
def test_a_yes_no_question_of_its_own_topic_is_a_question_of_its_own(text: str, parts: list[str]) -> None:
    assert question_parts(text) == parts


def test_both_questions_of_a_fee_message_are_answered() -> None:
    answer = _reply("배송비 얼마에요 5만원넘으면 무료배송인가요?", "delivery-fee")
    assert "3,000원" in answer and "50,000원" in answer, answer


def test_the_period_asked_after_a_question_mark_is_answered() -> None:
    answer = _reply("적립금 몇 원부터 쓸 수 있어요? 유효 기간은요", "points")
    assert "1,000원" in answer and "1년" in answer, answer


def test_a_count_goes_to_the_article_that_states_one() -> None:
    parts = manual_parts("탈퇴해도 주문기록은 남아요? 몇년 보관함?", [ARTICLES["account"], ARTICLES["privacy"]])
    assert [h["id"] for _q, h, _u in parts] == ["account", "privacy"], parts
    assert any("5년" in u.text for u in parts[1][2]), parts


def test_a_list_is_quoted_under_its_heading() -> None:
    answer = _reply("반품 안 되는 경우가 뭐예요?", "return-policy")
    assert "반품이 어려운 경우:" in answer and "냉동·냉장 식품" in answer, answer


# --- their own orders --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "guest"), [
    ("저번에 넣은 교환 요청 아직 처리중인가요? 언제쯤 끝날까요", False),
    ("준비중이라는 주문 뭐뭐 들어있었죠? 언제 나가요", False),
    ("오늘 주문 몇건 들어갔어요? 뭐뭐임", False),
    ("저번에 산 갈비탕 배송완료로 뜨는데 언제 도착한걸로 돼있어요? 택배사는요", True),
    ("엄마 선물로 보낸 거 도착했는지 알려주세요", True),
])
def test_an_order_named_by_what_was_done_or_its_state_is_theirs(text: str, guest: bool) -> None:
    orders = [{"status": "delivered", "claims": [{"status": "requested"}], "items": []}]
    assert is_own_data_question(text, "delivery", parse_own_query(text, NOW), orders, guest=guest)


@pytest.mark.parametrize("text", ["부모님께 선물로 보내려면 포장 되나요?", "교환 신청 방법 알려주세요"])
def test_the_rule_stays_the_rule(text: str) -> None:
    assert not is_own_data_question(text, "exchange", parse_own_query(text, NOW), [], guest=True)


def test_a_request_made_before_is_answered_with_its_state(manual_svc: Any) -> None:
    reply = manual_svc.ask("저번에 넣은 교환 요청 아직 처리중인가요? 언제쯤 끝날까요", customer_id=A)
    assert not reply["handoff"] and "교환" in reply["answer"] and "접수" in reply["answer"], reply


def test_how_many_orders_today_lists_them(manual_svc: Any) -> None:
    reply = manual_svc.ask("오늘 주문 몇건 들어갔어요? 뭐뭐임", customer_id=A)
    assert not reply["handoff"] and "부대찌개 밀키트" in reply["answer"], reply


# --- what is an incident, and what the customer is told ----------------------------------------------------------

@pytest.mark.parametrize(("text", "kind"), [
    ("my daughter ate your dumplings and her lips are swelling up badly, she's allergic to shrimp", "safety"),
    ("애기가 아이스팩 뜯어서 안에 젤을 먹었어요 어떡해요", "safety"),
    ("애가 실리카겔 먹은거 같아요 어떡하죠", "safety"),
    ("제 카드로 제가 안 한 주문이 3건이나 결제됐어요 계정 해킹당한 것 같아요", "fraud"),
    ("카드 도용 당한 것 같아요", "fraud"),
    ("주문내역 들어가보니까 모르는 사람 이름이랑 주소 전화번호가 다 보여요", "fraud"),
])
def test_harm_and_fraud_in_new_words_are_incidents(text: str, kind: str) -> None:
    assert kind in incident_evidence(text)


@pytest.mark.parametrize("text", [
    "갈비탕 젤 맛있게 먹었어요 또 시킬게요",  # «젤» is chat for 제일
    "젤리 먹었는데 애들이 좋아하네요",
    "해킹 걱정돼서 그러는데 카드정보 저장돼요?",  # a worry, asked
    "리뷰 사진 도용당했어요",
    "주문서에 받는사람 이름이 다른사람 이름으로 떠있어요 오타났나봐요",
    "주문취소 된건지 확인좀요 돈이 아직 안 들어왔어요",  # the refund, not a missing item
    "적립금 아직 안 들어왔는데 물건 받은 지 사흘 됐어요",
    "구성 품 빠져서 다시 보내 주는 거 배송비 제가 내요?",  # what the resend costs, asked
    "아이스팩 버려도 돼요?",
    "개인정보 보관 기간이 어떻게 돼요",
])
def test_questions_and_money_not_back_are_no_incident(text: str) -> None:
    assert incident_evidence(text) == []


@pytest.mark.parametrize(("evidence", "photo", "key"), [
    ({"safety"}, True, "handoff_urgent_health"),
    ({"fraud"}, False, "handoff_urgent_security"),
    ({"damage"}, False, "handoff_urgent"),
    ({"damage"}, True, "handoff_urgent_photo"),
    ({"legal"}, False, "handoff_urgent_plain"),
])
def test_the_urgent_notice_says_what_to_do_first(evidence: set[str], photo: bool, key: str) -> None:
    assert _urgent_notice(evidence, photo) == key


def test_an_allergic_reaction_is_told_to_get_help_at_once(manual_svc: Any) -> None:
    reply = manual_svc.ask("my daughter ate your dumplings and her lips are swelling up badly, please help")
    assert reply["handoff"] and reply["urgency"] == "urgent", reply
    assert "119" in reply["answer"] and "photo" not in reply["answer"], reply


# --- what the manual does not say, and what it says in other words ------------------------------------------------

def test_where_to_take_a_matter_the_shop_never_mentions_is_unknown() -> None:
    question = "유튜브 채널 운영 중인데 상품 협찬 문의는 어디로 드리면 될까요?"
    assert asks_value_of_unknown(question, ["유튜브", "채널", "협찬"])
    assert not asks_value_of_unknown("교환 문의는 어디로 하면 돼요?", [])


def test_an_adverb_does_not_end_the_deed_asked() -> None:
    assert actions_asked("리뷰를 잘못 올렸는데 지우고 다시 쓸 수 있나요?") == ["지우"]


def test_a_reply_reading_like_its_answer_is_given(manual_svc: Any) -> None:
    reply = manual_svc.ask("VIP 되려면 얼마 써야돼요 ㅋㅋㅋ")
    assert not reply["handoff"] and "VIP" in reply["answer"], reply


@pytest.mark.parametrize("text", ["참기름 유통기한 얼마나돼요", "카톡 상담 있어요?", "회원정보 이메일 변경 어떻게해요"])
def test_a_reply_alike_but_silent_on_a_noun_asked_is_not_given(manual_svc: Any, text: str) -> None:
    reply = manual_svc.ask(text)
    assert reply["handoff"], reply


# --- follow-ups ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("first", "then", "stated"), [
    ("참기름은 안 뜯었으면 반품 되죠?", "그럼 냉동은요?", "반품이 어려운 경우"),
    ("신용카드 환불은 보통 며칠 걸려요", "폰 소액결제로 한건요?", "즉시"),
    ("소불고기 밀키트 어떻게 해먹어요?", "국물 자작하게 하고싶으면욤", "100ml"),
])
def test_a_follow_up_is_answered_in_its_topic(manual_svc: Any, first: str, then: str, stated: str) -> None:
    opened = manual_svc.ask(first)
    reply = manual_svc.ask(then, thread_id=opened["thread_id"])
    assert not reply["handoff"] and stated in reply["answer"], reply


def test_a_limit_asked_is_the_rules_within(manual_svc: Any) -> None:
    reply = manual_svc.ask("메세지카드 글자수 제한 있어욤?")  # «100자 이내»
    assert not reply["handoff"] and "100자" in reply["answer"], reply
