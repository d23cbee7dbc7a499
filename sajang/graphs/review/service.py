"""Review service: what the CLI, the REST API and the agent hub's 리뷰 tab call.

- `process_review` / `process_backlog`: run the review graph for one review / every review never
  analysed (new or imported ones, or the whole backlog of an existing shop) up to the approval point.
- `queue`: negative reviews whose draft waits for an agent (rating, aspects, severity, product, customer,
  draft); `approve` (optionally edited text) / `reject` resume the review's thread; both idempotent;
  `undo_publish` takes a reply published moments ago back to a draft (a short window).
- `product_reviews`, `get_review`, `export_csv` (published replies for marketplaces without a review API),
  `triage_rows` (file mode: analysis + draft without touching the store).
"""

from __future__ import annotations

import csv
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command
from sqlalchemy import case, func, insert, select, update
from typing_extensions import TypedDict

from sajang.config import Settings, StorePolicy
from sajang.db.engine import named_mutex
from sajang.db.models import AuditLog, Customer, Product, Review, User
from sajang.errors import Conflict, NotFound, SajangError
from sajang.graphs.common.checkpoint import get_checkpointer
from sajang.graphs.common.context import engine_for
from sajang.graphs.review.context import ReviewContext
from sajang.graphs.review.drafts import make_draft
from sajang.graphs.review.graph import build_graph
from sajang.graphs.review.nodes import MAX_REPLY_CHARS, review_thread_id
from sajang.graphs.review.sentiment import ASPECT_LABELS, analyse_many, analyse_review, normalise_rating
from sajang.graphs.review.state import ReviewAction, ReviewDecision


class ReviewRow(TypedDict):
    """A review as the CLI (`--json`), the REST API and the hub's 리뷰 tab show it."""

    review_id: str
    product_id: str | None
    product_name: str | None
    customer_id: str | None
    customer_name: str | None
    order_id: str | None
    rating: int | None
    text: str
    created_at: str | None
    negative: bool | None  # None until the graph analysed it
    score: float | None
    aspects: list[str]
    severity: str | None
    draft: str | None
    reply: str | None
    reply_status: str  # none | draft | published | rejected
    published_at: str | None
    replied_by: str | None  # display name of the agent


class ReviewDecided(ReviewRow, total=False):
    """The review after `approve` / `reject` (both idempotent: the flags say what a repeat found)."""

    published_now: bool
    already_published: bool
    already_rejected: bool


class TriageRow(TypedDict):
    """`sajang reviews triage --json` line of a review (file mode or store mode)."""

    review_id: str
    negative: bool
    score: float | None
    aspects: list[str]
    draft: str | None


_graphs: dict[str, Any] = {}
_graphs_lock = threading.Lock()
BACKLOG_BATCH = 64


def service_graph(settings: Settings) -> Any:
    """The review graph compiled with the durable checkpointer of these settings (one per database)."""
    key = f"{settings.resolved_database_url}|{settings.data_dir}"
    with _graphs_lock:
        compiled = _graphs.get(key)
        if compiled is None:
            compiled = _graphs[key] = build_graph(get_checkpointer(settings))
    return compiled


def run_config(review_id: str) -> RunnableConfig:
    """The review's thread."""
    return {"configurable": {"thread_id": review_thread_id(review_id)}}


def run_context(settings: Settings) -> ReviewContext:
    """What the graph's nodes are given: these settings (their database, chat model, store policy)."""
    engine_for(settings)  # the data dir and the migrated database exist before the first node runs
    return ReviewContext(settings=settings)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _row_dict(row: Any) -> ReviewRow:
    return {
        "review_id": row["id"], "product_id": row["product_id"], "product_name": row.get("product_name"),
        "customer_id": row["customer_id"], "customer_name": row.get("customer_name"), "order_id": row["order_id"],
        "rating": row["rating"], "text": row["text"], "created_at": _iso(row["created_at"]),
        "negative": row["negative"], "score": row["sentiment_score"], "aspects": list(row["aspects"] or []),
        "severity": row["severity"], "draft": row["reply_draft"], "reply": row["reply"],
        "reply_status": row["reply_status"], "published_at": _iso(row["published_at"]),
        "replied_by": row.get("replied_by_name"),
    }


def _select() -> Any:
    return (select(Review.__table__, Product.name.label("product_name"), Customer.name.label("customer_name"),
                   User.display_name.label("replied_by_name"))
            .select_from(Review.__table__.outerjoin(Product.__table__, Product.id == Review.product_id)
                         .outerjoin(Customer.__table__, Customer.id == Review.customer_id)
                         .outerjoin(User.__table__, User.id == Review.replied_by)))


def get_review(settings: Settings, review_id: str) -> ReviewRow:
    with engine_for(settings).connect() as conn:
        row = conn.execute(_select().where(Review.id == review_id)).mappings().first()
    if row is None:
        raise NotFound(f"review {review_id} does not exist", code="review_not_found")
    return _row_dict(row)


def triage_dict(item: ReviewRow) -> TriageRow:
    """The `sajang reviews triage --json` line of a review."""
    return {"review_id": item["review_id"], "negative": bool(item["negative"]), "score": item["score"],
            "aspects": item["aspects"], "draft": item["draft"] if item["negative"] else None}


# --- running the graph -------------------------------------------------------------------------------


def process_review(settings: Settings, review_id: str, *, force: bool = False) -> ReviewRow:
    """Run the review's graph to its approval point (or END). A review already waiting for approval is
    left as it is unless `force` (re-analyse and re-draft)."""
    compiled = service_graph(settings)
    config = run_config(review_id)
    current = get_review(settings, review_id)
    if not force and current["reply_status"] == "draft" and compiled.get_state(config).next:
        return current
    compiled.invoke({"review_id": review_id}, config, context=run_context(settings))
    return get_review(settings, review_id)


def pending_review_ids(settings: Settings, limit: int | None = None) -> list[str]:
    """Reviews never analysed (new, imported, or the backlog of a shop that just started), newest first."""
    stmt = select(Review.id).where(Review.negative.is_(None)).order_by(Review.created_at.desc(), Review.id)
    if limit:
        stmt = stmt.limit(limit)
    with engine_for(settings).connect() as conn:
        return list(conn.scalars(stmt))


def process_backlog(settings: Settings, *, limit: int | None = None,
                    progress: Callable[[str], None] | None = None) -> Iterator[ReviewRow]:
    """Run the graph for every review not analysed yet; yields each review after its run. Texts are
    embedded in batches first (the graph's analyse node then hits the embedding cache)."""
    ids = pending_review_ids(settings, limit)
    engine = engine_for(settings)
    for start in range(0, len(ids), BACKLOG_BATCH):
        chunk = ids[start:start + BACKLOG_BATCH]
        if not settings.llm_enabled:
            with engine.connect() as conn:
                texts = dict(conn.execute(select(Review.id, Review.text).where(Review.id.in_(chunk))).all())
            analyse_many([texts[i] for i in chunk], None, settings)  # warms the embedding cache
        for rid in chunk:
            yield process_review(settings, rid)
        if progress:
            progress(f"reviews analysed: {min(start + BACKLOG_BATCH, len(ids))}/{len(ids)}")


def analysed_reviews(settings: Settings, limit: int | None = None) -> list[ReviewRow]:
    """Every review analysed before, newest first (stored verdicts; nothing is re-run)."""
    stmt = _select().where(Review.negative.is_not(None)).order_by(Review.created_at.desc(), Review.id)
    if limit:
        stmt = stmt.limit(limit)
    with engine_for(settings).connect() as conn:
        return [_row_dict(r) for r in conn.execute(stmt).mappings()]


# --- the agent's queue and decisions ---------------------------------------------------------------

_SEVERITY_ORDER = case((Review.severity == "high", 0), (Review.severity == "medium", 1), else_=2)


def queue(settings: Settings, limit: int = 100) -> list[ReviewRow]:
    """Negative reviews whose draft waits for approval: most severe first, then newest."""
    stmt = (_select().where(Review.negative.is_(True), Review.reply_status == "draft")
            .order_by(_SEVERITY_ORDER, Review.created_at.desc(), Review.id).limit(limit))
    with engine_for(settings).connect() as conn:
        return [_row_dict(r) for r in conn.execute(stmt).mappings()]


def queue_count(settings: Settings) -> int:
    with engine_for(settings).connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(Review)
                               .where(Review.negative.is_(True), Review.reply_status == "draft")) or 0)


def product_reviews(settings: Settings, product_id: str, limit: int = 10,
                    exclude: str | None = None) -> list[ReviewRow]:
    stmt = _select().where(Review.product_id == product_id)
    if exclude:
        stmt = stmt.where(Review.id != exclude)
    with engine_for(settings).connect() as conn:
        rows = conn.execute(stmt.order_by(Review.created_at.desc(), Review.id).limit(limit)).mappings()
        return [_row_dict(r) for r in rows]


def _settled(current: ReviewRow, review_id: str, decision: ReviewDecision) -> ReviewDecided:
    """A review already decided, as this decision sees it: another approval is told `already_published`
    (with the reply that stands); the opposite decision is refused with what happened instead (409)."""
    status = current["reply_status"]
    if status == "published":
        if decision["action"] == "reject":
            raise Conflict(f"review {review_id}: the reply was already published", code="already_published")
        return {**current, "published_now": False, "already_published": True}
    if status == "rejected":
        if decision["action"] == "reject":
            return {**current, "already_rejected": True}
        raise Conflict(f"review {review_id}: the draft was rejected; nothing was published", code="already_rejected")
    raise Conflict(f"review {review_id} has no draft waiting for approval ({status})", code="not_awaiting")


def _decide(settings: Settings, review_id: str, decision: ReviewDecision) -> ReviewDecided:
    """Resume the review's approval under a lock per review (any process, either database): of an
    approve and a reject at once, the second one finds the review decided and is told what stands (409)."""
    with named_mutex(engine_for(settings), f"review-decision:{review_id}"):
        current = get_review(settings, review_id)
        if current["reply_status"] in ("published", "rejected"):
            return _settled(current, review_id, decision)
        compiled = service_graph(settings)
        config = run_config(review_id)
        if current["reply_status"] != "draft":
            return _settled(current, review_id, decision)
        if not compiled.get_state(config).next and current["draft"]:
            # a draft whose thread waits nowhere (an undo that could not re-arm it): wait again, then decide
            _rearm(settings, review_id, current, current["draft"])
        if not compiled.get_state(config).next:
            return _settled(current, review_id, decision)
        out = compiled.invoke(Command(resume=decision), config, context=run_context(settings))
        result = (out or {}).get("result") or {}
        if not (result.get("published_now") or result.get("rejected_now")):
            return _settled(get_review(settings, review_id), review_id, decision)
        return {**get_review(settings, review_id), "published_now": bool(result.get("published_now")),
                "already_published": False}


class ReviewUndone(ReviewRow):
    """The review after `undo_publish`: back to a draft waiting for approval."""

    undone_now: bool


def undo_publish(settings: Settings, review_id: str, user: str, user_id: int | None = None, *,
                 now: datetime | None = None) -> ReviewUndone:
    """Take a reply published less than `review_undo_seconds` ago back to a draft: the published text
    becomes the draft, the review is back in the queue, and its graph thread waits at the approval again
    (so it is approved, edited or rejected like any draft); an audit row records it.

    Honest for the data model: publishing writes the reply row only; nothing reaches a marketplace until
    an export or sync reads published replies, and the window is kept short so that an undo is a typo's
    second thought, not a retraction of something customers may have read. After the window (or for a
    review not published) it is refused (409) and nothing changes. Under the same per-review lock as the
    decisions, so an undo and an approval never interleave. `now` is injectable for tests."""
    now = now or datetime.now(UTC)
    window = timedelta(seconds=settings.review_undo_seconds)
    engine = engine_for(settings)
    with named_mutex(engine, f"review-decision:{review_id}"):
        current = get_review(settings, review_id)
        if current["reply_status"] != "published" or not current["published_at"]:
            raise Conflict(f"review {review_id}: no published reply to undo ({current['reply_status']})",
                           code="not_published")
        published_at = datetime.fromisoformat(current["published_at"])
        if published_at.tzinfo is None:
            published_at = published_at.replace(tzinfo=UTC)
        age = (now - published_at).total_seconds()
        if age > window.total_seconds() or age < -1:
            raise Conflict(f"review {review_id}: the reply was published {int(age)} s ago; it can only be undone "
                           f"within {settings.review_undo_seconds:g} s", code="undo_expired")
        text = current["reply"] or ""
        with engine.begin() as conn:
            res = conn.execute(update(Review).where(Review.id == review_id, Review.reply_status == "published")
                               .values(reply_status="draft", reply_draft=text, reply=None, published_at=None,
                                       replied_by=None))
            if not res.rowcount:
                raise Conflict(f"review {review_id}: no published reply to undo", code="not_published")
            conn.execute(insert(AuditLog).values(
                at=now, actor=user, action="review.unpublish", target_type="review", target_id=review_id,
                details={"published_at": current["published_at"], "seconds_after": round(age, 1),
                         "chars": len(text), "user_id": user_id}))
        # the thread waits at the approval again, its draft the text that was published (if this fails, the
        # next decision re-arms it: `_decide`)
        _rearm(settings, review_id, current, text)
    return {**get_review(settings, review_id), "undone_now": True}


def _rearm(settings: Settings, review_id: str, review: ReviewRow, draft: str) -> None:
    """Make the review's graph thread wait at the approval with `draft` (after an undo)."""
    compiled = service_graph(settings)
    config = run_config(review_id)
    compiled.update_state(config, {"review_id": review_id, "draft": draft, "review_text": review["text"],
                                   "rating": review["rating"]}, as_node="draft")
    compiled.invoke(None, config, context=run_context(settings))


def approve(settings: Settings, review_id: str, text: str | None, user: str,
            user_id: int | None = None) -> ReviewDecided:
    """Publish the reply (the draft, or `text` when the agent edited it). Publishing twice publishes once."""
    if text is not None:
        text = text.strip()
        if not text:
            raise SajangError("the reply is empty", code="empty_reply")
        if len(text) > MAX_REPLY_CHARS:
            raise SajangError(f"the reply is longer than {MAX_REPLY_CHARS} characters", code="reply_too_long")
    current = get_review(settings, review_id)
    action: ReviewAction = "edit" if text and text != (current["draft"] or "").strip() else "approve"
    return _decide(settings, review_id, {"action": action, "text": text or current["draft"] or "", "actor": user,
                                         "user_id": user_id})


def reject(settings: Settings, review_id: str, user: str, user_id: int | None = None,
           reason: str | None = None) -> ReviewDecided:
    """Decline to reply: nothing is published; the review leaves the queue."""
    return _decide(settings, review_id, {"action": "reject", "actor": user, "user_id": user_id,
                                         "reason": (reason or "").strip()[:300] or None})


# --- export and file mode ------------------------------------------------------------------------------

EXPORT_COLUMNS = ["review_id", "product_id", "product_name", "customer_id", "rating", "review", "reply",
                  "reply_status", "published_at", "replied_by"]


def export_rows(settings: Settings, statuses: Iterable[str] = ("published", "approved"),
                since: datetime | None = None) -> list[dict[str, Any]]:
    stmt = _select().where(Review.reply_status.in_(tuple(statuses)), Review.reply.is_not(None))
    if since is not None:
        stmt = stmt.where(Review.published_at >= since)
    with engine_for(settings).connect() as conn:
        rows = [_row_dict(r) for r in conn.execute(stmt.order_by(Review.published_at, Review.id)).mappings()]
    return [{"review_id": r["review_id"], "product_id": r["product_id"], "product_name": r["product_name"],
             "customer_id": r["customer_id"], "rating": r["rating"], "review": r["text"], "reply": r["reply"],
             "reply_status": r["reply_status"], "published_at": r["published_at"], "replied_by": r["replied_by"]}
            for r in rows]


def export_csv(settings: Settings, fh: IO[str], statuses: Iterable[str] = ("published", "approved"),
               since: datetime | None = None) -> int:
    """Write approved/published replies as CSV (for pasting into marketplaces without a review API)."""
    rows = export_rows(settings, statuses, since)
    writer = csv.DictWriter(fh, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    for r in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in r.items()})
    return len(rows)


def triage_rows(settings: Settings | None, rows: list[dict[str, Any]],
                policy: StorePolicy | None = None) -> list[TriageRow]:
    """File mode: `rows` of `{"review_id", "text", "rating"?}` → triage dicts; nothing is stored."""
    if settings is not None and settings.llm_enabled:
        analyses = [analyse_review(settings, r["text"], r.get("rating")) for r in rows]
    else:
        analyses = analyse_many([r["text"] for r in rows], [r.get("rating") for r in rows], None)
    if policy is None:
        policy = settings.store if settings is not None else StorePolicy()
    out: list[TriageRow] = []
    for r, a in zip(rows, analyses, strict=True):
        text = None
        if a.negative:
            text, _ = make_draft(settings, a, r["text"], {"review_id": r["review_id"]}, policy)
        out.append({"review_id": r["review_id"], "negative": a.negative, "score": a.score, "aspects": a.aspects,
                    "draft": text})
    return out


def aspect_label(aspect: str, locale: str = "ko") -> str:
    entry = ASPECT_LABELS.get(aspect)
    return (entry.get(locale) or entry["ko"]) if entry else aspect


__all__ = [
    "MAX_REPLY_CHARS",
    "ReviewDecided",
    "ReviewRow",
    "TriageRow",
    "analysed_reviews",
    "approve",
    "aspect_label",
    "export_csv",
    "export_rows",
    "get_review",
    "normalise_rating",
    "pending_review_ids",
    "process_backlog",
    "process_review",
    "product_reviews",
    "queue",
    "queue_count",
    "reject",
    "triage_dict",
    "triage_rows",
    "undo_publish",
]
