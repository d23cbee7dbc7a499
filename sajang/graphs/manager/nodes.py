"""Nodes of the manager graph: `agent` decides the tool calls (chat model, or the offline intent router) and
writes the answer; `run_tools` runs the read-only tools against the database; `finish` fills the output.

The chat model gets the tools' schemas (`bind_tools`) and at most `MAX_ROUNDS` rounds of calls; any model
failure (server down, 5xx, timeout, breaker open) switches the question to the offline router, which calls
the same tools, so the owner always gets numbers from the database, never an error.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.runtime import Runtime

from sajang.graphs.common.breaker import breaker_for
from sajang.graphs.common.context import store_policy
from sajang.graphs.common.llm import get_chat_model
from sajang.graphs.manager.context import ManagerContext
from sajang.graphs.manager.prompts import SYSTEM
from sajang.graphs.manager.router import compose, route
from sajang.graphs.manager.state import ManagerState
from sajang.graphs.manager.tools import TOOLS, run_tool

log = logging.getLogger(__name__)

MAX_ROUNDS = 3  # tool-calling rounds of the chat model before it must answer
KST = timedelta(hours=9)


def _now(runtime: Runtime[ManagerContext]) -> datetime:
    return (runtime.context.now or datetime.now(UTC)).astimezone(UTC)


def start(state: ManagerState) -> dict[str, Any]:
    """Reads `question`; writes the first message and empty results."""
    question = (state.get("question") or "").strip()
    return {"messages": [HumanMessage(question)], "tools": [], "data": {}, "rounds": 0, "answer": "",
            "method": "offline"}


def _offline(state: ManagerState) -> dict[str, Any]:
    question = state.get("question") or ""
    if not state.get("tools") and not state.get("rounds"):
        calls = route(question)
        if calls:
            return {"messages": [AIMessage("", tool_calls=[
                {"name": name, "args": args, "id": f"route_{uuid.uuid4().hex[:10]}", "type": "tool_call"}
                for name, args in calls])], "rounds": 1, "method": "offline"}
    data = state.get("data") or {}
    results = [(name, data[name]) for name in dict.fromkeys(state.get("tools") or []) if name in data]
    return {"messages": [AIMessage(compose(question, results))], "method": "offline"}


def agent(state: ManagerState, runtime: Runtime[ManagerContext]) -> dict[str, Any]:
    """Reads `messages`, `rounds`, `method`; writes the next AI message (tool calls or the answer)."""
    settings = runtime.context.settings
    if not settings.llm_enabled or (state.get("method") == "offline" and state.get("rounds")):
        return _offline(state)
    breaker = breaker_for(settings)
    if not breaker.allow():
        return _offline(state)
    rounds = int(state.get("rounds") or 0)
    policy = store_policy(settings)
    now = _now(runtime) + KST
    system = SystemMessage(SYSTEM.format(shop_name=policy.shop_name, now=f"{now:%Y-%m-%d %H:%M}"))
    model = get_chat_model(settings, max_retries=settings.llm_max_retries)
    if rounds < MAX_ROUNDS:
        model = model.bind_tools([t.schema() for t in TOOLS.values()])  # type: ignore[assignment]
    try:
        reply = model.invoke([system, *state["messages"]])
    except Exception as exc:
        log.warning("manager: chat model failed, answering offline: %s", exc)
        breaker.failure(str(exc)[:200])
        return _offline({**state, "tools": [], "rounds": 0, "data": {}})
    breaker.success()
    if not isinstance(reply, AIMessage):
        reply = AIMessage(str(getattr(reply, "content", reply)))
    if not reply.tool_calls and not str(reply.content).strip():
        return _offline({**state, "tools": [], "rounds": 0, "data": {}})
    return {"messages": [reply], "rounds": rounds + 1, "method": "llm"}


def run_tools(state: ManagerState, runtime: Runtime[ManagerContext]) -> dict[str, Any]:
    """Reads the last AI message's tool calls; runs them (read-only); writes a ToolMessage per call, the
    tool names in call order and each tool's result in `data`."""
    last = state["messages"][-1]
    calls = last.tool_calls if isinstance(last, AIMessage) else []
    engine, now = runtime.context.engine, _now(runtime)
    used, data, messages = list(state.get("tools") or []), dict(state.get("data") or {}), []
    for call in calls:
        result = run_tool(call["name"], call.get("args") or {}, engine, now)
        used.append(call["name"])
        data[call["name"]] = result
        messages.append(ToolMessage(json.dumps(result, ensure_ascii=False, default=str)[:12_000],
                                    tool_call_id=call.get("id") or call["name"], name=call["name"]))
    # an offline plan resumes in the offline composer (the model is not asked to word the router's calls)
    out: dict[str, Any] = {"messages": messages, "tools": used, "data": data}
    if calls and str(calls[0].get("id") or "").startswith("route_"):
        out["method"] = "offline"
    return out


def route_after_agent(state: ManagerState) -> str:
    last = state["messages"][-1]
    return "run_tools" if isinstance(last, AIMessage) and last.tool_calls else "finish"


def finish(state: ManagerState) -> dict[str, Any]:
    """Reads the last AI message; writes `answer` (tools and data are already in the state)."""
    last = state["messages"][-1]
    return {"answer": str(last.content).strip(), "tools": list(dict.fromkeys(state.get("tools") or [])),
            "data": state.get("data") or {}, "method": state.get("method") or "offline"}
