"""Readings of chat found in session 29: a parcel to another country, which the demo shop's manual never speaks of
(its «해외» is the country of a card), goes to a person instead of a delivery rule for Korea.

The service tests run on both databases:
    pytest tests/test_answer_rules_24.py
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test pytest tests/test_answer_rules_24.py
"""

from __future__ import annotations

from typing import Any

import pytest

from sajang.graphs.inquiry.answering import ships_abroad_unsaid

_KOREA_ONLY = [{"title": "배송비", "body": "제주도는 3,000원, 그 밖의 도서산간 지역은 5,000원이 추가됩니다."},
               {"title": "결제 수단", "body": "해외에서 발급된 카드는 결제가 안 될 수 있습니다."}]
_SHIPS_ABROAD = [*_KOREA_ONLY, {"title": "해외 배송", "body": "미국·일본으로 해외 배송해 드립니다. 배송비는 나라마다 다릅니다."}]


@pytest.mark.parametrize("text", [
    "미국 사는 동생한테 김치 보내고 싶은데 해외배송 되나요?",
    "미국사는 동생한테 보내고싶은데 해외배송돼요? 배송비는요?",
    "do you ship overseas? i want to send some kimchi to my sister in the US",
    "캐나다로 배송되나여",
])
def test_a_parcel_abroad_is_unsaid_by_a_manual_for_korea(text: str) -> None:
    assert ships_abroad_unsaid(text, _KOREA_ONLY)
    assert not ships_abroad_unsaid(text, _SHIPS_ABROAD)  # the shop that ships abroad says so: answered


@pytest.mark.parametrize("text", [
    "해외카드로 결제됨?",
    "can I pay with a credit card issued in the US?",
    "외국에서 만든 비자카드로 결제하려는데 자꾸 실패 떠요",
    "제주도도 배송돼요?",
    # (found by the session's review: a country in a food's origin or a person, a parcel that stays in Korea)
    "호주산 갈비 배송 언제 돼요?",
    "대만카스테라 택배 보내주세요",
    "외국인인데 한국 주소로 배송 가능한가요?",
    "send me the tracking number please, I am in Japan on a trip",
])
def test_a_card_from_abroad_or_a_place_in_korea_is_no_parcel_abroad(text: str) -> None:
    assert not ships_abroad_unsaid(text, _KOREA_ONLY)


@pytest.mark.parametrize("text", [
    "미국 사는 언니한테 보내고 싶은데 해외 배송도 해주시나요?",
    "미국 사는 동생한테 김치 보내주고 싶은데 해외배송도 돼요?",
])
def test_the_demo_shop_hands_a_parcel_abroad_to_a_person(manual_svc: Any, text: str) -> None:
    out = manual_svc.ask(text)
    assert out["handoff"], out


def test_us_the_pronoun_is_no_country() -> None:
    # ("send us a photo" in an English article is no delivery to the US)
    assert ships_abroad_unsaid("do you ship to the US?", [{"title": "Damage", "body": "send us photos within 24 hours"}])
    assert not ships_abroad_unsaid("can you send us a new one?", _KOREA_ONLY)


# --- a modifier and the word it bends, as the customer wrote them ---------------------------------------------------


def test_modifier_phrases_are_a_word_the_scoring_cannot_see_before_its_noun() -> None:
    from sajang.graphs.inquiry.answering import _phrases

    assert "다른 상품으로" in _phrases("유리용기 받았는데 그냥 다른 상품으로 교환 돼요?")
    assert _phrases("울릉도 추가배송비 얼마에요") == []  # two content words: already counted
    assert not any(p.endswith("되나요") for p in _phrases("40세트 주문하는데 할인이 되나요?"))  # a noun and its verb
    assert _phrases("can I exchange it for a different product?") == []  # English: «the return» is everywhere


@pytest.mark.parametrize("text", ["받은 거 그냥 다른 상품으로 교환 돼요?", "찜기 받았는데 혹시 다른 상품으로 교환 가능할까요?"])
def test_another_product_is_answered_by_the_line_about_another_product(manual_svc: Any, text: str) -> None:
    out = manual_svc.ask(text)
    assert not out["handoff"] and "반품 후 새로 주문" in out["answer"], out
    assert not out["answer"].split("\n\n")[1].startswith("네, 불량이나"), out  # (not the swap for a faulty one)


# --- chat words --------------------------------------------------------------------------------------------------------


def test_where_a_food_is_from_typed_with_a_typo(manual_svc: Any) -> None:
    out = manual_svc.ask("갈비탕 소고기 어디산이에여")
    assert not out["handoff"] and "호주산" in out["answer"], out


def test_how_long_in_the_freezer_typed_without_spaces(manual_svc: Any) -> None:
    out = manual_svc.ask("갈비탕냉동실에서얼마나둬도돼요")
    assert not out["handoff"] and "12개월" in out["answer"], out


def test_an_extra_charge_asked_after_the_remote_area_question(manual_svc: Any) -> None:
    # («추가요금»: the manual writes «추가 배송비»; the thing asked is there in its words)
    first = manual_svc.ask("제주도도 배송되나요?")
    fee = manual_svc.ask("추가요금 있어요?", thread_id=first["thread_id"])
    assert not fee["handoff"] and "3,000원 추가" in fee["answer"], fee


def test_how_many_days_in_the_fridge_is_the_chilled_meal_kit_rule(manual_svc: Any) -> None:
    out = manual_svc.ask("밀키트 냉장고에 며칠 둬도 돼요?")
    assert not out["handoff"] and "3~4일" in out["answer"], out


# --- a case told after the question -------------------------------------------------------------------------------------


def test_the_way_of_paying_told_after_the_refund_question_is_its_case(manual_svc: Any) -> None:
    # («카카오페이로 결제했어요» alone finds the payment methods surely; read with the question it tells the case of)
    first = manual_svc.ask("환불은 얼마나 걸려요?")
    told = manual_svc.ask("카카오페이로 결제했어요", thread_id=first["thread_id"])
    assert not told["handoff"] and told["sources"][0]["id"] == "refund-timing", told
    assert "1~3영업일" in told["answer"], told


def test_a_line_telling_another_topic_after_an_answer_is_still_its_own(manual_svc: Any) -> None:
    # (read with the refund question, «선물 포장 해서 보냈어요» finds no refund article first: its own topic stays)
    first = manual_svc.ask("환불은 얼마나 걸려요?")
    told = manual_svc.ask("선물 포장 해서 보냈어요", thread_id=first["thread_id"])
    assert told["sources"] and told["sources"][0]["id"] != "refund-timing", told


def test_the_time_told_after_the_dispatch_question_is_its_case(manual_svc: Any) -> None:
    # («지금 3시 좀 넘었는데»: read with the question, the dispatch article is within a hair of the first)
    first = manual_svc.ask("오늘 주문하면 오늘 출고돼요?")
    told = manual_svc.ask("지금 3시 좀 넘었는데", thread_id=first["thread_id"])
    assert not told["handoff"] and told["sources"][0]["id"] == "delivery-dispatch", told
    assert "다음 출고일" in told["answer"], told
