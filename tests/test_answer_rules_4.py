"""Rules found on the fourth held-out set (written blind, measured once before these rules, then read):
each is a general reading of chat, checked here on messages of its own kind, not the set's."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from sajang.graphs.inquiry.answering import question_parts
from sajang.graphs.inquiry.classifier import incident_evidence
from sajang.graphs.inquiry.intents import parse_own_query, product_words
from sajang.graphs.inquiry.order_answers import is_own_data_question, own_data_reply, read_in_context
from sajang.graphs.inquiry.prompts import StorePolicy
from sajang.graphs.inquiry.smalltalk import smalltalk_kind

KST = timezone(timedelta(hours=9))
NOW = datetime(2026, 12, 2, 15, 0, tzinfo=KST)  # a Wednesday


def _order(order_id: str, name: str, status: str, day: date) -> dict[str, object]:
    """An order as `sajang.tools.orders` reads it for the bot."""
    labels = {"paid": "결제 완료", "shipping": "배송 중"}
    return {"order_id": order_id, "ordered_at": datetime(day.year, day.month, day.day, 10, tzinfo=KST).isoformat(),
            "status": status, "status_label": labels[status], "amount": "30000", "shipping_fee": "0",
            "courier": None, "tracking_no": None, "shipped_at": None, "delivered_at": None,
            "items": [{"product_id": "P-1", "name": name, "quantity": 1, "amount": "30000"}], "claims": []}


@pytest.mark.parametrize("text", [
    "혹시 나중에 냄비가 깨져서 오면 며칠 안에 연락해야 해요?",  # a case to come, not a report
    "상자가 찌그러져서 도착하면 반품돼요?",
    "만약 이물질 나오면 환불 되나요",
    "what if the glass lid arrives broken?",
    "in case the pan turns out defective, can I swap it?",
    "봉지가 부풀었는데 불량인가요?",  # whether it is a defect is asked, not said
])
def test_a_case_imagined_or_asked_about_is_no_incident(text: str) -> None:
    assert incident_evidence(text) == []


@pytest.mark.parametrize(("text", "kind"), [
    ("냄비가 깨져서 왔어요", "damage"),
    ("the lid is broken", "damage"),
    ("만두 3팩 시켰는데 2팩만 왔네요", "missing"),  # a count with its unit, and fewer came
    ("떡볶이 두 봉지 주문했는데 한 봉지만 들어 있어요", "missing"),
    ("나중에 보니 소스 하나 빠졌어요", "missing"),  # «나중에» tells when it was found, not a case to come
    ("혹시 상한 건지 봐주세요 맛이 시큼해요", "spoilage"),  # a suspicion of spoilage stays a report
    ("받자마자 썼는데 불량이에요 작동이 안돼요", "defect"),
])
def test_reports_stay_incidents(text: str, kind: str) -> None:
    assert kind in incident_evidence(text)


def test_a_parcel_in_two_boxes_is_no_missing_item() -> None:
    assert incident_evidence("상자 두 개로 온다더니 하나만 왔어요") == []


@pytest.mark.parametrize(("text", "words"), [
    ("where's my beef bulgogi kit?", ("불고기",)),
    ("has the spicy rice cake shipped", ("떡볶이",)),
    ("What about the perilla oil?", ("들기름",)),
    ("I bought radish kimchi and tofu last week", ("총각김치", "두부")),
    ("where is my order?", ()),
])
def test_english_names_of_the_shops_products(text: str, words: tuple[str, ...]) -> None:
    assert product_words(text) == words


def test_an_english_question_picks_the_order_of_the_product_it_names() -> None:
    orders = [_order("O-20261202-00002", "매콤 떡볶이 (2인분)", "paid", date(2026, 12, 2)),
              _order("O-20261130-00001", "고기 왕만두 (1.4kg)", "shipping", date(2026, 11, 30))]
    query = parse_own_query("is my dumpling order on its way?", NOW)
    assert query.products == ("만두",)
    assert is_own_data_question("is my dumpling order on its way?", "delivery", query, orders)
    reply = own_data_reply(query, orders, "en", StorePolicy(), NOW)
    assert reply.order_ids == ["O-20261130-00001"], reply


@pytest.mark.parametrize(("text", "theirs"), [
    # what can be done: the shop's rule, answered at once without their order
    ("주문한 떡볶이 2개로 바꿔 주실 수 있을까요? 아직 출고 전이에요", False),
    ("배송 출발한 거 그냥 안 받으면 되죠?", False),
    ("주문한 거 중에 하나만 취소 가능한가요", False),
    ("Can I change the address on my order before it ships?", False),
    ("how long does a refund to my card take?", False),
    # a request to look something of theirs up waits for the chat verification
    ("주문한 거 취소됐는지 확인돼요?", True),
    ("제가 결제한 금액 알 수 있나요", True),
    ("반품 신청한 거 어떻게 됐어요", True),
    ("can I check where my order is?", True),
    ("제 주문 언제 와요?", True),
])
def test_a_guest_asking_what_can_be_done_gets_the_rule(text: str, theirs: bool) -> None:
    query = parse_own_query(text, NOW)
    assert is_own_data_question(text, "other", query, [], guest=True) is theirs


@pytest.mark.parametrize("text", [
    "아까 결제했는데 주문 잘 들어간 거 맞나요?",  # whether their order went through
    "저번에 교환 요청 드린 거 어떻게 됐어요?",  # a claim of theirs, asked politely («요청 드린»)
    "반품 접수 드렸던 건 결과 나왔나요",
])
def test_a_verified_customer_asking_about_their_order_or_claim(text: str) -> None:
    orders = [_order("O-20261202-00002", "매콤 떡볶이 (2인분)", "paid", date(2026, 12, 2))]
    assert is_own_data_question(text, "other", parse_own_query(text, NOW), orders)
    assert "결과" not in parse_own_query(text, NOW).products


def test_two_english_questions_in_one_message_are_two() -> None:
    assert question_parts("what does delivery cost? and is there free shipping above some amount") == [
        "what does delivery cost?", "and is there free shipping above some amount"]
    assert question_parts("how long does a refund take and can I get it as points?") == [
        "how long does a refund take", "and can I get it as points?"]
    assert len(question_parts("I ordered dumplings and rice, where are they?")) == 1


@pytest.mark.parametrize(("text", "kind"), [
    ("환불 문의요", "opener"),  # the topic is named, the question comes next: "네, 말씀해 주세요"
    ("배송 관련해서 질문 하나만 할게요", "opener"),
    ("question about my refund", "opener"),
    ("환불 문의했는데 답이 없어요", None),  # a complaint, not an opener
    ("반품 문의요 언제 돼요?", None),  # the question is already there
    ("주문 때문에 짜증나요", None),
])
def test_an_opener_is_answered_with_an_invitation_to_ask(text: str, kind: str | None) -> None:
    assert smalltalk_kind(text) == kind


def test_that_one_after_a_manual_answer_is_its_topic_not_an_order() -> None:
    asked = "생일 쿠폰은 얼마짜리예요?"
    manual = {"kind": "manual", "base": asked, "query": parse_own_query(asked, NOW).as_dict()}
    reading = read_in_context("그거 최소 얼마 사야 쓸 수 있어요?", manual, None, None, NOW)
    assert reading.followup == "manual" and not reading.query.same_order
    assert reading.question.startswith(asked)  # searched with the coupon it points at
    assert not is_own_data_question(reading.question, "coupon_points", reading.query, [], guest=True)
    # "그 주문" still points at an order, and after an order answer "그거" is that order
    assert read_in_context("그 주문은요?", manual, None, None, NOW).followup == "order"
    order = {"kind": "order", "base": "만두 언제 와요", "query": parse_own_query("만두 언제 와요", NOW).as_dict(),
             "order_ids": ["O-20261202-00002"]}
    assert read_in_context("그거 취소돼요?", order, None, None, NOW).query.same_order


def test_an_english_condition_continues_the_previous_question() -> None:
    asked = "How many days do I have to send something back?"
    manual = {"kind": "manual", "base": asked, "query": parse_own_query(asked, NOW).as_dict()}
    for text in ("and what if it arrives damaged?", "what if I already opened it?"):
        reading = read_in_context(text, manual, None, None, NOW)
        assert reading.followup == "manual" and reading.question.endswith(asked), reading
    assert read_in_context("Is shipping free?", manual, None, None, NOW).followup is None  # a new question
