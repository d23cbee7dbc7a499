"""Nodes of the review graph: analyse → draft → approval (interrupt) → publish | reject.

Settings reach the nodes through the run context (`runtime.context`, `ReviewContext`). Each node reads
the state keys its docstring names and returns only the keys it writes.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.config import get_config
from langgraph.graph import END
from langgraph.runtime import Runtime
from langgraph.types import interrupt
from sqlalchemy import Engine, func, insert, select, update

from sajang.db.models import AuditLog, Customer, Order, Product, Review
from sajang.errors import NotFound
from sajang.graphs.common.context import store_policy
from sajang.graphs.common.inbox import human_interrupt, inbox_response, resumer
from sajang.graphs.review.context import ReviewContext
from sajang.graphs.review.drafts import make_draft, public_reply
from sajang.graphs.review.sentiment import ASPECT_LABELS, Analysis, analyse_review
from sajang.graphs.review.state import ReviewDecision, ReviewState

MAX_REPLY_CHARS = 2000
APPROVAL_ACTION = "publish_review_reply"  # Agent Inbox's action_request.action of the approval card


def review_thread_id(review_id: str) -> str:
    """The review's LangGraph thread (fits `reviews.thread_id`, 64 chars, whatever the review id)."""
    safe = re.sub(r"[^A-Za-z0-9_.:-]", "_", review_id)
    if len(safe) <= 50 and safe == review_id:
        return f"review:{review_id}"
    return f"review:h{hashlib.sha256(review_id.encode()).hexdigest()[:40]}"


def review_context(engine: Engine, review_id: str) -> dict[str, Any]:
    """The review with its product, order and the customer's history (what a draft may mention)."""
    with engine.connect() as conn:
        row = conn.execute(select(Review.__table__).where(Review.id == review_id)).mappings().first()
        if row is None:
            raise NotFound(f"review {review_id} does not exist", code="review_not_found")
        ctx: dict[str, Any] = {"review_id": review_id, "text": row["text"], "rating": row["rating"],
                               "reply_status": row["reply_status"], "product_id": row["product_id"],
                               "customer_id": row["customer_id"], "order_id": row["order_id"],
                               "product_name": None, "customer_name": None, "order_status": None,
                               "orders_count": 0, "previous_negative": 0}
        if row["product_id"]:
            ctx["product_name"] = conn.scalar(select(Product.name).where(Product.id == row["product_id"]))
        if row["order_id"]:
            ctx["order_status"] = conn.scalar(select(Order.status).where(Order.id == row["order_id"]))
        if row["customer_id"]:
            cid = row["customer_id"]
            ctx["customer_name"] = conn.scalar(select(Customer.name).where(Customer.id == cid))
            ctx["orders_count"] = int(conn.scalar(select(func.count()).select_from(Order)
                                                  .where(Order.customer_id == cid)) or 0)
            ctx["previous_negative"] = int(conn.scalar(
                select(func.count()).select_from(Review)
                .where(Review.customer_id == cid, Review.id != review_id, Review.negative.is_(True))) or 0)
    return ctx


def analyse(state: ReviewState, runtime: Runtime[ReviewContext]) -> dict[str, Any]:
    """Reads `review_id` and the review row (text, rating, reply status); writes `negative`,
    `sentiment_score`, `aspects`, `severity` and `thread_id` on the row; returns `analysis`,
    `review_text`, `rating` and, when no draft is needed, `skip` (positive, or a reply already
    published/rejected)."""
    config = get_config()
    settings = runtime.context.settings
    engine = runtime.context.engine
    ctx = review_context(engine, state["review_id"])
    result = analyse_review(settings, ctx["text"], ctx["rating"])
    thread_id = (config.get("configurable") or {}).get("thread_id") or review_thread_id(state["review_id"])
    with engine.begin() as conn:
        conn.execute(update(Review).where(Review.id == state["review_id"]).values(
            negative=result.negative, sentiment_score=result.score, aspects=result.aspects,
            severity=result.severity, thread_id=thread_id))
    skip = None
    if not result.negative:
        skip = "positive"
    elif ctx["reply_status"] in ("published", "rejected"):
        skip = f"already_{ctx['reply_status']}"
    return {"analysis": result.as_dict(), "skip": skip, "review_text": ctx["text"] or "", "rating": ctx["rating"]}


def route_after_analyse(state: ReviewState) -> str:
    return END if state.get("skip") else "draft"


def draft(state: ReviewState, runtime: Runtime[ReviewContext]) -> dict[str, Any]:
    """Reads `review_id`, `analysis`, the review context (product, order, customer history) and the store
    policy; writes the draft to `reviews.reply_draft` and `reply_status = 'draft'` (only while no reply
    was decided); returns `draft`, `draft_method`."""
    settings = runtime.context.settings
    engine = runtime.context.engine
    ctx = review_context(engine, state["review_id"])
    fields = {k: v for k, v in state["analysis"].items() if k in Analysis.__dataclass_fields__}
    text, method = make_draft(settings, Analysis(**fields), ctx["text"], ctx, store_policy(settings))
    with engine.begin() as conn:
        conn.execute(update(Review).where(Review.id == state["review_id"],
                                          Review.reply_status.in_(("none", "draft")))
                     .values(reply_draft=text, reply_status="draft"))
    return {"draft": text, "draft_method": method}


def _approval_card(state: ReviewState) -> dict[str, Any]:
    """The interrupt payload: Agent Inbox's HumanInterrupt around review id, analysis and draft."""
    analysis = state.get("analysis") or {}
    aspects = "·".join(ASPECT_LABELS[a]["ko"] for a in analysis.get("aspects") or [] if a in ASPECT_LABELS)
    rating = state.get("rating")
    head = f"**부정 리뷰{f' (★{rating})' if rating else ''}**" + (f" — {aspects}" if aspects else "")
    quoted = (state.get("review_text") or "").strip()[:500]
    description = (f"{head}\n\n> {quoted}\n\n답글 초안: accept는 그대로 게시, edit는 고친 `draft`를 게시, "
                   "ignore는 답글 없이 넘깁니다(거절).")
    args = {"review_id": state["review_id"], "analysis": analysis, "draft": state.get("draft") or ""}
    return human_interrupt(APPROVAL_ACTION, args, description, allow_accept=True, allow_edit=True,
                           allow_respond=True, allow_ignore=True)


def _decision_from(value: Any, state: ReviewState, config: RunnableConfig) -> ReviewDecision:
    """The resume value as a decision. The app sends `{"action": "approve"|"edit"|"reject", "text"?,
    "actor", "user_id"?}`; Agent Inbox sends a HumanResponse: accept publishes the draft, edit publishes
    the edited `draft` (or `text`), response publishes its text as the reply, ignore rejects (no reply)."""
    response = inbox_response(value)
    if response is not None:
        who = resumer(config)
        base: ReviewDecision = {"actor": who.actor, "user_id": who.user_id}
        if response.type == "accept":
            return {**base, "action": "approve", "text": state.get("draft") or ""}
        if response.type == "edit":
            edited = response.edited("draft") or response.edited("text")
            return {**base, "action": "edit", "text": str(edited or "")}
        if response.type == "response":
            return {**base, "action": "edit", "text": response.text}
        return {**base, "action": "reject", "reason": "ignored in Agent Inbox"}
    if isinstance(value, dict) and value.get("action") in ("approve", "edit", "reject"):
        return value  # type: ignore[return-value]
    return {"action": "reject", "actor": "system", "reason": "invalid decision"}


def approval(state: ReviewState, config: RunnableConfig) -> dict[str, Any]:
    """Pauses for an agent: `interrupt()` with the approval card (review id, analysis, draft, in Agent
    Inbox's HumanInterrupt shape). Reads `review_id`, `analysis`, `draft`, `review_text`, `rating`;
    writes nothing (it re-runs from the top on resume); returns `decision` (an empty reply rejects)."""
    decision = _decision_from(interrupt(_approval_card(state)), state, config)
    if decision["action"] in ("approve", "edit"):
        text = str(decision.get("text") or state.get("draft") or "").strip()
        if not text:
            decision = {"action": "reject", "actor": decision.get("actor", "system"), "reason": "empty reply"}
        else:
            decision = {**decision, "text": text[:MAX_REPLY_CHARS]}
    return {"decision": decision}


def route_after_approval(state: ReviewState) -> str:
    return "reject" if state["decision"]["action"] == "reject" else "publish"


def publish(state: ReviewState, runtime: Runtime[ReviewContext]) -> dict[str, Any]:
    """Reads `review_id`, `decision`; writes `reply`, `reply_status = 'published'`, `published_at`,
    `replied_by` with one conditional UPDATE (only while the draft still waits: a review rejected at the
    same moment, in any process, is never published) and an audit row when this call was the one that
    published; returns `result`."""
    d = state["decision"]
    now = datetime.now(UTC)
    actor = str(d.get("actor") or "system")
    ctx = review_context(runtime.context.engine, state["review_id"])
    d = {**d, "text": public_reply(str(d["text"]), ctx.get("order_id"), ctx.get("customer_name"))}
    with runtime.context.engine.begin() as conn:
        res = conn.execute(update(Review).where(Review.id == state["review_id"],
                                                Review.reply_status.in_(("none", "draft")))
                           .values(reply=d["text"], reply_status="published", published_at=now,
                                   replied_by=d.get("user_id")))
        published_now = bool(res.rowcount)
        if published_now:
            conn.execute(insert(AuditLog).values(
                at=now, actor=actor, action="review.publish", target_type="review", target_id=state["review_id"],
                details={"edited": d["action"] == "edit", "chars": len(d["text"])}))
    return {"result": {"review_id": state["review_id"], "status": "published", "published_now": published_now}}


def reject(state: ReviewState, runtime: Runtime[ReviewContext]) -> dict[str, Any]:
    """Reads `review_id`, `decision`; writes `reply_status = 'rejected'` (only while the draft still
    waits) and an audit row; publishes nothing; returns `result` (`rejected_now`: this call decided)."""
    d = state["decision"]
    actor = str(d.get("actor") or "system")
    with runtime.context.engine.begin() as conn:
        res = conn.execute(update(Review).where(Review.id == state["review_id"],
                                                Review.reply_status.notin_(("published", "rejected")))
                           .values(reply_status="rejected", replied_by=d.get("user_id")))
        if res.rowcount:
            conn.execute(insert(AuditLog).values(
                at=datetime.now(UTC), actor=actor, action="review.reject", target_type="review",
                target_id=state["review_id"], details={"reason": d.get("reason")} if d.get("reason") else None))
    return {"result": {"review_id": state["review_id"], "status": "rejected", "rejected_now": bool(res.rowcount)}}
