"""Readings of chat found in session 33: a quality of the goods asked («많이 매워요?») is answered by the line stating it,
not by the article's opening list of what it covers; a thing that failed («조회하면 아무것도 안떠요») finds the section for
it («조회가 안 될 때»); sums with the customer's figures read a return of all they bought, a cancel said «빼면» and an
English cart on an island; «반품하고 싶어요 되나요?» asks whether it can be done; «리뷰 삭제 어케해요» asks a deed the
points article never names; «번호 뭐에요» after a question of the phone line borrows its topic; «…먹고 싶으면요?» after a
recipe is a case of it, whatever its word.

The service tests run on both databases:
    pytest tests/test_answer_rules_28.py
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test pytest tests/test_answer_rules_28.py
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from test_answer_rules_26 import _quoted  # (the units quoted for a question on a small article)

from sajang import PACKAGE_DATA
from sajang.config import StorePolicy
from sajang.graphs.inquiry.answering import (
    action_asked_missing,
    actions_asked,
    failure_reported,
    needs_action,
    qualities_asked,
    question_parts,
    with_borrowed_topic,
)
from sajang.graphs.inquiry.classifier import incident_evidence
from sajang.graphs.inquiry.fee_math import fee_calculation, read_fee_case, remote_cart_calculation
from sajang.graphs.inquiry.intents import KST, parse_own_query
from sajang.graphs.inquiry.nodes import only_manner_words
from sajang.graphs.inquiry.order_answers import purchase_told, read_in_context
from sajang.knowledge.text import tokenize

_MEALKIT = ("## 공통 안내\n밀키트(부대찌개, 우렁 된장찌개, 소불고기, 춘천식 닭갈비)는 손질된 재료와 소스가 한 상자에 들어 있어 "
            "10~15분이면 완성됩니다.\n\n## 대표 조리법\n- 소불고기(600g): 달군 팬에 고기를 펼쳐 중불에서 7분. 국물 불고기를 원하시면 "
            "물 100ml를 더하세요.\n- 춘천식 닭갈비: 팬에 기름을 두르고 닭고기와 양념을 8분 볶습니다.\n\n## 맵기\n"
            "부대찌개와 닭갈비는 보통 매운맛, 된장찌개는 맵지 않습니다. 아이와 드실 때는 양념을 절반만 넣고 간을 보세요.")
_FROZEN = ("## 반품이 제한되는 상품\n냉동·냉장 식품(갈비탕, 곰탕, 만두, 밀키트, 김치 등)은 단순 변심 반품이 제한됩니다.\n\n"
           "## 반품되는 경우\n배송 중 녹아서 도착한 경우에는 반품해 드립니다.")
_TRACKING = ("## 송장 번호 확인\n상품이 출고되면 송장 번호가 담긴 알림 문자가 발송됩니다. 마이페이지에서도 송장 번호를 확인하실 수 "
             "있습니다.\n\n## 조회가 안 될 때\n송장 번호가 등록된 직후에는 택배사 전산에 반영되기까지 반나절 정도 걸릴 수 있습니다. "
             "출고 다음 날 오후까지도 조회되지 않으면 고객센터로 알려 주세요.\n\n## 배송 완료인데 상품이 없을 때\n"
             "배송 완료 후 48시간 안에 고객센터로 연락해 주세요.")
_POINTS = ("## 적립 기준\n구매 적립은 결제 금액의 1%입니다. 리뷰를 쓰시면 글 리뷰 300원, 사진 리뷰 500원을 드립니다.\n\n"
           "## 회수\n반품한 상품으로 받은 적립금과 리뷰 적립금은 회수됩니다.")
# the shop's own article, line by line (the rules the sum reads)
_REMOTE_EN = (PACKAGE_DATA / "manual" / "delivery-remote-area.en.md").read_text(encoding="utf-8").splitlines()
POLICY = StorePolicy()


@pytest.mark.parametrize(("question", "body", "title", "passage", "stated", "not_stated"), [
    # a quality asked: the line stating it, though the opening list names the product and the search found it
    ("춘천닭갈비 밀키트 많이 매워요? 6살 애기랑 먹을건데ㅠㅠ", _MEALKIT, "밀키트 조리와 보관", "밀키트(부대찌개", "보통 매운맛",
     "10~15분"),
    ("닭갈비 밀키트 많이 매운가요?", _MEALKIT, "밀키트 조리와 보관", "", "보통 매운맛", "10~15분"),
    # …and the list still names its examples in an article not about them: the frozen-food rule for «만두»
    ("만두 맘에 안들면 반품 돼요?", _FROZEN, "신선식품 반품", "", "제한", None),
    # a thing that failed: the section for it, though «조회» is the article's topic word
    ("송장번호 등록됐다고 문자왔는데 조회하면 아무것도 안떠요 분실된건가요?ㅠ", _TRACKING, "배송 조회 방법",
     "상품이 출고되면", "반나절", "알림 문자"),
    # naming the thing without saying it failed asks the general rule
    ("송장번호 어디서 확인해요", _TRACKING, "배송 조회 방법", "", "알림 문자", "반나절"),
])
def test_the_line_stating_what_is_asked(question: str, body: str, title: str, passage: str, stated: str,
                                        not_stated: str | None) -> None:
    quoted = _quoted(question, body, passage, title)
    assert stated in quoted, quoted
    assert not_stated is None or not_stated not in quoted, quoted


@pytest.mark.parametrize(("text", "qualities"), [
    ("춘천닭갈비 밀키트 많이 매워요?", {"맵"}),
    ("갈비탕 국물 맑아요?", {"맑"}),
    # how things go or feel is no quality of the goods
    ("배송 늦어요? 괜찮아요?", set()),
    ("재고 있어요?", set()),
])
def test_qualities_asked(text: str, qualities: set[str]) -> None:
    assert qualities_asked(text) == qualities


def test_a_product_typed_with_its_kind_is_two_words() -> None:
    # «소불고기밀키트» is the manual's «소불고기» and «밀키트», as the manual's «소불고기(600g)» is «소불고기»
    assert {"소불고기", "밀키트"} <= set(tokenize("소불고기밀키트 어케 구워요"))
    assert "소불고기" in set(tokenize("소불고기(600g): 달군 팬에 고기를 펼쳐"))
    assert {"냉장", "밀키트"} <= set(tokenize("냉장밀키트 며칠가요"))


@pytest.mark.parametrize(("text", "stated"), [
    # all they bought, returned with no part named: the return fee off, the fee they paid kept
    ("안뜯은 참기름이랑 고추장 26800원어치 샀는데(택배비 3천원 따로냄) 변심반품하면 얼마 돌려받아요?", "23,800원"),
    # «빼면»: a cancel asked as a case, the fee that applies again off
    ("그럼 6만원어치중에 만오천원짜리 하나빼면 얼마돌려받아요?", "12,000원"),
])
def test_sums_with_their_figures(text: str, stated: str) -> None:
    said = fee_calculation(text, POLICY)
    assert said is not None and stated in said, said


@pytest.mark.parametrize("text", [
    "5만원어치 샀는데 2개 반품하면 얼마 돌려받아요?",  # some of it counted, no price: no sum
    "3만원어치 샀는데 반품 접수했어요",  # a return told as done: their order's, a person looks
])
def test_no_sum_without_the_figures(text: str) -> None:
    assert read_fee_case(text) is None


def test_an_island_cart_in_english() -> None:
    said = remote_cart_calculation("I'm in Jeju. My cart is 30,000 won, so what will delivery cost me in total?", POLICY,
                                   _REMOTE_EN, "en")
    assert said is not None and "6,000 won" in said, said
    free = remote_cart_calculation("I live on Ulleungdo island, my cart is 60,000 won. Is shipping free?", POLICY,
                                   _REMOTE_EN, "en")
    assert free is not None and free.startswith("No.") and "5,000 won" in free, free


@pytest.mark.parametrize(("text", "action"), [
    ("찜기 한번 써봤는데 생각보다 커서 반품하고싶어요 되나요?", False),
    ("만두 맛이 진짜 별로네요 뜯지도 않은거 있는데 반품할래요 되죠?", False),
    ("교환하고싶어요 가능한가요", False),
    ("반품하고 싶어요", True),
    ("취소할래요", True),
    ("반품해 주세요 되나요?", True),
])
def test_a_wish_then_whether_it_can_be_done_is_a_question(text: str, action: bool) -> None:
    assert needs_action(text) is action


def test_a_deed_the_article_never_names() -> None:
    assert actions_asked("리뷰 잘못 썼는데 삭제 어케해요") == ["삭제"]
    hit = {"id": "points", "title": "적립금 적립과 사용", "body": _POINTS}
    assert action_asked_missing("리뷰 잘못 썼는데 삭제 어케해요", hit)
    assert not action_asked_missing("리뷰 쓰면 적립금 얼마 줘요", hit)


def test_a_bare_number_asked_borrows_the_topic_before_it() -> None:
    parts = with_borrowed_topic(question_parts("고객센터 전화 몇시까지 받아요? 번호 뭐에여"))
    assert "전화" in parts[1] and parts[1].endswith("번호 뭐에여"), parts


@pytest.mark.parametrize(("text", "stated"), [
    ("춘천닭갈비 밀키트 많이 매워요? 6살 애기랑 먹을건데ㅠㅠ", "보통 매운맛"),
    ("고객센터 전화 몇시까지 받아요? 번호 뭐에여", "1588-0000"),
    ("송장번호 등록됐다고 문자왔는데 조회하면 아무것도 안떠요 분실된건가요?ㅠ", "반나절"),
    # a wish, then whether it can be done: the rule's refusal, no handoff
    ("밀키트 받았는데 맘이 바껴서 반품하고싶어요 되나요?", "제한"),
    ("I'm in Jeju. My cart is 30,000 won, so what will delivery cost me in total?", "6,000 won"),
])
def test_the_demo_shop_answers_the_line_asked(manual_svc: Any, text: str, stated: str) -> None:
    out = manual_svc.ask(text)
    assert not out["handoff"], out
    assert stated in out["answer"], out["answer"]


def test_a_review_deleted_goes_to_a_person(manual_svc: Any) -> None:
    out = manual_svc.ask("리뷰 잘못 썼는데 삭제 어케해요")
    assert out["handoff"], out


def test_a_case_of_the_recipe_just_answered(manual_svc: Any) -> None:
    thread = manual_svc.start_conversation(None, channel="api")
    manual_svc.ask("소불고기밀키트 어케 구워요", thread_id=thread)
    out = manual_svc.ask("국물 자작하게 먹고싶으면요?", thread_id=thread)
    assert not out["handoff"], out
    assert "100ml" in out["answer"], out["answer"]


def test_a_cancel_asked_as_a_sum_after_the_rule(manual_svc: Any) -> None:
    thread = manual_svc.start_conversation(None, channel="api")
    manual_svc.ask("출고전에 일부만 취소도돼요?", thread_id=thread)
    out = manual_svc.ask("그럼 6만원어치중에 만오천원짜리 하나빼면 얼마돌려받아요?", thread_id=thread)
    assert not out["handoff"], out
    assert "12,000원" in out["answer"], out["answer"]


@pytest.mark.parametrize(("text", "reported"), [
    ("송장번호 등록됐다고 문자왔는데 조회하면 아무것도 안떠요", True),
    ("쿠폰 적용이 안돼요", True),
    ("적립금 아직 안들어왔어요", True),
    ("송장조회했는데 계속 집하전이래요 혹시 분실된건가요??", True),
    # a condition or a deed not done is no failure told
    ("무통장입금 결제 안하면 주문 어떻게 돼요?", False),
    ("적립금 안쓰면 언제 없어져요?", False),
    ("조회 안해봤는데 택배사 어디에요?", False),
    ("결제가 안 되면 어떡해요", False),
])
def test_a_failure_told(text: str, reported: bool) -> None:
    assert failure_reported(text) is reported


_PAYMENT = ("## 결제 수단\n- 무통장입금(가상계좌): 주문 후 24시간 안에 입금하지 않으면 자동 취소됩니다.\n\n## 결제 확인\n"
            "무통장입금은 입금이 확인되는 즉시 '결제 완료'가 됩니다.\n\n## 결제가 안 될 때\n카드 한도, 비밀번호 오류를 확인해 "
            "주세요. 앱을 업데이트한 뒤 다시 시도해 주세요.")


def test_a_condition_is_not_the_failure_section() -> None:
    quoted = _quoted("무통장입금 결제 안하면 주문 어떻게 돼요?", _PAYMENT, "", "결제 수단과 결제 오류")
    assert "한도" not in quoted, quoted


@pytest.mark.parametrize("text", [
    "3만원어치 샀는데 고추장 반품하면 얼마 돌려받아요?",  # one product of it, its price not told
    "6만원어치 무배로 샀는데 냄비 반품하면 얼마 환불돼요",
    "If I return the kimchi from my 60,000 won order how much do I get back?",
])
def test_no_full_return_when_a_part_is_named(text: str) -> None:
    assert read_fee_case(text) is None


def test_a_cart_made_smaller_is_a_cart() -> None:
    said = fee_calculation("장바구니에 6만원어치 있는데 만오천원짜리 하나 빼면 배송비 붙어요?", POLICY)
    assert said is not None and "45,000원" in said and "3,000원이 붙어요" in said and "돌려" not in said, said


@pytest.mark.parametrize("text", [
    "I live in Seoul, not Jeju. My cart is 30,000 won, what will the delivery cost be?",
    "Sending a gift from Jeju to Seoul, cart is 30,000 won, how much is shipping?",
    "Is Jeju delivery slower? My cart is 30,000 won, how much is shipping to Busan?",
])
def test_no_island_sum_when_the_parcel_goes_elsewhere(text: str) -> None:
    assert remote_cart_calculation(text, POLICY, _REMOTE_EN, "en") is None


@pytest.mark.parametrize("text", [
    "교환하고싶어요 되나요 안되면 환불해주세요",  # whether, then a request
    "반품하고싶어요 되는지 확인좀 해주세요",  # a request to look
    "어제 주문한거 취소할래요 가능한지 봐주세요",
])
def test_a_request_after_a_question_still_asks_us_to_act(text: str) -> None:
    assert needs_action(text)


def test_a_manner_word_is_no_new_thing() -> None:
    assert only_manner_words("국물 자작하게 먹고싶으면요?", ["자작"])
    assert not only_manner_words("강아지한테 먹이면요?", ["강아지"])


@pytest.mark.parametrize(("text", "told"), [
    ("지난달에참기름이랑 곰탕샀었는데", True),
    ("어제 만두 시켰는데요", True),
    # a question with its reason after it, a trouble asked
    ("등급은 언제 바뀌어요? 이번달에 좀 많이 샀는데", False),
    ("할부가 왜 안뜨죠 카드결제했는데", False),
])
def test_a_purchase_told_alone(text: str, told: bool) -> None:
    assert purchase_told(text) is told


_INTRO = "밀키트(부대찌개, 우렁 된장찌개, 소불고기, 춘천식 닭갈비)는 손질된 재료와 소스가 한 상자에 들어 있어 10~15분이면 완성됩니다."


def test_the_item_labelled_with_the_product_named() -> None:
    # the search's passage is the opening list, which names every meal kit: the recipe of the one asked answers
    quoted = _quoted("소불고기밀키트 어케 구워요", _MEALKIT, _INTRO, "밀키트 조리와 보관")
    assert "소불고기(600g): 달군 팬에" in quoted, quoted


def test_which_of_the_listed_orders() -> None:
    memory = {"kind": "order", "base": "제 주문내역 볼수있어요?", "query": {"facts": ["list"], "all_recent": True},
              "order_ids": ["O-20261202-00005", "O-20261202-00002"]}
    now = datetime(2026, 12, 2, 12, tzinfo=KST)
    reading = read_in_context("젤 최근에 한거요", memory, None, None, now)
    assert reading.followup == "order" and reading.query.latest and not reading.query.all_recent, reading
    assert read_in_context("만두 시킨 거요", memory, None, None, now).followup == "order"
    # a question of a product's own, not one of the orders listed: the manual's
    assert read_in_context("갈비탕 데우는법", memory, None, None, now).followup is None
    assert read_in_context("참기름도 팔아요?", memory, None, None, now).followup is None


@pytest.mark.parametrize(("text", "reported"), [
    ("쿠폰 중복 안되나요?", False),  # whether it is not allowed: a question
    ("잘못 왔어요", False),  # «못» inside «잘못»
    ("3일 동안 와요?", False),  # «안» inside «동안»
    ("반품 계속 진행할래요", False),
])
def test_no_failure_told(text: str, reported: bool) -> None:
    assert failure_reported(text) is reported


@pytest.mark.parametrize("text", [
    "3만원어치 샀는데 매운거 반품하면 얼마 돌려받아요?",  # some of it, without a noun
    "3만원어치 샀는데 한봉 반품하면 얼마 돌려받아요?",
    "만두 3만원어치 샀는데 녹아서 와서 반품하면 얼마 돌려받아요?",  # the shop's fault: nothing deducted, no sum
])
def test_no_change_of_mind_sum(text: str) -> None:
    assert read_fee_case(text) is None


def test_a_request_after_a_whether_question() -> None:
    assert needs_action("취소하고 싶어요 되나요? 빨리 처리해주세요")
    assert needs_action("반품하고 싶어요 되나요? 되면 접수해주세요")


@pytest.mark.parametrize(("text", "told"), [
    ("쿠팡에서 샀는데요", False),  # bought elsewhere
    ("친구가 샀는데요", False),  # by someone else
    ("반품하고 싶은데 어제 샀거든요", False),  # a wish told: the return rule answers
])
def test_no_purchase_of_theirs_told(text: str, told: bool) -> None:
    assert purchase_told(text) is told


def test_an_island_resident_sending_elsewhere() -> None:
    text = "I live in Jeju but I'm sending it to my parents in Seoul. Cart is 30,000 won, how much is shipping?"
    assert remote_cart_calculation(text, POLICY, _REMOTE_EN, "en") is None


@pytest.mark.parametrize(("text", "incident"), [
    # read after set 32's blind measure: a harm feared, a defect as the reason of a case put as a condition
    ("냉동만두 겉이 살짝 말랑하게 왔는데 식중독 걸리는거 아니죠?ㅋㅋ 그냥 얼려도 돼요?", False),
    ("근데 불량이라 바꾸는거면 그것도 내야돼요?", False),
    # …a harm or a defect told stays an incident
    ("먹고 나서 식중독 걸린 것 같아요", True),
    ("어제 먹고 배탈 났어요", True),
    ("받은 만두가 불량이에요", True),
])
def test_incidents_read_in_set_32(text: str, incident: bool) -> None:
    assert bool(incident_evidence(text)) is incident


def test_the_one_thing_bought_returned_whole() -> None:
    said = fee_calculation("택배비 3천원 내고 2만5천원짜리 샀는데 전체 반품하면 얼마 들어와요?", POLICY)
    assert said is not None and "22,000원" in said, said


@pytest.mark.parametrize(("text", "fact", "status"), [
    # English own-order words read after set 32: a request of theirs, a parcel being shipped, a fee paid
    ("what happened with my return request?", "claims", "returned"),
    ("did I pay a delivery fee on the order that's being shipped right now?", "amount", "shipping"),
])
def test_own_order_words_in_english(text: str, fact: str, status: str) -> None:
    query = parse_own_query(text, datetime(2026, 12, 2, 12, tzinfo=KST))
    assert fact in query.facts and status in query.statuses, query


def test_the_shop_fee_asked_in_english_is_no_order_fact() -> None:
    assert not parse_own_query("what is the delivery fee?", datetime(2026, 12, 2, 12, tzinfo=KST)).facts
