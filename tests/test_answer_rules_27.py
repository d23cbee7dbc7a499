"""Readings of chat found in session 32: a rate asked («할인 몇 퍼센트», «할인은 얼마나 돼요») is answered by a line stating a
percentage; how old a thing is sent («담근 지 2~3일 된 상태») is no answer to how long to keep it; «깨져서» typed together
with the words around it is still the verb 깨지; «돌려보내야 돼요?» is sending back, not the shop's resend; a case the rule
allows answers «되나요?» with the article's opening rule (the time to ask in); a guest's story told in a clause before a
question of the rule («…빼고 싶은데요 그거 빼면 …») is answered from the manual, not held for the verification.

The service tests run on both databases:
    pytest tests/test_answer_rules_27.py
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test pytest tests/test_answer_rules_27.py
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from test_answer_rules_26 import _quoted  # (the units quoted for a question on a small article)

from sajang.graphs.inquiry.answering import _render, is_yes_no
from sajang.graphs.inquiry.classifier import incident_evidence
from sajang.graphs.inquiry.intents import parse_own_query
from sajang.graphs.inquiry.order_answers import is_own_data_question, looks_up
from sajang.knowledge.ingest import AnswerUnit
from sajang.knowledge.text import tokenize

_BULK = ("## 대상\n한 번에 30세트 이상 또는 100만 원 이상 주문하시는 경우 대량 주문으로 도와드립니다.\n\n## 혜택\n"
         "- 수량에 따라 5~10% 할인\n- 받는 곳마다 배송비 3,000원(상품 금액 50,000원 이상인 곳은 무료)\n\n## 신청 방법\n"
         "1영업일 안에 견적서를 보내 드립니다.")
_POINTS = ("## 적립 기준\n- 구매 적립: 결제 금액의 1%\n- 리뷰 적립: 글 리뷰 300원, 사진 리뷰 500원\n\n## 사용 방법\n"
           "결제 단계에서 1,000원 이상부터 쓸 수 있고, 상품 금액의 최대 50%까지 사용 가능합니다.")
_KIMCHI = ("## 받으신 날 바로 냉장\n포기김치와 총각김치는 담근 지 2~3일 된 상태로 보내 드립니다. 받으신 날 바로 냉장고에 넣어 "
           "주세요.\n\n## 숙성 정도 고르기\n- 겉절이처럼 드시려면 받자마자 바로 드세요.\n- 알맞게 익은 맛은 냉장 1~2주 뒤입니다.\n"
           "- 찌개용 묵은지로 쓰시려면 1~2개월 두세요.\n배송 중 봉투가 부풀어 오르는 것은 발효 가스 때문이며 불량이 아닙니다.")
_POINTS_FEE = ("## 사용 방법\n결제 단계에서 1,000원 이상부터 쓸 수 있고, 상품 금액의 최대 50%까지 사용 가능합니다.\n\n"
               "## 자주 묻는 질문\n- 적립금으로 배송비도 낼 수 있나요: 아니요, 적립금은 상품 금액에만 쓸 수 있습니다.")
_COUPONS = ("## 쿠폰 종류\n- 신규 가입 쿠폰: 가입 즉시 3,000원 할인(20,000원 이상 구매 시)\n- 생일 쿠폰: 생일이 있는 달 1일에 "
            "5,000원 쿠폰\n- 재구매 감사 쿠폰: 한동안 주문이 없으신 분께 10~15% 할인 쿠폰을 보내 드립니다.")
_WRONG_ITEM = ("## 처리 방법\n- 주문하신 상품을 배송비 없이 바로 다시 보내 드립니다.\n- 잘못 간 상품은 택배 기사님이 회수합니다.\n\n"
               "## 자주 묻는 질문\n- 잘못 온 상품을 먹어도 되나요: 신선식품은 회수하지 않으니 드셔도 됩니다.")
_RETURNS = ("## 반품 신청 기간\n상품을 받으신 날부터 7일 안에 반품을 신청하실 수 있습니다.\n\n## 반품이 가능한 경우\n"
            "- 주방용품: 포장을 뜯지 않은 경우\n- 상온 식품(참기름, 장류, 쌀·잡곡 등): 밀봉이 그대로인 경우\n\n"
            "## 반품이 어려운 경우\n- 사용했거나 세척한 주방용품, 일부를 먹은 식품\n\n## 반품 배송비\n"
            "단순 변심은 반품 배송비 3,000원을 환불 금액에서 빼고 돌려 드립니다.")


_HOLIDAY = ("## 사전 예약\n설날과 추석 선물세트는 명절 4주 전부터 사전 예약을 받습니다. 예약 주문은 명절 10일 전까지 순서대로 "
            "출고합니다.\n\n## 자주 묻는 질문\n- 명절 직전에 주문해도 명절 전에 받을 수 있나요: 명절 연휴 시작 3일 전 오후 "
            "2시까지 결제된 주문까지 명절 전 도착을 목표로 출고합니다.")


@pytest.mark.parametrize(("question", "body", "stated", "not_stated"), [
    # a rate: the percentage, not the line of who qualifies that the search's passage was
    ("회사 설 선물로 밀키트 40세트 주문하려는데 대량 주문 할인은 몇 퍼센트 정도 되나요?", _BULK, "5~10%", None),
    ("단체 할인은 얼마나 돼요", _BULK, "5~10%", None),
    # «적립금 얼마 줘요» is money (the review points), no rate
    ("포토리뷰쓰면 적립금얼마줘요", _POINTS, "500원", None),
    # how old it is sent is no time to keep it, and the paragraph after the list is not quoted with its item
    ("포기김치 받으면 며칠 지나야 맛있게 익어요?", _KIMCHI, "1~2주", "봉투"),
    ("포기김치 알맞게 익으려면 냉장고에 얼마나 둬야 돼요", _KIMCHI, "1~2주", "2~3일"),
    # a rate told is no rate asked: whether points pay the delivery fee
    ("50퍼센트까지 적립금 쓸수있다는데 배송비도 돼요?", _POINTS_FEE, "상품 금액에만", None),
    # a discount in won asked as «할인 얼마»: the coupon's amount
    ("신규가입하면 할인 얼마 받아요?", _COUPONS, "3,000원", None),
    # the age a thing is sent at, asked
    ("김치 담근지 몇일 지나서 보내줘요?", _KIMCHI, "2~3일", None),
    # sending back is the pick-up («회수»), not the resend
    ("매운맛 시켰는데 순한맛이 왔네요ㅡㅡ 이거 그냥 먹어도 돼요 아님 돌려보내야돼요?", _WRONG_ITEM, "드셔도", None),
    # until when: the deadline, not when the pre-orders start («4주 전부터»); from when: the start
    ("설 연휴전에 받으려면 언제까지 주문해야돼요? 시간도요", _HOLIDAY, "3일 전 오후 2시", None),
    ("명절 선물세트 며칠 전부터 예약돼요?", _HOLIDAY, "4주 전부터", None),
    # a case allowed, with the time to ask in
    ("참기름 안뜯었는데 단순변심으로 반품되나요", _RETURNS, "7일", "어려운"),
    ("혹시 참기름 뜯지 않은 상태인데 단순 변심으로 반품이 가능할까 해서요", _RETURNS, "7일", None),
])
def test_the_line_stating_what_is_asked(question: str, body: str, stated: str, not_stated: str | None) -> None:
    quoted = _quoted(question, body, "한 번에 30세트 이상" if body is _BULK else "")
    assert stated in quoted, quoted
    assert not_stated is None or not_stated not in quoted, quoted


@pytest.mark.parametrize(("text", "word", "not_word"), [
    ("물건깨져서오면 사진 몇시간안에 보내야돼요?", "깨지", "깨"),
    ("불꺼져서", "꺼지", "끄"),
    # (no verb 써지: «써지나요» is 쓰, the manual's «쓸 수 있습니다»)
    ("쿠폰 두장 같이 써지나요??", "쓰", "써지"),
    # (뜯어져: 뜯, the manual's «포장을 뜯지 않았거나»)
    ("포장이뜯어져있었어요", "뜯", "뜯어지"),
])
def test_a_verb_of_becoming_typed_together_is_one_verb(text: str, word: str, not_word: str) -> None:
    words = tokenize(text)
    assert word in words and not_word not in words, words


@pytest.mark.parametrize(("text", "yes_no"), [
    ("혹시 참기름 뜯지 않은 상태인데 단순 변심으로 반품이 가능할까 해서요", True),
    ("교환 되나 싶어서요", True),
    ("반품하려고 해서요", False),
])
def test_a_question_put_politely_is_yes_no(text: str, yes_no: bool) -> None:
    assert is_yes_no(text) is yes_no


@pytest.mark.parametrize(("text", "theirs"), [
    ("세개 시킨거에서 하나만 빼고 싶은데요 그거 빼면 5만원 안되는데 어떻게 돼요?", False),
    ("여러개 시킨거에서 하나만 빼고싶은데 남는금액이 5만원 밑이되면 배송비 어케돼요", False),
    # a look asked of us stays theirs
    ("어제 시킨 만두 하나만 빼고 싶은데요 그거 취소됐는지 확인해 주세요", True),
])
def test_a_guests_story_then_a_question_of_the_rule(text: str, theirs: bool) -> None:
    query = parse_own_query(text, datetime(2026, 12, 2, 6, 0, tzinfo=UTC))
    assert is_own_data_question(text, "cancel", query, [], guest=True) is theirs


def test_the_amount_left_is_no_look_up() -> None:
    assert not looks_up("남는금액이 5만원 밑이되면 배송비 어케돼요")
    assert looks_up("결제 금액 알려주세요")


@pytest.mark.parametrize(("text", "stated"), [
    ("참기름안뜯었는데단순변심으로반품되나요", "7일"),
    ("물건깨져서오면 사진 몇시간안에 보내야돼요?", "24시간"),
    ("회사 명절선물로 돌릴건데 몇세트부터 단체할인 돼요? 할인은 얼마나 돼요", "5~10%"),
    ("포기김치 받으면 며칠 지나야 맛있게 익어요?", "1~2주"),
    ("불고기 밀키트 시켰는데 닭갈비가 왔네ㅋ 이거 다시 돌려보내야돼요?", "회수"),
    # a guest's story before a question of the rule: the rule, no verification asked
    ("여러개 시킨거에서 하나만 빼고싶은데 남는금액이 5만원 밑이되면 배송비 어케돼요", "3,000원"),
])
def test_the_demo_shop_answers_the_line_asked(manual_svc: Any, text: str, stated: str) -> None:
    out = manual_svc.ask(text)
    assert not out["handoff"], out
    assert stated in out["answer"], out["answer"]
    assert "뒤 4자리" not in out["answer"], out["answer"]


@pytest.mark.parametrize(("text", "products"), [
    ("불고기 밀키트 두개 산거 무배 된거 맞나", ("불고기", "밀키트")),
    ("불고기시킨거 택배비냈어요안냈어요", ("불고기",)),
    ("떡볶이 들어간 주문 택배비 냈나요?", ("떡볶이",)),
])
def test_the_fee_paid_on_an_order_in_chat_words(text: str, products: tuple[str, ...]) -> None:
    # «택배비», «무배»: what the order paid for delivery, asked of the order named — no product «택배비»
    query = parse_own_query(text, datetime(2026, 12, 2, 6, 0, tzinfo=UTC))
    assert "amount" in query.facts and query.products == products


def test_free_shipping_asked_as_a_rule_is_no_order_fact() -> None:
    assert not parse_own_query("무배 되려면 얼마 사야돼요", datetime(2026, 12, 2, 6, 0, tzinfo=UTC)).facts


def test_the_demo_customer_is_told_the_fee_their_order_paid(manual_svc: Any, manual_shop: Any) -> None:
    from test_own_orders import A

    r = manual_svc.ask("떡볶이 들어간 주문 택배비 냈나요?", customer_id=A)
    assert not r["handoff"], r
    assert manual_shop.paid in r["answer"] and "배송비 3,000원" in r["answer"], r["answer"]
    r = manual_svc.ask("고기 왕만두 시킨거 무배 된거 맞나", customer_id=A)
    assert manual_shop.old_mandu in r["answer"] and "무료" in r["answer"], r["answer"]


@pytest.mark.parametrize(("text", "fact", "products"), [
    ("된장찌개밀키트배송됐나요", "status", ("된장찌개밀키트",)),
    ("된장찌개 밀키트 왔나요", "status", ("된장찌개", "밀키트")),
    ("취소한 주문 뭐였는지 기억이 안나요 얼마였는지도 알려주세여", "items", ()),
    ("방금결제한거 얼마찍혔어요?", "amount", ()),
    ("지난주에 들기름 취소했는데 취소완료 됐어요?", "claims", ("들기름",)),
])
def test_order_facts_in_chat_words(text: str, fact: str, products: tuple[str, ...]) -> None:
    query = parse_own_query(text, datetime(2026, 12, 2, 6, 0, tzinfo=UTC))
    assert fact in query.facts and query.products == products, query


def test_a_cancel_completed_asked_as_a_rule_is_no_claim_of_theirs() -> None:
    assert "claims" not in parse_own_query("주문 취소 완료 후에 쿠폰은 돌아와요?", datetime(2026, 12, 2, 6, 0, tzinfo=UTC)).facts


def test_what_they_paid_for_is_theirs_though_a_condition_follows() -> None:
    text = "방금결제한거 얼마찍혔어요? 취소하면 다돌려받나요"
    query = parse_own_query(text, datetime(2026, 12, 2, 6, 0, tzinfo=UTC))
    assert is_own_data_question(text, "cancel", query, [], guest=False)


@pytest.mark.parametrize(("text", "incident"), [
    # the lexicon writes «찌그러져» as the manual's «눌려»: still a crushed parcel
    ("스테인리스찜기가완전히눌려서왔어요사진찍어놨어요", True),
    ("상자가 눌려서 왔어요", True),
    ("상자가 눌려서 속상해요", True),
    ("택배박스 다 눌림", True),
    ("택배 박스 눌려서 오면 어떡해요? 걱정돼서 못시키겠음ㅠ", False),
    ("로그인 버튼 눌러서 들어갔는데 안돼요", False),
    # a button, a box ticked: no parcel
    ("버튼이 잘못 눌렸나봐요 주문이 두 번 됐어요", False),
    ("쿠폰 적용 버튼이 눌려 있는데 적용이 안돼요", False),
    ("동의 체크가 자동으로 눌려 있었어요", False),
])
def test_a_box_crushed_is_damage(text: str, incident: bool) -> None:
    assert ("damage" in incident_evidence(text)) is incident


def test_the_demo_customer_is_told_the_state_an_address_change_depends_on(manual_svc: Any, manual_shop: Any) -> None:
    from test_own_orders import A

    r = manual_svc.ask("소불고기 시킨거 주소 바꾸고싶은데 지금 바꿀수있는 상태에요?", customer_id=A)
    assert not r["handoff"], r
    assert manual_shop.preparing in r["answer"] and "'상품 준비 중' 상태로" in r["answer"], r["answer"]


@pytest.mark.parametrize(("text", "stated"), [
    # a used pot: the refusal said as a sentence, not a list of cases under its heading
    ("한 번 써 본 냄비도 반품 돼요?", "반품이 어렵습니다"),
    ("냄비 한 번 써 봤는데 별로라서요 반품 되나요?", "반품이 어렵습니다"),
])
def test_the_demo_shop_says_the_case_and_the_deadline(manual_svc: Any, text: str, stated: str) -> None:
    out = manual_svc.ask(text)
    assert not out["handoff"], out
    assert stated in out["answer"] and "경우:" not in out["answer"], out["answer"]


def test_a_cancelled_orders_claim_asked_says_the_order_is_cancelled(manual_svc: Any, manual_shop: Any) -> None:
    from test_own_orders import A

    r = manual_svc.ask("LA갈비 취소했는데 취소 처리된 거 맞나요?", customer_id=A)
    assert manual_shop.cancelled in r["answer"] and "취소 완료" in r["answer"], r["answer"]


def test_two_cases_of_a_heading_are_said_as_one_sentence() -> None:
    refused = AnswerUnit(text="사용했거나 세척한 주방용품", section=2, heading="반품이 어려운 경우", kind="item")
    late = AnswerUnit(text="받으신 지 7일이 지난 단순 변심 반품", section=2, heading="반품이 어려운 경우", kind="item")
    allowed = AnswerUnit(text="확인만 하고 사용하지 않은 경우", section=1, heading="반품이 가능한 경우", kind="item")
    assert _render([refused, late, allowed], "ko") == (
        "사용했거나 세척한 주방용품은 반품이 어렵습니다. 받으신 지 7일이 지난 단순 변심 반품은 어렵습니다.\n\n"
        "반품이 가능한 경우:\n- 확인만 하고 사용하지 않은 경우")


@pytest.mark.parametrize(("text", "fact"), [
    # what a kind of order is, not which order it was
    ("예약주문이 뭐인지 알려주세요", "items"),
    ("정기 주문이 뭐예요? 알려주세요", "items"),
    # a trouble told as a question: not whether the order has come
    ("참기름 왜 유통기한 임박한 게 왔나요?", "status"),
    ("만두 시켰는데 왜 다른 게 왔나요?", "status"),
    ("만두 다른 게 왔나 봐요", "status"),
])
def test_no_order_fact_read_into_other_questions(text: str, fact: str) -> None:
    assert fact not in parse_own_query(text, datetime(2026, 12, 2, 6, 0, tzinfo=UTC)).facts


_CANCELLED = [{"order_id": "O-1", "status": "cancelled", "items": [{"name": "LA갈비 (1kg)"}], "claims": []}]


@pytest.mark.parametrize(("text", "guest", "theirs"), [
    # a guest's parcel still waits for the verification (no amount in the story's question)
    ("어제 시킨 거 아직 안 왔는데 오늘 안 오면 어떻게 돼요?", True, True),
    ("여러개 시킨거에서 하나만 빼고싶은데 남은 금액 얼마예요?", True, True),
    # what paying by card does is the rule; what they just paid is theirs
    ("카드로 결제한 거 취소하면 며칠 걸려요?", False, False),
    ("LA갈비 취소완료 됐어요?", False, True),
])
def test_whose_question_it_is(text: str, guest: bool, theirs: bool) -> None:
    query = parse_own_query(text, datetime(2026, 12, 2, 6, 0, tzinfo=UTC))
    assert is_own_data_question(text, "cancel", query, _CANCELLED, guest=guest) is theirs


def test_a_sentence_leaning_back_on_the_list_stays_with_its_item() -> None:
    body = ("## 반품·환불이 되는 경우\n- 배송 중 녹아서 도착한 경우\n- 포장이 터지거나 새어 나온 경우\n이런 경우에는 받으신 후 "
            "24시간 안에 사진을 보내 주시면 전액 환불해 드립니다.\n\n## 안내\n냉동·냉장 식품은 다시 판매할 수 없습니다.")
    quoted = _quoted("배송중에 녹아서 오면 환불 되나요?", body)
    assert "24시간" in quoted and "다시 판매할 수 없습니다" not in quoted, quoted


@pytest.mark.parametrize(("text", "kind", "incident"), [
    # set 31, read after its blind measure: a foreign object chewed on, one thing of two ordered missing
    ("김치손만두먹다가 철수세미조각같은게 씹혔어요 진짜어이없네요", "foreign_object", True),
    ("갈비탕 먹는데 딱딱한 게 씹혔어요", "foreign_object", True),
    ("포기김치랑 만두 같이 시켰는데 박스에 만두밖에 없어요 김치는요?", "missing", True),
    # the shop sells scourers: a question about one is no incident
    ("철수세미로 무쇠냄비 닦아도 돼요?", "foreign_object", False),
    ("설거지용 수세미도 파나요?", "foreign_object", False),
    ("냉동실에 만두밖에 없어서 더 시키려는데", "missing", False),
])
def test_incidents_read_in_set_31(text: str, kind: str, incident: bool) -> None:
    assert (kind in incident_evidence(text)) is incident
