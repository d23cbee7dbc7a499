"""Readings of chat found in session 23, from the misses of set 20 (read after it was measured blind in
session 22) and of the readings noticed then: a yes/no answer read from the clause that names the thing
asked, and a use the manual warns against answered «아니요»; the list of cases asked for; the case item saying
what the customer told of the goods, and the catalogue's kind of a product named (the rule is written for
«주방용품», the customer names «찜기»); chat words for the manual's; the courier of their parcel, what was put
in an order, what an exchange costs asked by a guest; follow-ups asking a figure of the thing just asked.

The service tests run on both databases:
    pytest tests/test_answer_rules_18.py
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test pytest tests/test_answer_rules_18.py
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from test_answer_units import _reply
from test_own_orders import A_TRACK, A

from sajang.graphs.inquiry.answering import (
    _GOODS_KINDS,
    AnswerUnit,
    _asked_types,
    _render,
    kinds_named,
    yes_or_no,
)
from sajang.graphs.inquiry.classifier import incident_evidence
from sajang.graphs.inquiry.intents import ORDER_ID, parse_own_query
from sajang.graphs.inquiry.order_answers import is_own_data_question
from sajang.knowledge.normalize import normalize_message
from sajang.knowledge.service import product_kinds_of
from sajang.knowledge.text import topic_nouns

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=ZoneInfo("Asia/Seoul"))

# --- yes or no -------------------------------------------------------------------------------------------------


def _verdict_line(answer: str) -> str:
    """The reply's first line after the greeting or opening: where a verdict stands."""
    return next(line for line in answer.splitlines()[1:] if line.strip()) if "\n" in answer else answer


@pytest.mark.parametrize(("question", "article"), [
    ("도마 끓는물에 소독해도 되나요", "kitchenware-care"),  # «끓는 물 소독은 갈라짐의 원인이 됩니다»
    ("갈비탕 해동한거 다시 얼려도 되나요", "cooking-galbitang"),  # «다시 얼리지 마세요»
])
def test_a_use_the_manual_warns_against_is_answered_no(question: str, article: str) -> None:
    answer = _reply(question, article)
    assert "아니요" in answer and "네." not in answer and "네," not in answer


@pytest.mark.parametrize(("nouns", "verdict"), [
    (["인덕션"], True),  # the clause naming it: «인덕션·가스레인지·하이라이트 모두 사용 가능하며»
    (["식기세척기"], False),  # «식기세척기는 사용하지 마세요»
    ([], None),  # the whole sentence says both
])
def test_the_clause_naming_the_thing_asked_gives_the_verdict(nouns: list[str], verdict: bool | None) -> None:
    unit = AnswerUnit(text="인덕션·가스레인지·하이라이트 모두 사용 가능하며 식기세척기는 사용하지 마세요",
                      section=1, heading="무쇠 전골냄비 (24cm)", kind="item")
    assert yes_or_no([unit], nouns) is verdict


def test_which_cases_asked_quotes_the_list_of_those_cases() -> None:
    refused = _reply("어떤 경우에 반품이 안 되나요?", "return-policy")
    assert "반품이 어려운 경우" in refused and "반품이 가능한 경우" not in refused, refused
    allowed = _reply("어떤경우에 반품 가능해요", "return-policy")
    assert "반품이 가능한 경우" in allowed and "반품이 어려운 경우" not in allowed, allowed


# --- what the customer told of the goods ------------------------------------------------------------------------


def test_the_case_item_saying_what_was_told_answers_whether_the_rule_covers_it() -> None:
    used = _reply("찜기(주방용품) 한번 사용해 봤는데 별로네요 반품 되나요", "return-policy")
    assert "사용했거나 세척한 주방용품" in used, used
    unopened = _reply("도마(주방용품) 안 뜯었는데 반품 돼요?", "return-policy")
    assert "포장을 뜯지 않았거나" in unopened and "사용했거나 세척한" not in unopened, unopened


def test_the_catalogue_names_the_kind_of_goods_a_rule_is_written_for() -> None:
    kinds = product_kinds_of([("스테인리스 찜기 (28cm)", "주방용품"), ("친환경 주방세제 (1L)", "생활용품"),
                              ("고기 왕만두 (1.4kg)", "냉동식품"), ("김치 손만두 (1kg)", "냉동식품"),
                              ("실리콘 조리도구 5종 세트", "주방용품"), ("포기김치 (3kg)", "반찬"),
                              ("된장찌개 밀키트", "밀키트")])
    # the head noun names the product; a modifier («고기», «김치»), a count («세트»), the category's word do not
    assert kinds == {"찜기": "주방용품", "주방세제": "생활용품", "왕만두": "냉동식품", "손만두": "냉동식품",
                     "조리도구": "주방용품", "포기김치": "반찬", "된장찌개": "밀키트"}
    rules = [{"title": "반품 기준", "body": "사용했거나 세척한 주방용품, 생활용품, 냉동·냉장 식품(만두, 반찬 등)"}]
    assert kinds_named("찜기 한번 써봤는데 반품 되나요", kinds, rules) == ["주방용품"]
    assert kinds_named("주방 세제 뜯었어요", kinds, rules) == ["생활용품"]
    # «만두»: every product ending so is frozen food, a kind these rules never name
    assert kinds_named("만두 반품 돼요?", kinds, rules) == []
    assert kinds_named("Can I return the steamer?", kinds, rules) == []


def test_the_kind_of_a_product_named_finds_the_case_item_of_that_kind() -> None:
    token = _GOODS_KINDS.set(frozenset({"주방", "용품"}))  # «찜기» is 주방용품 in the catalogue
    try:
        used = _reply("찜기 한번 사용해 봤는데 반품 돼요?", "return-policy")
    finally:
        _GOODS_KINDS.reset(token)
    # (the case said as a sentence with its heading's verdict: see test_answer_rules_26)
    assert "사용했거나 세척한 주방용품, 일부를 먹은 식품은 반품이 어렵습니다" in used, used
    assert "찜기" not in used and "(주방용품)" not in used


# --- chat words ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "read"), [
    ("카카오페이로 결재한거 환불", "카카오페이로 결제한거 환불"),
    ("땅콩알러지 있는데", "땅콩 알레르기 있는데"),
    ("벌써 출발했다고 떠요", "이미 출고됐다고 떠요"),
    ("걍 택배 안받고 돌려보내면 되는거죠?", "걍 수취 거부하고 반송하면 되는거죠?"),
    ("박스 두개로 온다 했는데", "상자 두개로 온다 했는데"),
    ("갈비탕 냉동실에 넣어두면 얼마나 가요", "갈비탕 냉동 보관하면 얼마나 가요"),
    ("냉장고에선 몇일 가요?", "냉장 보관 며칠 가요?"),
    ("찜기 한번 써봤는데", "찜기 한번 사용해 봤는데"),
])
def test_chat_words_are_read_as_the_manual_writes_them(typed: str, read: str) -> None:
    assert normalize_message(typed).text == read


@pytest.mark.parametrize(("text", "nouns"), [
    ("제주 살아요 6만원 넘게 사면 배송비 0원 맞죠?", ["제주", "배송비"]),  # «살아요» is no proper noun
    ("6만원어치 사서", []),  # «어치», the amount's suffix
    ("큰일났어요 무쇠냄비에 녹이 슬었어요", ["무쇠", "냄비"]),
])
def test_no_word_of_chat_is_taken_for_a_topic(text: str, nouns: list[str]) -> None:
    assert [n for n in topic_nouns(text) if n != "녹"] == nouns


# --- their own orders ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["보냈다던데 어느 택배사로 보낸거임", "어느 택배사로 보냈어요?"])
def test_the_courier_a_parcel_was_sent_with_is_theirs(manual_svc: Any, text: str) -> None:
    reply = manual_svc.ask(text, customer_id=A)
    assert not reply["handoff"] and A_TRACK in reply["answer"], reply


def test_the_courier_the_shop_uses_stays_the_rule(manual_svc: Any) -> None:
    reply = manual_svc.ask("택배사 어디 써요?", customer_id=A)
    assert "CJ대한통운" in reply["answer"] and A_TRACK not in reply["answer"], reply


def test_what_was_put_in_the_order_is_its_items() -> None:
    assert "items" in parse_own_query("지금준비중인주문 얼마결제됐고 뭐뭐담았는지 다시알려주세요", NOW).facts


@pytest.mark.parametrize("text", ["사이즈를 잘못 골라서 찜기 교환하고 싶은데요 택배비는 얼마나 내야 하나요?",
                                  "교환하려는데 택배비 제가 내요?"])
def test_a_guest_asking_what_an_exchange_costs_asks_the_rule(text: str) -> None:
    assert not is_own_data_question(text, "exchange", parse_own_query(text, NOW), [], guest=True)


# --- follow-ups ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("turns", "stated"), [
    (["갈비탕 냉동실에 넣어두면 얼마나 가요", "만두는여?"], "9개월"),  # the article titled with it, just below
    (["생일쿠폰 얼마짜리에요??ㅎㅎ", "몇만원 이상 사야 쓸수있어요"], "30,000원"),  # that coupon's minimum
    (["선물포장 되나여", "카드도 써주심?", "몇글자까지 돼요"], "100자"),  # a figure of what was just answered
])
def test_a_follow_up_asking_a_figure_is_answered_of_the_thing_just_asked(manual_svc: Any, turns: list[str],
                                                                         stated: str) -> None:
    reply = manual_svc.ask(turns[0])
    for line in turns[1:]:
        reply = manual_svc.ask(line, thread_id=reply["thread_id"])
    assert not reply["handoff"] and stated in reply["answer"], reply


# --- found by the review of this change --------------------------------------------------------------------------


@pytest.mark.parametrize("question", ["도마 식세기 안되죠?", "갈비탕 다시 얼리면 안되죠?"])
def test_a_question_asked_in_the_negative_gets_no_yes_or_no(question: str) -> None:
    # «네» would agree that it cannot, «아니요» read as «it can»: the rule is quoted without either
    answer = _reply(question, "kitchenware-care" if "도마" in question else "cooking-galbitang")
    assert not any(line.startswith(("네", "아니요")) for line in answer.splitlines()), answer


def test_a_list_of_cases_answers_without_a_verdict_each_list_under_its_heading() -> None:
    answer = _reply("냄비(주방용품) 뜯었는데 반품 되나요 한번도 사용하지 않았어요", "return-policy")
    assert not any(line.startswith(("네", "아니요")) for line in answer.splitlines()), answer
    # the case they told («사용하지 않은»), not the opposite one («사용했거나»), under its heading
    assert answer.startswith("반품이 가능한 경우:") and "사용했거나" not in answer, answer


def test_items_of_two_lists_stand_each_under_its_own_heading() -> None:
    refused = AnswerUnit(text="사용했거나 세척한 주방용품", section=2, heading="반품이 어려운 경우", kind="item")
    eaten = AnswerUnit(text="일부를 먹은 식품", section=2, heading="반품이 어려운 경우", kind="item")
    late = AnswerUnit(text="받으신 지 7일이 지난 단순 변심 반품", section=2, heading="반품이 어려운 경우", kind="item")
    allowed = AnswerUnit(text="확인만 하고 사용하지 않은 경우", section=1, heading="반품이 가능한 경우", kind="item")
    # (three cases: a list; one or two are said as a sentence, see test_answer_rules_27)
    assert _render([refused, eaten, late, allowed], "ko") == (
        "반품이 어려운 경우:\n- 사용했거나 세척한 주방용품\n- 일부를 먹은 식품\n- 받으신 지 7일이 지난 단순 변심 반품\n\n"
        "반품이 가능한 경우:\n- 확인만 하고 사용하지 않은 경우")


# --- found in set 22, read after it was measured blind ---------------------------------------------------------------


@pytest.mark.parametrize("text", ["갈비탕 국물이 너무 맑은데 이거 상한거 아니죠?",
                                  "갈비탕 끓였는데 국물이 너무 맑아요 혹시 상한 거 아니에요? 애들 먹여도 되나 무섭네"])
def test_a_clear_broth_asked_about_is_no_spoilage_report(text: str) -> None:
    assert incident_evidence(text) == []


def test_a_clear_broth_that_smells_or_made_someone_ill_is_still_reported() -> None:
    assert "spoilage" in incident_evidence("국물이 맑은데 냄새가 시큼해요 상한 거 아니에요?")


@pytest.mark.parametrize("text", ["여러개 시킨거 중에 하나만 부분취소하면 배송비 다시 붙음??",
                                  "주문 내역 같은 개인정보는 얼마 동안 보관하나요?"])
def test_a_guest_asking_what_the_rule_does_is_not_asked_to_verify(text: str) -> None:
    assert not is_own_data_question(text, "cancel", parse_own_query(text, NOW), [], guest=True)


def test_a_guest_asking_us_to_look_at_their_order_is_asked_to_verify() -> None:
    text = "내가 주문한거 배송지 제대로 들어갔는지 봐줄수있음?"
    assert is_own_data_question(text, "delivery", parse_own_query(text, NOW), [], guest=True)


def test_what_was_ordered_last_week_lists_every_orders_items(manual_svc: Any) -> None:
    reply = manual_svc.ask("지난주에 뭐뭐 시켯었는지 기억이 안나요", customer_id=A)
    # each order of the week with all its items, none only named in a list «김치 손만두 (1kg) 외 1건 · 배송 완료»
    listed = [line for line in reply["answer"].splitlines() if ORDER_ID.search(line) and line.startswith("- ")]
    assert not reply["handoff"] and not any(" 외 " in line for line in listed), reply


def test_how_long_something_is_kept_asks_a_duration_not_an_amount() -> None:
    kinds = _asked_types("주문 내역은 얼마 동안 보관하나요?")
    assert "duration" in kinds and "money" not in kinds, kinds
    assert "money" in _asked_types("배송비 얼마예요?")


def test_gift_wrapping_asked_is_no_case_of_a_wrapping_torn() -> None:
    # «포장» is what the question is about, not something done to the goods: the wrapping article answers
    answer = _reply("선물포장 어떻게 신청해여? 돈 따로 받아여?", "gift-wrapping", "return-policy")
    assert "배송 메모" in answer and "선물 포장을 뜯어" not in answer, answer
