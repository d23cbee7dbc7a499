"""Readings of chat found in session 14 (the eleventh held-out set, read after its blind measure, and the
follow-ups left over from the tenth), each checked on messages of its own kind worded for this file.

The service tests run on both databases:
    pytest tests/test_answer_rules_9.py
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test pytest tests/test_answer_rules_9.py
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from test_answer_units import ARTICLES, _reply
from test_own_orders import A_PHONE4, A

from sajang.graphs.inquiry.answering import (
    counts_nothing_asked,
    heading_says,
    relevant_units,
    row_says,
    speaks_to,
)
from sajang.graphs.inquiry.classifier import incident_evidence
from sajang.graphs.inquiry.nodes import topic_swap
from sajang.graphs.inquiry.order_answers import BOTH_ORDERS, order_in_condition
from sajang.graphs.inquiry.prompts import VARIANTS, T
from sajang.graphs.inquiry.smalltalk import is_remark

GREETING = T["greet"]["ko"].split("{shop}")[0].strip()


# --- follow-ups on a list of orders ----------------------------------------------------------------------

def test_what_is_in_them_after_a_list_gives_each_orders_items(manual_svc: Any) -> None:
    listed = manual_svc.ask("출고 전인 주문 있어요?", customer_id=A)
    assert "부대찌개" in listed["answer"] and "소불고기" in listed["answer"], listed["answer"]
    items = manual_svc.ask("그 주문에는 뭐 들어 있어요?", customer_id=A, thread_id=listed["thread_id"])
    answer = items["answer"]
    # each order's items, not the list again: the second item of the paid order and its quantity
    assert "매콤 떡볶이 (2인분) 2개" in answer and "소불고기 밀키트 (600g) 1개" in answer, answer


def test_that_order_after_one_answered_in_full_is_that_one(manual_svc: Any) -> None:
    first = manual_svc.ask("만두 시킨 거 어디까지 왔어요?", customer_id=A)
    assert "김치 손만두" in first["answer"] and "고기 왕만두" in first["answer"], first["answer"]
    paid = manual_svc.ask("그 주문 얼마 결제됐어요?", customer_id=A, thread_id=first["thread_id"])
    assert "23,800원" in paid["answer"] and "32,700원" not in paid["answer"], paid["answer"]


def test_both_of_them_after_one_answered_in_full_is_every_order_named(manual_svc: Any) -> None:
    first = manual_svc.ask("만두 시킨 거 어디까지 왔어요?", customer_id=A)
    both = manual_svc.ask("둘 다 얼마 결제됐어요?", customer_id=A, thread_id=first["thread_id"])
    assert "23,800원" in both["answer"] and "32,700원" in both["answer"], both["answer"]


def test_an_order_answer_greets_only_on_the_first_turn(manual_svc: Any) -> None:
    first = manual_svc.ask("송장번호 알려주세요", customer_id=A)
    assert first["answer"].startswith(GREETING), first["answer"]
    again = manual_svc.ask("만두 시킨 거 얼마 결제됐어요?", customer_id=A, thread_id=first["thread_id"])
    assert GREETING not in again["answer"] and "23,800원" in again["answer"], again["answer"]


# --- a yes or a no only to what the manual says ----------------------------------------------------------

@pytest.mark.parametrize(("question", "article"), [
    ("적립금 친구한테 넘겨줄 수 있어요?", "points"),
])
def test_no_yes_to_what_the_article_does_not_speak_of(question: str, article: str) -> None:
    hit = ARTICLES[article]
    units = relevant_units(question, hit)
    assert units and not speaks_to(question, hit, units[0])
    answer = _reply(question, article)
    assert not re.search(r"(?:^|\n\n)(?:네|아니요)[,.]", answer), answer


@pytest.mark.parametrize(("question", "article", "verdict"), [
    ("주소 잘못 적었는데 바꿀 수 있어요?", "delivery-address-change", "네"),
])
def test_a_yes_stays_where_the_unit_speaks_to_the_question(question: str, article: str, verdict: str) -> None:
    answer = _reply(question, article)
    assert answer.startswith(f"{verdict}, ") or f"\n\n{verdict}, " in answer or f"\n\n{verdict}.\n" in answer, answer


# --- the heading says the question -----------------------------------------------------------------------

def test_a_question_worded_as_a_sections_heading_is_answered_not_handed_off(manual_svc: Any) -> None:
    hit = ARTICLES["account"]
    assert heading_says("비밀번호 잊었어요", hit, relevant_units("비밀번호 잊었어요", hit))
    assert not heading_says("아이디 잊었어요", hit, relevant_units("아이디 잊었어요", hit))
    assert not heading_says("비밀번호", hit, relevant_units("비밀번호", hit))  # one word: a topic only
    reply = manual_svc.ask("비밀번호 잊었어요")
    assert not reply["handoff"] and "비밀번호 찾기" in reply["answer"], reply
    unknown = manual_svc.ask("아이디 까먹었는데 어떻게 찾아요")  # the manual says nothing of the id
    assert unknown["handoff"], unknown


def test_a_row_the_question_names_answers_the_figure_asked(manual_svc: Any) -> None:
    units = relevant_units("골드 되려면 얼마 사야돼요", ARTICLES["membership-tiers"])
    assert row_says("골드 되려면 얼마 사야돼요", units)
    assert not row_says("골드 등급 좋아요", units)  # no figure asked
    fee = "체크카드 환불 수수료 얼마에요?"  # a sum asked of a row that states days
    assert not row_says(fee, relevant_units(fee, ARTICLES["refund-timing"]))
    reply = manual_svc.ask("단골 되려면 얼마 사야 돼요")
    assert not reply["handoff"] and "15만 원" in reply["answer"], reply


# --- a count the article never states ----------------------------------------------------------------------

@pytest.mark.parametrize(("question", "article", "cannot"), [
    ("사진리뷰 사진 몇장 올려야 500원 줘요", "points", True),
    ("무쇠냄비 AS 기간 몇년이에요", "kitchenware-care", True),
    ("대량주문 몇세트부터 돼요", "bulk-orders", False),
    ("대량 주문 몇개부터 할인돼요?", "bulk-orders", False),  # «몇 개» is answered by any list
    ("고기 왕만두 몇 키로?", "cooking-mandu", False),  # «1.4kg»
    ("쿠폰 몇 장까지 같이 써요?", "coupons", False),
])
def test_a_count_asked_needs_the_article_to_state_one(question: str, article: str, cannot: bool) -> None:
    assert counts_nothing_asked(question, ARTICLES[article]) is cannot


# --- urgency: a case asked about is no report ----------------------------------------------------------------

@pytest.mark.parametrize("text", ["포장 터져서 오면요?", "혹시 파손된 상품은 사진을 언제까지 보내야 하는지 여쭤봐도 될까요",
                                  "냉동만두 겉만 살짝 말랑하게 왔는데 변질된건가요"])
def test_a_case_asked_about_is_no_incident(text: str) -> None:
    assert incident_evidence(text) == []


@pytest.mark.parametrize("text", [
    "포장 터져서 왔어요 ㅠ", "제 상품이 파손됐는데 어떻게 해요", "파손된 상품 받았는데 사진 언제까지 보내요?",
    "완전히 녹아서 물이 줄줄 흐르는데 변질된건가요", "고기가 변질된건가요 냄새나요",
    # the review's counter-examples: a thaw beside another sign, a report worded generically, a finished arrival
    "갈비 살짝 녹아서 왔는데 변질된건가요 색이 거무스름해요", "만두 조금 녹아서 왔는데 곰팡인지 모르겠어요 초록색 점이 있어요",
    "닭가슴살 조금 녹아서 왔는데 끈적끈적해요 상한 거 아니에요?", "변질된 제품은 어디로 보내요? 방금 열어봤어요",
    "제가 받은 파손된 상품은 어디로 보내요?", "파손된 상품은 교환 방법 알려주세요 사진 첨부합니다",
    "누락된 상품은 언제까지 보내주시나요", "유리병 깨져서 왔으면요?? 손 다칠뻔"])
def test_a_report_stays_an_incident(text: str) -> None:
    assert incident_evidence(text), text


# --- the indirect register asks; a guest's order inside a condition --------------------------------------------

def test_the_indirect_register_is_a_question_not_a_remark() -> None:
    assert not is_remark("혹시 카톡 채널 추가하면 쿠폰 받을 수 있을까 해서요")
    assert is_remark("선물로 드릴까 하고 둘러보는 중이에요")
    assert is_remark("안녕하세요. 요즘 이사 준비 때문에 정신이 하나도 없네요.")


@pytest.mark.parametrize(("text", "imagined"), [
    ("혹시 주문한 거랑 다른 상품이 오면 배송비는 제가 부담해야 하는 건지 여쭤보고 싶어서요", True),
    ("시킨 게 녹아서 오면 환불돼요?", True),
    ("주문한 거 안 왔는데 취소하면 환불 돼요?", False),
    ("시킨 거 언제 와요?", False),
    ("주문한거 배송지 바꾸려면요", False),  # a purpose, no delivery imagined: their order
    ("주문한거 취소하면 환불 언제돼요?", False),
])
def test_an_order_inside_a_condition_is_part_of_the_case(text: str, imagined: bool) -> None:
    assert order_in_condition(text) is imagined


def test_a_guest_asking_about_a_case_with_their_order_in_it_is_not_asked_to_verify(manual_svc: Any) -> None:
    reply = manual_svc.ask("혹시 주문한 거랑 다른 상품이 오면 배송비는 제가 부담해야 하는 건지 여쭤보고 싶어서요")
    # the rule (or a person, when the manual is not sure), never a request to verify first
    assert "4자리" not in reply["answer"] and not reply.get("pending_question"), reply


# --- a condition on a sibling after a guest's policy answer ------------------------------------------------------

def test_a_condition_naming_a_sibling_swaps_it_in_the_previous_question() -> None:
    base = "혹시 신용카드로 결제한 건 환불까지 얼마나 걸릴까 해서요"
    fragment, swapped, replaced = topic_swap(f"혹시 네이버페이면요 {base}", base)
    assert (fragment, replaced) == ("네이버페이", "신용카드")
    assert swapped == "혹시 네이버페이로 결제한 건 환불까지 얼마나 걸릴까 해서요"
    # the word said last, not the one turned down
    assert topic_swap(f"카드 말고 네이버페이면요 {base}", base)[:1] == ("네이버페이",)


def test_a_guests_follow_up_continues_the_rule_and_the_verification_is_asked_once(manual_svc: Any) -> None:
    first = manual_svc.ask("혹시 신용카드로 결제한 건 환불까지 얼마나 걸릴까 해서요")
    assert "3~5영업일" in first["answer"] and "4자리" in first["answer"], first
    second = manual_svc.ask("혹시 네이버페이면요?", thread_id=first["thread_id"])
    assert not second["handoff"] and "1~3영업일" in second["answer"], second
    assert "4자리" not in second["answer"] and GREETING not in second["answer"], second


def test_a_guest_telling_about_their_order_after_the_rule_is_asked_to_verify_again(manual_svc: Any) -> None:
    first = manual_svc.ask("배송조회좀 하려구요")
    assert "4자리" in first["answer"], first
    again = manual_svc.ask("이름은 김하나이고 어제 주문했어요", thread_id=first["thread_id"])
    assert "4자리" in again["answer"] and "김하나" not in again["answer"], again


def test_a_later_answer_opens_without_a_greeting_nor_a_yes() -> None:
    openings = VARIANTS["manual_open"]["ko"] + VARIANTS["manual_open"]["en"]
    assert not any("{shop}" in o or "안녕" in o or re.match(r"(?:네|예|yes)\b", o, re.IGNORECASE) for o in openings)


@pytest.mark.parametrize(("text", "every"), [("그 주문들 얼마예요", True), ("두개 다 얼마예요", True), ("둘 다요", True),
                                             ("그거들어있는거 뭐에요?", False), ("the small one?", False)])
def test_every_order_named_only_when_the_line_says_so(text: str, every: bool) -> None:
    assert bool(BOTH_ORDERS.search(text)) is every


def test_the_address_question_keeps_its_section_and_its_yes(manual_svc: Any) -> None:
    reply = manual_svc.ask("주소 잘못 입력했는데 변경 가능해요?")
    assert "네, " in reply["answer"] and "반송" not in reply["answer"], reply


def test_the_order_a_guest_proved_is_the_one_answered(manual_shop: Any, manual_svc: Any) -> None:
    asked = manual_svc.ask("제 택배 언제 와요?")
    assert "4자리" in asked["answer"], asked
    done = manual_svc.ask(f"{manual_shop.preparing} {A_PHONE4}", thread_id=asked["thread_id"])
    # the order verified with, not the customer's newest open one
    assert manual_shop.preparing in done["answer"] and manual_shop.paid not in done["answer"], done


def test_a_product_typed_without_its_spaces_finds_the_order(manual_svc: Any) -> None:
    reply = manual_svc.ask("김치손만두 시킨건 얼마였어요?", customer_id=A)
    assert "23,800원" in reply["answer"] and "28,700원" not in reply["answer"], reply


# --- while a person is coming -------------------------------------------------------------------------------

def test_a_follow_up_while_a_person_is_coming_is_read_with_the_question_before(manual_svc: Any) -> None:
    first = manual_svc.ask("카드 할부 돼요?")
    person = manual_svc.ask("상담원 연결해 주세요", thread_id=first["thread_id"])
    assert person["handoff"], person
    more = manual_svc.ask("몇만원부터여?", thread_id=first["thread_id"])  # alone it names no topic: it went unanswered
    assert more["handoff"] and more["answer"] and "5만 원" in more["answer"], more
    assert "상담원" in more["answer"].split("\n\n")[-1], more
