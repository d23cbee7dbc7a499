"""Internal knowledge stays internal: articles and sections marked for agents, the admin's switch, and a
shop manual written as an agent playbook (tests/fixtures/playbook_manual: problem codes, «해결 흐름», tool
names, example dialogue) that still answers its policy questions without quoting any of that.

Run on both databases:
    pytest tests/test_internal_knowledge.py
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test pytest tests/test_internal_knowledge.py
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from sajang.config import Settings
from sajang.graphs.inquiry.answering import offline_answer, relevant_sentences, visible_units
from sajang.knowledge.ingest import (
    AGENTS_ONLY_MARK,
    answer_units,
    is_agents_only,
    parse_markdown,
    read_manual_dir,
    set_article_audience,
)

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "playbook_manual"
PLAYBOOK = FIXTURE / "manual"
QUESTIONS = [json.loads(line) for line in (FIXTURE / "questions.jsonl").read_text(encoding="utf-8").splitlines()
             if line.strip()]
# what a customer must never read: problem codes, tool names and internal channels, steps, example dialogue
LEAKS = re.compile(r"\[[A-Z]+-\d+\]|[A-Z]{2,}-(?:\d{2,}|[A-Z]{3,})|[가-힣A-Za-z]+_[가-힣A-Za-z]+|도구|슬랙|#[a-z]|"
                   r"해결 흐름|문제 정의|고객:|상담원:|팀장|재분류|실행\b|예시 대화|보상 한도")


def _articles() -> dict[str, dict[str, Any]]:
    return {a["id"]: {**a, "kind": "manual", "text": ""} for a in read_manual_dir(PLAYBOOK)[0]}


def test_the_playbook_fixture_is_a_real_playbook() -> None:
    articles = _articles()
    assert len(articles) >= 8 and len(QUESTIONS) >= 15
    bodies = "\n".join(a["body"] for a in articles.values())
    assert "해결 흐름" in bodies and "[TASTE-103]" in bodies and "'즉시_주문취소' 도구" in bodies and "고객:" in bodies


def test_front_matter_and_headings_mark_what_is_for_agents(tmp_path: Path) -> None:
    agents = parse_markdown(PLAYBOOK / "abuse-handling.md", (PLAYBOOK / "abuse-handling.md").read_text("utf-8"))
    assert agents["body"].startswith(AGENTS_ONLY_MARK) and is_agents_only(agents["body"])
    plain = tmp_path / "plain.md"
    plain.write_text("id: plain\ntitle: 배송 안내\naudience: customers\n---\n## 안내\n배송비는 3,000원입니다.\n"
                     "## [내부] 메모\n이 고객은 VIP라 예외 처리함.\n## (상담원용) 참고\n재고는 창고 B에 있음.\n", "utf-8")
    body = parse_markdown(plain, plain.read_text("utf-8"))["body"]
    assert not is_agents_only(body)
    units = answer_units(body)
    assert [(u.heading, u.audience) for u in units] == [("안내", "customers"), ("메모", "agents"), ("참고", "agents")]
    # the admin's switch wins over the front matter, both ways
    assert is_agents_only(body, "plain", {"agents": ["plain"], "customers": []})
    assert not is_agents_only(agents["body"], agents["id"], {"agents": [], "customers": [agents["id"]]})


def test_playbook_units_for_customers_carry_no_code_tool_step_or_dialogue() -> None:
    for article in _articles().values():
        for unit in visible_units(article, "customers"):
            assert not LEAKS.search(unit.quote), (article["id"], unit.quote)
            assert unit.kind not in ("step", "dialogue")
    cancel = _articles()["pb-order-cancel"]
    agents = [u.text for u in visible_units(cancel, "agents")]
    assert any("'즉시_주문취소' 도구 실행" in t for t in agents)  # the hub and the AI suggestion see the playbook
    # an agent's shorthand is said to the customer as a sentence
    taste = " ".join(u.quote for u in visible_units(_articles()["pb-taste-complaint"], "customers"))
    assert "환불 대상이 아닙니다" in taste and "고객님 부담입니다" in taste


def test_agents_see_internal_sections_customers_do_not() -> None:
    points = _articles()["pb-points-coupon"]
    question = "상담원 재량 보상은 얼마까지 돼요?"
    assert any("3,000원까지" in s for s in relevant_sentences(question, points, audience="agents"))
    assert not any("3,000원까지" in s for s in relevant_sentences(question, points))
    abuse = _articles()["pb-abuse-handling"]
    assert relevant_sentences("욕하면 상담 끊어요?", abuse) == []
    assert relevant_sentences("욕하면 상담 끊어요?", abuse, audience="agents")


@pytest.fixture
def playbook_store(settings: Settings) -> Settings:
    from sajang.knowledge.service import get_knowledge

    get_knowledge(settings).import_manual_dir(PLAYBOOK)
    return settings


def test_a_playbook_manual_answers_its_policy_questions_without_leaking(playbook_store: Settings,
                                                                      engine: Engine) -> None:
    """The manual answer itself (search → units → reply, through the confidence gate): most policy questions
    get their fact, none gets a code, a tool, a step or a line of example dialogue."""
    from sajang.graphs.inquiry.classifier import classify_text
    from sajang.knowledge.service import get_knowledge

    kb, policy = get_knowledge(playbook_store), playbook_store.store
    right: list[str] = []
    for case in QUESTIONS:
        result = kb.search(case["q"], k=5)
        out = offline_answer(playbook_store, policy, text=case["q"], locale="ko",
                             category=classify_text(playbook_store, case["q"]).category, customer_id=None, orders=[],
                             hits=[h.as_dict() for h in result.hits], retrieval_confidence=result.confidence,
                             unknown_terms=result.unknown_terms)
        assert not LEAKS.search(out["answer"]), (case["q"], out["answer"])
        if out["confidence"] >= playbook_store.answer_confidence_threshold and \
                any(f in out["answer"] for f in case["facts"]):
            right.append(case["q"])
    assert len(right) >= 0.8 * len(QUESTIONS), [c["q"] for c in QUESTIONS if c["q"] not in right]


def test_through_the_chat_nothing_internal_reaches_the_customer(playbook_store: Settings, engine: Engine) -> None:
    from sajang.graphs.inquiry.service import get_inquiry_service

    svc = get_inquiry_service(playbook_store)
    for case in QUESTIONS:
        answer = svc.ask(case["q"])["answer"] or ""
        assert not LEAKS.search(answer), (case["q"], answer)
    assert "2%" in (svc.ask("적립금은 구매 확정되면 몇 퍼센트 쌓여요?")["answer"] or "")
    # the admin makes the points article internal: customers no longer get its text
    set_article_audience(engine, "pb-points-coupon", "agents", actor="admin")
    assert "2%" not in (svc.ask("적립금은 구매 확정되면 몇 퍼센트 쌓여요?")["answer"] or "")


def test_an_agents_only_answer_is_still_drafted_for_the_agent(playbook_store: Settings) -> None:
    from sajang.knowledge.service import get_knowledge

    result = get_knowledge(playbook_store).search("욕설이 반복되면 응대 종료할 수 있나요?", k=3)
    hits = [h.as_dict() for h in result.hits]
    assert hits[0]["id"] == "pb-abuse-handling"
    kw: dict[str, Any] = {"text": "욕설이 반복되면 응대 종료할 수 있나요?", "locale": "ko", "category": "other",
                          "customer_id": None, "orders": [], "hits": hits, "retrieval_confidence": result.confidence}
    policy = playbook_store.store
    for_customer = offline_answer(playbook_store, policy, **kw)
    assert "욕설" not in for_customer["answer"]
    for_agent = offline_answer(playbook_store, policy, audience="agents", **kw)
    assert "욕설이 3회 이상" in for_agent["answer"]
