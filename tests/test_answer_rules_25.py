"""Readings of chat found in session 30: one product asked for another («냄비말고 찜기로 바꿔줄수있음?») is the exchange
rule for another product; requests the manual never speaks of — a kimchi made milder, sponsorship, a lid sold on its
own, the shop's Instagram — go to a person instead of the article that shares a word; an indirect «…할인이 가능할까
해서요» or a «…할인돼요» without its question mark still names the thing asked; a story of use («써 봤는데») reads as
the manual's «사용했거나»; someone posing as the shop asking for a card number gets the manual's warning; an order
late for its date is cancelled by the late-dispatch rule; a delay for snow is a number of days; a follow-up naming
another product replaces the product asked before.

The service tests run on both databases:
    pytest tests/test_answer_rules_25.py
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test pytest tests/test_answer_rules_25.py
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from sajang.db.models import Product
from sajang.graphs.inquiry.answering import (
    actions_asked,
    asked_things,
    asks_value_of_unknown,
    product_swap,
    thing_asked_missing,
)

_KITCHEN = ["전골냄비", "찜기", "도마", "유리용기", "왕만두", "손만두"]


@pytest.mark.parametrize(("text", "swapped"), [
    ("냄비 말고 찜기로 바꿔 줄 수 있음?", "다른 상품으로 교환 바꿔 줄 수 있음?"),
    ("전골냄비 말고 찜기로 바꿔줄수있음?", "다른 상품으로 교환 바꿔줄수있음?"),
    ("도마를 찜기로 바꾸고 싶은데 교환 되나요?", "다른 상품으로 교환 바꾸고 싶은데 교환 되나요?"),
    ("포장도 안 뜯은 냄비를 찜기로 바꿔 받을 수 있을까요?", "포장도 안 뜯은 다른 상품으로 교환 바꿔 받을 수 있을까요?"),
])
def test_one_product_for_another_is_an_exchange_for_another_product(text: str, swapped: str) -> None:
    assert product_swap(text, _KITCHEN) == swapped


@pytest.mark.parametrize("text", [
    "배송지를 회사로 바꾸고 싶어요",  # not a product
    "찜기 28cm로 바꾸고 싶어요",  # another size of the same product: an exchange the rule allows
    "만두 큰 걸로 바꿀 수 있어요?",
    "왕만두를 손만두로 교환 돼요?",  # (two of one kind: the exchange article's own rule reads them)
    "찜기로 바꿔 주세요",  # nothing named before it
])
def test_no_two_products_no_swap(text: str) -> None:
    assert product_swap(text, _KITCHEN) is None


@pytest.mark.parametrize(("text", "actions"), [
    ("포기김치 덜 맵게 해서 보내주실 수 있나요", ["맵"]),
    ("블로그에 제품 리뷰 올리는데 협찬 받을수있나요", ["협찬"]),
    ("적립금 친구한테 넘겨줄 수 있어요", ["넘겨주"]),
    # a way to do it oneself, no request of the shop; a length of time; a place, not what is received
    ("총각김치 맛있게 익히려면 며칠 둬야됨", ["익히"]),
    ("일주일 넘게 먹어도 돼요?", []),
    ("무쇠냄비 식세기 돌려도 됨?", []),
    ("밀키트 냉장고에 며칠 둬도 돼요?", []),
    ("교환신청 한거 진행상황 알고싶어요", []),
])
def test_what_a_request_asks_of_the_shop(text: str, actions: list[str]) -> None:
    assert actions_asked(text) == actions


@pytest.mark.parametrize(("text", "things"), [
    ("안녕하세요 저희 회사에서 직원들 선물을 돌릴까 해서요 이렇게 많이 사면 할인 같은 게 있는지 궁금해서요", ["할인"]),
    ("회사선물로 50세트 주문하면 할인돼요", ["할인"]),
    ("단체로 주문하면 할인이 가능할까 해서요", ["할인"]),
])
def test_an_indirect_or_unmarked_question_names_its_thing(text: str, things: list[str]) -> None:
    assert asked_things(text)[0] == things


_CARE = {"title": "주방용품 사용과 관리",
         "body": "## 유리용기\n유리용기는 전자레인지·오븐에 쓸 수 있지만 뚜껑은 빼고 데워 주세요."}
_PARTS_SOLD = {"title": "부품 구매", "body": "## 뚜껑\n유리용기 뚜껑은 상품 페이지에서 따로 구매하실 수 있습니다."}


@pytest.mark.parametrize("text", ["무쇠냄비 뚜껑만 따로 구매 가능할까요", "유리용기 뚜껑만 따로 살수있어요?"])
def test_a_part_bought_on_its_own_needs_an_article_that_sells_it(text: str) -> None:
    assert thing_asked_missing(text, _CARE)
    assert not thing_asked_missing("유리용기 뚜껑만 따로 구매 가능할까요", _PARTS_SOLD)


def test_an_unknown_word_naming_the_thing_asked() -> None:
    assert asks_value_of_unknown("인스타 계정 있어요? 이벤트 하는거 보고싶어서", ["인스타"])
    assert not asks_value_of_unknown("인스타 보고 왔는데 배송비 얼마에요?", ["인스타"])


@pytest.fixture
def kitchen_catalogue(engine: Engine, manual_shop: Any) -> None:
    with Session(engine) as s:
        s.add_all([Product(id=f"P-{i}", name=name, category="주방용품", price=Decimal(30000), stock=5)
                   for i, name in enumerate(["무쇠 전골냄비 (24cm)", "스테인리스 찜기 (28cm)", "원목 도마 (대)"])])
        s.commit()


@pytest.mark.parametrize("text", [
    "냄비말고 찜기로 바꿔줄수있어여?",
    "도마를 찜기로 바꾸고 싶은데 교환 되나요?",
    "안녕하세요. 지난달에 이사를 해서 새 주방에 맞춰 원목 도마랑 무쇠 냄비를 주문했어요. 그런데 받아 보니 냄비보다 "
    "찜기가 더 필요하더라고요. 포장도 안 뜯은 냄비를 찜기로 바꿔 받을 수 있을까요?",
])
def test_the_demo_shop_answers_an_exchange_for_another_product(manual_svc: Any, kitchen_catalogue: None,
                                                                text: str) -> None:
    out = manual_svc.ask(text)
    assert not out["handoff"], out
    assert "반품 후 새로 주문" in out["answer"], out["answer"]
    assert "시즈닝" not in out["answer"] and "원목 도마:" not in out["answer"]  # not the care of either


@pytest.mark.parametrize("text", [
    "포기김치 덜 맵게 해서 보내주실 수 있나요",
    "블로그에 제품 리뷰 올리는데 협찬 받을수있나요",
    "무쇠냄비 뚜껑만 따로 구매 가능할까요",
    "인스타 계정 있어요? 이벤트 하는거 보고싶어서",
])
def test_the_demo_shop_hands_an_unwritten_request_to_a_person(manual_svc: Any, text: str) -> None:
    out = manual_svc.ask(text)
    assert out["handoff"], out


@pytest.mark.parametrize("text", [
    "회사선물로50세트주문하면할인돼요",
    "안녕하세요 저희 회사에서 이번 연말에 직원들 선물을 돌릴까 해서요 한 마흔 세트 정도 생각하고 있는데 이렇게 많이 사면 "
    "할인 같은 게 있는지 궁금해서요",
])
def test_the_demo_shop_states_the_bulk_discount(manual_svc: Any, text: str) -> None:
    out = manual_svc.ask(text)
    assert not out["handoff"], out
    assert "5~10%" in out["answer"], out["answer"]


def test_used_kitchenware_is_the_case_the_manual_refuses(manual_svc: Any, kitchen_catalogue: None) -> None:
    # (the catalogue says a pot is 주방용품, the kind of goods the manual's case names)
    out = manual_svc.ask("냄비 한번 써봤는데 맘에 안 들어서요 반품 되나요")
    assert not out["handoff"], out
    assert "사용했거나 세척한 주방용품" in out["answer"], out["answer"]


@pytest.mark.parametrize("text", [
    "방금 상담원이라면서 카드번호 불러달라는 문자가 왔는데 이거 진짜 사장님네 식탁에서 보낸거에요?",
    "방금 사장님네식탁이라면서 전화와서 카드번호랑 비번 불러달래요 이거 진짜 맞아요??",
    "어떤 사람이 사장님네 식탁 직원이라면서 전화로 카드번호를 불러달래요 알려줘도 되는 거예요?",
])
def test_the_demo_shop_warns_of_someone_posing_as_the_shop(manual_svc: Any, text: str) -> None:
    out = manual_svc.ask(text)
    assert not out["handoff"], out
    assert "묻는 일은 절대 없습니다" in out["answer"] and "1588-0000" in out["answer"], out["answer"]
    assert "저장하지 않습니다" not in out["answer"]  # (the card data the shop keeps is another question)


def test_a_secret_without_anyone_posing_is_no_impostor() -> None:
    from sajang.graphs.inquiry.answering import impostor_asked

    assert impostor_asked("상담원이라고 하면서 카드번호를 물어보는 전화가 왔는데 이거 진짜 사장님네 식탁 맞나요?")
    assert not impostor_asked("카드번호 저장돼요?")
    assert not impostor_asked("비밀번호 까먹었어요 어떻게 찾아요")


def test_an_english_impostor_report() -> None:
    from sajang.graphs.inquiry.answering import impostor_asked

    assert impostor_asked("someone called claiming to be your customer service and asked for my card number, is that real?")
    assert impostor_asked("a guy said he was from your shop and wanted my password")


@pytest.mark.parametrize(("text", "incident"), [
    ("파손된 상품 사진은 언제까지 보내야 하나요?", False),  # the rule for such goods, asked before anything happened
    ("상품이 파손돼서 왔어요 사진 언제까지 보내요?", True),
    ("오늘 받은 파손된 상품 사진은 언제까지 보내야 하나요?", True),
])
def test_the_photo_of_damaged_goods_asked_in_general_is_no_incident(text: str, incident: bool) -> None:
    from sajang.graphs.inquiry.classifier import incident_evidence

    assert bool(incident_evidence(text)) == incident


_GIFT_EN = {"title": "Gift wrapping and message cards",
            "body": "## Message card\nWrite your message in the delivery note and we print it on a card.\n"
                    "## Free gift wrapping\nWe wrap it free of charge in a wrapping cloth or a gift box."}
_HALAL_EN = {"title": "Allergens and country of origin", "body": "## Vegan and halal\nWe have no halal-certified products."}


@pytest.mark.parametrize(("text", "hit", "missing"), [
    ("do you sell gift cards? want to give one to my mom", _GIFT_EN, True),  # gift … cards, never a gift card
    ("do you do gift wrapping?", _GIFT_EN, False),
    ("are your products certified organic?", _HALAL_EN, True),
    ("do you have halal products?", _HALAL_EN, False),  # («no halal-certified products» answers it)
    ("is this product certified halal?", _HALAL_EN, False),  # (either order)
    ("do you sell korean beef gift sets?", {"title": "Gift sets", "body": "Hanwoo beef gift set"}, False),
    ("Do you sell anything that's halal certified?", _HALAL_EN, False),
    ("can i get the receipt in english? need it for my company expense report",
     {"title": "Receipts", "body": "Card payments: print the card slip from My page."}, True),
    ("can you answer in english?", _GIFT_EN, False),  # the chat's language, not a document's
])
def test_an_english_question_for_a_thing_the_article_never_names(text: str, hit: dict[str, str], missing: bool) -> None:
    from sajang.graphs.inquiry.answering import english_thing_missing

    assert english_thing_missing(text, hit) == missing


@pytest.mark.parametrize("text", [
    "출고예정일이 지났는데도 안 보내주면 취소해도 되나요? 그럼 수수료 떼여요?",
    "출고예정일 사흘 넘게 지났는데 아직도 출고도 안됨 ㅡㅡ 이거 취소하면 수수료 물어야됨?",
])
def test_an_order_late_for_its_date_is_cancelled_by_the_late_dispatch_rule(manual_svc: Any, text: str) -> None:
    out = manual_svc.ask(text)
    assert not out["handoff"], out
    assert "3일이 지나도 출고되지 않은 주문은 언제든 무료로 취소" in out["answer"], out["answer"]


def test_the_late_dispatch_rule_is_for_orders_not_yet_sent() -> None:
    from sajang.graphs.inquiry.answering import late_dispatch_rule

    delay = {"title": "배송이 늦어질 때", "body": "출고 예정일로부터 3일이 지나도 출고되지 않은 주문은 언제든 무료로 취소하실 수 있습니다."}
    cancel = {"title": "주문 취소 (출고 전)", "body": "결제 완료 상태면 수수료 없이 취소됩니다."}
    assert late_dispatch_rule("출고 예정일이 지났는데 아직 안 보냈네요 취소하면 수수료 있나요?", [cancel, delay]) is delay
    # shipped late, returned: another rule; no date named: the general cancelling rules
    assert late_dispatch_rule("출고 예정일보다 4일 늦게 나갔고 지금 배송중이에요 취소돼요?", [cancel, delay]) is None
    assert late_dispatch_rule("취소하면 수수료 있나요?", [cancel, delay]) is None


@pytest.mark.parametrize("text", ["눈 많이 오면 배송 얼마나 밀려요?", "눈 많이 와서 배송 늦어지나요? 얼마나 늦어요"])
def test_a_delay_for_snow_is_answered_with_its_days(manual_svc: Any, text: str) -> None:
    out = manual_svc.ask(text)
    assert not out["handoff"], out
    assert "하루에서 사흘까지" in out["answer"], out["answer"]


def test_a_follow_up_product_takes_the_place_of_the_product_asked_before() -> None:
    from sajang.graphs.inquiry.nodes import topic_swap

    products = frozenset({"전골냄비", "찜기", "조리도구"})
    base = "무쇠 전골냄비 식세기 써도 돼요?"
    assert topic_swap(f"실리콘 조리도구 {base}", base, base, products)[1] == "실리콘 조리도구 식세기 써도 돼요?"
    base = "무쇠냄비 식세기 돌려도 돼요?"
    assert topic_swap(f"실리콘 주걱 {base}", base, base, products)[1] == "실리콘 주걱 식세기 돌려도 돼요?"
    # no product in the question before: its first word, as before
    assert topic_swap("찜기 배송비 얼마예요?", "배송비 얼마예요?", "배송비 얼마예요?", products)[1] == "찜기 얼마예요?"


def test_the_demo_shop_answers_the_follow_up_of_another_product(manual_svc: Any, kitchen_catalogue: None) -> None:
    first = manual_svc.ask("무쇠 전골냄비 식세기 써도 돼요?")
    assert not first["handoff"] and "식기세척기는 사용하지 마세요" in first["answer"], first
    silicone = manual_svc.ask("실리콘 조리도구는요?", thread_id=first["thread_id"])
    assert not silicone["handoff"], silicone
    assert "실리콘 도구는 230℃까지 견디며 식기세척기 사용이 가능합니다" in silicone["answer"], silicone["answer"]
    assert "시즈닝" not in silicone["answer"]


# (found by the session's review: near misses the rules must leave alone)
@pytest.mark.parametrize("text", [
    "도마에 바르는 오일을 들기름으로 바꿔도 되나요?",  # one thing used for another, no exchange
    "닭갈비 양념에 고추장을 집된장으로 바꿔서 해도돼요?",
    "아직 배송전인데 김치손만두를 고기왕만두로 바꿀수있나요",  # not sent yet: the order is cancelled and placed again
    "삼겹살 말고 LA갈비로 바꿀래요",  # frozen food: no exchange on a change of mind
])
def test_no_product_swap_for_a_substitute_an_unsent_order_or_frozen_food(text: str) -> None:
    products = ["도마", "들기름", "고추장", "집된장", "손만두", "왕만두", "삼겹살", "갈비"]
    kinds = {"도마": "주방용품", "들기름": "상온식품", "손만두": "냉동식품", "왕만두": "냉동식품", "삼겹살": "냉동식품",
             "갈비": "냉동식품"}
    assert product_swap(text, products, kinds) is None


@pytest.mark.parametrize(("text", "actions"), [
    ("선물포장 예쁘게 해주실 수 있나요?", []),  # how well, not goods made otherwise
    ("무료배송 받으려면 얼마 사야돼요?", []),  # a condition, not what is received
])
def test_no_request_read_in_a_manner_or_a_condition(text: str, actions: list[str]) -> None:
    assert actions_asked(text) == actions


def test_a_misspelt_word_of_the_article_is_no_unknown_thing() -> None:
    assert not asks_value_of_unknown("멤버쉽 등급 있어요?", ["멤버쉽"], "멤버십 등급은 매월 1일에 정해집니다")


@pytest.mark.parametrize("text", [
    "출고예정일 지나서 취소했는데 환불 언제 돼요?",  # cancelled already: the refund timing
    "출고예정일 지났는데 아직 안보냈네요 취소하면 적립금은요?",  # what cancelling does to points
])
def test_the_late_dispatch_rule_answers_only_whether_and_at_what_cost(text: str) -> None:
    from sajang.graphs.inquiry.answering import late_dispatch_rule

    delay = {"title": "배송이 늦어질 때", "body": "출고 예정일로부터 3일이 지나도 출고되지 않은 주문은 언제든 무료로 취소하실 수 있습니다."}
    assert late_dispatch_rule(text, [{"title": "주문 취소", "body": "취소 안내"}, delay]) is None


def test_a_fee_answered_by_a_free_cancel_is_a_no(manual_svc: Any) -> None:
    out = manual_svc.ask("출고예정일 지났는데 취소하면 수수료 있어요?")
    assert not out["handoff"], out
    assert "무료로 취소" in out["answer"] and "네," not in out["answer"], out["answer"]


@pytest.mark.parametrize("text", ["카드번호 입력하라면서 링크가 왔어요", "엄마라면서 카드번호 알려달래요"])
def test_someone_who_is_not_posing_as_the_shop(text: str) -> None:
    from sajang.graphs.inquiry.answering import impostor_asked

    assert not impostor_asked(text)


def test_the_warning_article_is_found_for_a_story_of_a_text_message(manual_svc: Any) -> None:
    out = manual_svc.ask("사장님네식탁 직원이라고 하면서 비번 알려달라는 문자 왔어요")
    assert not out["handoff"], out
    assert "묻는 일은 절대 없습니다" in out["answer"], out["answer"]


def test_which_one_the_thing_is_answered_by_its_line(manual_svc: Any) -> None:
    out = manual_svc.ask("택배사는 어디 쓰시나요?")
    assert not out["handoff"], out
    assert "CJ대한통운" in out["answer"], out["answer"]


def test_a_document_in_another_language() -> None:
    from sajang.graphs.inquiry.answering import language_unsaid

    receipts = {"title": "영수증", "body": "카드 결제는 카드 매출전표를 출력하실 수 있습니다."}
    assert language_unsaid("회사 경비 처리용인데 영수증을 영문으로도 받을 수 있을까요?", receipts)
    assert not language_unsaid("영수증 어디서 뽑아요?", receipts)


def test_an_example_of_a_kind_of_data_is_no_order_of_theirs(manual_svc: Any) -> None:
    out = manual_svc.ask("주문 내역 같은 개인정보는 몇 년이나 보관하시나요?")
    assert not out["handoff"], out
    assert "5년" in out["answer"] and "뒤 4자리" not in out["answer"], out["answer"]


def test_manwon_as_it_is_said() -> None:
    from sajang.knowledge.normalize import normalize_message

    assert "만 원" in normalize_message("무배 몇마넌부터에요").text or "만원" in normalize_message("무배 몇마넌부터에요").text


def test_what_to_do_instead_follows_what_cannot_be_done(manual_svc: Any) -> None:
    out = manual_svc.ask("혹시 이미 배송 중으로 바뀐 주문도 주소 변경이 가능할까 해서요")
    assert not out["handoff"], out
    assert "바꿀 수 없습니다" in out["answer"] and "택배사 고객센터나 앱에서" in out["answer"], out["answer"]


def test_a_period_in_years_is_a_line_stating_years() -> None:
    from sajang.graphs.inquiry.answering import relevant_units

    body = ("## 보관 기간\n- 주문·결제·배송 기록: 전자상거래법에 따라 5년\n- 상담 채팅과 사진: 상담 종료 후 1년\n\n"
            "## 열람·정정·삭제\n내 개인정보의 열람, 정정, 삭제를 마이페이지에서 요청하실 수 있으며 10일 안에 처리합니다.")
    hit = {"id": "privacy", "title": "개인정보 처리 안내", "body": body, "text": ""}
    quoted = " ".join(u.text for u in relevant_units("주문 내역 같은 개인정보는 몇 년이나 보관하시나요?", hit))
    assert "5년" in quoted and "10일" not in quoted, quoted


def test_an_order_sent_days_late_is_returned_by_the_late_dispatch_rule(manual_svc: Any) -> None:
    out = manual_svc.ask("어머니 생신에 맞춰서 미리 주문했는데 출고예정일보다 4일이나 늦게 출발했더라구요 생신은 벌써 "
                         "지나버렸고요 지금 배송중인데 받아서 반품하면 배송비 제가 내야돼요?")
    assert not out["handoff"], out
    assert "3일 이상 늦어진 주문은 배송 중이더라도 배송비 없이 반품" in out["answer"], out["answer"]


def test_must_i_pay_answered_by_a_rule_without_the_fee_is_a_no(manual_svc: Any) -> None:
    out = manual_svc.ask("빠진 구성품 따로 보내주실때 그 배송비는 제가 내야하나요?")
    assert not out["handoff"], out
    assert "아니요, " in out["answer"] and "배송비 없이" in out["answer"], out["answer"]
