"""The LLM path with the real `langchain-openai` client against a local OpenAI-compatible HTTP server
(tests/openai_stub_server.py): structured output (json_schema), tool calls scoped by the logged-in
customer, streaming (SSE), and base64 embeddings for the knowledge base."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from openai_stub_server import OpenAIStub
from sqlalchemy import Engine
from test_inquiry_support import A_ORDER, A_TRACK, B_ORDER, B_TRACK, A, B, seed_llm_store

from sajang.config import Settings


@pytest.fixture
def stub() -> Iterator[OpenAIStub]:
    with OpenAIStub() as s:
        yield s


@pytest.fixture
def llm_settings(settings: Settings, engine: Engine, stub: OpenAIStub, monkeypatch: pytest.MonkeyPatch,
                 tmp_path: Any) -> Settings:
    return seed_llm_store(engine, tmp_path, monkeypatch, stub.base_url)


def _chat_requests(stub: OpenAIStub) -> list[dict[str, Any]]:
    return [r["body"] for r in stub.requests if r["path"] == "/v1/chat/completions"]


def test_embeddings_go_over_the_wire_as_base64(llm_settings: Settings, stub: OpenAIStub) -> None:
    from sajang.knowledge.embeddings import get_embeddings

    emb = [r["body"] for r in stub.requests if r["path"] == "/v1/embeddings"]
    assert emb, "importing the manual must embed through the server"
    assert all(b.get("encoding_format") == "base64" and b["model"] == "stub-embed" for b in emb)
    vec = get_embeddings(llm_settings).embed_query("반품 배송비")
    assert len(vec) == 64 and abs(sum(x * x for x in vec) - 1.0) < 1e-3


def test_order_question_uses_scoped_tool_and_structured_output(llm_settings: Settings, stub: OpenAIStub) -> None:
    from sajang.graphs.inquiry.service import get_inquiry_service

    svc = get_inquiry_service(llm_settings)
    r = svc.ask("제 택배 언제 와요?", customer_id=A)
    assert not r["handoff"], r
    assert A_TRACK in r["answer"] and B_TRACK not in r["answer"]
    assert {"id": A_ORDER, "kind": "order"}.items() <= next(s for s in r["sources"] if s["kind"] == "order").items()
    chats = _chat_requests(stub)
    # classification: structured output with our schema
    cls = [b for b in chats if (b.get("response_format") or {}).get("type") == "json_schema"
           and "category" in json.dumps(b["response_format"])]
    assert cls and cls[0]["response_format"]["json_schema"]["strict"] is True
    # the model was offered the tools, called one, and got A's order back as a tool message
    with_tools = [b for b in chats if b.get("tools")]
    assert {t["function"]["name"] for t in with_tools[0]["tools"]} >= {"get_my_orders", "get_delivery_status"}
    assert all("customer_id" not in json.dumps(t["function"]["parameters"]) for t in with_tools[0]["tools"])
    tool_msgs = [m for b in chats for m in b["messages"] if m["role"] == "tool"]
    assert tool_msgs and A_ORDER in tool_msgs[0]["content"] and B_ORDER not in tool_msgs[0]["content"]
    # the RAG prompt carries store policy and the customer's own orders, never the other customer's
    system = next(m["content"] for b in chats for m in b["messages"] if m["role"] == "system" and "스토어 정책" in m["content"])
    assert "반품 배송비 3,000원" in system and A_ORDER in system and B_ORDER not in system


def test_customer_cannot_reach_other_orders_through_the_model(llm_settings: Settings, stub: OpenAIStub) -> None:
    from sajang.graphs.inquiry.service import get_inquiry_service

    svc = get_inquiry_service(llm_settings)
    r = svc.ask(f"주문 {B_ORDER} 배송 어디쯤이에요?", customer_id=A)
    assert B_TRACK not in (r["answer"] or "")
    tool_msgs = [m for b in _chat_requests(stub) for m in b["messages"] if m["role"] == "tool"]
    assert tool_msgs and all(B_TRACK not in m["content"] for m in tool_msgs)
    assert r["handoff"] and r["handoff_reason"] == "model_uncertain"


def test_streaming_yields_chunks_then_the_result(llm_settings: Settings, stub: OpenAIStub) -> None:
    from sajang.graphs.inquiry.service import get_inquiry_service

    svc = get_inquiry_service(llm_settings)
    items = list(svc.stream_ask("반품 비용은 얼마예요?", customer_id=B))
    chunks, final = items[:-1], items[-1]
    assert isinstance(final, dict) and final["answer"] and not final["handoff"]
    assert len(chunks) >= 3 and all(isinstance(c, str) for c in chunks)
    assert "".join(chunks) == final["answer"]
    streamed = [b for b in _chat_requests(stub) if b.get("stream")]
    assert streamed and stub.server.content_chunks >= 3


def test_llm_handoff_when_model_says_so(llm_settings: Settings) -> None:
    from sajang.graphs.inquiry.service import get_inquiry_service

    svc = get_inquiry_service(llm_settings)
    r = svc.ask("사람 상담원이랑 얘기할래요", customer_id=B)
    assert r["handoff"] and r["category"] == "human"
    conv = svc.get_conversation(r["thread_id"])
    assert conv["pending"]["customer_id"] == B


def test_a_stub_on_the_port_of_an_earlier_one_is_another_server(settings: Settings) -> None:
    """The kernel may give a stub the port an earlier stub of the process had. The product keeps vectors (and
    breakers, tool refusals) per server URL for the whole process, so with the port as the stub's only
    address the second stub was the first one again and never asked for the texts the first had embedded
    (the manual import of `test_embeddings_go_over_the_wire_as_base64` once sent no request in the suite)."""
    from sajang.knowledge.embeddings import CachedEmbeddings, get_embeddings

    def embedder(stub: OpenAIStub) -> CachedEmbeddings:
        return get_embeddings(settings.model_copy(update={
            "embeddings": "openai", "embedding_model": "stub-embed", "openai_base_url": stub.base_url,
            "openai_api_key": "sk-test"}))

    texts = ["반품 배송비는 3,000원입니다.", "교환은 7일 안에 신청해 주세요."]
    with OpenAIStub() as first:
        embedder(first).embed(texts)
    with OpenAIStub(port=first.port) as second:
        assert second.port == first.port and second.base_url != first.base_url
        embedder(second).embed(texts)
        assert [r["body"]["input"] for r in second.requests if r["path"] == "/v1/embeddings"] == [texts]
