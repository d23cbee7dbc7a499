"""Rules of the offline answer found on the third held-out set (written blind, measured once before these
rules, then read): each is a general reading, checked here on messages of its own kind, not the set's."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sajang.graphs.inquiry.answering import cs_hours_in
from sajang.graphs.inquiry.classifier import incident_evidence
from sajang.graphs.inquiry.intents import parse_own_query
from sajang.graphs.inquiry.order_answers import is_own_data_question, own_data_reply
from sajang.graphs.inquiry.prompts import StorePolicy
from sajang.knowledge.normalize import normalize_message, register_shop_words
from sajang.knowledge.text import compound_words, english_stem, text_language, tokenize

KST = timezone(timedelta(hours=9))
NOW = datetime(2026, 12, 2, 15, 0, tzinfo=KST)  # a Wednesday


def _order(order_id: str, name: str, status: str, day: date, amount: int = 30000) -> dict[str, object]:
    """An order as `sajang.tools.orders` reads it for the bot."""
    labels = {"paid": "결제 완료", "preparing": "상품 준비 중", "shipping": "배송 중", "delivered": "배송 완료",
              "cancelled": "주문 취소"}
    return {"order_id": order_id, "ordered_at": datetime(day.year, day.month, day.day, 10, tzinfo=KST).isoformat(),
            "status": status, "status_label": labels[status], "amount": str(amount), "shipping_fee": "0",
            "courier": None, "tracking_no": None, "shipped_at": None, "delivered_at": None,
            "items": [{"product_id": "P-1", "name": name, "quantity": 1, "amount": str(amount)}], "claims": []}


def test_english_words_meet_the_manuals_words() -> None:
    # a customer's "shipping cost" is the manual's "delivery fee"; plurals and -ing/-ed endings drop
    assert tokenize("What's the shipping cost?") == tokenize("delivery fee")
    assert english_stem("refunded") == "refund" and english_stem("boxes") == "parcel"
    assert english_stem("news") == "news"  # too short to lose an ending
    assert text_language("Delivery fee and free shipping") == "en" and text_language("배송비 안내") == "ko"


def test_compounds_of_the_shops_texts_stay_whole_when_spacing_is_restored() -> None:
    words = compound_words(["부대찌개 밀키트(3인분)는 단순 변심 반품이 어렵습니다."])
    assert {"밀키트", "부대찌개", "단순변심"} <= words
    register_shop_words(None, words)
    try:
        spaced = normalize_message("불고기밀키트는아직안나갔죠?", shop_words=frozenset(words)).text
        assert "밀키트는" in spaced and "밀 키트" not in spaced
    finally:
        register_shop_words(None, ())


def test_cs_hours_read_in_english() -> None:
    hours = "평일 10:00–17:00 (점심 12:30–13:30, 주말·공휴일 휴무)"
    assert cs_hours_in(hours, "en") == "weekdays 10:00–17:00 (lunch 12:30–13:30, closed on weekends and public holidays)"
    assert cs_hours_in(hours, "ko") == hours
    # words the glossary does not know: the shop's own text rather than half a translation
    assert cs_hours_in("평일 10:00–17:00, 택배 마감 후 답변", "en") == "평일 10:00–17:00, 택배 마감 후 답변"


def test_shards_and_a_feared_allergen_are_urgent_a_broken_lid_is_damage() -> None:
    assert {"safety", "damage"} <= set(incident_evidence("냄비 유리뚜껑이 깨진채로 왔어요 상자 열다가 파편 튐"))
    assert "safety" in incident_evidence("김치 시켰는데 게장이 왔어요 저 갑각류 알레르기 있어서 상자 여는것도 무서워요")
    # an allergy question is no incident
    assert incident_evidence("알레르기 있는데 만두에 새우 들었나요?") == []


def test_can_it_still_be_cancelled_is_an_action_not_a_claim_status() -> None:
    assert parse_own_query("떡볶이랑 부대찌개 시킨거 아직 취소 되죠?", NOW).action == "cancel"
    assert parse_own_query("교환 신청한 거 아직 처리 안 됐어요?", NOW).action is None
    assert "amount" in parse_own_query("LA갈비 취소된거 맞져? 얼마 돌려받는거에요", NOW).facts
    assert "amount" in parse_own_query("배송비도 결제된 건가요?", NOW).facts


def test_a_weekday_names_the_latest_such_day() -> None:
    for text in ("how much did i pay for the order i placed on monday?", "월요일에 시킨 거 얼마 나왔어요?", "월욜 주문"):
        query = parse_own_query(text, NOW)
        assert query.since is not None and query.since.startswith("2026-11-30"), text
    orders = [_order("O-1", "소불고기 밀키트", "shipping", date(2026, 11, 30), 58600),
              _order("O-2", "부대찌개 밀키트", "paid", date(2026, 12, 2), 28700)]
    query = parse_own_query("how much did i pay for the order i placed on monday?", NOW)
    assert is_own_data_question("how much did i pay for the order i placed on monday?", "other", query, orders)
    reply = own_data_reply(query, orders, "en", StorePolicy(), NOW)
    assert reply.order_ids == ["O-1"] and "58,600" in reply.text


def test_a_product_of_theirs_and_where_it_is_is_their_order_not_a_restock() -> None:
    orders = [_order("O-1", "소불고기 밀키트 (600g)", "preparing", date(2026, 12, 2))]
    for text, category, own in (("불고기 밀키트는 아직 안 나갔죠?", "delivery", True),
                                ("불고기 밀키트 언제 다시 들어와요?", "stock", False),
                                ("불고기 밀키트 재입고 언제 돼요?", "stock", False)):
        query = parse_own_query(text, NOW)
        assert is_own_data_question(text, category, query, orders) is own, text


def test_an_action_picks_the_one_order_it_can_still_concern() -> None:
    orders = [_order("O-3", "소불고기 밀키트 (600g)", "preparing", date(2026, 12, 2)),
              _order("O-2", "소불고기 밀키트 (600g)", "cancelled", date(2026, 10, 16)),
              _order("O-1", "소불고기 밀키트 (600g)", "delivered", date(2026, 7, 15))]
    query = parse_own_query("불고기 밀키트 그거 배송지 바꿀 수 있어요?", NOW)
    assert query.action == "address"
    reply = own_data_reply(query, orders, "ko", StorePolicy(), NOW)
    assert reply.order_ids == ["O-3"]
