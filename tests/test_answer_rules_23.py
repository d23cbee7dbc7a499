"""Readings of chat found in session 28: a follow-up asking another thing of the topic just answered, in a sentence of
that article («주말도 포함이에요?» after the card-refund days); a detail told after a question, read with it
(«냄비 사이즈 잘못 골랐어요 안썼어요» after «교환 되나요»); «비건», which Kiwi read as 비(rain) + 건; a yes/no question
asked with the copula («…포함이에요?», «무료예요?») and those that only look like one.

The service tests run on both databases:
    pytest tests/test_answer_rules_23.py
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test pytest tests/test_answer_rules_23.py
"""

from __future__ import annotations

from typing import Any

import pytest

from sajang.graphs.inquiry.answering import is_yes_no
from sajang.knowledge.text import tokenize

# --- a follow-up asking another thing of the same topic ---------------------------------------------------------------


def test_weekends_asked_after_the_refund_days_are_the_article_s_own_line(manual_svc: Any) -> None:
    first = manual_svc.ask("카드 환불 며칠 걸려요")
    assert "3~5영업일" in first["answer"], first
    weekend = manual_svc.ask("주말도 포함이에요?", thread_id=first["thread_id"])
    assert not weekend["handoff"], weekend
    assert weekend["answer"].startswith("아니요") and "주말과 공휴일은 기간에 포함되지 않습니다" in weekend["answer"], weekend
    assert "체크카드" not in weekend["answer"], weekend  # (not the table of days again)


def test_another_thing_asked_the_previous_way_is_still_a_topic_swap(manual_svc: Any) -> None:
    # («네이버페이는요?» names a row of the same table: that row, not a sentence that merely has its words)
    first = manual_svc.ask("카드 환불 며칠 걸려요")
    pay = manual_svc.ask("네이버페이는요?", thread_id=first["thread_id"])
    assert "1~3영업일" in pay["answer"] and "3~5영업일" not in pay["answer"], pay


def test_a_detail_told_after_a_question_is_answered_with_it(manual_svc: Any) -> None:
    first = manual_svc.ask("교환 되나요")
    assert first["sources"][0]["id"] == "exchange-policy", first
    told = manual_svc.ask("냄비 사이즈 잘못 골랐어요 안썼어요", thread_id=first["thread_id"])
    assert not told["handoff"], told
    assert told["sources"][0]["id"] == "exchange-policy" and "6,000원" in told["answer"], told


# --- «비건» is one word ------------------------------------------------------------------------------------------------


def test_vegan_is_one_noun() -> None:
    assert "비건" in tokenize("비건 제품 있어요?") and "비건" in tokenize("비건·할랄")


def test_vegan_after_halal_is_answered_from_the_same_section(manual_svc: Any) -> None:
    first = manual_svc.ask("할랄 있나요")
    vegan = manual_svc.ask("그럼 비건은요?", thread_id=first["thread_id"])
    assert not vegan["handoff"], vegan
    assert "채식" in vegan["answer"], vegan


# --- yes or no asked with the copula --------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["주말도 포함이에요?", "선물포장 무료예요?", "간장게장 꽃게 국산이에여?"])
def test_the_copula_asked_with_a_mark_is_a_yes_no_question(text: str) -> None:
    assert is_yes_no(text)


@pytest.mark.parametrize("text", [
    "제대로 확인은 하고 보내시는 거예요?",  # a reproach, no rule asked
    "24시간 지나면 접수 안 되는 거예요?",  # asked the other way round: «네» would mean either
    "이거 상한 거 아니에요?",
    "제 주문 지금 무슨 상태에여?",  # which state, not whether
    "배송비 얼마예요?",
    "포함이에요",  # (no mark: told, not asked)
])
def test_what_only_looks_like_a_copula_question_is_not_one(text: str) -> None:
    assert not is_yes_no(text)


def test_a_reproach_is_not_answered_yes(manual_svc: Any) -> None:
    reply = manual_svc.ask("김치 손만두 시켰는데 전혀 다른 상품이 왔어요 제대로 확인은 하고 보내시는 거예요?")
    assert not any(paragraph.startswith("네") for paragraph in reply["answer"].split("\n\n")), reply
