"""Answers with a chat model: a RAG prompt (passages, learned answers, store policy, the customer's orders),
tool calls for live order data, then a structured `{answer, confidence, needs_human}`."""

from __future__ import annotations

import json
import re
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from pydantic import BaseModel, Field

from sajang.config import Settings, StorePolicy
from sajang.graphs.inquiry.answering import source_of
from sajang.graphs.inquiry.prompts import answer_messages


class LLMAnswer(BaseModel):
    """The chat model's final answer (structured output)."""

    answer: str = Field(description="the reply to send to the customer, in the customer's language")
    confidence: float = Field(description="0..1: how sure the answer is fully supported by the given facts")
    needs_human: bool = Field(description="true when a person should take over")


MAX_TOOL_ROUNDS = 3


def run_tools(settings: Settings, messages: list[BaseMessage], config: Any) -> tuple[list[BaseMessage], list[str]]:
    """Let the model call the customer-scoped tools (at most MAX_TOOL_ROUNDS); returns the transcript and
    the order ids the tools returned."""
    from sajang.graphs.common.llm import get_chat_model
    from sajang.tools.inquiry_tools import INQUIRY_TOOLS, TOOLS_BY_NAME

    model = get_chat_model(settings).bind_tools(INQUIRY_TOOLS)
    order_ids: list[str] = []
    for _ in range(MAX_TOOL_ROUNDS):
        ai: AIMessage = model.invoke(messages, config)  # type: ignore[assignment]
        if not ai.tool_calls:
            break
        messages = [*messages, ai]
        for call in ai.tool_calls:
            tool = TOOLS_BY_NAME.get(call["name"])
            if tool is None:
                content = json.dumps({"error": f"unknown tool {call['name']}"})
            else:
                content = str(tool.invoke(call["args"], config))
                order_ids += re.findall(r'"order_id":\s*"([^"]+)"', content)
            messages.append(ToolMessage(content=content, tool_call_id=call["id"], name=call["name"]))
    return messages, list(dict.fromkeys(order_ids))


def llm_answer(settings: Settings, policy: StorePolicy, *, text: str, customer: dict[str, Any] | None,
               orders: list[dict[str, Any]], hits: list[dict[str, Any]], history: list[dict[str, Any]],
               config: Any) -> dict[str, Any]:
    from sajang.graphs.common.llm import structured

    messages = answer_messages(text, policy=policy, customer=customer, orders=orders, hits=hits,
                               history=history)
    messages, order_ids = run_tools(settings, messages, config)
    # tagged so the service can stream this call's tokens to the customer
    final_config = {**(config or {}), "tags": [*((config or {}).get("tags") or []), "final_answer"]}
    out: LLMAnswer = structured(settings, LLMAnswer, streaming=True).invoke(messages, final_config)
    sources = [source_of(h) for h in hits[:3] if h.get("kind") in ("manual", "learned")]
    sources += [{"id": oid, "title": f"주문 {oid}", "score": 1.0, "kind": "order"} for oid in order_ids]
    return {"answer": out.answer.strip(), "confidence": max(0.0, min(1.0, float(out.confidence))),
            "needs_human": bool(out.needs_human), "sources": sources, "answer_kind": "llm"}
