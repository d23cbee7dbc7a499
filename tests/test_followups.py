"""Conversation memory: an elliptic follow-up is read with the previous turn's topic and slots.

Run on both databases:
    pytest tests/test_followups.py
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test pytest tests/test_followups.py
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from test_own_orders import A_TRACK, A, Shop, seed_orders

from sajang.config import Settings
from sajang.graphs.inquiry.intents import parse_own_query
from sajang.graphs.inquiry.order_answers import read_in_context

MANUAL = Path(__file__).resolve().parent.parent / "sajang" / "data" / "manual"
ARTICLES = ["delivery-fee", "delivery-remote-area", "return-fee", "exchange-policy", "refund-timing",
            "payment-methods"]
NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


# --- reading a message with the previous turn (no database) ----------------------------------------------

def test_a_follow_up_to_a_manual_answer_carries_the_topic() -> None:
    memory = {"kind": "manual", "base": "배송비 얼마예요?", "article_id": "delivery-fee"}
    r = read_in_context("제주도는요?", memory, None, None, NOW)
    assert r.followup == "manual" and r.question == "제주도 배송비 얼마예요?"
    assert r.base == "배송비 얼마예요?"  # "울릉도는요?" next is read against the same topic
    again = read_in_context("울릉도는?", {**memory, "base": r.base}, None, None, NOW)
    assert again.question == "울릉도 배송비 얼마예요?"
    # a message that stands on its own is read as it is
    alone = read_in_context("반품 배송비는 얼마인가요?", memory, None, None, NOW)
    assert alone.followup is None and alone.question == "반품 배송비는 얼마인가요?"
    assert read_in_context("제주도는요?", None, None, None, NOW).question == "제주도는요?"  # nothing before
    # a condition added to the same topic
    cond = read_in_context("5만원 넘으면요?", memory, None, None, NOW)
    assert cond.followup == "manual" and cond.question == "5만원 넘으면요 배송비 얼마예요?"


def test_a_follow_up_to_an_order_answer_keeps_the_slots() -> None:
    previous = parse_own_query("지난주에 시킨 만두 어디쯤이에요?", NOW)
    memory = {"kind": "order", "base": "지난주에 시킨 만두 어디쯤이에요?", "query": previous.as_dict(),
              "order_ids": ["O-20261118-00001"]}
    r = read_in_context("삼겹살은요?", memory, None, None, NOW)
    assert r.followup == "order"
    assert r.query.products == ("삼겹살",) and r.query.date_label == "지난주" and "tracking" in r.query.facts
    same = read_in_context("그 주문은 얼마 결제됐어요?", memory, None, None, NOW)
    assert same.query.same_order and "amount" in same.query.facts and same.query.products == ("만두",)
    # "그 주문은요?" after a manual answer: that topic, about my order
    manual = {"kind": "manual", "base": "배송 언제 와요?", "article_id": "delivery-dispatch"}
    mine = read_in_context("그 주문은요?", manual, None, None, NOW)
    assert mine.followup == "order" and "delivery_date" in mine.query.facts
    # a guest who verified: the question held for the verification is what is answered
    held = read_in_context("O-20261118-00001 1234", None, "만두 언제 와요?", "verified", NOW)
    assert held.verified_now and held.question == "만두 언제 와요?"


# --- through the service -------------------------------------------------------------------------------

@pytest.fixture
def shop(settings: Settings, engine: Engine, tmp_path: Path) -> Shop:
    from sajang.knowledge.service import get_knowledge

    ids = seed_orders(engine)
    src = tmp_path / "manual"
    src.mkdir()
    for name in ARTICLES:
        shutil.copy(MANUAL / f"{name}.md", src / f"{name}.md")
    get_knowledge(settings).import_manual_dir(src)
    return ids


@pytest.fixture
def svc(settings: Settings, shop: Shop) -> Any:
    from sajang.graphs.inquiry.service import get_inquiry_service

    return get_inquiry_service(settings)


def test_delivery_fee_then_jeju_keeps_the_topic(svc: Any, shop: Shop) -> None:
    first = svc.ask("배송비 얼마예요?")
    assert not first["handoff"] and "3,000원" in first["answer"], first
    jeju = svc.ask("제주도는요?", thread_id=first["thread_id"])
    assert not jeju["handoff"], jeju
    assert "제주" in jeju["answer"] and "3,000원" in jeju["answer"]
    assert jeju["sources"][0]["id"] in ("delivery-remote-area", "delivery-fee")
    # what classify, retrieve and answer read: the follow-up spelled out with the previous topic
    values = svc.graph.get_state({"configurable": {"thread_id": first["thread_id"]}}).values
    assert values["question"] == "제주도 배송비 얼마예요?" and values["followup"] == "manual"
    assert values["memory"]["base"] == "배송비 얼마예요?" and values["memory"]["article_id"] == jeju["sources"][0]["id"]


def test_a_follow_up_naming_a_row_of_the_same_table_asks_that_row(svc: Any, shop: Shop) -> None:
    """«무통장은여?» after a card-refund question: the refund table's 무통장입금 row, not the card's again."""
    first = svc.ask("체크카드 환불 언제 들어와여")
    assert not first["handoff"] and "3~5영업일" in first["answer"], first
    bank = svc.ask("무통장은여?", thread_id=first["thread_id"])
    assert not bank["handoff"] and "1~2영업일" in bank["answer"] and "체크카드" not in bank["answer"], bank


def test_an_order_follow_up_changes_the_product_and_keeps_the_question(svc: Any, shop: Shop) -> None:
    first = svc.ask("만두 시킨 거 어디쯤이에요?", customer_id=A)
    assert shop.delivered in first["answer"] and A_TRACK not in first["answer"], first
    pork = svc.ask("삼겹살은요?", customer_id=A, thread_id=first["thread_id"])
    assert not pork["handoff"], pork
    assert shop.shipping in pork["answer"] and A_TRACK in pork["answer"]
    paid = svc.ask("그 주문은 얼마 결제됐어요?", customer_id=A, thread_id=first["thread_id"])
    assert "34,800원" in paid["answer"] and shop.shipping in paid["answer"], paid
    # a new question of its own is not bent to the previous topic
    policy = svc.ask("반품 배송비는 얼마인가요?", customer_id=A, thread_id=first["thread_id"])
    assert not policy["handoff"] and "3,000원" in policy["answer"] and shop.shipping not in policy["answer"], policy


def test_an_action_named_alone_after_an_order_answer_is_that_action_on_that_order(svc: Any, shop: Shop) -> None:
    """«그럼 그거 취소는요?» after the answer about the parcel on its way: what can be done about that order
    (it has left: a return once it arrives), not its status and tracking number again."""
    first = svc.ask("삼겹살 시킨 거 어디쯤 왔어요?", customer_id=A)
    assert shop.shipping in first["answer"] and A_TRACK in first["answer"], first
    cancel = svc.ask("그럼 그거 취소는요?", customer_id=A, thread_id=first["thread_id"])
    assert shop.shipping in cancel["answer"] and "반품" in cancel["answer"], cancel
    assert A_TRACK not in cancel["answer"]


def test_another_way_of_paying_asked_as_a_follow_up_gets_its_row(svc: Any, shop: Shop) -> None:
    """«카카오페이로 결제한 건요?» after a card-refund question: the refund table's row for it, not the list of
    the ways one can pay."""
    first = svc.ask("신용카드 환불 며칠 걸려요?")
    assert not first["handoff"] and "3~5영업일" in first["answer"], first
    pay = svc.ask("카카오페이로 결제한 건요?", thread_id=first["thread_id"])
    assert not pay["handoff"] and "1~3영업일" in pay["answer"] and "할부" not in pay["answer"], pay


def test_when_a_process_step_comes_after_an_order_answer_is_the_rule(svc: Any, shop: Shop) -> None:
    """«그럼 환불은 언제 들어오나요?» right after the answer about an order: the manual's refund timing, not
    that order's (or the newest one's) status again."""
    first = svc.ask("만두 시킨 거 어디쯤이에요?", customer_id=A)
    assert shop.delivered in first["answer"], first
    refund = svc.ask("그럼 환불은 언제 들어오나요?", customer_id=A, thread_id=first["thread_id"])
    assert not refund["handoff"], refund
    assert refund["sources"] and refund["sources"][0]["id"] == "refund-timing", refund
    assert "영업일" in refund["answer"] and shop.delivered not in refund["answer"]
