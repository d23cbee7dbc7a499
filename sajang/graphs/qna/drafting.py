"""A draft answer to one product question, from the inquiry pipeline's parts with the product as context.

The question is read like a chat message (chat-Korean normalisation, the inquiry classifier for category,
urgency, a request for a person and incident evidence); a question about the product's own facts (stock,
restock date, origin, ingredients, size, options) is answered from the products table (`facts.py`);
anything else is searched in the manual and the learned answers, where the product's facts join the
retrieved passages (the chat model may cite them), and answered by the chat model or the offline
pipeline. The inquiry gate's rules decide: a confident answer is a ready draft, the rest a handoff whose
draft (when there is one) the person edits. Nothing here writes: `sajang.services.qna` stores the draft.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Literal

from sajang.config import Settings, StorePolicy
from sajang.graphs.inquiry.answering import detect_locale, learned_for_product, manual_hits, offline_answer
from sajang.graphs.inquiry.classifier import classify_text
from sajang.graphs.inquiry.llm_answer import answer_with_model
from sajang.graphs.qna.facts import FACT_CONFIDENCE, fact_answer, product_article, short_name
from sajang.knowledge.service import read_chat

DraftStatus = Literal["ready", "handoff"]


@dataclass
class QnaDraft:
    """The draft (possibly empty for a person to write), whether it is ready, and what it used."""

    text: str
    status: DraftStatus
    confidence: float
    sources: list[dict[str, Any]] = field(default_factory=list)
    handoff_reason: str | None = None
    category: str = "product"
    urgency: str = "normal"
    answer_kind: str = "none"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def product_tagged(product_name: str, question: str) -> str:
    """The question a correction on this product is learned under: «「순살 갈비탕」 원산지가 어디예요?», so
    the answer is found for this product's questions and never given for another product's."""
    return f"「{short_name(product_name)}」 {question.strip()}"


def learned_for(product: Mapping[str, Any] | None, hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The retrieved hits without learned answers taught on another product; this product's own are read
    without their tag (the learned-answer match compares questions)."""
    own = short_name(str(product["name"])) if product else None
    return learned_for_product(hits, lambda tagged: tagged == own)


def greeting(policy: StorePolicy, locale: str) -> str:
    return f"Hello, this is {policy.shop_name}." if locale == "en" else f"안녕하세요, 고객님. {policy.shop_name}입니다."


def closing(locale: str) -> str:
    return "Thank you." if locale == "en" else "문의해 주셔서 감사합니다."


def on_the_board(body: str, policy: StorePolicy, locale: str) -> str:
    """An answer as the shop posts it on the product's Q&A board (a greeting and a thanks around it)."""
    body = body.strip()
    if not body:
        return ""
    greeted = body.startswith(("안녕하세요", "Hello", "Hi"))  # the manual's reply may greet already
    return "\n".join((body,) if greeted else (greeting(policy, locale), body)) + "\n" + closing(locale)


def off_the_board(text: str, policy: StorePolicy) -> str:
    """The answer without the board's greeting and thanks: what a correction teaches (a chat reads it too)."""
    lines = [ln for ln in text.strip().splitlines()
             if ln.strip() not in {greeting(policy, "ko"), greeting(policy, "en"), closing("ko"), closing("en")}]
    return "\n".join(lines).strip()


def draft_answer(settings: Settings, policy: StorePolicy, question: Mapping[str, Any], *, today: date,
                 thread_id: str) -> QnaDraft:
    """The draft for one question row of `sajang.db.qna` (text, product with its facts)."""
    text = str(question["text"]).strip()
    product = question.get("product")
    locale = detect_locale(text, settings.locale)
    # read as the chat reads a customer's line (the search waits until the rules below have not answered)
    normalized = read_chat(settings, text).text or text
    cls = classify_text(settings, normalized)
    category, urgency = cls.category, cls.urgency
    # the inquiry gate's person rules: an explicit request, an urgent report or an incident
    if cls.wants_human and cls.category == "human":
        return QnaDraft("", "handoff", 0.0, handoff_reason="requested", category=category, urgency=urgency)
    incident = bool(cls.evidence)
    if cls.urgency == "urgent" or (cls.urgency == "high" and incident):
        return QnaDraft("", "handoff", 0.0, handoff_reason="urgent", category=category, urgency=urgency)
    facts = fact_answer(normalized, product, category=cls.category, locale=locale, today=today)
    if facts.complete and product is not None:
        return QnaDraft(on_the_board(" ".join(facts.sentences), policy, locale), "ready", FACT_CONFIDENCE,
                        [{"id": f"product:{product['id']}", "title": str(product["name"]), "score": 1.0,
                          "kind": "product"}], None, category, urgency, answer_kind="product")
    # searched as the chat searches; learned answers of this product only
    hits, found = manual_hits(settings, normalized, locale, cls.category, lambda hits: learned_for(product, hits))
    out: dict[str, Any] | None = None
    if settings.llm_enabled:
        extra = [product_article(product, locale, today)] if product else []
        out = answer_with_model(settings, policy, text=text, locale=locale, customer_id=None, customer=None,
                                orders=[], hits=hits + extra, history=[], category=cls.category,
                                urgency=cls.urgency, retrieval_confidence=found.confidence,
                                unknown_terms=found.unknown_terms,
                                config={"configurable": {"thread_id": thread_id}})
    if out is None:
        out = offline_answer(settings, policy, text=text, locale=locale, category=cls.category, customer_id=None,
                             orders=[], hits=hits, retrieval_confidence=found.confidence,
                             unknown_terms=found.unknown_terms, normalized_text=normalized)
    answer = on_the_board(str(out.get("answer") or ""), policy, locale)
    confidence = round(float(out.get("confidence") or 0.0), 4)
    reason: str | None = None
    if out.get("needs_human"):
        reason = "model_uncertain"
    elif not answer or confidence < settings.answer_confidence_threshold:
        reason = "low_confidence"
    elif facts.asked and facts.missing and product is not None:
        # it asks a fact of this product the table lacks: the manual's general answer is not an answer
        reason = "product_fact_missing"
    return QnaDraft(answer, "handoff" if reason else "ready", confidence, list(out.get("sources") or []), reason,
                    category, urgency, answer_kind=str(out.get("answer_kind") or "none"))
