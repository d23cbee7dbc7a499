"""Answers with a chat model, in as few calls as the question allows, within the turn's time budget.

One structured call (`LLMTurn`) classifies and answers: category, urgency, the answer, the ids of the
passages or orders it rests on, a self-check that every fact is in them, and whether a person should
take over. Only a verified customer's question about their own orders also offers the customer-scoped
tools (in the same call); the model's tool calls are run and the second call answers with their result:
one call for a manual question, two for an order question.

The gate does not take the model's confidence number on trust: the answer's confidence is at most what
its cited evidence supports (`grounded`: an order of this customer; a cited article worth the offline
gate's confidence, or a little above the threshold when the answer is in the article's own words), and
an answer the model itself marks unsupported goes to a person. Dates reach the model in KST, with the
shop's current date and time.

With `llm_mask_pii` the turn's personal data reaches the model as placeholders (`common/pii.py`): the
answer is restored before anyone sees it, the model's tool arguments before the tools run.

`answer_with_model` never raises: a model error (server down, 5xx, timeout, malformed output, the turn's
deadline) or an open circuit breaker returns None, and the node answers with the offline pipeline.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.runnables import Runnable, RunnableConfig
from pydantic import BaseModel, Field, ValidationError

from sajang.config import Settings, StorePolicy
from sajang.db.engine import autocommit_connection
from sajang.db.types import utcnow
from sajang.graphs.common.breaker import breaker_for
from sajang.graphs.common.context import engine_for
from sajang.graphs.common.llm import Deadline, DeadlineExceeded, call_within, get_chat_model, openai_module
from sajang.graphs.common.pii import PiiMask, current_mask, customer_names, masking
from sajang.graphs.inquiry.answering import answer_confidence, relevant_units, source_of
from sajang.graphs.inquiry.classifier import max_urgency, rule_urgency
from sajang.graphs.inquiry.context import tool_config
from sajang.graphs.inquiry.order_answers import is_order_question
from sajang.graphs.inquiry.prompts import CATEGORY_GUIDE, policy_text
from sajang.knowledge.ingest import audience_overrides_in
from sajang.knowledge.text import tokenize
from sajang.tools.inquiry_tools import INQUIRY_TOOLS, TOOLS_BY_NAME

log = logging.getLogger(__name__)

KST = ZoneInfo("Asia/Seoul")
WEEKDAYS_KO = "월화수목금토일"
TOOLS_REFUSED_S = 600  # a server that answered 400 to tools is asked without them this long
MAX_TOOL_ROUNDS = 2  # model calls that may ask for tools; the call after the last round must answer
ORDER_EVIDENCE = 0.9  # an answer resting on the customer's own order data (the offline order answer's confidence)
MIN_SUPPORT = 0.6  # share of the answer's content words found in what it cites, the question and the policy
NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
GROUNDED_MARGIN = 0.1
PASSAGE_UNITS = 5  # sentences, items or rows of an article given to the model: the ones that answer  # above the gate's threshold: a supported answer in the cited article's own words
DEADLINE_KEY = "llm_deadline_at"  # config["configurable"]: the turn's deadline (time.time()) set by the service
PII_MASK_KEY = "llm_pii_mask"  # config["configurable"]: the turn's PiiMask (the service restores the stream with it)


def model_errors() -> tuple[type[Exception], ...]:
    """The model's failures that mean "answer offline" (everything else is a bug in our code: logged with
    its trace); a function so that `openai` is imported only when a model call fails."""
    return (openai_module().OpenAIError, DeadlineExceeded, ValidationError, ValueError)


class LLMTurn(BaseModel):
    """One structured reply of the chat model: how it classifies the message and what it answers."""

    category: Literal["delivery", "exchange", "return_refund", "cancel", "damage_defect", "stock", "product",
                      "payment", "coupon_points", "human", "other"] = Field(description="the inquiry category id")
    urgency: Literal["low", "normal", "high", "urgent"] = Field(
        description="urgent: food-safety risk, repeated complaint or legal threat")
    answer: str = Field(description="the reply to send to the customer, in the customer's language")
    sources_used: list[str] = Field(
        description="ids of the passages ([id]) and order numbers the answer rests on; empty when none")
    supported: bool = Field(description="self-check: every fact in the answer is stated in the given facts")
    needs_human: bool = Field(description="true when a person should take over")
    confidence: float = Field(description="0..1: how sure the answer is fully supported by the given facts")


# --- the prompt -----------------------------------------------------------------------------------

SYSTEM = """당신은 「{shop_name}」의 고객상담 AI입니다. 고객 메시지를 분류하고, 아래에 주어진 정보만 근거로 답하세요.

지금은 {now} (한국 시간)입니다. 고객이 말하는 '오늘·어제·이번 주'는 이 시각 기준이고, 아래 주문의 시각도
모두 한국 시간입니다.

규칙
- 고객이 쓴 언어로 답하세요(한국어 메시지에는 정중한 존댓말, 영어 메시지에는 영어).
- 매뉴얼·학습된 답변·스토어 정책·이 고객의 주문에 없는 내용은 지어내지 마세요. 근거가 모자라면
  supported=false, needs_human=true로 하세요.
- sources_used: 답의 근거가 된 매뉴얼·학습된 답변의 id(대괄호 안)와 주문번호. 근거가 없으면 빈 목록.
- supported: answer의 모든 사실이 주어진 정보에 그대로 있을 때만 true.
{tools_rule}- 다른 사람의 주문이나 개인정보는 절대 말하지 마세요.
- 상담원이 가르친 '학습된 답변'이 질문과 맞으면 그 내용을 우선하세요.
- 고객이 사람을 원하거나, 파손·식품 안전·법적 문제처럼 사람이 판단해야 하면 needs_human=true.
- confidence: 답이 주어진 정보로 뒷받침되는 정도(0~1).

category(카테고리 id)
{categories}

urgency: low(일반 정보 문의), normal(보통), high(파손·불량·오배송·강한 불만),
urgent(식품 안전 위험, 반복된 불만, 법적 대응 언급).

스토어 정책
{policy}

고객
{customer}

이 고객의 최근 주문
{orders}

매뉴얼 발췌
{passages}

학습된 답변(상담원이 교정한 답)
{learned}{photos}"""

PHOTOS_NOTE = "\n\n고객이 이 메시지와 함께 사진 {n}장을 보냈습니다. 상담원이 사진을 확인하니, 사진을 보내 달라고 하지 마세요."
PHOTO_READING = "\n사진에 보이는 것(사진 판독): {notes}"
TOOLS_RULE = ("- 주문·배송·클레임의 최신 상태가 필요하면 도구를 부르세요. 도구는 이 고객 본인의 주문만 "
              "돌려줍니다.\n")


def kst_text(iso: str) -> str:
    """An ISO timestamp as the shop's local time: '2026-11-30 (월) 14:05 KST'."""
    dt = datetime.fromisoformat(iso).astimezone(KST)
    return f"{dt:%Y-%m-%d} ({WEEKDAYS_KO[dt.weekday()]}) {dt:%H:%M} KST"


def in_kst(value: Any) -> Any:
    """`value` (orders, tool results) with every `*_at` timestamp in KST: the model reads '어제' right."""
    if isinstance(value, list):
        return [in_kst(v) for v in value]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k.endswith("_at") and isinstance(v, str):
                try:
                    out[k] = kst_text(v)
                    continue
                except ValueError:
                    pass
            out[k] = in_kst(v)
        return out
    return value


def _passages(hits: list[dict[str, Any]], kind: str) -> str:
    rows = [h for h in hits if h.get("kind") == kind]
    if not rows:
        return "(없음)"
    return "\n\n".join(f"[{h['id']}] {h['title']}\n{h.get('text') or h.get('body') or ''}" for h in rows)


def customer_passages(question: str, hits: list[dict[str, Any]],
                      overrides: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The hits a customer may be told about, a manual article as only its customer-visible units that
    answer the question: an article for agents only, or the playbook part of one, never reaches the model
    (what the model reads it may repeat to the customer)."""
    out: list[dict[str, Any]] = []
    for hit in hits:
        if hit.get("kind") == "manual":
            units = relevant_units(question, hit, limit=PASSAGE_UNITS, audience="customers", overrides=overrides)
            if units:
                out.append({**hit, "text": " ".join(u.quote for u in units), "body": ""})
        elif hit.get("kind") == "learned":
            out.append(hit)
    return out


def turn_messages(text: str, *, policy: StorePolicy, customer: dict[str, Any] | None,
                  orders: list[dict[str, Any]], hits: list[dict[str, Any]], history: list[dict[str, Any]],
                  with_tools: bool, now: datetime, photos: list[dict[str, Any]] | None = None,
                  photo_notes: str = "") -> list[BaseMessage]:
    """The prompt of the one structured call. The customer's orders are given only when the question is
    about them (`with_tools`): a manual question's prompt carries no personal data. `photos`: the images
    sent with the message (the model is told of them, so it does not ask for a photo it has); `photo_notes`:
    what the vision model saw in them."""
    local = now.astimezone(KST)
    system = SYSTEM.format(
        shop_name=policy.shop_name,
        now=f"{local:%Y년 %m월 %d일} ({WEEKDAYS_KO[local.weekday()]}) {local:%H:%M}",
        tools_rule=TOOLS_RULE if with_tools else "", categories=CATEGORY_GUIDE, policy=policy_text(policy),
        customer=(f"{customer.get('name') or ''} ({customer['id']})" if customer else "비회원(본인 확인 전)"),
        orders=json.dumps(in_kst(orders), ensure_ascii=False) if orders and with_tools else "(없음)",
        passages=_passages(hits, "manual"), learned=_passages(hits, "learned"),
        photos=(PHOTOS_NOTE.format(n=len(photos)) + (PHOTO_READING.format(notes=photo_notes) if photo_notes else ""))
        if photos else "")
    msgs: list[BaseMessage] = [SystemMessage(system)]
    for turn in history[-6:]:  # a little of the conversation so follow-ups make sense
        role = turn.get("role")
        if role in ("ai", "agent"):
            msgs.append(AIMessage(str(turn.get("text") or "")))
        elif role == "customer":
            msgs.append(HumanMessage(str(turn.get("text") or "")))
    msgs.append(HumanMessage(text))
    return msgs


def images(attachments: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The attachments that are pictures (what the customer photographed: damage, a label, the parcel)."""
    return [a for a in attachments or [] if str(a.get("content_type") or "").startswith("image/")]


def needs_customer_data(text: str, customer_id: str | None) -> bool:
    """A verified customer asks about their own orders (the offline order detection). The category is not
    asked: offering the tools costs no extra call when the model does not use them."""
    return bool(customer_id) and is_order_question(text, "delivery")


# --- the calls --------------------------------------------------------------------------------------

def _run_tool_calls(ai: AIMessage, config: Any) -> tuple[list[BaseMessage], list[str]]:
    """Tool messages for the model's calls (results with KST times) and the order ids they returned."""
    out: list[BaseMessage] = []
    order_ids: list[str] = []
    for call in ai.tool_calls:
        tool = TOOLS_BY_NAME.get(call["name"])
        if tool is None:
            content = json.dumps({"error": f"unknown tool {call['name']}"})
        else:
            raw = str(tool.invoke(_unmasked(call["args"]), config))
            order_ids += re.findall(r'"order_id":\s*"([^"]+)"', raw)
            try:
                content = json.dumps(in_kst(json.loads(raw)), ensure_ascii=False)
            except ValueError:
                content = raw
        out.append(ToolMessage(content=content, tool_call_id=call["id"], name=call["name"]))
    return out, order_ids


def _unmasked(args: dict[str, Any]) -> dict[str, Any]:
    """The model's tool arguments with the turn's placeholders restored (it only ever saw those)."""
    mask = current_mask()
    return {k: mask.unmask(v) if mask and isinstance(v, str) else v for k, v in args.items()} if mask else args


# strict JSON Schema (OpenAI structured outputs; vLLM and Ollama read it as a grammar): every field required
RESPONSE_FORMAT: dict[str, Any] = {"type": "json_schema", "json_schema": {
    "name": "LLMTurn", "description": LLMTurn.__doc__, "strict": True,
    "schema": {**LLMTurn.model_json_schema(), "additionalProperties": False}}}


def _answer_call(settings: Settings, with_tools: bool, tool_choice: str | None = None) -> Runnable[Any, AIMessage]:
    model = get_chat_model(settings, streaming=True, max_retries=0)
    if with_tools:
        return model.bind_tools(INQUIRY_TOOLS, response_format=LLMTurn, strict=True, tool_choice=tool_choice)
    return model.bind(response_format=RESPONSE_FORMAT)


_tools_refused: dict[tuple[str | None, str | None], float] = {}  # (model, server) → when it answered 400 to tools
_tools_lock = threading.Lock()


def tools_refused(settings: Settings) -> bool:
    """Did this server refuse tool calls within `TOOLS_REFUSED_S`? (Then order questions skip the 400.)"""
    with _tools_lock:
        at = _tools_refused.get((settings.chat_model, settings.openai_base_url))
    return at is not None and time.monotonic() - at < TOOLS_REFUSED_S


def _refuse_tools(settings: Settings) -> None:
    with _tools_lock:
        _tools_refused[(settings.chat_model, settings.openai_base_url)] = time.monotonic()


def forget_tool_refusals() -> None:
    with _tools_lock:
        _tools_refused.clear()


def ask_model(settings: Settings, messages: list[BaseMessage], *, with_tools: bool, config: Any,
              deadline: Deadline) -> tuple[LLMTurn, list[str]]:
    """(the structured reply, order ids the tools returned). Raises on model errors."""
    # tagged so the service can stream these calls' tokens to the customer: any call may be the answer
    run_config = {**(config or {}), "tags": [*((config or {}).get("tags") or []), "final_answer"]}
    with_tools = with_tools and not tools_refused(settings)
    order_ids: list[str] = []
    for round_no in range(MAX_TOOL_ROUNDS + 1):
        last = round_no == MAX_TOOL_ROUNDS
        model = _answer_call(settings, with_tools, "none" if with_tools and last else None)
        try:
            ai = call_within(model, messages, run_config, deadline, settings.llm_max_retries)
        except openai_module().BadRequestError:
            if not with_tools:
                raise
            # a server without tool calling (vLLM started without its tool flags answers 400): the orders
            # are in the prompt, answer from them
            log.warning("the chat model server refused tool calls; answering without tools for %d s",
                        TOOLS_REFUSED_S)
            _refuse_tools(settings)
            with_tools = False
            ai = call_within(_answer_call(settings, False), messages, run_config, deadline, settings.llm_max_retries)
        if not ai.tool_calls or last:
            content = ai.content if isinstance(ai.content, str) else ""
            return LLMTurn.model_validate_json(content), list(dict.fromkeys(order_ids))
        results, ids = _run_tool_calls(ai, config)
        order_ids += ids
        messages = [*messages, ai, *results]
    raise AssertionError("unreachable: the last round returns")


# --- the answer ---------------------------------------------------------------------------------------

def _numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in NUMBER.findall(text)}


def lexical_support(answer: str, evidence: list[str]) -> float:
    """Share of the answer's content morphemes that occur in the evidence texts: a check of the model's
    "supported" that does not ask the model (an answer made of the passage's words is read from it). A
    number the evidence does not contain (a fee, a day count) makes it 0: that is where answers go wrong."""
    said = set(tokenize(answer))
    if not said or not _numbers(answer) <= _numbers(" ".join(evidence)):
        return 0.0
    known = {t for text in evidence for t in tokenize(text)}
    return len(said & known) / len(said)


def grounded(settings: Settings, reply: LLMTurn, *, question: str, policy: StorePolicy, hits: list[dict[str, Any]],
             order_ids: set[str], retrieval_confidence: float, unknown_terms: list[str], offline_category: str,
             previous_article: str | None = None) -> tuple[float, list[dict[str, Any]]]:
    """(confidence, sources) of a reply: never above what its evidence supports, whatever number the model
    wrote. Evidence: an order of this customer it cites; else a retrieved article it cites, worth the
    offline gate's confidence (retrieval calibration + agreement of the offline classifier's
    `offline_category`, not the model's own: that would be the model vouching for itself), or a little
    above the threshold when the model's self-check says supported and the answer's words and numbers
    are the article's (`lexical_support`)."""
    by_id = {str(h["id"]): h for h in hits if h.get("kind") in ("manual", "learned")}
    cited_hits = [by_id[s] for s in dict.fromkeys(reply.sources_used) if s in by_id]
    cited_orders = [s for s in dict.fromkeys(reply.sources_used) if s in order_ids]
    sources = [source_of(h) for h in cited_hits]
    sources += [{"id": oid, "title": f"주문 {oid}", "score": 1.0, "kind": "order"} for oid in cited_orders]
    if cited_orders:
        evidence = ORDER_EVIDENCE
    elif cited_hits:
        evidence = answer_confidence(settings, retrieval_confidence, offline_category, hits, cited_hits[0],
                                     unknown_terms, previous_article)
        texts = [f"{h['title']} {h.get('text') or ''} {h.get('body') or ''}" for h in cited_hits]
        if reply.supported and lexical_support(reply.answer, [*texts, question, policy_text(policy)]) >= MIN_SUPPORT:
            evidence = max(evidence, settings.answer_confidence_threshold + GROUNDED_MARGIN)
    else:
        evidence = 0.0  # nothing of ours was cited: a person checks it
    return round(min(max(0.0, min(1.0, float(reply.confidence))), evidence), 4), sources


def llm_answer(settings: Settings, policy: StorePolicy, *, text: str, customer_id: str | None,
               customer: dict[str, Any] | None, orders: list[dict[str, Any]], hits: list[dict[str, Any]],
               history: list[dict[str, Any]], category: str, urgency: str, retrieval_confidence: float,
               unknown_terms: list[str], config: Any, deadline: Deadline,
               attachments: list[dict[str, Any]] | None = None,
               audience_overrides: dict[str, list[str]] | None = None, photo_notes: str = "",
               previous_article: str | None = None) -> dict[str, Any]:
    """{answer, confidence, sources, needs_human, answer_kind, category, urgency} from the
    chat model. Raises on model errors (`answer_with_model` turns them into the offline answer)."""
    with_tools = needs_customer_data(text, customer_id)
    overrides = audience_overrides
    if overrides is None:  # a caller outside the graph (the agent's suggestion): read the admin's switch
        with autocommit_connection(engine_for(settings)) as conn:
            overrides = audience_overrides_in(conn)
    hits = customer_passages(text, hits, overrides)
    messages = turn_messages(text, policy=policy, customer=customer, orders=orders, hits=hits, history=history,
                             with_tools=with_tools, now=utcnow().astimezone(KST), photos=images(attachments),
                             photo_notes=photo_notes)
    reply, tool_order_ids = ask_model(settings, messages, with_tools=with_tools, config=config,
                                             deadline=deadline)
    mask = current_mask()
    if mask is not None:  # what the customer and the agent see carries the real values
        reply = reply.model_copy(update={"answer": mask.unmask(reply.answer)})
    if not reply.answer.strip():
        raise ValueError("the model returned an empty answer")
    known_orders = set(tool_order_ids) | ({o["order_id"] for o in orders} if with_tools else set())
    confidence, sources = grounded(settings, reply, question=text, policy=policy, hits=hits, order_ids=known_orders,
                                   retrieval_confidence=retrieval_confidence, unknown_terms=unknown_terms,
                                   offline_category=category, previous_article=previous_article)
    return {"answer": reply.answer.strip(), "confidence": confidence, "sources": sources,
            "needs_human": bool(reply.needs_human or not reply.supported), "answer_kind": "llm",
            "category": reply.category,
            # the keyword rules and the offline classifier can only raise the urgency
            "urgency": max_urgency(max_urgency(reply.urgency, urgency), rule_urgency(text, reply.category))}


def turn_deadline(settings: Settings, config: Any) -> Deadline:
    """The deadline the service set for this turn, else the default budget from now."""
    at = ((config or {}).get("configurable") or {}).get(DEADLINE_KEY)
    return Deadline(float(at)) if at else Deadline.after(settings.llm_turn_deadline_s)


def answer_with_model(settings: Settings, policy: StorePolicy, *, text: str, locale: str, customer_id: str | None,
                      customer: dict[str, Any] | None, orders: list[dict[str, Any]], hits: list[dict[str, Any]],
                      history: list[dict[str, Any]], category: str, urgency: str, retrieval_confidence: float,
                      unknown_terms: list[str], config: Any,
                      attachments: list[dict[str, Any]] | None = None,
                      audience_overrides: dict[str, list[str]] | None = None,
                      photo_notes: str = "", previous_article: str | None = None) -> dict[str, Any] | None:
    """The chat model's answer, or None when the offline pipeline must answer: the model failed, ran out
    of the turn's time, or the circuit breaker has it paused. Never raises."""
    breaker = breaker_for(settings)
    if not breaker.allow():
        return None
    started = time.monotonic()
    try:
        with masking(turn_mask(settings, config)):
            out = llm_answer(settings, policy, text=text, customer_id=customer_id, customer=customer, orders=orders,
                             hits=hits, history=history, category=category, urgency=urgency,
                             retrieval_confidence=retrieval_confidence,
                             unknown_terms=unknown_terms, deadline=turn_deadline(settings, config), attachments=attachments,
                             audience_overrides=audience_overrides, photo_notes=photo_notes,
                             previous_article=previous_article, config=tool_config(config, customer_id, settings.resolved_database_url, locale))
    except model_errors() as exc:
        breaker.failure(f"{type(exc).__name__}: {exc}")
        log.warning("chat model failed after %.1f s, answering offline: %s: %s", time.monotonic() - started,
                    type(exc).__name__, exc)
        return None
    except Exception as exc:  # a turn must end well: our own bug in the model path answers offline too
        breaker.failure(f"{type(exc).__name__}: {exc}")
        log.exception("the chat-model path failed, answering offline")
        return None
    breaker.success()
    return out


def turn_budget(settings: Settings, deadline_s: float | None = None) -> Deadline:
    """The deadline of a turn that starts now: `deadline_s` (a caller's budget) or the default."""
    return Deadline.after(settings.llm_turn_deadline_s if deadline_s is None else deadline_s)


def with_deadline(config: RunnableConfig, deadline: Deadline, mask: PiiMask | None = None) -> RunnableConfig:
    """`config` carrying the turn's deadline (`turn_deadline` reads it) and its personal-data mask to the
    answer node."""
    extra: dict[str, Any] = {DEADLINE_KEY: deadline.at}
    if mask is not None:
        extra[PII_MASK_KEY] = mask
    return {**config, "configurable": {**(config.get("configurable") or {}), **extra}}


def new_mask(settings: Settings) -> PiiMask | None:
    """A turn's mask when personal data must not leave in clear (every customer name the shop knows)."""
    if not (settings.llm_mask_pii and settings.llm_enabled):
        return None
    return PiiMask(customer_names(engine_for(settings)))


def turn_mask(settings: Settings, config: Any) -> PiiMask | None:
    """The mask the service set for this turn, else a new one (a caller outside the graph)."""
    mask = ((config or {}).get("configurable") or {}).get(PII_MASK_KEY)
    return mask if isinstance(mask, PiiMask) else new_mask(settings)
