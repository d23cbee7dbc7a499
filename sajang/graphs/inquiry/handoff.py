"""Nodes of the inquiry graph once a person must take over: `escalate` puts the conversation in the
agents' queue and tells the customer; `handoff` waits in `interrupt()` for a person and applies what
arrives (an agent's reply, a line the customer sent while waiting, resolution).
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.config import get_config
from langgraph.runtime import Runtime
from langgraph.types import Interrupt, interrupt

from sajang.graphs.common.inbox import human_interrupt, inbox_response, resumer
from sajang.graphs.inquiry import conversations as conv
from sajang.graphs.inquiry.answering import cs_hours_in
from sajang.graphs.inquiry.classifier import reports_injury
from sajang.graphs.inquiry.context import InquiryContext, thread_of
from sajang.graphs.inquiry.nodes import policy_of
from sajang.graphs.inquiry.prompts import CATEGORY_KO, T
from sajang.graphs.inquiry.state import Handoff, HandoffResume, InquiryState, Turn
from sajang.labels import URGENCY_LABELS

SUMMARY_LINES = 3


def _summary(state: InquiryState, reason: str, lines: list[str], files: list[dict[str, Any]]) -> str:
    """One line for the agent's queue: category·urgency, the customer's last lines, their open order, how
    many files they sent (so the agent sees at a glance there is something to look at) and what the photos
    show when a vision model read them, and, when the bot
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
    if state.get("photo_notes"):  # what the vision model saw: the agent knows before opening the photo
        head += f" · 사진: {state['photo_notes']}"
    if state.get("unknown_terms") and reason == "low_confidence":
        head += " · 매뉴얼에 없는 말: " + ", ".join(state["unknown_terms"])
    return head


def escalate(state: InquiryState, runtime: Runtime[InquiryContext]) -> dict[str, Any]:
    """Hand the conversation to a person (before the handoff node waits).

    Reads: `text`, `category`, `urgency`, `answer`, `sources`, `handoff_reason`, `customer_id`, `history`,
    `attachments`, `unknown_terms`.
    Writes: `handoff` (summary, category, urgency, ai_draft, sources, customer_id, reason, attachments:
    the files the agent should look at, unknown_terms), `answer` (the notice the customer sees; an urgent
    one thanks for a photo sent instead of asking for one), `waiting`; rows: conversation → `new` (queue),
    the notice.
    """
    config = get_config()
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
        "attachments": files, "photo_notes": state.get("photo_notes") or "",
        "unknown_terms": list(state.get("unknown_terms") or []),
    }
    urgent = reason == "urgent"
    key = _urgent_notice(set((state.get("classification") or {}).get("evidence") or []), bool(files),
                         injured=reports_injury(str(state.get("text") or ""))) \
        if urgent else "handoff_notice"
    notice = T[key][locale].format(hours=cs_hours_in(policy.cs_hours, locale))
    mid = conv.record_handoff(engine, thread_id, state.get("customer_id"), notice,
                              dedup_key=f"{thread_id}:{state.get('turn_id')}:handoff", reason=reason,
                              category=state.get("category"), urgency=state.get("urgency"),
                              confidence=state.get("confidence"), durable=not settings.async_commit,
                              sources=list(state.get("sources") or []))
    return {"handoff": payload, "handoff_reason": reason, "answer": notice, "waiting": True,
            "history": [{"role": "ai", "text": notice, "message_id": mid}]}


def _urgent_notice(evidence: set[str], photo_sent: bool, injured: bool = False) -> str:
    """Which urgent notice the customer reads: what to do for their health (a wound, or a reaction) or their money
    first; a photo of the product asked for (or thanked for) only where it helps."""
    if "safety" in evidence:
        return "handoff_urgent_injury" if injured else "handoff_urgent_health"
    if "fraud" in evidence:
        return "handoff_urgent_security"
    if photo_sent:
        return "handoff_urgent_photo"
    if evidence and evidence <= {"legal", "repeated", "double_charge"}:
        return "handoff_urgent_plain"
    return "handoff_urgent"


REPLY_ACTION = "reply_to_customer"  # Agent Inbox's action_request.action of a handoff


def _handoff_card(payload: Handoff) -> dict[str, Any]:
    """The interrupt payload: the handoff (what the hub and the service read, at the top level) in Agent
    Inbox's HumanInterrupt shape: accept sends the AI draft, edit sends the edited `ai_draft`, response
    sends its text, ignore leaves the conversation waiting."""
    lines = "\n".join(f"> {line[:300]}" for line in payload.get("customer_lines") or [] if line)
    description = (f"**{payload.get('summary') or '상담원 연결'}**\n\n{lines}\n\n"
                   f"AI 초안: {payload.get('ai_draft') or ''}").strip()
    return human_interrupt(REPLY_ACTION, dict(payload), description, allow_accept=True, allow_edit=True,
                           allow_respond=True, allow_ignore=True)


def _resume_value(value: Any, payload: Handoff, config: RunnableConfig) -> HandoffResume | None:
    """The resume as the app's `HandoffResume`; None for Agent Inbox's ignore (nothing to do).

    Agent Inbox's responses become an agent reply by the verified staff user who sent it; a bare string
    (Studio) is a reply too. Their event id is the interrupt's own, so a retried resume writes once and two
    replies on one thread (two interrupts) are two messages.
    """
    response = inbox_response(value)
    if isinstance(value, dict) and response is None:
        return value  # type: ignore[return-value]
    ns = str((config.get("configurable") or {}).get("checkpoint_ns") or "")
    event = f"reply:{Interrupt.from_ns(None, ns).id}"  # the id the service's own replies use
    who = resumer(config)
    reply: HandoffResume = {"type": "agent", "event_id": event, "agent_user_id": who.user_id,
                            "agent_name": who.name if who.user_id is not None else "상담원"}
    if response is None:
        return {**reply, "text": str(value)}
    if response.type == "ignore":
        return None
    if response.type == "accept":
        return {**reply, "text": str(payload.get("ai_draft") or "")}
    if response.type == "edit":
        return {**reply, "text": str(response.edited("ai_draft") or response.edited("text") or "")}
    return {**reply, "text": response.text}


def handoff(state: InquiryState, runtime: Runtime[InquiryContext]) -> dict[str, Any]:
    """Wait for a person: `interrupt()` with the handoff payload, then apply what arrived.

    Reads: `handoff`. Interrupt payload: summary, category, urgency, ai_draft, sources, customer_id (+
    reason, thread_id, customer_lines, attachments, unknown_terms), at the top level and as Agent Inbox's
    HumanInterrupt (`action_request.args`, `config`, `description`). Resume (`HandoffResume`, or Agent
    Inbox's HumanResponse: accept / edit / response are an agent reply, ignore leaves it waiting):
      - `agent`: the agent's message row (dedup `<thread>:<event>:agent`), status → assigned, or
        → resolved with `resolve`;
      - `customer`: a line the customer sent while waiting (row already written by the service) is
        appended to the payload the agent sees;
      - `resolve`: status → resolved.
    Writes: `history`, `handoff`, `resolved`, `waiting`. Nothing is written before `interrupt()`.
    """
    config = get_config()
    payload: Handoff = dict(state.get("handoff") or {})  # type: ignore[assignment]
    value = _resume_value(interrupt(_handoff_card(payload)), payload, config)
    if value is None:
        return {"waiting": True}
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
        history: list[Turn] = [{"role": "customer", "text": value.get("text") or "", "message_id": value.get("message_id")}]
        bot = str(value.get("bot_answer") or "")
        if bot:  # what the bot answered to that line while the person is coming: a turn the agent reads too
            bot_mid, _ = conv.add_message(engine, thread_id, "ai", bot, dedup_key=f"{thread_id}:{event}:ai",
                                          confidence=value.get("bot_confidence"), sources=value.get("bot_sources"),
                                          meta={"while_waiting": True})
            history.append({"role": "ai", "text": bot, "message_id": bot_mid})
        return {"handoff": payload, "history": history}
    if kind == "resolve":
        conv.mark_resolved(engine, thread_id)
        return {"resolved": True, "waiting": False}
    text = str(value.get("text") or "").strip()
    resolve = bool(value.get("resolve"))
    out: dict[str, Any] = {"resolved": resolve, "waiting": not resolve}
    if text:
        mid, inserted = conv.add_message(
            engine, thread_id, "agent", text, dedup_key=f"{thread_id}:{event}:agent",
            author_id=value.get("agent_user_id"),
            meta=conv.agent_message_meta(str(value.get("agent_name") or ""), value.get("attachments")))
        if inserted:
            out["history"] = [{"role": "agent", "text": text, "message_id": mid}]
    conv.mark_agent_reply(engine, thread_id, value.get("agent_user_id"), resolve)
    return out


def route_after_handoff(state: InquiryState) -> Literal["handoff", "__end__"]:
    return "__end__" if state.get("resolved") else "handoff"
