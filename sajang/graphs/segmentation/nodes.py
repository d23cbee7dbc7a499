"""Nodes of the segmentation graph: compute_rfm → assign_segments → propose_actions → approval
(interrupt) → execute | cancel.

Settings reach the nodes through the run context (`runtime.context`); the statements are in
`sajang.db.rfm` and `sajang.db.segment_runs`, the offer rules in `policy.py`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.config import get_config
from langgraph.runtime import Runtime
from langgraph.types import interrupt

from sajang.db import segment_runs as runs
from sajang.db.rfm import (
    method_for,
    previous_run_id,
    segment_counts,
    segment_label,
    segment_moves,
    shop_today,
    write_run_segments,
)
from sajang.graphs.common.context import store_policy
from sajang.graphs.common.inbox import human_interrupt, inbox_response, resumer
from sajang.graphs.segmentation.context import SegmentationContext
from sajang.graphs.segmentation.policy import (
    benefit_text,
    coupon_code,
    issue_code,
    make_proposals,
    message_for,
    validate_approvals,
)
from sajang.graphs.segmentation.state import SegmentationDecision, SegmentationState

APPROVAL_ACTION = "approve_segment_campaign"  # Agent Inbox's action_request.action of the approval card


def _thread_id(config: RunnableConfig) -> str:
    return str((config.get("configurable") or {}).get("thread_id") or "")


def compute_rfm(state: SegmentationState,
                runtime: Runtime[SegmentationContext]) -> dict[str, Any]:
    """Reads `as_of` (default: the shop's today), `started_by` and `orders`; writes one
    `segmentation_runs` row (keyed on the thread id) and its `customer_segments` rows in one
    INSERT … SELECT (R/F/M, scores, segment). A retry finds the run. Returns `run_id`, `as_of`,
    `customers`, `method`."""
    config = get_config()
    thread_id = _thread_id(config)
    as_of = date.fromisoformat(state["as_of"]) if state.get("as_of") else shop_today()
    with runtime.context.engine.begin() as conn:
        run_id = runs.run_by_thread(conn, thread_id)
        if run_id is None:
            run_id = runs.create_run(conn, thread_id, as_of, state.get("started_by") or "system", datetime.now(UTC))
            n = write_run_segments(conn, run_id, as_of)
        else:
            n = runs.run_size(conn, run_id)
    return {"run_id": run_id, "as_of": as_of.isoformat(), "customers": n, "method": method_for(n)}


def assign_segments(state: SegmentationState, runtime: Runtime[SegmentationContext]) -> dict[str, Any]:
    """Reads `run_id`, `method`, the run's `customer_segments` and the previous run's; writes the counts,
    method and moves to the run row. Returns `segments`, `previous_run_id`, `moves`."""
    run_id = state["run_id"]
    with runtime.context.engine.begin() as conn:
        counts = segment_counts(conn, run_id)
        prev = previous_run_id(conn, run_id)
        moves = segment_moves(conn, run_id, prev)
        runs.save_assignment(conn, run_id, counts, state["method"], prev, moves)
    return {"segments": counts, "previous_run_id": prev, "moves": moves}


def propose_actions(state: SegmentationState, runtime: Runtime[SegmentationContext]) -> dict[str, Any]:
    """Reads `segments`, `as_of`; writes the proposals (one per segment: coupon/gift, amount, Korean
    message) to the run row and marks it `awaiting_approval`. No coupon exists yet. Returns `proposals`."""
    proposals = make_proposals(state["segments"], date.fromisoformat(state["as_of"]))
    with runtime.context.engine.begin() as conn:
        runs.save_proposals(conn, state["run_id"], proposals)
    return {"proposals": proposals}


def _approval_card(state: SegmentationState) -> dict[str, Any]:
    """The interrupt payload: Agent Inbox's HumanInterrupt around the run summary and proposals."""
    lines = [f"- {p['label']} {p['customers']:,}명: {p['title']} "
             f"({benefit_text(p['discount_type'], p['discount_value'], p.get('min_order_amount'))})"
             f"{' ✓' if p.get('recommended') else ''}"
             for p in state["proposals"]]
    counts = ", ".join(f"{segment_label(s)} {n:,}" for s, n in state["segments"].items() if n)
    description = (f"**고객 세그먼트 캠페인 승인** (기준일 {state['as_of']}, 고객 {state.get('customers', 0):,}명)\n\n"
                   f"{counts}\n\n" + "\n".join(lines) + "\n\naccept는 ✓ 표시된 제안을(✓가 없으면 모두) 승인, edit는 고친 "
                   "`proposals` 중 남긴 것만 승인, ignore는 취소합니다(아무것도 발급하지 않음).")
    args = {"run_id": state["run_id"], "as_of": state["as_of"], "method": state.get("method"),
            "segments": state["segments"], "moves": state.get("moves", []), "proposals": state["proposals"]}
    return human_interrupt(APPROVAL_ACTION, args, description, allow_accept=True, allow_edit=True,
                           allow_respond=False, allow_ignore=True)


def _decision_from(value: Any, state: SegmentationState, config: RunnableConfig) -> SegmentationDecision:
    """The resume value as a decision. The app sends `{"action": "approve", "approvals": [{"id",
    "discount_value"?, "message"?}], "actor"}` or `{"action": "cancel", "actor"}`; Agent Inbox sends a
    HumanResponse: accept approves the recommended proposals (all of them when none is recommended),
    edit approves the proposals left in the edited `proposals` (or `approvals`) with their edits,
    ignore and response cancel."""
    response = inbox_response(value)
    if response is not None:
        actor = resumer(config).actor
        if response.type == "accept":
            chosen = [p for p in state["proposals"] if p.get("recommended")] or state["proposals"]
            return {"action": "approve", "approvals": [{"id": p["id"]} for p in chosen], "actor": actor}
        if response.type == "edit":
            edited = list(response.edited("proposals") or response.edited("approvals") or [])
            if not edited:  # every proposal removed: nothing to issue
                return {"action": "cancel", "actor": actor, "reason": "nothing selected"}
            return {"action": "approve", "approvals": edited, "actor": actor}
        reason = "ignored in Agent Inbox" if response.type == "ignore" else response.text[:300]
        return {"action": "cancel", "actor": actor, "reason": reason}
    if isinstance(value, dict) and value.get("action") in ("approve", "cancel"):
        return value  # type: ignore[return-value]
    return {"action": "cancel", "actor": "system", "reason": "invalid decision"}


def approval(state: SegmentationState, config: RunnableConfig) -> dict[str, Any]:
    """Interrupts with the approval card (run summary and proposals in Agent Inbox's HumanInterrupt
    shape); reads `run_id`, `as_of`, `method`, `customers`, `segments`, `moves`, `proposals`. Writes
    nothing (this node re-runs from the top on resume); returns `decision`, the approvals validated."""
    decision = _decision_from(interrupt(_approval_card(state)), state, config)
    if decision["action"] == "approve":
        decision = {**decision, "approvals": validate_approvals(state["proposals"], decision.get("approvals") or [])}
    return {"decision": decision}


def route_after_approval(state: SegmentationState) -> str:
    return "execute" if state["decision"]["action"] == "approve" else "cancel"


def execute(state: SegmentationState, runtime: Runtime[SegmentationContext]) -> dict[str, Any]:
    """Reads `run_id`, `decision` (the approved proposals), `proposals` and the shop name; writes, in one
    transaction: a `coupons` row per approved proposal (the campaign; insert-if-absent by code),
    `coupon_issues` with a random code of its own for every customer of the segment in this run and an
    `outbox` message per customer carrying that code (both insert-if-absent, unique constraints behind them), the run's status and an audit row. The run's status is decided
    first with a conditional UPDATE (awaiting_approval → executed): a run a cancel or another approval
    decided meanwhile, or a second execution, issues nothing (`executed_now` false). Returns `result`."""
    run_id = state["run_id"]
    decision = state["decision"]
    approvals = decision.get("approvals") or []
    actor = str(decision.get("actor") or "system")
    now = datetime.now(UTC)
    shop = store_policy(runtime.context.settings).shop_name
    coupons: list[dict[str, Any]] = []
    approved = {a["id"]: a for a in approvals}
    decided = [{**p, "approved": p["id"] in approved,
                **({"discount_value": approved[p["id"]]["discount_value"], "message": approved[p["id"]]["message"]}
                   if p["id"] in approved else {})}
               for p in state["proposals"]]
    with runtime.context.engine.begin() as conn:
        # the decision first: a run another approval or a cancel decided meanwhile issues nothing here
        if not runs.mark_executed(conn, run_id, actor, now, decided):
            return {"result": {"run_id": run_id, "status": "lost", "executed_now": False, "coupons": [],
                               "issued_now": 0, "messages_now": 0}}
        before = runs.issued_counts(conn, run_id)
        for p in approvals:
            code = coupon_code(run_id, p["segment"])
            valid_until = date.fromisoformat(p["valid_until"])
            coupon_id = runs.issue_segment_coupon(conn, run_id, p, code, valid_until,
                                                  message_for(p, shop, valid_until), now,
                                                  lambda: issue_code(run_id))
            coupons.append({"proposal_id": p["id"], "segment": p["segment"], "coupon_id": coupon_id, "code": code,
                            "discount_type": p["discount_type"], "discount_value": p["discount_value"]})
        totals = runs.issued_counts(conn, run_id)
        issued, messages = totals[0] - before[0], totals[1] - before[1]
        if issued or messages:
            runs.audit_run(conn, run_id, actor, "segmentation.execute", now,
                           {"coupons": coupons, "issued": issued, "messages": messages})
    return {"result": {"run_id": run_id, "status": "executed", "executed_now": True, "coupons": coupons,
                       "issued_now": issued, "messages_now": messages, "issued_total": totals[0]}}


def cancel(state: SegmentationState, runtime: Runtime[SegmentationContext]) -> dict[str, Any]:
    """Reads `run_id`, `decision`; writes the run's status `cancelled` and an audit row; issues nothing.
    Returns `result`."""
    actor = str(state["decision"].get("actor") or "system")
    with runtime.context.engine.begin() as conn:
        cancelled = runs.mark_cancelled(conn, state["run_id"], actor)
        if cancelled:
            runs.audit_run(conn, state["run_id"], actor, "segmentation.cancel", datetime.now(UTC), None)
    return {"result": {"run_id": state["run_id"], "status": "cancelled" if cancelled else "lost",
                       "cancelled_now": cancelled}}
