"""Segmentation use cases: what the CLI (`sajang segment`), the REST API and the admin UI call.

- `start_run`: run the graph up to the admin's approval; `preview_approval` (what an approval would
  issue: counts, benefit, minimum order, exposure; the UI's confirmation step); `approve_run` (the
  selected, possibly edited proposals: nothing is ever pre-selected) / `cancel_run` resume the run's
  thread; both idempotent.
- `run_summary`, `list_runs`: the runs as the CLI/API/UI show them.
"""

from __future__ import annotations

import threading
import uuid
from datetime import date, timedelta
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command
from typing_extensions import TypedDict

from sajang.config import Settings
from sajang.db import segment_runs as runs
from sajang.db.engine import named_mutex
from sajang.db.rfm import run_moves, shop_today
from sajang.errors import Conflict, NotFound, SajangError
from sajang.graphs.common.checkpoint import get_checkpointer
from sajang.graphs.common.context import engine_for
from sajang.graphs.segmentation.context import SegmentationContext
from sajang.graphs.segmentation.graph import build_graph
from sajang.graphs.segmentation.policy import MAX_MESSAGE_CHARS, benefit_text, exposure, validate_approvals
from sajang.graphs.segmentation.state import SegmentationDecision


class IssuedCoupon(TypedDict):
    code: str  # the campaign's key; each customer was sent a code of their own (coupon_issues.code)
    segment: str | None
    issued: int  # customers it was issued to


class RunSummary(TypedDict):
    """A run as `sajang segment … --json`, the REST API and the admin UI show it."""

    run_id: int
    as_of: str
    status: str  # computing | awaiting_approval | executed | cancelled
    method: str | None
    customers: int
    segments: dict[str, int]
    previous_run_id: int | None
    moves: list[dict[str, Any]]
    proposals: list[dict[str, Any]]
    started_by: str | None
    approved_by: str | None
    created_at: str | None
    executed_at: str | None
    coupons: list[IssuedCoupon]
    outbox_messages: int


class RunDecided(RunSummary):
    """The run after `approve_run` / `cancel_run` (idempotent: `already_executed` on a repeat)."""

    already_executed: bool


class PreviewItem(TypedDict):
    """One selected proposal as the confirmation step shows it, with the admin's edits applied."""

    id: str
    segment: str
    label: str
    customers: int  # the customers of the segment in this run: each gets one coupon and one message
    discount_type: str
    discount_value: float
    min_order_amount: int
    benefit: str  # as the customer reads it (minimum order included)
    valid_until: str
    per_customer: int  # won off (or gift value) per customer at the minimum order
    exposure: int  # per_customer × customers
    open_ended: bool  # percent: more on a bigger order


class ApprovalPreview(TypedDict):
    """What `approve_run` with these approvals would issue; nothing is written."""

    run_id: int
    items: list[PreviewItem]
    coupons: int  # = messages: one coupon and one message per customer
    exposure: int
    open_ended: bool


class RunListItem(TypedDict):
    run_id: int
    as_of: str
    status: str
    method: str | None
    customers: int
    started_by: str | None
    approved_by: str | None
    created_at: str | None
    executed_at: str | None


_graphs: dict[str, Any] = {}
_graphs_lock = threading.Lock()


def service_graph(settings: Settings) -> Any:
    """The segmentation graph compiled with the durable checkpointer of these settings (one per database)."""
    key = settings.resolved_database_url
    with _graphs_lock:
        compiled = _graphs.get(key)
        if compiled is None:
            compiled = _graphs[key] = build_graph(get_checkpointer(settings))
    return compiled


def run_config(thread_id: str) -> RunnableConfig:
    """The run's thread."""
    return {"configurable": {"thread_id": thread_id}}


def run_context(settings: Settings) -> SegmentationContext:
    """What the graph's nodes are given: these settings (their database, store policy)."""
    engine_for(settings)  # the data dir and the migrated database exist before the first node runs
    return SegmentationContext(settings=settings)


def _run_row(settings: Settings, run_id: int) -> dict[str, Any]:
    with engine_for(settings).connect() as conn:
        row = runs.run_row(conn, run_id)
    if row is None:
        raise NotFound(f"segmentation run {run_id} does not exist", code="run_not_found")
    return row


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def run_summary(settings: Settings, run_id: int) -> RunSummary:
    """The run as the CLI/API/UI show it: counts, moves since the previous run, proposals, issued coupons."""
    row = _run_row(settings, run_id)
    with engine_for(settings).connect() as conn:
        prev, moves = run_moves(conn, run_id, row["moves"])
        issued = runs.run_coupons(conn, run_id)
        outbox = runs.outbox_count(conn, run_id)
    counts = row["segment_counts"] or {}
    return {
        "run_id": row["id"], "as_of": row["as_of"].isoformat(), "status": row["status"], "method": row["method"],
        "customers": sum(counts.values()), "segments": counts, "previous_run_id": prev, "moves": moves,
        "proposals": row["proposals"] or [], "started_by": row["started_by"], "approved_by": row["approved_by"],
        "created_at": _iso(row["created_at"]), "executed_at": _iso(row["executed_at"]),
        "coupons": [{"code": c, "segment": s, "issued": n} for c, s, n in issued],
        "outbox_messages": outbox,
    }


def list_runs(settings: Settings, limit: int = 20) -> list[RunListItem]:
    with engine_for(settings).connect() as conn:
        rows = runs.recent_runs(conn, limit)
    return [{"run_id": r["id"], "as_of": r["as_of"].isoformat(), "status": r["status"], "method": r["method"],
             "customers": sum((r["segment_counts"] or {}).values()), "started_by": r["started_by"],
             "approved_by": r["approved_by"], "created_at": _iso(r["created_at"]),
             "executed_at": _iso(r["executed_at"])} for r in rows]


def start_run(settings: Settings, *, as_of: date | None = None, started_by: str = "system") -> RunSummary:
    """Run the graph up to the approval interrupt; returns `run_summary` of the new run."""
    as_of = as_of or shop_today()
    if as_of > shop_today() + timedelta(days=1):
        raise SajangError(f"as-of date {as_of} is in the future", code="invalid_date")
    thread_id = f"seg-{uuid.uuid4().hex[:16]}"
    out = service_graph(settings).invoke({"as_of": as_of.isoformat(), "started_by": started_by},
                                         run_config(thread_id), context=run_context(settings))
    return run_summary(settings, int(out["run_id"]))


def _approved_ids(proposals: list[dict[str, Any]]) -> set[str]:
    return {str(p["id"]) for p in proposals if p.get("approved")}


def _settled(settings: Settings, run_id: int, decision: SegmentationDecision) -> RunDecided:
    """A run already decided, as this decision sees it: the same approval again is a harmless repeat
    (`already_executed`); anything else is refused with what happened instead."""
    row = _run_row(settings, run_id)
    who = row["approved_by"] or "another admin"
    if row["status"] == "executed":
        wanted = {str(a.get("id")) for a in decision.get("approvals") or []}
        if decision["action"] == "approve" and wanted == _approved_ids(row["proposals"] or []):
            return {**run_summary(settings, run_id), "already_executed": True}
        if decision["action"] == "cancel":
            raise Conflict(f"run {run_id} was already executed by {who}; it cannot be cancelled",
                           code="already_executed")
        raise Conflict(f"run {run_id} was already executed by {who} with other proposals; nothing more was issued",
                       code="already_executed")
    if row["status"] == "cancelled":
        raise Conflict(f"run {run_id} was cancelled by {who}; nothing was issued", code="run_cancelled")
    raise Conflict(f"run {run_id} is not waiting for approval ({row['status']})", code="not_awaiting")


def _resume(settings: Settings, run_id: int, decision: SegmentationDecision) -> RunDecided:
    """Resume the run's approval under a lock per run (any process, either database): of two decisions
    at once the second finds the run decided and is told the outcome that stands (409), never a success
    it did not have. The execute / cancel nodes' conditional UPDATE stays as the backstop for resumes
    that come through LangGraph Server instead of this service."""
    with named_mutex(engine_for(settings), f"segmentation-run:{run_id}"):
        row = _run_row(settings, run_id)
        if row["status"] in ("executed", "cancelled"):
            return _settled(settings, run_id, decision)
        if row["status"] != "awaiting_approval" or not row["thread_id"]:
            raise Conflict(f"run {run_id} is not waiting for approval ({row['status']})", code="not_awaiting")
        if decision["action"] == "approve":
            # validate before resuming so a typo is a clean 4xx, not a failed graph step
            validate_approvals(row["proposals"] or [], decision.get("approvals") or [])
        compiled = service_graph(settings)
        config = run_config(row["thread_id"])
        if not compiled.get_state(config).next:
            return _settled(settings, run_id, decision)
        out = compiled.invoke(Command(resume=decision), config, context=run_context(settings))
        result = (out or {}).get("result") or {}
        if not (result.get("executed_now") or result.get("cancelled_now")):
            return _settled(settings, run_id, decision)
        return {**run_summary(settings, run_id), "already_executed": False}


def preview_approval(settings: Settings, run_id: int, approvals: list[dict[str, Any]]) -> ApprovalPreview:
    """The confirmation step: what approving exactly these (validated, possibly edited) proposals would
    issue — per proposal the segment, customers, benefit, minimum order and discount exposure, and the
    totals. Reads only; the counts are the run's segment sizes, which are what `execute` issues."""
    if not approvals:
        raise SajangError("select at least one proposal to approve", code="nothing_selected")
    row = _run_row(settings, run_id)
    if row["status"] != "awaiting_approval":
        raise Conflict(f"run {run_id} is not waiting for approval ({row['status']})", code="not_awaiting")
    items: list[PreviewItem] = []
    for p in validate_approvals(row["proposals"] or [], approvals):
        exp = exposure(p)
        items.append({"id": p["id"], "segment": p["segment"], "label": p["label"], "customers": int(p["customers"]),
                      "discount_type": p["discount_type"], "discount_value": float(p["discount_value"]),
                      "min_order_amount": int(p.get("min_order_amount") or 0),
                      "benefit": benefit_text(p["discount_type"], p["discount_value"], p.get("min_order_amount")),
                      "valid_until": p["valid_until"], "per_customer": exp["per_customer"], "exposure": exp["total"],
                      "open_ended": exp["open_ended"]})
    return {"run_id": run_id, "items": items, "coupons": sum(i["customers"] for i in items),
            "exposure": sum(i["exposure"] for i in items), "open_ended": any(i["open_ended"] for i in items)}


def approve_run(settings: Settings, run_id: int, approvals: list[dict[str, Any]], actor: str) -> RunDecided:
    """Resume the run with the selected (and possibly edited) proposals; idempotent."""
    if not approvals:
        raise SajangError("select at least one proposal to approve", code="nothing_selected")
    return _resume(settings, run_id, {"action": "approve", "approvals": approvals, "actor": actor})


def cancel_run(settings: Settings, run_id: int, actor: str) -> RunDecided:
    return _resume(settings, run_id, {"action": "cancel", "actor": actor})


__all__ = ["MAX_MESSAGE_CHARS", "ApprovalPreview", "RunDecided", "RunListItem", "RunSummary", "approve_run", "benefit_text", "cancel_run", "list_runs", "preview_approval", "run_summary",
           "service_graph", "start_run"]
