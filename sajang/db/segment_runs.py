"""Rows of a segmentation run: the run itself, the coupons it issues and the messages it queues.

The statements behind the segmentation graph's nodes and its service (`sajang.graphs.segmentation`);
the per-customer R/F/M work is in `rfm.py`. Issuing is insert-if-absent on unique constraints, so a
node that runs twice (a retried step, a second resume, two admins at once) adds nothing the second time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Integer, String, and_, case, exists, func, insert, literal, select, update

from .engine import dialect_insert
from .models import AuditLog, Coupon, CouponIssue, Customer, CustomerSegment, OutboxMessage, SegmentationRun
from .types import UTCDateTime


def run_by_thread(conn: Connection, thread_id: str) -> int | None:
    """The run a graph thread made (a retried node finds its run instead of making a second one)."""
    return conn.scalar(select(SegmentationRun.id).where(SegmentationRun.thread_id == thread_id))


def create_run(conn: Connection, thread_id: str, as_of: date, started_by: str, now: datetime) -> int:
    return int(conn.execute(
        insert(SegmentationRun).values(
            as_of=as_of, thread_id=thread_id, status="computing", segment_counts={}, proposals=[],
            started_by=started_by, created_at=now,
        ).returning(SegmentationRun.id)
    ).scalar_one())


def run_size(conn: Connection, run_id: int) -> int:
    """Customers segmented in the run."""
    return int(conn.scalar(select(func.count()).where(CustomerSegment.run_id == run_id)) or 0)


def save_assignment(conn: Connection, run_id: int, counts: dict[str, int], method: str,
                    previous_run_id: int | None, moves: list[dict[str, Any]]) -> None:
    conn.execute(update(SegmentationRun).where(SegmentationRun.id == run_id)
                 .values(segment_counts=counts, method=method,
                         moves={"previous_run_id": previous_run_id, "moves": moves}))


def save_proposals(conn: Connection, run_id: int, proposals: list[dict[str, Any]]) -> None:
    """The proposals, and the run now waits for the admin (only a run still computing)."""
    conn.execute(update(SegmentationRun).where(SegmentationRun.id == run_id, SegmentationRun.status == "computing")
                 .values(proposals=proposals, status="awaiting_approval"))


def issued_counts(conn: Connection, run_id: int) -> tuple[int, int]:
    """(coupon issues, outbox messages) of the run. Counted: the rowcount of INSERT … SELECT … ON
    CONFLICT is not reported by every driver."""
    ci, ob = CouponIssue.__table__, OutboxMessage.__table__
    return (int(conn.scalar(select(func.count()).select_from(ci).where(ci.c.run_id == run_id)) or 0),
            int(conn.scalar(select(func.count()).select_from(ob).where(ob.c.run_id == run_id)) or 0))


def _channel_case(cu: Any) -> Any:
    """sms when the customer has a phone number, else e-mail when there is an address."""
    return case((func.coalesce(cu.c.phone, "") != "", "sms"), (func.coalesce(cu.c.email, "") != "", "email"),
                else_="sms")


ISSUE_CHUNK = 5000  # coupon_issues rows per INSERT


def issue_segment_coupon(conn: Connection, run_id: int, proposal: dict[str, Any], code: str, valid_until: date,
                         text: str, now: datetime, new_code: Callable[[], str]) -> int:
    """The proposal's coupon (the campaign: insert-if-absent by `code`), a `coupon_issues` row with a code
    of its own (`new_code()`) for every customer of the segment in this run, and an outbox message each
    (`{name}` / `{coupon}` in `text` become the customer's name / code). Returns the coupon id.

    A customer already issued in this run is skipped (a retried node adds nothing). Should a random code
    collide with an existing one (the unique index), that customer is retried with a fresh code."""
    cs, cu = CustomerSegment.__table__, Customer.__table__
    ci, ob = CouponIssue.__table__, OutboxMessage.__table__
    segment = proposal["segment"]
    conn.execute(dialect_insert(conn)(Coupon).values(
        code=code, name=f"{proposal['title']} ({proposal['label']})", discount_type=proposal["discount_type"],
        discount_value=Decimal(str(proposal["discount_value"])),
        min_order_amount=Decimal(str(proposal["min_order_amount"])),
        valid_until=valid_until, run_id=run_id, segment=segment, created_at=now,
    ).on_conflict_do_nothing(index_elements=["code"]))
    coupon_id = int(conn.execute(select(Coupon.id).where(Coupon.code == code)).scalar_one())
    already = exists().where(ci.c.run_id == run_id, ci.c.customer_id == cs.c.customer_id)
    waiting = select(cs.c.customer_id).where(cs.c.run_id == run_id, cs.c.segment == segment, ~already)
    for _ in range(3):  # a second round only after a code collision (~1 in 2^49 per pair)
        customers = list(conn.scalars(waiting.order_by(cs.c.customer_id)))
        if not customers:
            break
        for start in range(0, len(customers), ISSUE_CHUNK):
            conn.execute(dialect_insert(conn)(CouponIssue).on_conflict_do_nothing(), [
                {"coupon_id": coupon_id, "customer_id": c, "run_id": run_id, "code": new_code(), "issued_at": now}
                for c in customers[start:start + ISSUE_CHUNK]])
    sent = exists().where(ob.c.run_id == run_id, ob.c.customer_id == cs.c.customer_id, ob.c.coupon_id == coupon_id)
    conn.execute(dialect_insert(conn)(OutboxMessage).from_select(
        ["customer_id", "channel", "text", "run_id", "coupon_id", "status", "created_at"],
        select(
            cs.c.customer_id,
            _channel_case(cu),
            func.replace(func.replace(text, "{name}", func.coalesce(cu.c.name, "고객")), "{coupon}",
                         func.coalesce(ci.c.code, code)),
            literal(run_id, Integer), literal(coupon_id, Integer), literal("pending", String),
            literal(now, UTCDateTime()),
        ).select_from(cs.join(cu, cu.c.id == cs.c.customer_id)
                      .join(ci, and_(ci.c.customer_id == cs.c.customer_id, ci.c.coupon_id == coupon_id)))
        .where(cs.c.run_id == run_id, cs.c.segment == segment, ~sent),
    ).on_conflict_do_nothing())
    return coupon_id


def mark_executed(conn: Connection, run_id: int, actor: str, now: datetime, proposals: list[dict[str, Any]]) -> bool:
    """Decide the run as approved, only if it still waits (a conditional UPDATE: of an approve and a
    cancel, or two approvals, in any processes, exactly one matches); True when this call decided it.
    The row stays locked until the caller's transaction ends, so the coupons it issues belong to it."""
    res = conn.execute(update(SegmentationRun).where(SegmentationRun.id == run_id,
                                                     SegmentationRun.status == "awaiting_approval")
                       .values(status="executed", approved_by=actor, executed_at=now, proposals=proposals))
    return bool(res.rowcount)


def mark_cancelled(conn: Connection, run_id: int, actor: str) -> bool:
    """Cancel a run still waiting for approval; True when this call cancelled it."""
    res = conn.execute(update(SegmentationRun).where(SegmentationRun.id == run_id,
                                                     SegmentationRun.status == "awaiting_approval")
                       .values(status="cancelled", approved_by=actor))
    return bool(res.rowcount)


def audit_run(conn: Connection, run_id: int, actor: str, action: str, now: datetime,
              details: dict[str, Any] | None) -> None:
    conn.execute(insert(AuditLog).values(
        at=now, actor=actor, action=action, target_type="segmentation_run", target_id=str(run_id), details=details))


def run_row(conn: Connection, run_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(SegmentationRun.__table__).where(SegmentationRun.id == run_id)).mappings().first()
    return dict(row) if row is not None else None


def run_coupons(conn: Connection, run_id: int) -> list[tuple[str, str | None, int]]:
    """(campaign code, segment, customers issued) of each coupon of the run (each customer's own code is
    on their `coupon_issues` row)."""
    rows = conn.execute(select(Coupon.code, Coupon.segment, func.count(CouponIssue.id))
                        .select_from(Coupon.__table__.outerjoin(CouponIssue.__table__,
                                                                and_(CouponIssue.coupon_id == Coupon.id)))
                        .where(Coupon.run_id == run_id).group_by(Coupon.code, Coupon.segment)).all()
    return [(code, segment, int(n)) for code, segment, n in rows]


def outbox_count(conn: Connection, run_id: int) -> int:
    return int(conn.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.run_id == run_id))
               or 0)


def recent_runs(conn: Connection, limit: int) -> list[dict[str, Any]]:
    sr = SegmentationRun.__table__.c
    rows = conn.execute(select(sr.id, sr.as_of, sr.status, sr.method, sr.segment_counts, sr.started_by,
                               sr.approved_by, sr.created_at, sr.executed_at)
                        .order_by(sr.id.desc()).limit(limit)).mappings().all()
    return [dict(r) for r in rows]
