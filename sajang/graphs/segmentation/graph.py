"""Segmentation graph: compute RFM → assign segments → propose actions → admin approval (interrupt) → execute.

Per-customer work stays in the database (see `sajang.db.rfm`); the graph state carries only the run id,
counts and proposals, so checkpoints stay small even for 100 k customers.

Side effects and resumes: `compute_rfm` and `assign_segments` are keyed on the run's `thread_id`, so a
retried node finds its run instead of making a second one. The approval node writes nothing before or
after `interrupt()`. `execute` issues coupons with insert-if-absent statements backed by unique
constraints, in one transaction; running it again (a second resume, two admins clicking at once) adds
nothing. The service functions at the bottom (`start_run`, `approve_run`, `cancel_run`) are what the
CLI, the REST API and the admin UI call.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt
from sqlalchemy import Engine, Integer, String, and_, case, exists, func, literal, select, update

from sajang.config import Settings, get_settings
from sajang.db.engine import dialect_insert, get_engine
from sajang.db.models import (
    AuditLog,
    Coupon,
    CouponIssue,
    Customer,
    CustomerSegment,
    OutboxMessage,
    SegmentationRun,
)
from sajang.db.queries import load_shop_setting
from sajang.db.rfm import (
    SEGMENT_IDS,
    method_for,
    previous_run_id,
    run_moves,
    segment_counts,
    segment_label,
    segment_moves,
    shop_today,
    write_run_segments,
)
from sajang.db.types import UTCDateTime
from sajang.errors import Conflict, NotFound, SajangError
from sajang.graphs.common.checkpoint import get_checkpointer

# --- proposals -----------------------------------------------------------------------------------

# Default action per segment: discount type (percent | amount | gift), value, minimum order, days valid,
# whether it is pre-selected, and the message (placeholders: {name} {shop} {benefit} {coupon} {valid_until}).
# "lost" gets no proposal by default: a coupon to people who left long ago mostly reads as spam.
DEFAULT_ACTIONS: dict[str, dict[str, Any]] = {
    "champions": {
        "title": "VIP 감사 사은품", "discount_type": "gift", "discount_value": 10000, "min_order_amount": 0,
        "valid_days": 30, "recommended": True,
        "message": "{name}님, 늘 {shop}을(를) 찾아 주셔서 진심으로 감사합니다. 다음 주문에 {benefit}을 함께 "
                   "보내 드릴게요. 주문 시 쿠폰 코드 {coupon}을(를) 입력해 주세요 ({valid_until}까지).",
    },
    "loyal": {
        "title": "단골 감사 쿠폰", "discount_type": "amount", "discount_value": 3000, "min_order_amount": 20000,
        "valid_days": 30, "recommended": False,
        "message": "{name}님, 꾸준히 찾아 주셔서 고맙습니다. {benefit} 쿠폰을 드려요. 코드 {coupon} "
                   "({valid_until}까지)",
    },
    "potential_loyalist": {
        "title": "다음 구매 쿠폰", "discount_type": "percent", "discount_value": 10, "min_order_amount": 30000,
        "valid_days": 21, "recommended": False,
        "message": "{name}님, 지난 주문은 마음에 드셨나요? 다음 주문에 쓰실 수 있는 {benefit} 쿠폰을 "
                   "준비했어요. 코드 {coupon} ({valid_until}까지)",
    },
    "new": {
        "title": "두 번째 주문 쿠폰", "discount_type": "amount", "discount_value": 3000, "min_order_amount": 20000,
        "valid_days": 21, "recommended": False,
        "message": "{name}님, {shop}의 첫 주문 감사합니다! 두 번째 주문에 쓰실 {benefit} 쿠폰을 드려요. "
                   "코드 {coupon} ({valid_until}까지)",
    },
    "promising": {
        "title": "재방문 쿠폰", "discount_type": "percent", "discount_value": 5, "min_order_amount": 20000,
        "valid_days": 21, "recommended": False,
        "message": "{name}님, 다시 찾아 주시면 {benefit}을 해 드려요. 코드 {coupon} ({valid_until}까지)",
    },
    "needs_attention": {
        "title": "관심 고객 쿠폰", "discount_type": "percent", "discount_value": 10,
        "min_order_amount": 30000, "valid_days": 14, "recommended": False,
        "message": "{name}님, 요즘 {shop}에 새로 들어온 상품이 많아요. {benefit} 쿠폰으로 둘러보세요. "
                   "코드 {coupon} ({valid_until}까지)",
    },
    "about_to_sleep": {
        "title": "휴면 방지 쿠폰", "discount_type": "percent", "discount_value": 10,
        "min_order_amount": 30000, "valid_days": 14, "recommended": False,
        "message": "{name}님, 오랜만이에요. {shop}이(가) {benefit} 쿠폰을 준비했어요. 코드 {coupon} "
                   "({valid_until}까지)",
    },
    "at_risk": {
        "title": "재구매 유도 쿠폰", "discount_type": "percent", "discount_value": 15, "min_order_amount": 30000,
        "valid_days": 14, "recommended": True,
        "message": "{name}님, 한동안 뵙지 못해 아쉬웠어요. 다시 찾아 주시면 {benefit}을 해 드릴게요. "
                   "코드 {coupon} ({valid_until}까지)",
    },
    "cant_lose": {
        "title": "특별 감사 쿠폰", "discount_type": "percent", "discount_value": 20, "min_order_amount": 30000,
        "valid_days": 14, "recommended": True,
        "message": "{name}님, {shop}을(를) 가장 많이 아껴 주신 고객님께만 드리는 {benefit} 쿠폰이에요. "
                   "코드 {coupon} ({valid_until}까지)",
    },
    "hibernating": {
        "title": "다시 만나요 쿠폰", "discount_type": "percent", "discount_value": 10,
        "min_order_amount": 30000, "valid_days": 14, "recommended": False,
        "message": "{name}님, 잘 지내셨나요? {shop}에서 {benefit} 쿠폰을 보내 드려요. 코드 {coupon} "
                   "({valid_until}까지)",
    },
}
DISCOUNT_LIMITS = {"percent": (Decimal(1), Decimal(90)), "amount": (Decimal(100), Decimal(1_000_000)),
                   "gift": (Decimal(0), Decimal(1_000_000))}
MAX_MESSAGE_CHARS = 500


def benefit_text(discount_type: str, value: Decimal | int | float) -> str:
    v = Decimal(str(value))
    if discount_type == "percent":
        return f"{v.normalize():f}% 할인"
    if discount_type == "gift":
        return f"{int(v):,}원 상당 사은품" if v > 0 else "감사 사은품"
    return f"{int(v):,}원 할인"


def make_proposals(counts: dict[str, int], as_of: date) -> list[dict[str, Any]]:
    """One proposal per non-empty segment that has a default action (pure: no I/O)."""
    proposals: list[dict[str, Any]] = []
    for seg in SEGMENT_IDS:
        action = DEFAULT_ACTIONS.get(seg)
        if not action or not counts.get(seg):
            continue
        proposals.append({
            "id": seg, "segment": seg, "label": segment_label(seg), "customers": counts[seg],
            "title": action["title"], "discount_type": action["discount_type"],
            "discount_value": action["discount_value"], "min_order_amount": action["min_order_amount"],
            "valid_until": (as_of + timedelta(days=action["valid_days"])).isoformat(),
            "message": action["message"], "recommended": action["recommended"],
        })
    return proposals


def validate_approvals(proposals: list[dict[str, Any]], approvals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge the admin's selection and edits into the proposals; raise SajangError on anything invalid."""
    by_id = {p["id"]: p for p in proposals}
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in approvals:
        pid = str(item.get("id") or "")
        if pid not in by_id:
            raise SajangError(f"unknown proposal {pid!r}; choose from {', '.join(by_id) or 'none'}",
                              code="invalid_proposal")
        if pid in seen:
            continue
        seen.add(pid)
        p = dict(by_id[pid])
        if item.get("discount_value") not in (None, ""):
            try:
                value = Decimal(str(item["discount_value"]).replace(",", "").replace("%", "").replace("원", ""))
            except InvalidOperation:
                raise SajangError(f"{pid}: amount {item['discount_value']!r} is not a number",
                                  code="invalid_amount") from None
            lo, hi = DISCOUNT_LIMITS[p["discount_type"]]
            if not (lo <= value <= hi):
                raise SajangError(f"{pid}: amount {value} outside {lo}–{hi} for {p['discount_type']}",
                                  code="invalid_amount")
            p["discount_value"] = int(value) if value == value.to_integral_value() else float(value)
        if item.get("message") not in (None, ""):
            msg = str(item["message"]).strip()
            if len(msg) > MAX_MESSAGE_CHARS:
                raise SajangError(f"{pid}: message longer than {MAX_MESSAGE_CHARS} characters", code="invalid_message")
            try:
                msg.format(name="{name}", shop="", benefit="", coupon="", valid_until="")
            except (KeyError, IndexError, ValueError) as exc:
                raise SajangError(f"{pid}: message has an unknown placeholder ({exc}); use {{name}} {{shop}} "
                                  "{benefit} {coupon} {valid_until}", code="invalid_message") from None
            p["message"] = msg
        out.append(p)
    return out


# --- graph ---------------------------------------------------------------------------------------


class SegmentationState(TypedDict, total=False):
    as_of: str
    started_by: str
    run_id: int
    method: str
    customers: int
    segments: dict[str, int]
    previous_run_id: int | None
    moves: list[dict[str, Any]]
    proposals: list[dict[str, Any]]
    decision: dict[str, Any]
    result: dict[str, Any]


def _engine(config: RunnableConfig) -> Engine:
    url = (config.get("configurable") or {}).get("database_url") or get_settings().resolved_database_url
    return get_engine(url)


def _thread_id(config: RunnableConfig) -> str:
    return str((config.get("configurable") or {}).get("thread_id") or "")


def compute_rfm(state: SegmentationState, config: RunnableConfig) -> dict[str, Any]:
    """Reads `orders`; writes one `segmentation_runs` row (keyed on the thread id) and its
    `customer_segments` rows in one INSERT … SELECT (R/F/M, scores, segment). A retry finds the run."""
    engine = _engine(config)
    thread_id = _thread_id(config)
    as_of = date.fromisoformat(state["as_of"])
    with engine.begin() as conn:
        run_id = conn.scalar(select(SegmentationRun.id).where(SegmentationRun.thread_id == thread_id))
        if run_id is None:
            run_id = conn.execute(
                SegmentationRun.__table__.insert().values(
                    as_of=as_of, thread_id=thread_id, status="computing", segment_counts={}, proposals=[],
                    started_by=state.get("started_by") or "system", created_at=datetime.now(UTC),
                ).returning(SegmentationRun.id)
            ).scalar_one()
            n = write_run_segments(conn, run_id, as_of)
        else:
            n = int(conn.scalar(select(func.count()).where(CustomerSegment.run_id == run_id)) or 0)
    return {"run_id": run_id, "customers": n, "method": method_for(n)}


def assign_segments(state: SegmentationState, config: RunnableConfig) -> dict[str, Any]:
    """Reads the run's `customer_segments` and the previous run's; writes the counts and method to the
    run row. Returns the counts and the moves between segments since the previous run."""
    engine = _engine(config)
    run_id = state["run_id"]
    with engine.begin() as conn:
        counts = segment_counts(conn, run_id)
        prev = previous_run_id(conn, run_id)
        moves = segment_moves(conn, run_id, prev)
        conn.execute(update(SegmentationRun).where(SegmentationRun.id == run_id)
                     .values(segment_counts=counts, method=state["method"],
                             moves={"previous_run_id": prev, "moves": moves}))
    return {"segments": counts, "previous_run_id": prev, "moves": moves}


def propose_actions(state: SegmentationState, config: RunnableConfig) -> dict[str, Any]:
    """Reads the segment counts; writes the proposals (one per segment: coupon/gift, amount, Korean
    message) to the run row and marks it `awaiting_approval`. No coupon exists yet."""
    engine = _engine(config)
    proposals = make_proposals(state["segments"], date.fromisoformat(state["as_of"]))
    with engine.begin() as conn:
        conn.execute(update(SegmentationRun).where(SegmentationRun.id == state["run_id"],
                                                   SegmentationRun.status == "computing")
                     .values(proposals=proposals, status="awaiting_approval"))
    return {"proposals": proposals}


def approval(state: SegmentationState) -> dict[str, Any]:
    """Interrupts with the run summary and proposals; the admin resumes with
    `{"action": "approve", "approvals": [{"id", "discount_value"?, "message"?}], "actor"}` or
    `{"action": "cancel", "actor"}`. Writes nothing (this node re-runs from the top on resume)."""
    decision = interrupt({
        "run_id": state["run_id"], "as_of": state["as_of"], "method": state.get("method"),
        "segments": state["segments"], "moves": state.get("moves", []), "proposals": state["proposals"],
    })
    if not isinstance(decision, dict) or decision.get("action") not in ("approve", "cancel"):
        decision = {"action": "cancel", "actor": "system", "reason": "invalid decision"}
    if decision["action"] == "approve":
        decision = {**decision, "approvals": validate_approvals(state["proposals"], decision.get("approvals") or [])}
    return {"decision": decision}


def _after_approval(state: SegmentationState) -> str:
    return "execute" if state["decision"]["action"] == "approve" else "cancel"


def _shop_name(engine: Engine) -> str:
    saved = load_shop_setting(engine, "store_policy") or {}
    return str(saved.get("shop_name") or get_settings().store.shop_name)


def coupon_code(run_id: int, segment: str) -> str:
    return f"RFM{run_id}-{segment.upper().replace('_', '')}"


def execute(state: SegmentationState, config: RunnableConfig) -> dict[str, Any]:
    """Reads the approved proposals; writes, in one transaction: a `coupons` row per proposal
    (insert-if-absent by code), `coupon_issues` for every customer of the segment in this run and an
    `outbox` message per customer (both insert-if-absent, unique constraints behind them), the run's
    status and an audit row. A second execution of the same run adds nothing."""
    engine = _engine(config)
    run_id = state["run_id"]
    decision = state["decision"]
    actor = str(decision.get("actor") or "system")
    now = datetime.now(UTC)
    shop = _shop_name(engine)
    coupons: list[dict[str, Any]] = []
    cs, cu = CustomerSegment.__table__, Customer.__table__
    ci, ob = CouponIssue.__table__, OutboxMessage.__table__
    def counted(conn: Any) -> tuple[int, int]:
        # rowcount of INSERT … SELECT … ON CONFLICT is not reported by every driver: count instead
        return (int(conn.scalar(select(func.count()).select_from(ci).where(ci.c.run_id == run_id)) or 0),
                int(conn.scalar(select(func.count()).select_from(ob).where(ob.c.run_id == run_id)) or 0))

    with engine.begin() as conn:
        before = counted(conn)
        for p in decision["approvals"]:
            code = coupon_code(run_id, p["segment"])
            valid_until = date.fromisoformat(p["valid_until"])
            conn.execute(dialect_insert(conn)(Coupon).values(
                code=code, name=f"{p['title']} ({p['label']})", discount_type=p["discount_type"],
                discount_value=Decimal(str(p["discount_value"])), min_order_amount=Decimal(str(p["min_order_amount"])),
                valid_until=valid_until, run_id=run_id, segment=p["segment"], created_at=now,
            ).on_conflict_do_nothing(index_elements=["code"]))
            coupon_id = conn.scalar(select(Coupon.id).where(Coupon.code == code))
            already = exists().where(ci.c.run_id == run_id, ci.c.customer_id == cs.c.customer_id)
            conn.execute(dialect_insert(conn)(CouponIssue).from_select(
                ["coupon_id", "customer_id", "run_id", "issued_at"],
                select(literal(coupon_id, Integer), cs.c.customer_id, literal(run_id, Integer),
                       literal(now, UTCDateTime()))
                .where(cs.c.run_id == run_id, cs.c.segment == p["segment"], ~already),
            ).on_conflict_do_nothing())
            text = p["message"].format(name="{name}", shop=shop, coupon=code,
                                       benefit=benefit_text(p["discount_type"], p["discount_value"]),
                                       valid_until=f"{valid_until.month}월 {valid_until.day}일")
            sent = exists().where(ob.c.run_id == run_id, ob.c.customer_id == cs.c.customer_id,
                                  ob.c.coupon_id == coupon_id)
            conn.execute(dialect_insert(conn)(OutboxMessage).from_select(
                ["customer_id", "channel", "text", "run_id", "coupon_id", "status", "created_at"],
                select(
                    cs.c.customer_id,
                    _channel_case(cu),
                    func.replace(text, "{name}", func.coalesce(cu.c.name, "고객")),
                    literal(run_id, Integer), literal(coupon_id, Integer), literal("pending", String),
                    literal(now, UTCDateTime()),
                ).select_from(cs.join(cu, cu.c.id == cs.c.customer_id))
                .where(cs.c.run_id == run_id, cs.c.segment == p["segment"], ~sent),
            ).on_conflict_do_nothing())
            coupons.append({"proposal_id": p["id"], "segment": p["segment"], "coupon_id": coupon_id, "code": code,
                            "discount_type": p["discount_type"], "discount_value": p["discount_value"]})
        totals = counted(conn)
        issued, messages = totals[0] - before[0], totals[1] - before[1]
        conn.execute(update(SegmentationRun).where(SegmentationRun.id == run_id, SegmentationRun.status != "executed")
                     .values(status="executed", approved_by=actor, executed_at=now, proposals=[
                         {**p, "approved": p["id"] in {a["id"] for a in decision["approvals"]},
                          **next(({"discount_value": a["discount_value"], "message": a["message"]}
                                  for a in decision["approvals"] if a["id"] == p["id"]), {})}
                         for p in state["proposals"]]))
        if issued or messages:
            conn.execute(AuditLog.__table__.insert().values(
                at=now, actor=actor, action="segmentation.execute", target_type="segmentation_run",
                target_id=str(run_id), details={"coupons": coupons, "issued": issued, "messages": messages}))
    return {"result": {"run_id": run_id, "status": "executed", "coupons": coupons, "issued_now": issued,
                       "messages_now": messages, "issued_total": totals[0]}}


def _channel_case(cu: Any) -> Any:
    """sms when the customer has a phone number, else e-mail when there is an address."""
    return case((func.coalesce(cu.c.phone, "") != "", "sms"), (func.coalesce(cu.c.email, "") != "", "email"),
                else_="sms")


def cancel(state: SegmentationState, config: RunnableConfig) -> dict[str, Any]:
    """Writes the run's status `cancelled` and an audit row; issues nothing."""
    engine = _engine(config)
    actor = str(state["decision"].get("actor") or "system")
    with engine.begin() as conn:
        res = conn.execute(update(SegmentationRun).where(SegmentationRun.id == state["run_id"],
                                                         SegmentationRun.status == "awaiting_approval")
                           .values(status="cancelled", approved_by=actor))
        if res.rowcount:
            conn.execute(AuditLog.__table__.insert().values(
                at=datetime.now(UTC), actor=actor, action="segmentation.cancel", target_type="segmentation_run",
                target_id=str(state["run_id"]), details=None))
    return {"result": {"run_id": state["run_id"], "status": "cancelled"}}


def build_graph(checkpointer: Any = None) -> Any:
    g = StateGraph(SegmentationState)
    g.add_node("compute_rfm", compute_rfm)
    g.add_node("assign_segments", assign_segments)
    g.add_node("propose_actions", propose_actions)
    g.add_node("approval", approval)
    g.add_node("execute", execute)
    g.add_node("cancel", cancel)
    g.add_edge(START, "compute_rfm")
    g.add_edge("compute_rfm", "assign_segments")
    g.add_edge("assign_segments", "propose_actions")
    g.add_edge("propose_actions", "approval")
    g.add_conditional_edges("approval", _after_approval, {"execute": "execute", "cancel": "cancel"})
    g.add_edge("execute", END)
    g.add_edge("cancel", END)
    return g.compile(checkpointer=checkpointer)


# LangGraph Server / Studio entry (the server supplies its own checkpointer).
graph = build_graph()


# --- service: what the CLI, API and UI call -----------------------------------------------------

_graphs: dict[str, Any] = {}
_graphs_lock = threading.Lock()
# One approval at a time per process; across processes the unique constraints decide.
_execute_lock = threading.Lock()


def service_graph(settings: Settings) -> Any:
    key = settings.resolved_database_url
    with _graphs_lock:
        compiled = _graphs.get(key)
        if compiled is None:
            compiled = _graphs[key] = build_graph(get_checkpointer(settings))
    return compiled


def _config(settings: Settings, thread_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id, "database_url": settings.resolved_database_url}}


def _run_row(engine: Engine, run_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(select(SegmentationRun.__table__).where(SegmentationRun.id == run_id)).mappings().first()
    if row is None:
        raise NotFound(f"segmentation run {run_id} does not exist", code="run_not_found")
    return dict(row)


def run_summary(settings: Settings, run_id: int) -> dict[str, Any]:
    """The run as the CLI/API/UI show it: counts, moves since the previous run, proposals, issued coupons."""
    engine = get_engine(settings.resolved_database_url)
    row = _run_row(engine, run_id)
    with engine.connect() as conn:
        prev, moves = run_moves(conn, run_id, row["moves"])
        issued = conn.execute(select(Coupon.code, Coupon.segment, func.count(CouponIssue.id))
                              .select_from(Coupon.__table__.outerjoin(
                                  CouponIssue.__table__, and_(CouponIssue.coupon_id == Coupon.id)))
                              .where(Coupon.run_id == run_id).group_by(Coupon.code, Coupon.segment)).all()
        outbox = conn.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.run_id == run_id))
    counts = row["segment_counts"] or {}
    return {
        "run_id": row["id"], "as_of": row["as_of"].isoformat(), "status": row["status"], "method": row["method"],
        "customers": sum(counts.values()), "segments": counts, "previous_run_id": prev, "moves": moves,
        "proposals": row["proposals"] or [], "started_by": row["started_by"], "approved_by": row["approved_by"],
        "created_at": row["created_at"].isoformat() if row["created_at"] else None,
        "executed_at": row["executed_at"].isoformat() if row["executed_at"] else None,
        "coupons": [{"code": c, "segment": s, "issued": int(n)} for c, s, n in issued],
        "outbox_messages": int(outbox or 0),
    }


def list_runs(settings: Settings, limit: int = 20) -> list[dict[str, Any]]:
    engine = get_engine(settings.resolved_database_url)
    sr = SegmentationRun.__table__.c
    with engine.connect() as conn:
        rows = conn.execute(select(sr.id, sr.as_of, sr.status, sr.method, sr.segment_counts, sr.started_by,
                                   sr.approved_by, sr.created_at, sr.executed_at)
                            .order_by(sr.id.desc()).limit(limit)).mappings().all()
    return [{"run_id": r["id"], "as_of": r["as_of"].isoformat(), "status": r["status"], "method": r["method"],
             "customers": sum((r["segment_counts"] or {}).values()), "started_by": r["started_by"],
             "approved_by": r["approved_by"],
             "created_at": r["created_at"].isoformat() if r["created_at"] else None,
             "executed_at": r["executed_at"].isoformat() if r["executed_at"] else None} for r in rows]


def start_run(settings: Settings, *, as_of: date | None = None, started_by: str = "system") -> dict[str, Any]:
    """Run the graph up to the approval interrupt; returns `run_summary` of the new run."""
    as_of = as_of or shop_today()
    if as_of > shop_today() + timedelta(days=1):
        raise SajangError(f"as-of date {as_of} is in the future", code="invalid_date")
    thread_id = f"seg-{uuid.uuid4().hex[:16]}"
    out = service_graph(settings).invoke({"as_of": as_of.isoformat(), "started_by": started_by},
                                         _config(settings, thread_id))
    return run_summary(settings, int(out["run_id"]))


def _resume(settings: Settings, run_id: int, decision: dict[str, Any]) -> dict[str, Any]:
    engine = get_engine(settings.resolved_database_url)
    with _execute_lock:
        row = _run_row(engine, run_id)
        if row["status"] == "executed":
            if decision["action"] == "cancel":
                raise Conflict(f"run {run_id} was already executed; it cannot be cancelled", code="already_executed")
            return {**run_summary(settings, run_id), "already_executed": True}
        if row["status"] == "cancelled":
            raise Conflict(f"run {run_id} was cancelled", code="run_cancelled")
        if row["status"] != "awaiting_approval" or not row["thread_id"]:
            raise Conflict(f"run {run_id} is not waiting for approval ({row['status']})", code="not_awaiting")
        if decision["action"] == "approve":
            # validate before resuming so a typo is a clean 4xx, not a failed graph step
            validate_approvals(row["proposals"] or [], decision["approvals"])
        compiled = service_graph(settings)
        config = _config(settings, row["thread_id"])
        if not compiled.get_state(config).next:
            raise Conflict(f"run {run_id} has no pending approval in its checkpoint", code="not_awaiting")
        compiled.invoke(Command(resume=decision), config)
    return {**run_summary(settings, run_id), "already_executed": False}


def approve_run(settings: Settings, run_id: int, approvals: list[dict[str, Any]], actor: str) -> dict[str, Any]:
    """Resume the run with the selected (and possibly edited) proposals; idempotent."""
    if not approvals:
        raise SajangError("select at least one proposal to approve", code="nothing_selected")
    return _resume(settings, run_id, {"action": "approve", "approvals": approvals, "actor": actor})


def cancel_run(settings: Settings, run_id: int, actor: str) -> dict[str, Any]:
    return _resume(settings, run_id, {"action": "cancel", "actor": actor})
