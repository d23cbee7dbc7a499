"""Two decisions on one item at the same moment get one outcome, and each caller is told the truth (issue
#17 item 11): approve + cancel of a segmentation run, two admins approving different proposals, reject +
approve of a review. The callers are threads released together by a barrier with no lock of ours
between them, so only the database's conditional UPDATEs decide (the same statements decide between
replicas). Runs on SQLite and PostgreSQL (DATABASE_URL)."""

from __future__ import annotations

from functools import partial

import pytest
from sqlalchemy import Engine, func, select

from sajang.config import Settings
from sajang.db.models import AuditLog, CouponIssue, OutboxMessage
from sajang.errors import Conflict
from sajang.graphs.review import service as reviews
from sajang.graphs.segmentation.service import approve_run, cancel_run, run_summary, start_run
from tests.concurrency import at_once
from tests.test_reviews import seed_reviews
from tests.test_segmentation import TODAY, build_store

ROUNDS = 3  # races per test: each is a fresh run or review


def _issued(engine: Engine, run_id: int) -> tuple[int, int]:
    with engine.connect() as conn:
        issues = conn.scalar(select(func.count()).select_from(CouponIssue).where(CouponIssue.run_id == run_id))
        outbox = conn.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.run_id == run_id))
    return int(issues or 0), int(outbox or 0)


def _audits(engine: Engine, action: str, target: str) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == action, AuditLog.target_id == target)) or 0)


@pytest.fixture
def shop(settings: Settings, engine: Engine) -> Settings:
    build_store(engine, customers=60)
    return settings


def test_approve_and_cancel_at_once_one_outcome_told_to_both(shop: Settings, engine: Engine) -> None:
    outcomes = []
    for _ in range(ROUNDS):
        run = start_run(shop, as_of=TODAY, started_by="admin")
        run_id = run["run_id"]
        first = run["proposals"][0]
        approved, cancelled = at_once(partial(approve_run, shop, run_id, [{"id": first["id"]}], "kim"),
                                   partial(cancel_run, shop, run_id, "lee"))
        final = run_summary(shop, run_id)
        issues, outbox = _issued(engine, run_id)
        if final["status"] == "executed":
            assert isinstance(approved, dict) and approved["already_executed"] is False
            assert isinstance(cancelled, Conflict) and cancelled.code == "already_executed"
            assert final["approved_by"] == "kim" and issues == outbox == first["customers"] > 0
        else:
            assert final["status"] == "cancelled" and final["approved_by"] == "lee"
            assert isinstance(cancelled, dict) and cancelled["status"] == "cancelled"
            assert isinstance(approved, Conflict) and approved.code == "run_cancelled"
            assert issues == outbox == 0 and final["coupons"] == []
        outcomes.append(final["status"])
    assert len(outcomes) == ROUNDS


def test_two_admins_approving_different_proposals_one_issues(shop: Settings, engine: Engine) -> None:
    for _ in range(ROUNDS):
        run = start_run(shop, as_of=TODAY, started_by="admin")
        run_id = run["run_id"]
        a, b = run["proposals"][0], run["proposals"][1]
        res_a, res_b = at_once(partial(approve_run, shop, run_id, [{"id": a["id"]}], "kim"),
                            partial(approve_run, shop, run_id, [{"id": b["id"]}], "lee"))
        winners = [(r, p, who) for r, p, who in ((res_a, a, "kim"), (res_b, b, "lee")) if isinstance(r, dict)]
        losers = [r for r in (res_a, res_b) if isinstance(r, Exception)]
        assert len(winners) == 1 and len(losers) == 1, (res_a, res_b)
        assert isinstance(losers[0], Conflict) and losers[0].code == "already_executed"
        won, proposal, who = winners[0]
        assert won["already_executed"] is False
        final = run_summary(shop, run_id)
        # the run records exactly what was issued: the winner's proposal only
        assert final["approved_by"] == who
        assert [p["id"] for p in final["proposals"] if p.get("approved")] == [proposal["id"]]
        assert [c["segment"] for c in final["coupons"]] == [proposal["segment"]]
        assert _issued(engine, run_id) == (proposal["customers"], proposal["customers"])
        assert _audits(engine, "segmentation.execute", str(run_id)) == 1


@pytest.fixture
def review_store(settings: Settings, engine: Engine) -> Settings:
    seed_reviews(engine)
    return settings


def test_reject_and_approve_of_a_review_at_once(review_store: Settings, engine: Engine) -> None:
    list(reviews.process_backlog(review_store))
    waiting = [r["review_id"] for r in reviews.queue(review_store)]
    assert len(waiting) >= 2
    for review_id in waiting:
        approved, rejected = at_once(partial(reviews.approve, review_store, review_id, None, user="kim"),
                                  partial(reviews.reject, review_store, review_id, user="lee"))
        final = reviews.get_review(review_store, review_id)
        published = _audits(engine, "review.publish", review_id)
        if final["reply_status"] == "published":
            assert isinstance(approved, dict) and approved["published_now"] is True
            assert isinstance(rejected, Conflict) and rejected.code == "already_published"
            assert published == 1 and _audits(engine, "review.reject", review_id) == 0
        else:
            assert final["reply_status"] == "rejected" and final["reply"] is None
            assert isinstance(rejected, dict) and rejected["reply_status"] == "rejected"
            assert isinstance(approved, Conflict) and approved.code == "already_rejected"
            assert published == 0 and _audits(engine, "review.reject", review_id) == 1


def test_undo_and_a_second_approval_at_once(review_store: Settings, engine: Engine) -> None:
    """An agent's undo and a colleague's late approval of the same review: either the undo comes first (the
    review is a draft again and the approval publishes it anew) or the approval finds it published
    (`already_published`) and the undo then takes it back; never a half state, every step audited."""
    list(reviews.process_backlog(review_store))
    for review_id in [r["review_id"] for r in reviews.queue(review_store)]:
        reviews.approve(review_store, review_id, None, user="kim")
        undone, approved = at_once(partial(reviews.undo_publish, review_store, review_id, user="kim"),
                                partial(reviews.approve, review_store, review_id, None, user="lee"))
        assert isinstance(undone, dict) and undone["undone_now"], undone
        assert isinstance(approved, dict), approved
        final = reviews.get_review(review_store, review_id)
        unpublished = _audits(engine, "review.unpublish", review_id)
        published = _audits(engine, "review.publish", review_id)
        assert unpublished == 1
        if approved["published_now"]:  # the undo first, then a fresh publication
            assert final["reply_status"] == "published" and final["reply"] and published == 2
        else:
            assert approved["already_published"] and final["reply_status"] == "draft" and published == 1
            assert final["reply"] is None and final["draft"]
