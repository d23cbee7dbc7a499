"""Readings of chat found on the dev set's remaining misses (session 10): each checked here on messages of
its own kind, worded for this file, against the demo manual's articles (no database)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from test_answer_units import ARTICLES, POLICY, _reply

from sajang.graphs.inquiry.answering import compose_manual_reply, manual_parts, question_parts
from sajang.graphs.inquiry.classifier import incident_evidence
from sajang.graphs.inquiry.intents import elliptic_action, elliptic_fragment, parse_own_query
from sajang.graphs.inquiry.order_answers import is_own_data_question, read_in_context
from sajang.knowledge.normalize import correct_typos, normalize_message


@pytest.mark.parametrize(("question", "article"), [
    ("왕만두 에어프라이어 온도 몇 도로 해요?", "cooking-mandu"),
    ("고기만두 에프에 돌릴때 온도는요", "cooking-mandu"),
    ("what temperature should i set the air fryer to for the dumplings?", "cooking-mandu.en"),
])
def test_a_temperature_question_gets_the_temperature(question: str, article: str) -> None:
    answer = _reply(question, article)
    assert "180℃" in answer
    # the FAQ about frying without oil shares the words, not the fact asked for
    assert "딱딱" not in answer and "hard" not in answer


def test_the_temperature_wins_over_the_passage_the_search_chose() -> None:
    """The search's passage for such a question is the FAQ section (it shares 에어프라이어 and 돌리다)."""
    article = ARTICLES["cooking-mandu"]
    faq = article["body"].split("## 자주 묻는 질문")[1]
    question = "만두 에어프라이어에 몇도로 돌려요"
    parts = manual_parts(question, [{**article, "text": faq}])
    answer = compose_manual_reply(question, parts, "ko", POLICY)
    assert "180℃" in answer and "딱딱" not in answer


@pytest.mark.parametrize(("question", "article", "hours"), [
    ("상담원 몇 시부터 있어요?", "cs-hours", "10:00–17:00"),
    ("상담사님 몇시까지 계세요", "cs-hours", "10:00–17:00"),
    ("what time do your agents finish?", "cs-hours.en", "10:00–17:00"),
])
def test_asking_until_when_agents_work_gets_the_hours_not_how_to_reach_one(question: str, article: str,
                                                                         hours: str) -> None:
    answer = _reply(question, article)
    assert hours in answer
    assert "상담원 연결'이라고" not in answer


@pytest.mark.parametrize(("typed", "read"), [
    ("주말에도 배송하나여", "주말에도 배송하나요"),
    ("교환 되여?ㅠ", "교환 되요?"),
    ("이거 뭐에여", "이거 뭐에요"),
    ("상담 몇시까지 해여", "상담 몇시까지 해요"),
    ("여기 여수인데 배송 돼요?", "여기 여수인데 배송 돼요?"),  # 여 that is no ending stays
])
def test_the_polite_ending_typed_as_yeo_is_read_as_yo(typed: str, read: str) -> None:
    assert normalize_message(typed).text == read


def test_a_question_ending_in_yeo_is_a_question_of_its_own() -> None:
    text = normalize_message("울릉도 배송비 얼마에요? 냉동식품도 받을 수 있나여").text
    assert len(question_parts(text)) == 2


@pytest.mark.parametrize("text", ["간장게장 해동 어떻게 해요", "갈비탕 해동은 냉장실에서 하나요?"])
def test_a_typo_pass_never_re_spaces_words_it_did_not_correct(text: str) -> None:
    corrected, _changes = correct_typos(text)
    assert corrected.split() == text.split()


def test_a_slip_is_still_corrected_inside_its_own_word() -> None:
    corrected, changes = correct_typos("적립금 언재 들어와요")
    assert corrected == "적립금 언제 들어와요" and changes


def _reply_from_passage(question: str, article_id: str, marker: str) -> str:
    """The reply when the search chose the article's paragraph holding `marker` as its passage."""
    article = ARTICLES[article_id]
    passage = next(p for p in article["body"].split("\n\n") if marker in p)
    parts = manual_parts(question, [{**article, "text": passage}])
    return compose_manual_reply(question, parts, "ko", POLICY)


@pytest.mark.parametrize(("question", "article", "wanted"), [
    # «가격» names the topic here, it does not ask for a figure: the unit without an amount still answers
    ("선물하려는데 상자에 가격표 안 들어가게 해 주실 수 있나요?", "gift-wrapping", "가격이 적히지 않은"),
    # «언제» asks for a day, not a duration
    ("일요일 밤에 결제하면 언제 나가요?", "delivery-dispatch", "월요일"),
])
def test_a_topic_word_is_no_question_for_a_figure(question: str, article: str, wanted: str) -> None:
    assert wanted in _reply_from_passage(question, article, wanted)


def test_a_past_tense_statement_after_the_question_is_read_with_it() -> None:
    parts = question_parts("김치 시켰는데 변심했어요 반품 가능해요? 박스 그대로 있고 안 열었어요")
    assert len(parts) == 1
    # with a question word or a question mark it still asks
    assert len(question_parts("포인트 받았어요? 쿠폰은 언제 들어와요?")) == 2


def test_english_free_delivery_threshold_is_the_free_shipping_rule() -> None:
    answer = _reply("what's the minimum order for free delivery?", "delivery-fee.en")
    assert "50,000 won" in answer


@pytest.mark.parametrize(("text", "theirs"), [
    # how long the rule says it takes: the policy, at once
    ("카드로 결제한 거 취소했는데 환불 며칠 정도 걸려요?", False),
    ("I returned the order I paid by card, how many days until the refund?", False),
    # when theirs comes, or a request to look it up, waits for the verification
    ("제가 주문한 거 언제 와요?", True),
    ("주문한 거 환불 됐는지 확인 좀 해 주세요", True),
])
def test_a_guest_asking_how_long_the_rule_takes_gets_the_rule(text: str, theirs: bool) -> None:
    now = datetime(2026, 12, 2, 15, 0, tzinfo=timezone(timedelta(hours=9)))
    assert is_own_data_question(text, "other", parse_own_query(text, now), [], guest=True) is theirs


@pytest.mark.parametrize(("text", "kind"), [
    ("택배 받았는데 소스 봉지가 터져서 박스가 양념범벅이네요", "damage"),
    ("국물이 새서 같이 온 반찬까지 다 젖었어요", "damage"),
    ("카드값 보니까 같은 주문이 두 번 결제됐어요", "double_charge"),
    ("계좌에서 돈이 두 번 빠졌어요 확인해주세요", "double_charge"),
    ("my card was charged twice", "double_charge"),
    ("쇼핑몰 직원이라면서 문자로 인증번호 알려달래서 알려줬어요 피싱인가요", "fraud"),
    ("someone called saying they were you and asked my card number, is this a scam?", "fraud"),
])
def test_money_and_leaks_reported_are_incidents(text: str, kind: str) -> None:
    assert kind in incident_evidence(text)


@pytest.mark.parametrize("text", [
    "선물로 사기 전에 여쭤봐요 유통기한 얼마나 돼요?",  # 사기: to buy
    "결제 두 번 나눠서 하면 할인 두 번 받을 수 있나요?",
    "중복 결제처럼 보이면 어떻게 하나요?",
    "비 오는 날 상자가 젖으면 어떡해요?",
])
def test_the_same_words_in_a_question_are_no_incident(text: str) -> None:
    assert incident_evidence(text) == []


@pytest.mark.parametrize(("text", "action"), [
    ("그럼 그거 취소는요?", "cancel"), ("그 주문 반품은요?", "return"), ("교환은요?", "exchange"),
    ("그럼 배송지 변경은요?", "address"), ("제주도는요?", None), ("그 주문은요?", None),
])
def test_an_action_named_alone_after_an_order_answer(text: str, action: str | None) -> None:
    fragment = elliptic_fragment(text)
    assert fragment is not None
    assert elliptic_action(fragment) == action


def test_each_question_of_a_message_gets_its_own_unit_not_the_passage_found_for_the_other() -> None:
    """The search's passage for the whole message is the fresh-food paragraph (the second question's):
    the first question still gets how long the islands take."""
    question = "울릉도는 배송 며칠 걸려요? 냉동식품도 보내 주시나요?"
    answer = _reply_from_passage(question, "delivery-remote-area", "48시간")
    assert "2~3일" in answer and "월요일과 화요일" in answer


@pytest.mark.parametrize("question", ["잘못 온 만두 먹어도 돼요?", "반찬이 잘못 왔는데 먹어도 되나요"])
def test_a_customer_asking_nearly_the_faq_question_gets_its_answer(question: str) -> None:
    """Even when the search's passage is the article's first section (what to check first)."""
    assert "드셔도" in _reply_from_passage(question, "exchange-wrong-item", "포장 디자인")


@pytest.mark.parametrize(("text", "fragment"), [
    ("토욜도 해요?", "토욜"), ("그럼 일요일은 되나요?", "일요일"), ("울릉도도 돼요?", "울릉도"),
    ("네이버페이로 결제한 건요?", "네이버페이"), ("무통장으로 낸 거는요?", "무통장"),
    ("반품도 되나요?", None),  # a topic with the same verb asks a question of its own
    ("주말에도 배송하나요?", None),
])
def test_a_day_place_or_way_of_paying_with_a_light_verb_is_a_follow_up(text: str, fragment: str | None) -> None:
    assert elliptic_fragment(text) == fragment


@pytest.mark.parametrize(("text", "policy"), [
    ("그럼 회수는 언제 와요?", True),  # when the shop's process takes that step: the manual's timing
    ("그럼 환불은 언제 들어오나요?", True),
    ("제 환불은 언제 들어와요?", False),  # theirs: their order and claim
    ("그 주문 언제 도착해요?", False),
])
def test_after_an_order_answer_asking_when_a_process_step_comes(text: str, policy: bool) -> None:
    now = datetime(2026, 12, 2, 15, 0, tzinfo=timezone(timedelta(hours=9)))
    memory = {"kind": "order", "base": "LA갈비 주문 어떻게 됐어요?", "order_ids": ["O-20261120-00001"],
              "query": parse_own_query("LA갈비 주문 어떻게 됐어요?", now).as_dict()}
    assert (read_in_context(text, memory, None, None, now).followup == "policy") is policy
