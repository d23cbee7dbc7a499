"""Readings of chat found on the tenth held-out set's misses and the ninth set's unread ones (session 13),
each checked on messages of its own kind worded for this file: an order status named by the question
chooses the section about that status, a Latin name written onto Hangul is the manual's English word,
and the grader reads a number whole.

The service tests run on both databases:
    pytest tests/test_answer_rules_8.py
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test pytest tests/test_answer_rules_8.py
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from test_answer_units import _reply

from sajang.db.types import utcnow
from sajang.graphs.inquiry.answering import told_then_asked
from sajang.graphs.inquiry.classifier import incident_evidence
from sajang.graphs.inquiry.conversation_eval import day_words, states
from sajang.graphs.inquiry.intents import parse_own_query
from sajang.graphs.inquiry.nodes import topic_swap
from sajang.graphs.inquiry.order_answers import VALUE_ONLY, is_own_data_question, read_in_context
from sajang.graphs.inquiry.smalltalk import is_remark
from sajang.knowledge.text import tokenize

# --- which section: the status the question names --------------------------------------------------------

@pytest.mark.parametrize("question", ["상품준비중이면요 취소하면 바로 환불돼요", "상품준비중인데 취소 되나요ㅠ",
                                      "지금 상품 준비중으로 떠있는데 주문취소 가능?"])
def test_a_preparing_order_gets_the_section_on_preparing_orders(question: str) -> None:
    answer = _reply(question, "cancel-before-dispatch")
    assert "채팅이나 전화로" in answer, answer
    assert "'주문 취소' 버튼으로 바로" not in answer, answer


@pytest.mark.parametrize("question", ["결제완료 상태에서 취소하면 바로 환불돼요?", "결제 완료인데 취소 어케해요"])
def test_a_paid_order_gets_the_section_on_paid_orders(question: str) -> None:
    answer = _reply(question, "cancel-before-dispatch")
    assert "'주문 취소' 버튼으로 바로" in answer, answer
    assert "채팅이나 전화로" not in answer, answer


# --- tokens ----------------------------------------------------------------------------------------------

def test_a_latin_name_written_onto_hangul_is_the_manuals_english_word() -> None:
    assert tokenize("visa카드 돼요?")[:2] == tokenize("visa 카드 돼요?")[:2]
    assert "card" in tokenize("visa카드 돼요?")


# --- the grader ------------------------------------------------------------------------------------------

def test_the_grader_reads_a_number_whole() -> None:
    assert not states("배송비는 3,000원입니다.", ["0원"])
    assert states("배송비는 0원입니다.", ["0원"]) and states("무료(0원)", ["0원"])
    assert not states("Nov 27 delivered", day_words(date(2026, 11, 2)))
    assert states("delivered on Nov 2.", day_words(date(2026, 11, 2)))
    assert not states("11/27에 도착", ["11/2"]) and states("2~3일", ["3일"])


# --- follow-ups: a figure asked of the same topic ---------------------------------------------------------

@pytest.mark.parametrize("line", ["몇만원부터여", "얼마까지요?", "며칠이요?", "최소 몇 개부터?", "언제까지요??", "얼마에요"])
def test_a_line_asking_only_for_a_figure_continues_the_previous_question(line: str) -> None:
    memory = {"kind": "manual", "base": "카드 할부 돼요?", "article_id": "payment-methods"}
    r = read_in_context(line, memory, None, None, utcnow())
    assert r.followup == "manual" and r.question.endswith("카드 할부 돼요?"), r


@pytest.mark.parametrize("line", ["언제 와요?", "몇 개 사면 할인돼요?", "배송비 얼마예요?", "교환은 며칠 걸려요?"])
def test_a_line_with_its_own_topic_or_verb_is_no_figure_follow_up(line: str) -> None:
    assert not VALUE_ONLY.match(line), line


# --- incidents: what is missing is no thing of the order -------------------------------------------------

@pytest.mark.parametrize("text", ["안녕하세요. 요즘 이사 준비 때문에 정신이 하나도 없네요.", "시간이 전혀 없어서요",
                                  "연락이 하나도 없어요"])
def test_a_state_of_the_customer_missing_is_no_missing_item(text: str) -> None:
    assert "missing" not in incident_evidence(text), text


@pytest.mark.parametrize("text", ["박스 열어보니 손만두가 아예 없어요", "만두가 하나도 없어요", "세트에 소스 하나 없어요"])
def test_a_thing_of_the_order_missing_still_is(text: str) -> None:
    assert "missing" in incident_evidence(text), text


# --- whose: the shop's rule asked with an order in it ----------------------------------------------------

@pytest.mark.parametrize(("text", "theirs"), [
    ("반품한 주문도 등급 금액에 들어가여??", False),
    ("취소한 거도 구매금액에 포함되나요?", False),
    ("If I refuse the parcel at the door (I changed my mind), how much do you take off my refund?", False),
    ("6만 원어치 주문했는데 하나만 빼고 싶어요. 아직 출고 전이에요. 부분 취소하면 배송비 붙나요?", False),
    ("어제 주문했어요. 제 주문 취소하면 환불 언제 돼요?", True),
    ("만약 제 주문 취소하면 환불 언제 돼요?", False),
    ("반품한 주문 환불 들어갔나요?", True),
    ("where is my order?", True),
])
def test_whether_orders_of_a_kind_count_or_a_case_imagined_is_the_shops_rule(text: str, theirs: bool) -> None:
    query = parse_own_query(text, utcnow())
    assert is_own_data_question(text, "other", query, guest=True) is theirs, text


@pytest.mark.parametrize("text", ["제 주문도 이벤트에 포함됐나요?", "지난주 주문한 거는 등급에 인정되나요?"])
def test_a_verified_customer_asking_whether_theirs_counted_is_asked_about_theirs(text: str) -> None:
    assert is_own_data_question(text, "other", parse_own_query(text, utcnow()), guest=False), text


@pytest.mark.parametrize(("text", "kind"), [
    ("조리도구 세트 시켰는데 상자에 주걱이랑 국자가 없어여 ㅠㅠ", "missing"),
    ("세트 주문했는데 반만 왔어요", "missing"),
    ("The crab arrived thawed and smells really bad.", "spoilage"),
    ("My son ate some and now has a stomach ache", "safety"),
])
def test_an_ordered_thing_not_there_and_a_reaction_told_in_english_are_incidents(text: str, kind: str) -> None:
    assert kind in incident_evidence(text), text


@pytest.mark.parametrize("text", ["만두 시켰는데 재고가 없어요?", "김치 시켰는데 영수증이 없네요", "상자 하나만 왔어요",
                                  "시켰는데 맛이 없어요", "주문했는데 송장 번호 없어요?", "주문했는데 주문내역에 없어요"])
def test_no_stock_a_receipt_or_one_box_of_two_is_no_missing_item(text: str) -> None:
    assert "missing" not in incident_evidence(text), text


@pytest.mark.parametrize(("text", "incident"), [
    ("소스 누락됐어요 다시 보내주면 좋겠어요", True),
    ("구성품 빠졌네요 재배송 시 같이 보내주세요", True),
    ("누락된거다시보내줄때택배비내야되나요?", False),
    ("누락된 상품 재발송하면 배송비 있어요?", False),
    ("구성품이 누락됐어요 다시 보내주세요", True),
    ("만두 한 봉이 누락됐는데 재발송 언제 돼요?", True),
])
def test_how_a_resend_works_is_no_missing_item_and_a_report_still_is(text: str, incident: bool) -> None:
    assert ("missing" in incident_evidence(text)) is incident, text


def test_an_english_sibling_follow_up_asks_the_previous_question_of_itself() -> None:
    memory = {"kind": "manual", "base": "how do I cook the dumplings?", "article_id": "cooking-mandu.en"}
    r = read_in_context("and the galbitang?", memory, None, None, utcnow())
    assert r.followup == "manual" and r.question == "galbitang how do I cook the dumplings?", r
    assert topic_swap(r.question, r.base)[1] == "how do I cook the galbitang?"


def test_whether_a_swollen_kimchi_bag_is_a_defect_asked_in_slang_is_no_incident() -> None:
    assert incident_evidence("김치봉투가 빵빵하게 부풀어서 왓어여 ㅋㅋ 이거 불량임??") == []
    assert "damage" in incident_evidence("만두 터져서 왔는데 불량임")


# --- a story told before the question --------------------------------------------------------------------

def test_a_story_in_sentences_of_its_own_is_told_and_the_last_sentence_asked() -> None:
    story, asked = told_then_asked("어제 야근하고 늦게 들어왔어요. 주말에나 해 먹을 것 같아서요. 냉장 밀키트는 며칠까지 먹어도 돼요?")
    assert asked == "냉장 밀키트는 며칠까지 먹어도 돼요?" and story.startswith("어제 야근")
    assert told_then_asked("배송비 얼마예요? 반품은요?")[0] == ""  # two questions, no story
    assert told_then_asked("만두 맛있어요. 감사합니다.")[0] == ""  # nothing asked


@pytest.mark.parametrize(("text", "incident"), [
    ("뉴스에서 식품 이물질 사고 얘기를 보다가 궁금해져서요. 여기는 이물질이 나왔다고 신고하면 결과를 며칠 안에 알려 주시나요?", False),
    ("작년에 다른 데서 선물세트를 시켰다가 구성품이 하나 빠져서 고생했어요. 여기서도 빠진 상품이 있으면 배송비 내야 하나요?", False),
    ("다른 데서 산 거랑 같이 먹었는데 만두에서 벌레가 나왔어요", True),
    ("유튜브 보면서 만두 먹다가 벌레가 나왔어요", True),
    ("택배를 다른 곳에 두었다가 열어보니 만두가 상했어요", True),
    ("뉴스 보고 산 김치가 썩었어요", True),
    ("만두에서 이물질이 나왔어요", True),
])
def test_what_happened_elsewhere_or_a_report_imagined_is_no_incident(text: str, incident: bool) -> None:
    assert bool(incident_evidence(text)) is incident, text


@pytest.mark.parametrize(("text", "theirs"), [
    ("안녕하세요. 교환 신청해 둔 게 있는데 지금 어떻게 진행되고 있는지 알 수 있을까요?", True),
    ("교환 신청하면 어떻게 진행되나요?", False),
])
def test_a_claim_they_filed_asked_after_is_theirs_and_how_claims_go_is_the_rule(text: str, theirs: bool) -> None:
    assert is_own_data_question(text, "exchange", parse_own_query(text, utcnow()), guest=True) is theirs, text



# --- a remark first: the question invited ---------------------------------------------------------------

@pytest.mark.parametrize(("text", "remark"), [
    ("안녕하세요. 요즘 이사 준비 때문에 정신이 하나도 없네요.", True),
    ("오늘 생일이에요!", True),
    ("기사님이 매번 문앞에 던지고 가세요", False),  # a complaint
    ("영수증 영어로 필요해요", False),  # a request
    ("배송이 너무 늦어요", False),
    ("참기름인데 뜯지도 않았어요", False),
    ("기사님이 문 앞에 던졌어요", False),
    ("포장이 뜯겨서 왔어요", False),
    ("색깔이 사진이랑 달라요", False),
    ("아무 연락이 없네요", False),
    ("입금했어요", False),
    ("비번까먹었어요", False),  # a problem the manual answers
])
def test_a_remark_tells_and_asks_wants_or_reports_nothing(text: str, remark: bool) -> None:
    assert is_remark(text) is remark, text


def test_a_remark_first_gets_an_invitation_and_the_chat_goes_on_without_a_person(manual_svc: Any) -> None:
    first = manual_svc.ask("안녕하세요. 요즘 이사 준비 때문에 정신이 하나도 없네요.")
    assert not first["handoff"] and any(w in first["answer"] for w in ("말씀해 주세요", "물어봐 주세요")), first
    fee = manual_svc.ask("배송비 얼마예요?", thread_id=first["thread_id"])
    assert not fee["handoff"] and "3,000원" in fee["answer"], fee
