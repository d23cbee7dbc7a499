"""Review graph: analyse → (negative?) draft → approval (interrupt: approve / edit / reject) → publish | reject → END.

One thread per review (`review_thread_id`). Side effects and resumes:
- `analyse` and `draft` write only the review's own analysis/draft columns; running them again writes
  the same values (they are idempotent), and a review whose reply was already published or rejected is
  analysed but never drafted again.
- `approval` calls `interrupt()` first and writes nothing: on resume LangGraph re-runs it from the start.
- `publish` is one conditional UPDATE (`… WHERE reply_status <> 'published'`): a double click, a second
  resume or two agents at once publish exactly once; the audit row is written only by the winner.

The service functions in `sajang.graphs.review.service` are what the CLI, the REST API and the UI call.
"""

from __future__ import annotations

import hashlib
import re
import threading
from datetime import UTC, datetime
from typing import Any, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from sqlalchemy import Engine, func, select, update

from sajang.config import Settings, StorePolicy, get_settings
from sajang.db.engine import get_engine
from sajang.db.models import AuditLog, Customer, Order, Product, Review

MAX_REPLY_CHARS = 2000
_settings_registry: dict[str, Settings] = {}
_registry_lock = threading.Lock()


class ReviewState(TypedDict, total=False):
    review_id: str
    analysis: dict[str, Any]
    skip: str | None  # why no draft: "positive", "already_published", "already_rejected"
    draft: str
    draft_method: str
    decision: dict[str, Any]
    result: dict[str, Any]


def review_thread_id(review_id: str) -> str:
    """The review's LangGraph thread (fits `reviews.thread_id`, 64 chars, whatever the review id)."""
    safe = re.sub(r"[^A-Za-z0-9_.:-]", "_", review_id)
    if len(safe) <= 50 and safe == review_id:
        return f"review:{review_id}"
    return f"review:h{hashlib.sha256(review_id.encode()).hexdigest()[:40]}"


def register_settings(settings: Settings) -> str:
    """Make `settings` reachable from graph nodes through `configurable.settings_key`."""
    key = f"{settings.resolved_database_url}|{settings.data_dir}|{settings.chat_model}|{settings.openai_base_url}"
    with _registry_lock:
        _settings_registry[key] = settings
    return key


def _settings(config: RunnableConfig) -> Settings:
    conf = config.get("configurable", {}) if config else {}
    key = conf.get("settings_key")
    if key:
        with _registry_lock:
            found = _settings_registry.get(key)
        if found is not None:
            return found
    base = get_settings()
    url = conf.get("database_url")
    return base.model_copy(update={"database_url": url}) if url else base


def _engine(settings: Settings) -> Engine:
    if not settings.database_url:
        settings.ensure_data_dir()
    return get_engine(settings.resolved_database_url)


def store_policy_for(settings: Settings, engine: Engine) -> StorePolicy:
    """`settings.store` overridden by what the admin saved under `store_policy`."""
    from sajang.db.queries import load_shop_setting

    return settings.store.overridden(load_shop_setting(engine, "store_policy"))


def review_context(engine: Engine, review_id: str) -> dict[str, Any]:
    """The review with its product, order and the customer's history (what a draft may mention)."""
    with engine.connect() as conn:
        row = conn.execute(select(Review.__table__).where(Review.id == review_id)).mappings().first()
        if row is None:
            from sajang.errors import NotFound

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


# --- nodes -------------------------------------------------------------------------------------------


def analyse(state: ReviewState, config: RunnableConfig) -> dict[str, Any]:
    """Reads the review (text, rating, reply status); writes `negative`, `sentiment_score`, `aspects`,
    `severity` and `thread_id` on the review row; returns the analysis and, when no draft is needed,
    `skip` (positive, or a reply already published/rejected)."""
    from sajang.graphs.review.sentiment import analyse_review

    settings = _settings(config)
    engine = _engine(settings)
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
    return {"analysis": result.as_dict(), "skip": skip}


def _after_analyse(state: ReviewState) -> str:
    return END if state.get("skip") else "draft"


def draft(state: ReviewState, config: RunnableConfig) -> dict[str, Any]:
    """Reads the review context (product, order, customer history) and the store policy; writes the
    draft to `reviews.reply_draft` and `reply_status = 'draft'` (only while no reply was decided)."""
    from sajang.graphs.review.drafts import make_draft
    from sajang.graphs.review.sentiment import Analysis

    settings = _settings(config)
    engine = _engine(settings)
    ctx = review_context(engine, state["review_id"])
    fields = {k: v for k, v in state["analysis"].items() if k in Analysis.__dataclass_fields__}
    analysis = Analysis(**fields)
    text, method = make_draft(settings, analysis, ctx["text"], ctx, store_policy_for(settings, engine))
    with engine.begin() as conn:
        conn.execute(update(Review).where(Review.id == state["review_id"],
                                          Review.reply_status.in_(("none", "draft")))
                     .values(reply_draft=text, reply_status="draft"))
    return {"draft": text, "draft_method": method}


def approval(state: ReviewState) -> dict[str, Any]:
    """Pauses for an agent (interrupt payload: review id, analysis, draft). Writes nothing. The resume
    value is `{"action": "approve"|"edit"|"reject", "text"?, "actor", "user_id"?}`; returns `decision`."""
    decision = interrupt({"review_id": state["review_id"], "analysis": state["analysis"], "draft": state["draft"]})
    if not isinstance(decision, dict) or decision.get("action") not in ("approve", "edit", "reject"):
        decision = {"action": "reject", "actor": "system", "reason": "invalid decision"}
    if decision["action"] in ("approve", "edit"):
        text = str(decision.get("text") or state["draft"]).strip()
        if not text:
            decision = {"action": "reject", "actor": decision.get("actor", "system"), "reason": "empty reply"}
        else:
            decision = {**decision, "text": text[:MAX_REPLY_CHARS]}
    return {"decision": decision}


def _after_approval(state: ReviewState) -> str:
    return "reject" if state["decision"]["action"] == "reject" else "publish"


def publish(state: ReviewState, config: RunnableConfig) -> dict[str, Any]:
    """Writes `reply`, `reply_status = 'published'`, `published_at`, `replied_by` with one conditional
    UPDATE (only if not yet published) and an audit row when this call was the one that published."""
    engine = _engine(_settings(config))
    d = state["decision"]
    now = datetime.now(UTC)
    actor = str(d.get("actor") or "system")
    with engine.begin() as conn:
        res = conn.execute(update(Review).where(Review.id == state["review_id"],
                                                Review.reply_status != "published")
                           .values(reply=d["text"], reply_status="published", published_at=now,
                                   replied_by=d.get("user_id")))
        published_now = bool(res.rowcount)
        if published_now:
            conn.execute(AuditLog.__table__.insert().values(
                at=now, actor=actor, action="review.publish", target_type="review", target_id=state["review_id"],
                details={"edited": d["action"] == "edit", "chars": len(d["text"])}))
    return {"result": {"review_id": state["review_id"], "status": "published", "published_now": published_now}}


def reject(state: ReviewState, config: RunnableConfig) -> dict[str, Any]:
    """Writes `reply_status = 'rejected'` (unless already published) and an audit row; publishes nothing."""
    engine = _engine(_settings(config))
    d = state["decision"]
    actor = str(d.get("actor") or "system")
    with engine.begin() as conn:
        res = conn.execute(update(Review).where(Review.id == state["review_id"],
                                                Review.reply_status.notin_(("published", "rejected")))
                           .values(reply_status="rejected", replied_by=d.get("user_id")))
        if res.rowcount:
            conn.execute(AuditLog.__table__.insert().values(
                at=datetime.now(UTC), actor=actor, action="review.reject", target_type="review",
                target_id=state["review_id"], details={"reason": d.get("reason")} if d.get("reason") else None))
    return {"result": {"review_id": state["review_id"], "status": "rejected"}}


def build_graph(checkpointer: Any = None) -> Any:
    g = StateGraph(ReviewState)
    g.add_node("analyse", analyse)
    g.add_node("draft", draft)
    g.add_node("approval", approval)
    g.add_node("publish", publish)
    g.add_node("reject", reject)
    g.add_edge(START, "analyse")
    g.add_conditional_edges("analyse", _after_analyse, {"draft": "draft", END: END})
    g.add_edge("draft", "approval")
    g.add_conditional_edges("approval", _after_approval, {"publish": "publish", "reject": "reject"})
    g.add_edge("publish", END)
    g.add_edge("reject", END)
    return g.compile(checkpointer=checkpointer)


# LangGraph Server / Studio entry (the server supplies its own checkpointer).
graph = build_graph()
