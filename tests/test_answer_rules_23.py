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


# --- a list item that answers alone ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "said", "not_said"), [
    ("생일 쿠폰 원래 언제 주는거에요?", "생일이 있는 달 1일", "신규 가입 쿠폰"),
    ("무쇠냄비 식세기 돌려도돼요?", "식기세척기는 사용하지 마세요", "붉은 녹이 생기면"),
])
def test_the_item_naming_what_is_asked_is_quoted_without_its_siblings(manual_svc: Any, text: str, said: str,
                                                                       not_said: str) -> None:
    reply = manual_svc.ask(text)
    assert said in reply["answer"] and not_said not in reply["answer"], reply


@pytest.mark.parametrize(("text", "items"), [
    ("개인정보 얼마나 보관해요?", ("5년", "3년", "1년")),  # the list's own topic: every item
    ("쿠폰 종류 뭐 있어요?", ("신규 가입 쿠폰", "생일 쿠폰", "상품 쿠폰")),  # the kinds asked: all of them
    ("울릉도는 배송비 더 붙어요?", ("3,000원 추가", "5,000원 추가")),  # (the best is a sentence: its items stay)
    ("간장게장 품절이던데 재입고 보통 며칠걸려여?", ("5~10일",)),
])
def test_a_question_of_the_whole_list_keeps_it(manual_svc: Any, text: str, items: tuple[str, ...]) -> None:
    # (and «간장게장 … 재입고 며칠»: the item «게장·선물세트처럼 …: 5~10일» names the compound asked)
    reply = manual_svc.ask(text)
    assert all(item in reply["answer"] for item in items), reply


# --- a harm warned of, then the way to do it --------------------------------------------------------------------------


def test_a_caution_with_the_way_to_do_it_is_neither_yes_nor_no() -> None:
    from sajang.graphs.inquiry.answering import _text_polarity

    caution = "전자레인지는 파우치째 돌리면 터질 수 있으니 꼭 그릇에 옮겨 7~8분 데워 주세요."
    assert _text_polarity(caution, ["갈비탕", "전자레인지"]) is None  # «전자렌지로 데워도 돼요?»: the way is the answer
    assert _text_polarity(caution, ["파우치"]) is False  # «파우치째 돌려도 돼요?»: the case warned of
    assert _text_polarity("식기세척기는 사용하지 마세요.") is False
    assert _text_polarity("녹은 상품은 폐기됩니다.") is None  # a thing done, not a permission
    assert _text_polarity("그대로 드셔도 됩니다.") is True


# --- two questions: the article that names what each asks -------------------------------------------------------------


def test_a_question_naming_a_place_is_answered_by_the_article_that_names_it(manual_svc: Any) -> None:
    reply = manual_svc.ask("울릉도도 배송돼요? 돈 더 드나요")
    assert reply["sources"][0]["id"] == "delivery-remote-area", reply
    assert "취소할 수 없습니다" not in reply["answer"] and "5,000원" in reply["answer"], reply


# --- a time of day said in words ------------------------------------------------------------------------------------


def test_a_time_of_day_in_words_answers_what_time() -> None:
    from sajang.graphs.inquiry.answering import _ASKS

    says_clock = _ASKS["clock"][1]
    assert says_clock.search("수도권은 보통 출고 다음 날 오전부터 저녁 사이에 받으십니다.")
    assert says_clock.search("평일 10:00–17:00") and not says_clock.search("3~5영업일이 걸립니다.")


# --- a status told with a fact of its own -----------------------------------------------------------------------------


def test_a_status_told_with_a_fact_asks_it_of_the_newest_such_order(manual_svc: Any, manual_shop: Any) -> None:
    from test_own_orders import A

    reply = manual_svc.ask("배송완료 떴던데 언제 도착한거에요?", customer_id=A)
    first = reply["answer"].split("\n\n")[1]
    assert manual_shop.delivered in first and "배송 완료되었어요" in first, reply
    assert manual_shop.old_mandu in reply["answer"], reply  # the other delivered order, named


def test_a_question_naming_a_common_noun_stays_with_the_message_s_article(manual_svc: Any) -> None:
    # («냉동식품», which the damage article words «신선식품», moves nothing: only back to the message's article)
    reply = manual_svc.ask("파손 접수하면 재발송은 보통 언제 나가요? 그리고 깨진 냉동식품은 다시 보내야 되나요")
    assert "돌려보내실 필요 없이 폐기해 주세요" in reply["answer"], reply


# --- a rule for a thing not done, asked of it done --------------------------------------------------------------------


def test_a_rule_for_a_thing_not_done_is_no_yes_to_it_done() -> None:
    from sajang.graphs.inquiry.answering import condition_opposed

    sealed = "상온 보관 식품은 밀봉을 뜯지 않았다면 받으신 날부터 7일 안에 단순 변심 반품이 가능합니다."
    unused = "주방용품·생활용품: 포장을 뜯지 않았거나, 확인만 하고 사용하지 않은 경우"
    assert condition_opposed("뜯었으면요?", sealed) and condition_opposed("한번 사용했는데 반품돼요?", unused)
    assert not condition_opposed("안 뜯었으면 반품돼요?", sealed) and not condition_opposed("사용 안 했는데 반품돼요?", unused)
    assert not condition_opposed("참기름 반품돼요?", sealed)


# --- when an order placed today arrives -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["오늘 주문하면 언제 받아요?", "내일 주문하면 언제 받아요?"])
def test_when_an_order_placed_now_arrives_is_the_dispatch_rule(manual_svc: Any, text: str) -> None:
    reply = manual_svc.ask(text)
    assert not reply["handoff"] and reply["sources"][0]["id"] == "delivery-dispatch", reply
    assert "오후 2시" in reply["answer"], reply


# --- incidents read in set 27's misses --------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "level"), [
    ("무쇠냄비 박스 열었더니 냄비가 두동강 나있네요 이게 말이 돼요?", "high"),  # broken in two on arrival
    ("도마가 두 동강 나서 왔어요", "high"),
    ("고기가 상했어요", "urgent"),
    ("만두 상해서 왔어요", "urgent"),
])
def test_goods_broken_in_two_or_spoilt_are_incidents(text: str, level: str) -> None:
    from sajang.graphs.inquiry.classifier import rule_urgency

    assert rule_urgency(text, "other") == level


@pytest.mark.parametrize("text", ["카드값이 이상해서 그러는데 지난주에 결제한 금액이 얼마였죠?",  # strange, not spoilt
                                  "배송이 좀 이상했어요 그래도 잘 받았어요", "두동강 나면 교환돼요?"])
def test_strange_is_not_spoilt_and_a_case_to_come_is_no_report(text: str) -> None:
    from sajang.graphs.inquiry.classifier import incident_evidence

    assert not incident_evidence(text)


# --- «냉동식품도 돼요?»: the previous question's action asked of another thing ----------------------------------------


def test_a_thing_asked_too_is_asked_the_previous_action(manual_svc: Any) -> None:
    first = manual_svc.ask("교환 신청 기간 얼마나 돼요?")
    frozen = manual_svc.ask("냉동식품도 돼요?", thread_id=first["thread_id"])
    assert not frozen["handoff"], frozen
    assert "오배송·불량일 때만 교환" in frozen["answer"], frozen


def test_only_a_noun_before_also_is_a_thing_asked() -> None:
    from sajang.graphs.inquiry.order_answers import thing_also_asked

    assert thing_also_asked("냉동식품도 돼요?") == ("냉동식품", "돼요?")
    assert thing_also_asked("냄비 포장만 뜯어봤는데도 돼요?") is None
    assert thing_also_asked("전자레인지로 해도 돼요?") is None and thing_also_asked("쿠폰이랑 같이도 돼요?") is None


def test_a_coupon_applied_is_a_coupon_used(manual_svc: Any) -> None:
    # (the one-item rule must not drop the line that answers because it says «쓸 수», not «적용»)
    reply = manual_svc.ask("쿠폰 2장 한번에 적용 되나여?")
    assert "주문 쿠폰 1장과 상품 쿠폰 1장까지 함께 쓸 수 있습니다" in reply["answer"], reply


def test_the_kind_of_goods_named_is_asked_of_a_list_item() -> None:
    # «도마 품절이던데 며칠이면 들어와요»: the catalogue says a 도마 is 주방용품 (`kinds_named`); the item for that kind
    # names what is asked, though the question never says «주방용품»
    from sajang.graphs.inquiry.answering import _GOODS_KINDS, _tokens, says_more_than_its_list
    from sajang.knowledge.ingest import AnswerUnit

    item = AnswerUnit(text="주방용품: 7~10일", section=1, heading="입고 주기", kind="item")
    hit = {"title": "품절 상품과 재입고 알림"}
    asked = _tokens("도마 품절이던데 보통 며칠이면 다시 들어와요")
    assert not says_more_than_its_list(item, asked, hit)
    token = _GOODS_KINDS.set(_tokens("주방용품"))
    try:
        assert says_more_than_its_list(item, asked, hit)
    finally:
        _GOODS_KINDS.reset(token)


# --- the re-read's findings: the new readings kept narrow ---------------------------------------------------------------


def test_a_rule_for_a_thing_not_done_names_a_real_stem() -> None:
    from sajang.graphs.inquiry.answering import condition_opposed

    # («출고되지 않은»: the stem is 출고, not «되», which every question has)
    assert not condition_opposed("주문 취소 되나요?", "아직 출고되지 않은 주문은 바로 취소할 수 있습니다.")
    sealed = "밀봉을 뜯지 않았다면 7일 안에 반품이 가능합니다."
    assert not condition_opposed("뜯지도 않았는데 반품돼요?", sealed) and not condition_opposed("뜯진 않았어요", sealed)
    assert not condition_opposed("사용한 적 없는데요", "확인만 하고 사용하지 않은 경우")


def test_only_a_harm_warned_of_makes_a_caution() -> None:
    from sajang.graphs.inquiry.answering import _text_polarity

    assert _text_polarity("마이페이지에서 직접 취소할 수 있으니 주문 상세에서 눌러 주세요.", ["주문", "취소"]) is True
    assert _text_polarity("녹아서 폐기 됩니다.", ["냉동식품"]) is None and _text_polarity("1~2일 정도 됩니다.", []) is None


def test_a_thing_done_or_a_place_is_no_thing_asked_too() -> None:
    from sajang.graphs.inquiry.order_answers import thing_also_asked

    assert thing_also_asked("김치 해동도 돼요?") is None and thing_also_asked("제주도 돼요?") is None
