"""Readings of chat found in session 31: a question asking how long or until when («언제까지 넣어야 돼요?», «며칠
둬야 돼요?») is answered by a line stating a length of time or the point it lasts until, not by «즉시» or «바로»,
nor by the time counted from the very thing asked («신청 기한» is not «신청 후 1~2일 안에 회수»); two «…인지» questions
asked with one request are two questions about one thing; one case of a heading of cases is said as a sentence
with the heading's verdict («…은 반품이 어렵습니다»).

The service tests run on both databases:
    pytest tests/test_answer_rules_26.py
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test pytest tests/test_answer_rules_26.py
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from sajang.graphs.inquiry.answering import case_sentence, question_parts, relevant_units, with_borrowed_topic
from sajang.graphs.inquiry.classifier import incident_evidence
from sajang.graphs.inquiry.intents import KST, date_range, parse_own_query, respell

_PAYMENT = ("## 사용할 수 있는 결제 수단\n- 신용카드·체크카드\n- 무통장입금(가상계좌): 주문 후 24시간 안에 입금하지 않으면 "
            "자동 취소됩니다.\n\n## 결제 완료 확인\n무통장입금은 입금이 확인되는 즉시 '결제 완료'가 되며, 당일 출고 마감(오후 "
            "2시)도 입금 확인 시각을 기준으로 합니다.")
_EXCHANGE = ("## 교환 신청\n상품을 받으신 날부터 7일 안에 마이페이지에서 교환을 신청하실 수 있습니다.\n\n## 진행 순서\n"
             "1. 교환 신청 후 1~2일 안에 택배 기사님이 회수하러 방문합니다.\n2. 회수 상품이 도착하면 새 상품을 출고합니다.")
_TRACKING = ("## 조회가 안 될 때\n출고 당일 저녁까지 '집하 전'으로 보이는 것은 정상입니다. 출고 다음 날 오후까지도 조회되지 "
             "않으면 고객센터로 알려 주세요.\n\n## 배송 완료인데 상품이 없을 때\n배송 완료 문자를 받았는데 상품이 보이지 않으면 "
             "먼저 현관 앞을 확인해 주세요. 그래도 찾지 못하시면 배송 완료 후 48시간 안에 고객센터로 연락해 주세요.")


def _quoted(question: str, body: str, passage: str = "", title: str = "안내") -> str:
    hit = {"id": "a", "title": title, "body": body, "text": passage}
    return " ".join(u.text for u in relevant_units(question, hit))


@pytest.mark.parametrize(("question", "body", "passage", "stated", "not_stated"), [
    # the search's passage is the «즉시» line: the length still answers
    ("무통장 입금 언제까지 넣어야돼여? 깜빡할까봐", _PAYMENT, "무통장입금은 입금이 확인되는 즉시", "24시간", "즉시"),
    ("교환 신청 기한이 어떻게 되는지 여쭤봐도 될까요?", _EXCHANGE, "교환 신청 후 1~2일 안에", "7일", "1~2일"),
    # the point it lasts until answers «언제까지»
    ("송장번호는떴는데 조회하면 계속 집하전이래요 언제까지기다려봐야되나", _TRACKING, "", "다음 날 오후까지", "48시간"),
    # …and a length counted from another word than the one asked of stays an answer
    ("배송완료 떴는데 문앞에 아무것도없으면 언제까지 연락드려야돼요", _TRACKING, "출고 당일 저녁까지", "48시간", "집하 전"),
])
def test_how_long_is_answered_by_a_length_of_time(question: str, body: str, passage: str, stated: str,
                                                  not_stated: str) -> None:
    quoted = _quoted(question, body, passage)
    assert stated in quoted and not_stated not in quoted, quoted


def test_when_without_how_long_may_be_answered_by_at_once() -> None:
    # «언제 결제 완료돼요?» asks when, which «즉시» answers
    assert "즉시" in _quoted("무통장입금하면 결제완료 언제 떠요?", _PAYMENT)


@pytest.mark.parametrize(("text", "parts"), [
    ("밀키트 오늘 받았는데 주말에 먹을거라서요 며칠까지 괜찮은지랑 냉동실에 넣어놔도 되는지 궁금해요",
     ["밀키트 오늘 받았는데 주말에 먹을거라서요 며칠까지 괜찮은지 궁금해요", "밀키트 냉동실에 넣어놔도 되는지 궁금해요"]),
    ("반품 가능한지랑 배송비 얼마인지 알려주세요", ["반품 가능한지 알려주세요", "반품 배송비 얼마인지 알려주세요"]),
    # one question about both together stays one
    ("쿠폰이랑 적립금 같이 쓸 수 있는지 궁금해요", ["쿠폰이랑 적립금 같이 쓸 수 있는지 궁금해요"]),
    ("환불 언제 되는지 궁금해요", ["환불 언제 되는지 궁금해요"]),
])
def test_two_whether_clauses_with_one_request_are_two_questions(text: str, parts: list[str]) -> None:
    assert with_borrowed_topic(question_parts(text)) == parts


@pytest.mark.parametrize(("heading", "case", "sentence"), [
    ("반품이 어려운 경우", "사용했거나 세척한 주방용품, 일부를 먹은 식품",
     "사용했거나 세척한 주방용품, 일부를 먹은 식품은 반품이 어렵습니다."),
    ("합포장이 안 되는 경우", "냉동 상품과 상온 상품", "냉동 상품과 상온 상품은 합포장이 안 됩니다."),
    ("교환이 가능한 경우", "같은 상품의 다른 옵션", "같은 상품의 다른 옵션은 교환이 가능합니다."),
    # a case that is a rule of its own, or a heading of another shape, stays as written
    ("반품이 가능한 경우", "상온 식품(참기름 등): 밀봉이 그대로인 경우", None),
    ("반품·환불이 되는 경우", "포장이 터지거나 새어 나온 경우", None),
    ("바로 취소할 수 있는 경우", "결제 완료", None),
])
def test_one_case_of_a_heading_of_cases_reads_as_a_sentence(heading: str, case: str, sentence: str | None) -> None:
    assert case_sentence(heading, case) == sentence


def test_the_demo_shop_says_used_kitchenware_cannot_be_returned(manual_svc: Any) -> None:
    out = manual_svc.ask("주방세제 한번 써봤는데 향이 별로예요 반품 되나요?")
    assert not out["handoff"], out
    assert "반품이 어렵습니다" in out["answer"], out["answer"]


@pytest.mark.parametrize(("text", "stated"), [
    ("무통장 입금 언제까지 넣어야돼여? 깜빡할까봐", "24시간"),
    ("상담채팅 내용이랑 보낸 사진들 언제까지 보관하세요? 좀 찝찝해서", "1년"),
    ("교환 신청 기한이 어떻게 되는지 여쭤봐도 될까요?", "7일"),
])
def test_the_demo_shop_states_the_length_asked(manual_svc: Any, text: str, stated: str) -> None:
    out = manual_svc.ask(text)
    assert not out["handoff"], out
    assert stated in out["answer"], out["answer"]


_NOW = datetime(2026, 12, 2, 15, 0, tzinfo=KST)


@pytest.mark.parametrize(("text", "first", "last"), [
    ("whats going on with the order i placed 2 days ago? has it shipped yet?", date(2026, 11, 29), date(2026, 12, 1)),
    ("a week ago order", date(2026, 11, 22), date(2026, 11, 28)),
    ("이틀 전에 시킨거 왔나요", date(2026, 11, 29), date(2026, 12, 1)),
    ("사흘전에 주문한거", date(2026, 11, 28), date(2026, 11, 30)),
    ("how much did i pay for the order i placed the day before yesterday?", date(2026, 11, 30), date(2026, 11, 30)),
])
def test_days_ago_in_english_and_in_counted_words(text: str, first: date, last: date) -> None:
    found = date_range(text, _NOW)
    assert found is not None
    since, until, _label = found
    # [since, until): the first day counted in, the day after the last one out
    assert since.astimezone(KST).date() == first and until.astimezone(KST).date() > last


@pytest.mark.parametrize(("typed", "read"), [
    ("어제 시킨거 머머 담았었죠?", "어제 시킨거 뭐뭐 담았었죠?"),
    ("지난번에 머샀지", "지난번에 뭐샀지"),
    ("머머임?", "뭐뭐임?"),
    # a word that starts with 머 stays
    ("머리카락 나왔어요", "머리카락 나왔어요"),
    ("머그컵 있어요?", "머그컵 있어요?"),
])
def test_meo_typed_for_mwo(typed: str, read: str) -> None:
    assert respell(typed) == read


def test_the_items_asked_with_meomeo() -> None:
    query = parse_own_query("어제 시킨거 머머 담았었죠? 약과도 들어갔나", _NOW)
    assert "items" in query.facts and "머머" not in query.products


@pytest.mark.parametrize(("text", "charged"), [
    ("카드 결제가 세 번이나 됐어요 9만원씩 빠져나갔는데 이게 뭐에요? 언제 취소돼요?", True),
    ("3번 결제됐어요", True),
    ("결제가 두 번 됐어요", True),
    ("쿠폰 세 번 쓸수있어요?", False),
    ("전화도 세 번이나 했는데 아무도 안 받네요", False),
])
def test_money_taken_several_times_is_an_incident(text: str, charged: bool) -> None:
    assert ("double_charge" in incident_evidence(text)) == charged


def _return_reply_for_kitchenware(question: str) -> str:
    """The return article's reply where the catalogue says a pot or a steamer is 주방용품."""
    from test_answer_units import _reply

    from sajang.graphs.inquiry.answering import _GOODS_KINDS

    token = _GOODS_KINDS.set(frozenset({"주방", "용품"}))
    try:
        return _reply(question, "return-policy")
    finally:
        _GOODS_KINDS.reset(token)


@pytest.mark.parametrize("question", ["찜기 한번 써봤는데 별로네요 반품 되나요", "냄비 한번 써봤는데 맘에 안 들어서요 반품 되나요"])
def test_a_told_case_the_rule_refuses_answers_whether_it_can_be_done(question: str) -> None:
    answer = _return_reply_for_kitchenware(question)
    assert "사용했거나 세척한 주방용품, 일부를 먹은 식품은 반품이 어렵습니다" in answer, answer
    assert "7일 안에 반품을 신청하실 수 있습니다" not in answer, answer


def test_the_items_asked_again_of_the_order_just_answered() -> None:
    query = parse_own_query("그 주문에 뭐뭐 잇엇죠", _NOW)
    assert "items" in query.facts and query.same_order


# --- the review's findings ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("question", "stated"), [
    # how long it takes is answered by «즉시» too
    ("무통장 입금하면 결제완료까지 얼마나 걸려요?", "즉시"),
    # the deadline of the using, not a span counted from «적립»
    ("적립된거 언제까지 써야돼요?", "1년"),
])
def test_how_long_it_takes_and_the_deadline_of_the_deed(question: str, stated: str) -> None:
    body = _PAYMENT if "입금" in question else (
        "## 사용\n적립금은 1,000원 이상부터 결제할 때 쓸 수 있습니다.\n\n## 유효기간\n적립금은 적립 후 1년 안에 "
        "사용하셔야 하며, 지나면 소멸합니다.")
    assert stated in _quoted(question, body)


def test_two_whethers_after_another_question_stay_with_it() -> None:
    parts = question_parts("배송비 얼마에요? 그리고 반품 되는지랑 교환 되는지 궁금해요")
    assert parts[0] == "배송비 얼마에요?", parts


@pytest.mark.parametrize(("heading", "case", "sentence"), [
    ("반품이 어려운 경우", "받으신 지 7일이 지난 단순 변심 반품", "받으신 지 7일이 지난 단순 변심 반품은 어렵습니다."),
    ("반품이 어려운 경우", "고객 변심 시", None),
    ("반품이 어려운 경우", "개봉 후", None),
    ("반품이 어려운 경우", "포장 훼손됨", None),
    ("반품이 어려운 경우", "상품 가치가 떨어진", None),
])
def test_a_case_sentence_only_of_a_case_ending_in_its_noun(heading: str, case: str, sentence: str | None) -> None:
    assert case_sentence(heading, case) == sentence


@pytest.mark.parametrize(("typed", "read"), [("머지않아 도착하나요", "머지않아 도착하나요"), ("이거 머지?", "이거 뭐지?"),
                                             ("끈 잇는지 봐주세요", "끈 잇는지 봐주세요")])
def test_meo_and_iss_leave_other_words(typed: str, read: str) -> None:
    assert respell(typed) == read


def test_a_week_ago_in_korean_words() -> None:
    found = date_range("일주일 전에 주문한거 배송됐나요", _NOW)
    assert found is not None and found[0].astimezone(KST).date() == date(2026, 11, 22)


def test_an_opened_but_unused_board_is_not_the_used_case() -> None:
    answer = _return_reply_for_kitchenware("도마뜯어만봣고안썻는데반품되나요")
    assert "반품이 어렵습니다" not in answer, answer


@pytest.mark.parametrize("text", [
    "상담원이라고 전화와서 환불해준다고 카드번호랑 비번 달래서 알려줬어요 ㅠㅠ 이거 사기죠? 어캄",
    "받은 상자 송장에 다른 사람 이름, 주소, 전화번호가 적혀 있고 명세서도 남의 거예요. 그럼 제 주소도 다른 사람한테 간 거 아니에요?",
])
def test_card_details_given_away_or_someone_elses_data_are_urgent(text: str) -> None:
    assert "fraud" in incident_evidence(text)


@pytest.mark.parametrize("text", ["비번 바꾸는 방법 알려주세요", "선물 받는 분 주소 적혀서 가나요?"])
def test_no_fraud_in_everyday_questions(text: str) -> None:
    assert incident_evidence(text) == []


# --- the second review's findings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("told", "negated"), [
    ("찜기 사용 안 했는데", True), ("찜기 한 번도 써보지도 않았는데", True), ("한 번도 쓴 적 없는데", True),
    ("적립금은 안 썼고 찜기는 한번 써봤는데", False), ("한번 써봤는데", False),
])
def test_what_they_told_negated_to_the_end_of_its_clause(told: str, negated: bool) -> None:
    from sajang.graphs.inquiry.answering import _told_negated

    assert _told_negated(told, "사용") is negated


@pytest.mark.parametrize("text", [
    "이 머그컵 재질 사기예요 유리예요?",
    "환불받을 계좌번호랑 예금주 알려드렸는데 언제 입금돼요?",
    "다른 분 주소로 보내려는데 송장에 제 이름 찍혀 나가나요?",
    "선물이라 다른 사람 주소로 보내는데 보내는 사람 이름 적혀 가나요?",
])
def test_porcelain_a_refund_account_and_a_gift_label_are_no_fraud(text: str) -> None:
    assert incident_evidence(text) == []


@pytest.mark.parametrize("text", ["하루 전화 세 번 했는데 안받아요", "출고 하루 전까지 취소 가능한가요?"])
def test_a_day_word_that_is_no_date_of_an_order(text: str) -> None:
    query = parse_own_query(text, _NOW)
    assert query.date_label is None and "하루" not in query.products


def test_a_decimal_point_is_no_sentence_end() -> None:
    assert len(question_parts("1.5L 생수 반품 되는지랑 교환 되는지 궁금해요")) == 2
