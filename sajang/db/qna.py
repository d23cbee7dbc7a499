"""Product Q&A rows for the inbox: questions with their product, drafts, approval, export and post stamps.

Every write that must happen once is a conditional UPDATE (a draft only over no draft, an answer only
over no answer, a post stamp only over none), so two agents, two processes or a repeated sync write once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, insert, select, update

from .models import Product, ProductQna

PRODUCT_COLUMNS = (Product.name.label("product_name"), Product.status.label("product_status"),
                   Product.stock.label("product_stock"), Product.restock_on.label("product_restock_on"),
                   Product.options.label("product_options"), Product.ingredients.label("product_ingredients"),
                   Product.size.label("product_size"), Product.origin.label("product_origin"),
                   Product.description.label("product_description"), Product.price.label("product_price"),
                   Product.category.label("product_category"))


def _select() -> Select[Any]:
    return (select(ProductQna.__table__, *PRODUCT_COLUMNS)
            .outerjoin(Product, Product.id == ProductQna.product_id))


def _row(row: Any) -> dict[str, Any]:
    r = row._mapping
    product = None
    if r["product_id"] is not None and r["product_name"] is not None:
        product = {"id": r["product_id"], "name": r["product_name"], "status": r["product_status"],
                   "stock": r["product_stock"], "restock_on": r["product_restock_on"], "options": r["product_options"],
                   "ingredients": r["product_ingredients"], "size": r["product_size"], "origin": r["product_origin"],
                   "description": r["product_description"], "price": r["product_price"],
                   "category": r["product_category"]}
    return {"question_id": r["id"], "product_id": r["product_id"], "customer_id": r["customer_id"], "text": r["text"],
            "asked_at": r["asked_at"], "marketplace": r["marketplace"], "answered": bool(r["answered"]),
            "answer": r["answer"], "answered_at": r["answered_at"], "answered_by": r["answered_by"],
            "answered_by_name": r["answered_by_name"], "draft_status": r["draft_status"], "draft": r["draft"],
            "draft_confidence": r["draft_confidence"], "draft_sources": list(r["draft_sources"] or []),
            "handoff_reason": r["handoff_reason"], "category": r["category"], "drafted_at": r["drafted_at"],
            "exported_at": r["exported_at"], "posted_at": r["posted_at"], "product": product}


def question(conn: Connection, question_id: str) -> dict[str, Any] | None:
    r = conn.execute(_select().where(ProductQna.id == question_id)).first()
    return _row(r) if r is not None else None


def undrafted(conn: Connection, limit: int = 500) -> list[dict[str, Any]]:
    """Unanswered questions without a draft yet, oldest first."""
    stmt = (_select().where(ProductQna.answered.is_(False), ProductQna.draft_status == "none")
            .order_by(ProductQna.asked_at, ProductQna.id).limit(limit))
    return [_row(r) for r in conn.execute(stmt)]


def unanswered(conn: Connection) -> list[dict[str, Any]]:
    """Every unanswered question with its product (the queue orders them by deadline)."""
    stmt = _select().where(ProductQna.answered.is_(False)).order_by(ProductQna.asked_at, ProductQna.id)
    return [_row(r) for r in conn.execute(stmt)]


def unanswered_times(conn: Connection) -> list[tuple[datetime, str | None]]:
    """(asked_at, marketplace) of every unanswered question: what the dashboard's deadline count reads."""
    stmt = select(ProductQna.asked_at, ProductQna.marketplace).where(ProductQna.answered.is_(False))
    return [(r.asked_at, r.marketplace) for r in conn.execute(stmt)]


def store_draft(conn: Connection, question_id: str, *, draft: str, status: str, confidence: float,
                sources: list[dict[str, Any]], handoff_reason: str | None, category: str | None,
                now: datetime) -> bool:
    """Store the first draft of an unanswered question; False when it has one already (or an answer)."""
    res = conn.execute(update(ProductQna)
                       .where(ProductQna.id == question_id, ProductQna.answered.is_(False),
                              ProductQna.draft_status == "none")
                       .values(draft=draft, draft_status=status, draft_confidence=confidence, draft_sources=sources,
                               handoff_reason=handoff_reason, category=category, drafted_at=now))
    return getattr(res, "rowcount", 0) == 1


def store_answer(conn: Connection, question_id: str, *, answer: str, user_id: int | None, user_name: str,
                 now: datetime) -> bool:
    """Answer an unanswered question; False when it was answered already (by someone else, or twice)."""
    res = conn.execute(update(ProductQna)
                       .where(ProductQna.id == question_id, ProductQna.answered.is_(False))
                       .values(answer=answer, answered=True, answered_at=now, answered_by=user_id,
                               answered_by_name=user_name))
    return getattr(res, "rowcount", 0) == 1


def answered_rows(conn: Connection, *, marketplace: str | None = None, not_exported: bool = False,
                  not_posted: bool = False, answered_here: bool = True) -> list[dict[str, Any]]:
    """Answered questions, oldest answer first; `answered_here`: approved in Sajang (not imported answered)."""
    stmt = _select().where(ProductQna.answered.is_(True), ProductQna.answer.is_not(None))
    if answered_here:
        stmt = stmt.where(ProductQna.answered_by_name.is_not(None))
    if marketplace is not None:
        stmt = stmt.where(ProductQna.marketplace == marketplace)
    if not_exported:
        stmt = stmt.where(ProductQna.exported_at.is_(None))
    if not_posted:
        stmt = stmt.where(ProductQna.posted_at.is_(None))
    return [_row(r) for r in conn.execute(stmt.order_by(ProductQna.answered_at, ProductQna.id))]


def mark_exported(conn: Connection, question_ids: list[str], now: datetime) -> None:
    if question_ids:
        conn.execute(update(ProductQna).where(ProductQna.id.in_(question_ids), ProductQna.exported_at.is_(None))
                     .values(exported_at=now))


def claim_post(conn: Connection, question_id: str, now: datetime) -> bool:
    """Stamp the question posted before the call: True for the one caller that may post it."""
    res = conn.execute(update(ProductQna).where(ProductQna.id == question_id, ProductQna.answered.is_(True),
                                                ProductQna.posted_at.is_(None)).values(posted_at=now))
    return getattr(res, "rowcount", 0) == 1


def release_post(conn: Connection, question_id: str) -> None:
    """The post failed: the question may be posted again."""
    conn.execute(update(ProductQna).where(ProductQna.id == question_id).values(posted_at=None))


def upsert_fetched(conn: Connection, rows: list[dict[str, Any]]) -> int:
    """Questions fetched from a marketplace API: new ones inserted, known ones left as they are (their
    draft and any answer given here stay). Returns how many were new."""
    rows = list({r["id"]: r for r in rows}.values())
    if not rows:
        return 0
    known = set(conn.execute(select(ProductQna.id).where(ProductQna.id.in_([r["id"] for r in rows]))).scalars())
    products = set(conn.execute(select(Product.id).where(
        Product.id.in_([r["product_id"] for r in rows if r.get("product_id")]))).scalars())
    fresh = [{**r, "product_id": r.get("product_id") if r.get("product_id") in products else None}
             for r in rows if r["id"] not in known]
    for r in fresh:
        conn.execute(insert(ProductQna).values(**r))
    return len(fresh)
