"""The chat-model path ends every turn well: the real `langchain-openai` client against the local
OpenAI-compatible stub (tests/openai_stub_server.py) in its failure modes. Whatever the model does (server
down, 5xx, too slow for the turn's deadline, malformed JSON, a stream cut mid-answer, no tool calling), the
customer gets HTTP 200 and a stored answer or handoff; after repeated failures the circuit breaker skips
the model; calls per message are counted at the stub; dates reach the prompt in KST; the gate does not
trust the model's confidence number.

The embeddings come from a second, healthy stub, so that only the chat model fails.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openai_stub_server import OpenAIStub
from sqlalchemy import Engine, update
from test_inquiry_support import A_ORDER, A_TRACK, A, seed_llm_store

from sajang.config import Settings
from sajang.db.engine import session_scope
from sajang.db.models import Order
from sajang.graphs.common.breaker import chat_model_status, reset_breakers
from sajang.graphs.common.llm import Deadline, DeadlineExceeded
from sajang.graphs.inquiry.llm_answer import KST, LLMTurn, forget_tool_refusals, grounded, kst_text
from sajang.graphs.inquiry.service import get_inquiry_service
from sajang.ui.admin import model_status_text

MANUAL_QUESTION = "반품 비용은 얼마예요?"
ORDER_QUESTION = "제 택배 언제 와요?"


@pytest.fixture
def embed_stub() -> Iterator[OpenAIStub]:
    with OpenAIStub() as s:
        yield s


@pytest.fixture
def chat_stub() -> Iterator[OpenAIStub]:
    with OpenAIStub() as s:
        yield s


def llm_store(engine: Engine, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, chat_url: str, embed_url: str,
              **env: str) -> Settings:
    """The seeded store with the chat model at `chat_url`, embeddings at `embed_url`, and `env` settings."""
    reset_breakers()
    forget_tool_refusals()
    monkeypatch.setenv("SAJANG_EMBEDDING_BASE_URL", embed_url)
    for key, value in env.items():
        monkeypatch.setenv(f"SAJANG_{key.upper()}", value)
    settings = seed_llm_store(engine, tmp_path, monkeypatch, chat_url)
    assert settings.embedding_base_url == embed_url
    return settings


@pytest.fixture
def llm(settings: Settings, engine: Engine, chat_stub: OpenAIStub, embed_stub: OpenAIStub,
        monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Settings:
    return llm_store(engine, tmp_path, monkeypatch, chat_stub.base_url, embed_stub.base_url)


def chat_calls(stub: OpenAIStub) -> int:
    return len(stub.chat_requests())


def ask_over_rest(settings: Settings, text: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """POST the message as a guest through the REST route: (the 200 response, the messages stored)."""
    from sajang.app.main import create_app

    with TestClient(create_app(settings, mount_ui=False), raise_server_exceptions=False) as client:
        session = client.post("/api/v1/chat/sessions", json={})
        assert session.status_code == 201, session.text
        tid, headers = session.json()["thread_id"], {"Authorization": f"Bearer {session.json()['token']}"}
        r = client.post(f"/api/v1/chat/sessions/{tid}/messages", headers=headers, json={"text": text})
        assert r.status_code == 200, r.text
        stored = client.get(f"/api/v1/chat/sessions/{tid}/messages", headers=headers)
        assert stored.status_code == 200
    return r.json(), stored.json()["messages"]


def assert_turn_ended_well(result: dict[str, Any], stored: list[dict[str, Any]], text: str) -> None:
    """An answer or a handoff notice, and it is stored after the customer's message."""
    assert result["answer"], result
    roles = [(m["role"], m["text"]) for m in stored]
    asked = roles.index(("customer", text))
    assert ("ai", result["answer"]) in roles[asked + 1:], roles


# --- the model fails: the turn still ends well -------------------------------------------------------------

def test_server_down_answers_offline_over_rest(settings: Settings, engine: Engine, embed_stub: OpenAIStub,
                                                monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    with OpenAIStub() as gone:
        down_url = gone.base_url  # nothing listens there once the block ends
    llm = llm_store(engine, tmp_path, monkeypatch, down_url, embed_stub.base_url)
    result, stored = ask_over_rest(llm, MANUAL_QUESTION)
    assert_turn_ended_well(result, stored, MANUAL_QUESTION)
    status = chat_model_status(llm)
    assert status["fallbacks"] == 1 and "Connection" in (status["last_error"] or "")


def test_server_errors_are_retried_within_the_budget_then_answered_offline(llm: Settings,
                                                                           chat_stub: OpenAIStub) -> None:
    chat_stub.server.fail_status = 500
    result, stored = ask_over_rest(llm, MANUAL_QUESTION)
    assert_turn_ended_well(result, stored, MANUAL_QUESTION)
    assert chat_calls(chat_stub) == 1 + llm.llm_max_retries  # one try and the retries the setting allows
    assert "500" in (chat_model_status(llm)["last_error"] or "")


def test_a_model_slower_than_the_deadline_is_abandoned(llm: Settings, chat_stub: OpenAIStub) -> None:
    get_inquiry_service(llm).ask(MANUAL_QUESTION, customer_id=A)  # loads what a first turn loads
    assert chat_calls(chat_stub) == 1
    llm.llm_turn_deadline_s, chat_stub.server.latency_s = 1.0, 3.0
    result, stored = ask_over_rest(llm, MANUAL_QUESTION)
    assert_turn_ended_well(result, stored, MANUAL_QUESTION)
    assert chat_calls(chat_stub) == 2  # a timeout is not retried: the budget is spent
    assert "DeadlineExceeded" in (chat_model_status(llm)["last_error"] or "")


def test_a_stream_that_trickles_past_the_deadline_is_stopped(llm: Settings, chat_stub: OpenAIStub) -> None:
    """Each chunk comes in time for the HTTP timeout, the whole answer does not: the token callback stops
    the stream at the deadline and the customer gets the complete offline answer."""
    svc = get_inquiry_service(llm)
    svc.ask(MANUAL_QUESTION, customer_id=A)  # loads what a first turn loads
    llm.llm_turn_deadline_s, chat_stub.server.chunk_delay_s = 3.0, 0.5
    chunks_before = chat_stub.server.content_chunks
    items = list(svc.stream_ask(MANUAL_QUESTION, customer_id=A))
    final = items[-1]
    assert isinstance(final, dict) and final["answer"] and not final["answer"].startswith("안내드립니다.")
    assert "DeadlineExceeded" in (chat_model_status(llm)["last_error"] or "")
    # stopped: the stub's answer is far longer than the chunks it got to send
    assert 0 < chat_stub.server.content_chunks - chunks_before < 20


def test_a_caller_can_ask_for_the_short_deadline(settings: Settings, engine: Engine, chat_stub: OpenAIStub,
                                                 embed_stub: OpenAIStub, monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Any) -> None:
    """The same slow model: within the default budget it answers, within the fast channel's it does not."""
    llm = llm_store(engine, tmp_path, monkeypatch, chat_stub.base_url, embed_stub.base_url,
                    llm_fast_deadline_s="0.5")
    chat_stub.server.latency_s = 1.0
    svc = get_inquiry_service(llm)
    fast = svc.ask(MANUAL_QUESTION, customer_id=A, deadline_s=llm.llm_fast_deadline_s)
    assert fast["answer"] and "DeadlineExceeded" in (chat_model_status(llm)["last_error"] or "")
    patient = svc.ask(MANUAL_QUESTION, customer_id=A)
    assert patient["answer"] and patient["answer"].startswith("안내드립니다.")  # the stub's wording: the model
    assert chat_model_status(llm)["consecutive_failures"] == 0


def test_malformed_json_answers_offline(llm: Settings, chat_stub: OpenAIStub) -> None:
    chat_stub.server.malformed = True
    result, stored = ask_over_rest(llm, MANUAL_QUESTION)
    assert_turn_ended_well(result, stored, MANUAL_QUESTION)
    assert not result["answer"].startswith("안내드립니다.")
    assert chat_model_status(llm)["fallbacks"] == 1


def test_a_stream_cut_mid_answer_ends_with_the_complete_offline_message(llm: Settings,
                                                                        chat_stub: OpenAIStub) -> None:
    """The SSE route: the model's first chunks went out, then its connection dropped; the `result` event
    carries the complete answer that was stored, never an error event."""
    from sajang.app.main import create_app

    chat_stub.server.cut_stream_after = 3
    with TestClient(create_app(llm, mount_ui=False), raise_server_exceptions=False) as client:
        session = client.post("/api/v1/chat/sessions", json={}).json()
        tid, headers = session["thread_id"], {"Authorization": f"Bearer {session['token']}"}
        with client.stream("POST", f"/api/v1/chat/sessions/{tid}/messages/stream", headers=headers,
                           json={"text": MANUAL_QUESTION}) as r:
            assert r.status_code == 200
            body = "".join(r.iter_text())
        stored = client.get(f"/api/v1/chat/sessions/{tid}/messages", headers=headers).json()["messages"]
    events = [(m.group(1), json.loads(m.group(2))) for m in re.finditer(r"event: (\w+)\ndata: (.*)\n\n", body)]
    kinds = [k for k, _ in events]
    assert "error" not in kinds and kinds[-1] == "result"
    assert_turn_ended_well(events[-1][1], stored, MANUAL_QUESTION)
    assert chat_stub.server.content_chunks == 3 and chat_model_status(llm)["fallbacks"] == 1


def test_a_server_without_tool_calling_still_answers_the_order_question(llm: Settings,
                                                                        chat_stub: OpenAIStub) -> None:
    """vLLM without `--enable-auto-tool-choice` answers 400 to `tools`: the call is made again without
    them, structured output only (the customer's orders are in the prompt), not counted as the model
    failing; the next order questions skip the refused tools (one call)."""
    chat_stub.server.no_tools = True
    svc = get_inquiry_service(llm)
    r = svc.ask(ORDER_QUESTION, customer_id=A)
    bodies = chat_stub.chat_requests()
    assert [bool(b.get("tools")) for b in bodies] == [True, False]
    assert bodies[1]["response_format"]["json_schema"]["name"] == "LLMTurn"
    assert A_ORDER in bodies[1]["messages"][0]["content"]
    assert r["answer"] and A_TRACK in r["answer"] and chat_model_status(llm)["consecutive_failures"] == 0
    again = svc.ask(ORDER_QUESTION, customer_id=A)
    assert [bool(b.get("tools")) for b in chat_stub.chat_requests()] == [True, False, False]
    assert A_TRACK in again["answer"] and not again["handoff"]


def test_extra_body_fields_reach_the_server(settings: Settings, engine: Engine, chat_stub: OpenAIStub,
                                            embed_stub: OpenAIStub, monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Any) -> None:
    """`SAJANG_LLM_EXTRA_BODY` (JSON): a server's own request fields, e.g. vLLM's chat-template switches."""
    llm = llm_store(engine, tmp_path, monkeypatch, chat_stub.base_url, embed_stub.base_url,
                    llm_extra_body='{"chat_template_kwargs": {"enable_thinking": false}, "top_k": 20}')
    get_inquiry_service(llm).ask(MANUAL_QUESTION, customer_id=A)
    body = chat_stub.chat_requests()[0]
    assert body["chat_template_kwargs"] == {"enable_thinking": False} and body["top_k"] == 20
    assert body["max_tokens"] == llm.llm_max_tokens


# --- the circuit breaker ---------------------------------------------------------------------------------

def test_breaker_skips_a_failing_model_then_tries_it_again(settings: Settings, engine: Engine,
                                                           chat_stub: OpenAIStub, embed_stub: OpenAIStub,
                                                           monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    llm = llm_store(engine, tmp_path, monkeypatch, chat_stub.base_url, embed_stub.base_url,
                    llm_breaker_failures="2", llm_breaker_cooldown_s="3600", llm_max_retries="0")
    svc = get_inquiry_service(llm)
    chat_stub.server.fail_status = 503
    for _ in range(2):
        assert svc.ask(MANUAL_QUESTION, customer_id=A)["answer"]
    assert chat_calls(chat_stub) == 2 and chat_model_status(llm)["state"] == "open"
    chat_stub.server.fail_status = None
    assert svc.ask(MANUAL_QUESTION, customer_id=A)["answer"]  # answered offline, the model not asked
    status = chat_model_status(llm)
    assert chat_calls(chat_stub) == 2 and status["skipped"] == 1 and status["retry_in_s"] > 0
    assert "일시 중지" in model_status_text(status, "ko")  # the admin dashboard's line
    # the cool-down over (the breaker's clock says when it opened): one turn probes, success closes it
    from sajang.graphs.common.breaker import breaker_for

    breaker = breaker_for(llm)
    assert breaker.opened_at is not None
    breaker.opened_at -= 3600
    assert svc.ask(MANUAL_QUESTION, customer_id=A)["answer"].startswith("안내드립니다.")
    assert chat_calls(chat_stub) == 3 and chat_model_status(llm)["state"] == "closed"


def test_breaker_half_open_lets_one_probe_through() -> None:
    from sajang.graphs.common.breaker import CircuitBreaker

    b = CircuitBreaker(failures=1, cooldown_s=10)
    assert b.allow(now=0)
    b.failure("boom", now=0)
    assert not b.allow(now=5)  # cooling down
    assert b.allow(now=11) and not b.allow(now=11)  # one probe, the others wait for its outcome
    b.failure("still down", now=11)
    assert b.status(now=12)["state"] == "open" and not b.allow(now=12)
    assert b.allow(now=22)
    b.success()
    assert b.status()["state"] == "closed" and b.allow() and b.allow()


def test_no_chat_model_means_offline_status(settings: Settings) -> None:
    assert chat_model_status(settings) == {"enabled": False, "model": None, "state": "offline"}


# --- fewer calls -----------------------------------------------------------------------------------------

def test_one_call_for_a_manual_question_two_for_an_order_question(llm: Settings, chat_stub: OpenAIStub) -> None:
    svc = get_inquiry_service(llm)
    manual = svc.ask(MANUAL_QUESTION, customer_id=A)
    assert not manual["handoff"] and chat_calls(chat_stub) == 1
    only = chat_stub.chat_requests()[0]
    props = only["response_format"]["json_schema"]["schema"]["properties"]
    assert {"category", "urgency", "answer", "sources_used", "supported", "needs_human"} <= set(props)
    assert not only.get("tools")  # a manual question is not offered the customer's data
    assert A_ORDER not in only["messages"][0]["content"]

    order = svc.ask(ORDER_QUESTION, customer_id=A)
    bodies = chat_stub.chat_requests()[1:]
    assert len(bodies) == 2 and bodies[0].get("tools") and bodies[0].get("response_format")
    # the tool result is used: the answer call reads it and the answer carries the tracking number
    assert any(m["role"] == "tool" and A_ORDER in m["content"] for m in bodies[1]["messages"])
    assert A_TRACK in (order["answer"] or "") and not order["handoff"]
    assert {"id": A_ORDER, "kind": "order"}.items() <= order["sources"][0].items()


def test_max_tokens_is_sent(llm: Settings, chat_stub: OpenAIStub) -> None:
    get_inquiry_service(llm).ask(MANUAL_QUESTION, customer_id=A)
    body = chat_stub.chat_requests()[0]
    # OpenAI and vLLM read max_completion_tokens, Ollama's OpenAI endpoint max_tokens
    assert body["max_completion_tokens"] == llm.llm_max_tokens == body["max_tokens"]


# --- grounding -----------------------------------------------------------------------------------------------

def test_prompt_gives_the_shop_time_and_order_times_in_kst(llm: Settings, chat_stub: OpenAIStub,
                                                           engine: Engine) -> None:
    # 15:30 UTC on 20 November is already Saturday the 21st in Seoul: "어제 주문" must be read in KST
    with session_scope(engine) as s:
        s.execute(update(Order).where(Order.id == A_ORDER).values(ordered_at=datetime(2026, 11, 20, 15, 30,
                                                                                      tzinfo=UTC)))
    before = datetime.now(KST)
    get_inquiry_service(llm).ask(ORDER_QUESTION, customer_id=A)
    after = datetime.now(KST)
    bodies = chat_stub.chat_requests()
    system = bodies[0]["messages"][0]["content"]
    assert "2026-11-21 (토) 00:30 KST" in system and "2026-11-20T15:30" not in system
    assert any(f"지금은 {t:%Y년 %m월 %d일}" in system for t in (before, after))
    tool_results = [m["content"] for m in bodies[1]["messages"] if m["role"] == "tool"]
    assert tool_results and all("KST" in t and "+00:00" not in t for t in tool_results)
    assert kst_text("2026-11-20T15:30:00+00:00") == "2026-11-21 (토) 00:30 KST"


def test_an_article_for_agents_only_never_reaches_the_model(llm: Settings, chat_stub: OpenAIStub,
                                                            engine: Engine) -> None:
    from sajang.knowledge.ingest import set_article_audience

    get_inquiry_service(llm).ask("반품 배송비 얼마예요?", customer_id=A)
    assert "[return-fee]" in chat_stub.chat_requests()[0]["messages"][0]["content"]
    set_article_audience(engine, "return-fee", "agents", "admin")
    r = get_inquiry_service(llm).ask("반품 배송비 얼마예요?", customer_id=A)
    system = chat_stub.chat_requests()[1]["messages"][0]["content"]
    assert "[return-fee]" not in system and "방문 회수" not in system
    assert all(s["id"] != "return-fee" for s in r["sources"])


def test_the_model_is_told_of_the_photo_the_customer_sent(llm: Settings, chat_stub: OpenAIStub) -> None:
    svc = get_inquiry_service(llm)
    svc.ask("상자가 찌그러져서 왔어요", customer_id=A,
            attachments=[{"id": 424242, "filename": "box.jpg", "content_type": "image/jpeg", "size": 10}])
    system = chat_stub.chat_requests()[-1]["messages"][0]["content"]
    assert "사진 1장" in system and "box.jpg" not in system
    svc.ask("상자가 찌그러져서 왔어요", customer_id=A)
    assert "사진" not in chat_stub.chat_requests()[-1]["messages"][0]["content"].split("학습된 답변")[-1]


@pytest.mark.parametrize("overrides", [
    {"sources_used": [], "confidence": 0.99},  # a confident answer that cites nothing
    {"sources_used": ["no-such-article"], "confidence": 0.99},  # cites something we never gave it
    {"supported": False, "needs_human": False, "confidence": 0.99},  # its own self-check fails
])
def test_the_gate_does_not_trust_the_models_number(llm: Settings, chat_stub: OpenAIStub,
                                                    overrides: dict[str, Any]) -> None:
    chat_stub.server.reply_overrides = overrides
    r = get_inquiry_service(llm).ask(MANUAL_QUESTION, customer_id=A)
    assert r["handoff"] and r["handoff_reason"] in ("low_confidence", "model_uncertain"), r


def test_grounded_confidence_is_capped_by_the_evidence(llm: Settings) -> None:
    hit = {"id": "return-fee", "title": "반품 배송비", "kind": "manual", "score": 0.9, "category": "return_refund",
           "text": "단순 변심 반품은 반품 배송비 3,000원을 고객님이 부담하십니다."}
    reply = LLMTurn(category="return_refund", urgency="low", answer="단순 변심 반품은 반품 배송비 3,000원을 부담하십니다.",
                    sources_used=["return-fee"], supported=True, needs_human=False, confidence=0.97)
    confidence, sources = grounded(llm, reply, question=MANUAL_QUESTION, policy=llm.store, hits=[hit],
                                   order_ids=set(), retrieval_confidence=0.0, unknown_terms=[],
                                   offline_category="other")
    # in the article's words: a little above the gate, far below the model's 0.97
    assert confidence == pytest.approx(llm.answer_confidence_threshold + 0.1)
    assert [s["id"] for s in sources] == ["return-fee"]
    made_up = reply.model_copy(update={"answer": "반품은 무료이며 포인트 5,000점을 드립니다."})
    low, _ = grounded(llm, made_up, question=MANUAL_QUESTION, policy=llm.store, hits=[hit], order_ids=set(),
                      retrieval_confidence=0.0, unknown_terms=[], offline_category="other")
    assert low < llm.answer_confidence_threshold  # 5,000 is in nothing it was given


def test_deadline_budget() -> None:
    spent = Deadline(0.0)
    with pytest.raises(DeadlineExceeded):
        spent.check()
    assert Deadline.after(60).remaining() > 0
