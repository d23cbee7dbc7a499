"""Nodes of the inquiry graph once a person must take over: `escalate` puts the conversation in the
agents' queue and tells the customer; `handoff` waits in `interrupt()` for a person and applies what
arrives (an agent's reply, a line the customer sent while waiting, resolution).
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END
from langgraph.runtime import Runtime
from langgraph.types import interrupt

from sajang.graphs.inquiry import conversations as conv
from sajang.graphs.inquiry.context import InquiryContext, thread_of
from sajang.graphs.inquiry.nodes import policy_of
from sajang.graphs.inquiry.prompts import CATEGORY_KO, T
from sajang.graphs.inquiry.state import Handoff, HandoffResume, InquiryState
from sajang.labels import URGENCY_LABELS

SUMMARY_LINES = 3


def _summary(state: InquiryState, reason: str, lines: list[str], files: list[dict[str, Any]]) -> str:
    """One line for the agent's queue: category·urgency, the customer's last lines, their open order, how
    many files they sent (so the agent sees at a glance there is something to look at), and, when the bot
    was not sure, the words the manual never mentions (the agent's answer, taught with 👎, adds them)."""
    cat = state.get("category") or "other"
    label = CATEGORY_KO.get(cat, cat)
    urgency = URGENCY_LABELS.get(state.get("urgency") or "normal", URGENCY_LABELS["normal"])["ko"]
    head = f"[{label}·{urgency}] " + " / ".join(x[:120] for x in lines[-SUMMARY_LINES:])
    orders = state.get("orders") or []
    if orders:
        o = orders[0]
        open_ = next((x for x in orders if x["status"] in ("paid", "preparing", "shipping")), o)
        head += f" · 최근 주문 {open_['order_id']} ({open_['status_label']})"
    if files:
        head += f" · 첨부 {len(files)}개"
    if state.get("unknown_terms") and reason == "low_confidence":
        head += " · 매뉴얼에 없는 말: " + ", ".join(state["unknown_terms"])
    return head


def escalate(state: InquiryState, config: RunnableConfig, runtime: Runtime[InquiryContext]) -> dict[str, Any]:
    """Hand the conversation to a person (before the handoff node waits).

    Reads: `text`, `category`, `urgency`, `answer`, `sources`, `handoff_reason`, `customer_id`, `history`,
    `attachments`, `unknown_terms`.
    Writes: `handoff` (summary, category, urgency, ai_draft, sources, customer_id, reason, attachments:
    the files the agent should look at, unknown_terms), `answer` (the notice the customer sees; an urgent
    one thanks for a photo sent instead of asking for one), `waiting`; rows: conversation → `new` (queue),
    the notice.
    """
    settings = runtime.context.settings
    engine = runtime.context.engine
    thread_id = thread_of(config)
    locale = state.get("locale") or "ko"
    reason = state.get("handoff_reason") or ("requested" if state.get("wants_human") else "low_confidence")
    policy = policy_of(state, settings)
    draft = state.get("answer") or ""
    if state.get("category") == "damage_defect" or state.get("urgency") in ("high", "urgent"):
        draft = f"{T['draft_apology'][locale]} {draft}".strip()
    if not draft:
        draft = T["draft_fallback"][locale]
    lines = [t["text"] for t in state.get("history") or [] if t.get("role") == "customer"]
    files = list(state.get("attachments") or [])
    payload: Handoff = {
        "reason": reason, "summary": _summary(state, reason, lines, files), "category": state.get("category"),
        "urgency": state.get("urgency"), "ai_draft": draft, "sources": list(state.get("sources") or []),
        "customer_id": state.get("customer_id"), "thread_id": thread_id, "customer_lines": [state.get("text") or ""],
        "attachments": files, "unknown_terms": list(state.get("unknown_terms") or []),
    }
    urgent = reason == "urgent"
    key = ("handoff_urgent_photo" if files else "handoff_urgent") if urgent else "handoff_notice"
    notice = T[key][locale].format(hours=policy.cs_hours)
    mid = conv.record_handoff(engine, thread_id, state.get("customer_id"), notice,
                              dedup_key=f"{thread_id}:{state.get('turn_id')}:handoff", reason=reason,
                              category=state.get("category"), urgency=state.get("urgency"),
                              confidence=state.get("confidence"), durable=not settings.async_commit)
    return {"handoff": payload, "handoff_reason": reason, "answer": notice, "waiting": True,
            "history": [{"role": "ai", "text": notice, "message_id": mid}]}


def handoff(state: InquiryState, config: RunnableConfig, runtime: Runtime[InquiryContext]) -> dict[str, Any]:
    """Wait for a person: `interrupt()` with the handoff payload, then apply what arrived.

    Reads: `handoff`. Interrupt payload: summary, category, urgency, ai_draft, sources, customer_id (+
    reason, thread_id, customer_lines). Resume (`HandoffResume`):
      - `agent`: the agent's message row (dedup `<thread>:<event>:agent`), status → assigned, or
        → resolved with `resolve`;
      - `customer`: a line the customer sent while waiting (row already written by the service) is
        appended to the payload the agent sees;
      - `resolve`: status → resolved.
    Writes: `history`, `handoff`, `resolved`, `waiting`. Nothing is written before `interrupt()`.
    """
    payload: Handoff = dict(state.get("handoff") or {})  # type: ignore[assignment]
    value: HandoffResume = interrupt(payload)
    if not isinstance(value, dict):
        value = {"type": "agent", "text": str(value), "event_id": "plain"}  # a bare string from Studio
    engine = runtime.context.engine
    thread_id = thread_of(config)
    kind = value.get("type") or "agent"
    event = str(value.get("event_id") or "")
    if kind == "customer":
        lines = [*(payload.get("customer_lines") or []), str(value.get("text") or "")]
        payload["customer_lines"] = lines
        payload["attachments"] = [*(payload.get("attachments") or []), *(value.get("attachments") or [])]
        reason = payload.get("reason") or "low_confidence"
        payload["summary"] = _summary(state, reason, lines, payload["attachments"])
        return {"handoff": payload,
                "history": [{"role": "customer", "text": value.get("text") or "", "message_id": value.get("message_id")}]}
    if kind == "resolve":
        conv.mark_resolved(engine, thread_id)
        return {"resolved": True, "waiting": False}
    text = str(value.get("text") or "").strip()
    resolve = bool(value.get("resolve"))
    out: dict[str, Any] = {"resolved": resolve, "waiting": not resolve}
    if text:
        mid, inserted = conv.add_message(
            engine, thread_id, "agent", text, dedup_key=f"{thread_id}:{event}:agent",
            author_id=value.get("agent_user_id"), meta={"author_name": value.get("agent_name") or ""})
        if inserted:
            out["history"] = [{"role": "agent", "text": text, "message_id": mid}]
    conv.mark_agent_reply(engine, thread_id, value.get("agent_user_id"), resolve)
    return out


def route_after_handoff(state: InquiryState) -> Literal["handoff", "__end__"]:
    return END if state.get("resolved") else "handoff"
