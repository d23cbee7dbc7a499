"""Rules of the offline answer found on the second held-out set (sajang/data/conversation_eval_heldout2.jsonl):
each is a general reading of chat Korean, checked here on messages of its own kind."""

from __future__ import annotations

from sajang.graphs.inquiry.answering import (
    asks_value_of_unknown,
    needs_action,
    prefer_named_topic,
    question_parts,
    relevant_units,
)
from sajang.graphs.inquiry.classifier import incident_evidence
from sajang.graphs.inquiry.intents import parse_own_query


def test_a_case_or_a_purpose_is_no_incident() -> None:
    for text in ("택배 왔을 때 파우치 터져 있으면 사진 언제까지 보내요?", "이물질 나오면 결과는 언제 알려 주세요?",
                 "파손 접수하려면 사진 몇 시간 안에 보내야 하나요?", "머리카락이 나오면 환불돼요?"):
        assert incident_evidence(text) == [], text
    for text in ("파우치가 터져 있어요", "만두에서 이물질 나왔어요", "벌레가 나왔는데 먹어도 돼요?",
                 # threats, repeated complaints and harm are reports whatever verb follows
                 "경찰 부르면 되겠네요", "몇 번째 말하면 처리해 주실래요", "아이가 먹고 설사 계속하면 어떡해요"):
        assert incident_evidence(text), text


def test_asking_what_the_shop_does_is_no_request_to_act() -> None:
    for text in ("유통기한 얼마 안 남은 거 오면 교환해주나요?", "이런 경우도 환불해 주는지 궁금해요"):
        assert not needs_action(text), text
    for text in ("교환해 주세요", "환불해줘", "환불해줘요?", "반품 접수해 주실 수 있나요", "환불 해주는 거죠? 해 주세요"):
        assert needs_action(text), text


def test_the_value_of_something_no_document_mentions() -> None:
    assert asks_value_of_unknown("순살 갈비탕 칼로리랑 나트륨 몇이에요?", ["칼로리", "나트륨"])
    assert asks_value_of_unknown("무쇠전골냄비무게몇키로에요", ["무게"])
    # an unknown word that is not what is asked about
    assert not asks_value_of_unknown("아침에 주문하면 배송비 얼마예요", ["아침"])
    assert not asks_value_of_unknown("배송비 얼마예요", [])


def test_an_announcement_is_not_the_topic() -> None:
    assert question_parts("상담 문의 좀 드릴게요. 고객센터 점심시간이 언제예요?") == ["고객센터 점심시간이 언제예요?"]
    assert question_parts("질문 있어요! 배송비 얼마예요?") == ["배송비 얼마예요?"]
    # context that says something stays with its question
    assert question_parts("지난번에 주문했던 사람인데요. 반품 돼요?") == ["지난번에 주문했던 사람인데요. 반품 돼요?"]


def test_a_sentence_leaning_on_the_one_before_comes_with_it() -> None:
    body = ("## 현금영수증\n계좌이체는 주문할 때 번호를 넣으면 자동으로 발급됩니다. 넣지 않으셨다면 그달 말일까지 "
            "고객센터로 요청해 주세요. 이후에는 국세청 기준에 따라 발급이 어렵습니다.")
    hit = {"id": "receipts", "title": "영수증", "body": body, "text": body, "kind": "manual"}
    quotes = [u.text for u in relevant_units("현금영수증 발급 어렵나요 국세청 기준", hit)]
    assert any(q.startswith("이후에는") for q in quotes)
    first = next(i for i, q in enumerate(quotes) if q.startswith("이후에는"))
    assert first > 0 and "말일" in quotes[first - 1]


def test_the_article_whose_title_names_the_topic_goes_first() -> None:
    hits = [{"id": "points", "title": "적립금 적립과 사용", "score": 0.89, "kind": "manual", "category": "coupon_points"},
            {"id": "coupons", "title": "쿠폰 사용 규칙", "score": 0.85, "kind": "manual", "category": "coupon_points"},
            {"id": "cooking-mandu", "title": "왕만두·손만두 맛있게 익히기", "score": 0.84, "kind": "manual",
             "category": "product"}]
    assert prefer_named_topic("쿠폰 두 장 같이 써져요?", hits, "coupon_points")[0]["id"] == "coupons"
    # too far below, or filed under another category than the message: the ranking stays
    assert prefer_named_topic("쿠폰 두 장 같이 써져요?", [hits[0], {**hits[1], "score": 0.7}])[0]["id"] == "points"
    missing = [{"id": "missing-item", "title": "상품이나 구성품이 빠졌을 때", "score": 0.9, "kind": "manual",
                "category": "damage_defect"}, hits[2]]
    assert prefer_named_topic("만두 2봉 시켰는데 1봉만 왔네요", missing, "damage_defect")[0]["id"] == "missing-item"


def test_english_and_elliptic_order_facts() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    now = datetime(2026, 12, 2, 12, tzinfo=ZoneInfo("Asia/Seoul"))
    assert "list" in parse_own_query("show me my last 3 orders pls", now).facts
    assert "tracking" in parse_own_query("which courier?", now).facts
    assert "items" in parse_own_query("그 주문은 뭐 들어있었어요?", now).facts
    assert "amount" in parse_own_query("그거 결제 얼마 됐어요?", now).facts
    assert parse_own_query("do I have anything on its way?", now).exists_question
