"""The inquiry graph: one customer message = one run on the conversation's thread.

    START → load_context → classify ─┬─(pure request for a person)──────────────→ escalate
                                     └→ retrieve → answer → gate ─┬→ respond → END
                                                                  └→ escalate → handoff ⟲ → END

`handoff` waits in `interrupt()` for a person. Resume values (`HandoffResume`): an agent reply (+ resolve
flag), a customer line sent while waiting, or resolve. The node loops (one interrupt per node run)
until the conversation is resolved. Nothing is written before `interrupt()`; after it every message
carries a dedup key derived from the resume event, so resuming the same interrupt twice writes once.
Conversation status (bot → new → assigned → resolved) is kept in our `conversations` table.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

# absolute imports: LangGraph Server loads this file by path, outside the package
from sajang.config import Settings, StorePolicy
from sajang.db.engine import autocommit_connection, get_engine
from sajang.db.queries import load_shop_setting, shop_setting_in
from sajang.graphs import conversations as conv
from sajang.graphs.answering import detect_locale, llm_answer, needs_action, offline_answer
from sajang.graphs.classifier import HUMAN_REQUEST, classify_text
from sajang.graphs.prompts import CATEGORY_KO, T
from sajang.graphs.runtime import configurable, settings_from_config, tool_config
from sajang.graphs.state import Handoff, HandoffResume, InquiryState
from sajang.labels import URGENCY_LABELS
from sajang.tools.orders import customer_context_in

SUMMARY_LINES = 3


def _engine(settings: Settings) -> Any:
    # the engine exists once the service has run (it creates the data dir): no mkdir per node
    return get_engine(settings.resolved_database_url)


def store_policy(settings: Settings) -> StorePolicy:
    """Settings' store policy with the admin's saved overrides (graphs do not import `app`)."""
    return settings.store.overridden(load_shop_setting(_engine(settings), "store_policy"))


def _policy(state: InquiryState, settings: Settings) -> StorePolicy:
    """The store policy as `load_context` read it for this message."""
    return settings.store.overridden(state.get("policy_overrides"))


def _thread(config: RunnableConfig) -> str:
    tid = configurable(config).get("thread_id")
    if not tid:
        raise ValueError("the inquiry graph runs on a thread: config['configurable']['thread_id'] is required")
    return str(tid)


# --- nodes ------------------------------------------------------------------------------------------

def load_context(state: InquiryState, config: RunnableConfig) -> dict[str, Any]:
    """Who is asking and what they bought.

    Reads: `text`, `locale`; config `customer_id` (the logged-in customer, never the message text).
    Writes: `customer_id`, `customer`, `orders` (recent orders with items, tracking, claims), `locale`
    (the language the customer wrote in), `policy_overrides` (the admin's saved store policy); resets
    the per-message fields, appends the customer turn.
    """
    settings = settings_from_config(config)
    customer_id = configurable(config).get("customer_id") or None
    text = (state.get("text") or "").strip()
    locale = detect_locale(text, state.get("locale") or settings.locale)
    # one autocommit read for everything: on PostgreSQL every transaction is round trips
    with autocommit_connection(_engine(settings)) as conn:
        saved = shop_setting_in(conn, "store_policy")
        customer, orders = customer_context_in(conn, customer_id, 5, locale)
    return {
        "customer_id": customer_id, "customer": customer, "orders": orders, "locale": locale,
        "policy_overrides": saved or {},
        "answer": "", "confidence": 0.0, "sources": [], "hits": [], "retrieval_confidence": 0.0, "unknown_terms": [],
        "needs_human": False, "answer_kind": "none",
        "handoff": None, "handoff_reason": None, "resolved": False, "waiting": False,
        "history": [{"role": "customer", "text": text, "message_id": state.get("message_id")}],
    }


def classify(state: InquiryState, config: RunnableConfig) -> dict[str, Any]:
    """Category, urgency and explicit request for a person.

    Reads: `text`. Writes: `category`, `urgency`, `wants_human`, `classification` (method, scores).
    """
    settings = settings_from_config(config)
    result = classify_text(settings, state.get("text") or "", config)
    return {"category": result.category, "urgency": result.urgency, "wants_human": result.wants_human,
            "classification": result.as_dict()}


def route_after_classify(state: InquiryState) -> Literal["retrieve", "escalate"]:
    """A message that only asks for a person goes straight to a person; everything else is looked up
    (also when a person is requested together with a question: the agent then gets an AI draft)."""
    if state.get("wants_human") and state.get("category") == "human":
        return "escalate"
    return "retrieve"


def retrieve(state: InquiryState, config: RunnableConfig) -> dict[str, Any]:
    """Manual passages and learned answers for the message (hybrid search of the knowledge base).

    Reads: `text`. Writes: `hits` (id, title, score, kind, text, body), `retrieval_confidence`,
    `unknown_terms`.
    """
    from sajang.knowledge.service import get_knowledge

    settings = settings_from_config(config)
    query = state.get("text") or ""
    if state.get("wants_human"):
        # "상담원 연결해 주세요, 포장이 터졌어요": search for the problem, not for how to reach a person
        rest = HUMAN_REQUEST.sub(" ", query).strip()
        if len(rest) >= 6:
            query = rest
    result = get_knowledge(settings).search(query, k=5)
    return {"hits": [h.as_dict() for h in result.hits], "retrieval_confidence": float(result.confidence),
            "unknown_terms": result.unknown_terms}


def answer(state: InquiryState, config: RunnableConfig) -> dict[str, Any]:
    """Compose the answer: chat model (RAG + scoped tools + structured output) or the offline pipeline.

    Reads: `text`, `locale`, `category`, `customer`, `orders`, `hits`, `retrieval_confidence`,
    `unknown_terms`, `history`.
    Writes: `answer`, `confidence`, `sources`, `needs_human`, `answer_kind`; `hits` without the article
    bodies (only this node needs them).
    """
    settings = settings_from_config(config)
    policy = _policy(state, settings)
    text = state.get("text") or ""
    locale = state.get("locale") or "ko"
    hits = state.get("hits") or []
    if settings.llm_enabled:
        out = llm_answer(settings, policy, text=text, customer=state.get("customer"),
                         orders=state.get("orders") or [], hits=hits,
                         history=list(state.get("history") or [])[:-1],
                         config=tool_config(config, settings, locale))
    else:
        out = {**offline_answer(settings, policy, text=text, locale=locale, category=state.get("category") or "other",
                                customer_id=state.get("customer_id"), orders=state.get("orders") or [], hits=hits,
                                retrieval_confidence=float(state.get("retrieval_confidence") or 0.0),
                                unknown_terms=state.get("unknown_terms") or []),
               "needs_human": False}
    # the article bodies served this answer; the checkpoint keeps the passages (10 KB less a message)
    return {**out, "hits": [{k: v for k, v in h.items() if k != "body"} for h in hits]}


def gate(state: InquiryState, config: RunnableConfig) -> dict[str, Any]:
    """Confidence gate: decide whether a person must take over.

    Reads: `wants_human`, `urgency`, `category`, `text`, `needs_human`, `answer`, `confidence`.
    Writes: `handoff_reason` (None = the bot answers).
    """
    settings = settings_from_config(config)
    reason: str | None = None
    if state.get("wants_human"):
        reason = "requested"
    elif state.get("urgency") == "urgent" or (state.get("category") == "damage_defect"
                                              and state.get("urgency") == "high"):
        reason = "urgent"
    elif needs_action(state.get("text") or "") and state.get("category") in (
            "cancel", "return_refund", "exchange", "damage_defect"):
        reason = "action_required"
    elif state.get("needs_human"):
        reason = "model_uncertain"
    elif not state.get("answer") or float(state.get("confidence") or 0.0) < settings.answer_confidence_threshold:
        reason = "low_confidence"
    return {"handoff_reason": reason}


def route_after_gate(state: InquiryState) -> Literal["respond", "escalate"]:
    return "escalate" if state.get("handoff_reason") else "respond"


def respond(state: InquiryState, config: RunnableConfig) -> dict[str, Any]:
    """Send the bot's answer.

    Reads: `answer`, `confidence`, `sources`, `category`, `urgency`, `turn_id`.
    Writes: the AI message row (dedup key `<thread>:<turn>:ai`), the conversation's category/urgency
    (a resolved conversation the customer writes to again goes back to `bot`); appends the AI turn.
    """
    settings = settings_from_config(config)
    thread_id = _thread(config)
    mid = conv.record_bot_answer(_engine(settings), thread_id, state.get("customer_id"), state.get("answer") or "",
                                 dedup_key=f"{thread_id}:{state.get('turn_id')}:ai", category=state.get("category"),
                                 urgency=state.get("urgency"), confidence=state.get("confidence"),
                                 sources=state.get("sources") or [],
                                 meta={"answer_kind": state.get("answer_kind"), "urgency": state.get("urgency")},
                                 durable=not settings.async_commit)
    return {"history": [{"role": "ai", "text": state.get("answer") or "", "message_id": mid}]}


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


def escalate(state: InquiryState, config: RunnableConfig) -> dict[str, Any]:
    """Hand the conversation to a person (before the handoff node waits).

    Reads: `text`, `category`, `urgency`, `answer`, `sources`, `handoff_reason`, `customer_id`, `history`,
    `attachments`, `unknown_terms`.
    Writes: `handoff` (summary, category, urgency, ai_draft, sources, customer_id, reason, attachments:
    the files the agent should look at, unknown_terms), `answer` (the notice the customer sees; an urgent
    one thanks for a photo sent instead of asking for one), `waiting`; rows: conversation → `new` (queue),
    the notice.
    """
    settings = settings_from_config(config)
    engine = _engine(settings)
    thread_id = _thread(config)
    locale = state.get("locale") or "ko"
    reason = state.get("handoff_reason") or ("requested" if state.get("wants_human") else "low_confidence")
    policy = _policy(state, settings)
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


def handoff(state: InquiryState, config: RunnableConfig) -> dict[str, Any]:
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
    settings = settings_from_config(config)
    engine = _engine(settings)
    thread_id = _thread(config)
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


def build_graph(checkpointer: Any = None) -> Any:
    g = StateGraph(InquiryState)
    g.add_node("load_context", load_context)
    g.add_node("classify", classify)
    g.add_node("retrieve", retrieve)
    g.add_node("answer", answer)
    g.add_node("gate", gate)
    g.add_node("respond", respond)
    g.add_node("escalate", escalate)
    g.add_node("handoff", handoff)
    g.add_edge(START, "load_context")
    g.add_edge("load_context", "classify")
    g.add_conditional_edges("classify", route_after_classify, {"retrieve": "retrieve", "escalate": "escalate"})
    g.add_edge("retrieve", "answer")
    g.add_edge("answer", "gate")
    g.add_conditional_edges("gate", route_after_gate, {"respond": "respond", "escalate": "escalate"})
    g.add_edge("respond", END)
    g.add_edge("escalate", "handoff")
    g.add_conditional_edges("handoff", route_after_handoff, {"handoff": "handoff", END: END})
    return g.compile(checkpointer=checkpointer, name="inquiry")


# LangGraph Server / Studio entry: the server supplies its own checkpointer.
graph = build_graph()
