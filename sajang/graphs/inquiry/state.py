"""Typed state of the inquiry graph.

One customer message is one run on the conversation's thread; values that describe the current
message (`text`, `category`, `hits`, `answer` …) are overwritten by every run, `history` keeps the
last HISTORY_TURNS turns as the graph saw them (customer lines, AI answers, agent replies): the prompt
uses the last few, and the whole transcript lives in the `messages` table, so the checkpoint of a long
conversation stays small instead of being rewritten whole, and growing, at every message.

Handoff is a structured field (`handoff`), never a token in the answer text.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

# typing_extensions, not typing: Studio's input form (`get_input_jsonschema`) needs it on Python < 3.12
from typing_extensions import TypedDict

CATEGORIES: tuple[str, ...] = (
    "delivery", "exchange", "return_refund", "cancel", "damage_defect", "stock", "product", "payment",
    "coupon_points", "human", "other",
)
URGENCIES: tuple[str, ...] = ("low", "normal", "high", "urgent")
HISTORY_TURNS = 40


def recent_turns(left: list[Turn], right: list[Turn]) -> list[Turn]:
    """Reducer of `history`: append, keep the last HISTORY_TURNS."""
    return (list(left or []) + list(right or []))[-HISTORY_TURNS:]


HandoffReason = Literal["requested", "urgent", "action_required", "low_confidence", "model_uncertain"]


class Source(TypedDict, total=False):
    id: str
    title: str
    score: float
    kind: str  # manual | learned | order


class HitDict(TypedDict, total=False):
    id: str
    title: str
    score: float
    kind: str
    text: str
    body: str
    category: str | None


class Handoff(TypedDict, total=False):
    """What the agent sees: also the `interrupt()` payload (plus the thread/round bookkeeping)."""

    reason: str
    summary: str
    category: str | None
    urgency: str | None
    ai_draft: str
    sources: list[Source]
    customer_id: str | None
    thread_id: str
    customer_lines: list[str]  # customer messages since the handoff (incl. those sent while waiting)
    attachments: list[dict[str, Any]]  # files the customer sent with those messages
    photo_notes: str  # what the vision model saw in the photos ("" = not described)
    unknown_terms: list[str]  # what the customer named that the manual never mentions (a gap to teach)


class Turn(TypedDict, total=False):
    role: str  # customer | ai | agent
    text: str
    message_id: int | None


class InquiryInput(TypedDict, total=False):
    """What one run is given: the customer's message (Studio's input form shows these)."""

    text: str
    locale: str  # ko | en; the graph detects it from the text when absent
    turn_id: str  # the service's id of this customer message (dedup keys derive from it)
    message_id: int | None  # the customer message row
    attachments: list[dict[str, Any]]  # files sent with this message: id, filename, content_type
    verification: str | None  # the service's in-chat verification of this message: verified | failed | locked


class InquiryState(TypedDict, total=False):
    # input of one run (InquiryInput)
    text: str
    locale: str  # ko | en (the customer's language)
    turn_id: str  # the service's id of this customer message (dedup keys derive from it)
    message_id: int | None  # the customer message row
    attachments: list[dict[str, Any]]  # files sent with this message: id, filename, content_type
    verification: str | None  # the service's in-chat verification of this message: verified | failed | locked
    # load_context
    customer_id: str | None
    customer: dict[str, Any] | None  # {"id", "name"} of the logged-in customer
    orders: list[dict[str, Any]]  # their recent orders, or those the question names (items, tracking, claims)
    coupons: list[dict[str, Any]] | None  # their coupons, loaded when the question asks about coupons
    policy_overrides: dict[str, Any]  # the admin's saved store policy, read once per message
    audience_overrides: dict[str, list[str]]  # the admin's audience switch per article, read with it
    question: str  # what is answered: `text`, a follow-up spelled out, or the question held for verification
    question_base: str  # the question a later elliptic follow-up is read against
    own_query: dict[str, Any]  # intents.OwnDataQuery of `question`: facts, action and which orders
    followup: str | None  # order | manual: the message continues the previous turn's topic; policy: asks the rule after an order answer
    verify_result: str | None  # `verification` of this message (the input field is cleared for the next)
    # read_photos
    photo_notes: str  # what the vision model saw in this message's photos ("" = none, or only counted)
    # classify
    normalized_text: str  # `text` as classify and retrieve read it (spacing, typos, slang; no emoticons)
    mood: str  # frustrated | neutral | happy: what the emoticons and wording showed
    category: str
    urgency: str
    wants_human: bool
    classification: dict[str, Any]  # scores / method, for the agent and evaluation
    # retrieve
    hits: list[HitDict]
    retrieval_confidence: float
    unknown_terms: list[str]  # Korean nouns of the message that no manual article or learned answer contains
    # answer
    answer: str
    confidence: float
    sources: list[Source]
    needs_human: bool  # the model's own judgement (LLM path)
    answer_kind: str  # learned | manual | order | verify | smalltalk | none | llm
    order_action: dict[str, Any] | None  # {"action", "needs_person"}: a request about one of their orders
    # kept across messages
    memory: dict[str, Any]  # the previous answered turn: kind, base question, own_query, order_ids, article_id
    pending_question: str | None  # a guest's question about their order, answered once they verify
    # gate / handoff
    handoff: Handoff | None
    handoff_reason: str | None
    resolved: bool
    waiting: bool  # True while the handoff node waits for a person
    history: Annotated[list[Turn], recent_turns]


class HandoffResume(TypedDict, total=False):
    """The value `Command(resume=...)` passes to the waiting handoff node."""

    type: Literal["agent", "customer", "resolve"]
    event_id: str  # idempotency: messages written for this event carry it in their dedup key
    text: str
    agent_user_id: int | None
    agent_name: str
    resolve: bool
    message_id: int | None  # customer line already stored by the service
    attachments: list[dict[str, Any]]  # files sent with that line (the customer's, or the agent's reply)
    bot_answer: str  # what the bot answered to that line ("" = nothing): a turn the agent reads too
    bot_sources: list[Source]
    bot_confidence: float
