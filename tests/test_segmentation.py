"""The segmentation graph end to end: interrupt before any side effect, approval issues coupons once,
resuming twice issues nothing twice, cancel, moves between runs, the CLI contract and the outbox CSV."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from langgraph.runtime import Runtime
from langgraph.types import Command
from sqlalchemy import Engine, func, insert, select

from sajang.config import Settings
from sajang.db.models import AuditLog, Coupon, CouponIssue, Customer, CustomerSegment, Order, OutboxMessage
from sajang.db.rfm import SEGMENT_IDS, latest_segment
from sajang.errors import Conflict, SajangError
from sajang.graphs.segmentation.nodes import execute
from sajang.graphs.segmentation.policy import coupon_code
from sajang.graphs.segmentation.service import (
    approve_run,
    cancel_run,
    preview_approval,
    run_config,
    run_context,
    run_summary,
    service_graph,
    start_run,
)

TODAY = date(2026, 11, 24)
SURNAMES = "김이박최정강조윤장임"
GIVEN = ["민준", "서연", "도윤", "지우", "하준", "서윤", "은우", "지민", "시우", "수아"]


def build_store(engine: Engine, customers: int = 160, seed: int = 7, today: date = TODAY) -> dict[str, int]:
    """A shop with varied buying patterns (recent regulars, lapsed regulars, one-timers), bulk inserted."""
    rng = random.Random(seed)
    cust_rows, order_rows = [], []
    for i in range(customers):
        cid = f"T-{i:05d}"
        cust_rows.append({"id": cid, "name": rng.choice(SURNAMES) + rng.choice(GIVEN),
                          "phone": f"010-{rng.randrange(1000, 9999)}-{i % 10000:04d}" if i % 5 else None,
                          "email": f"user{i}@example.kr" if i % 5 == 0 and i % 10 else None})
        kind = i % 6
        n = [1, 1, 3, 8, 12, 0][kind]
        last_days = [rng.randrange(0, 40), rng.randrange(200, 500), rng.randrange(0, 30),
                     rng.randrange(120, 300), rng.randrange(0, 20), 0][kind]
        for k in range(n):
            at = datetime.combine(today - timedelta(days=last_days + 9 * k), datetime.min.time(), tzinfo=UTC)
            order_rows.append({"id": f"O-{i:05d}-{k:02d}", "customer_id": cid,
                               "ordered_at": at + timedelta(hours=rng.randrange(0, 14)),
                               "amount": Decimal(rng.randrange(9, 120) * 1000),
                               "status": "cancelled" if rng.random() < 0.03 else "delivered"})
    with engine.begin() as conn:
        conn.execute(insert(Customer), cust_rows)
        conn.execute(insert(Order), order_rows)
    return {"customers": len(cust_rows), "orders": len(order_rows)}


def _count(engine: Engine, model: type, **where: object) -> int:
    stmt = select(func.count()).select_from(model)
    for k, v in where.items():
        stmt = stmt.where(getattr(model, k) == v)
    with engine.connect() as conn:
        return int(conn.scalar(stmt) or 0)


def test_approval_issues_coupons_exactly_once(settings: Settings, engine: Engine) -> None:
    build_store(engine)
    run = start_run(settings, as_of=TODAY, started_by="admin")
    run_id = run["run_id"]
    assert run["status"] == "awaiting_approval" and run["method"] == "quintiles"
    assert list(run["segments"]) == list(SEGMENT_IDS)
    with engine.connect() as conn:
        buyers = conn.scalar(select(func.count(func.distinct(Order.customer_id))).where(Order.status != "cancelled"))
    assert run["customers"] == buyers == _count(engine, CustomerSegment, run_id=run_id)
    # nothing issued before the admin decides
    assert _count(engine, Coupon) == _count(engine, CouponIssue) == _count(engine, OutboxMessage) == 0
    by_id = {p["id"]: p for p in run["proposals"]}
    assert "at_risk" in by_id and by_id["at_risk"]["label"] == "이탈 위험"
    assert by_id["at_risk"]["discount_type"] == "percent" and by_id["at_risk"]["discount_value"] == 15
    assert all(p["customers"] == run["segments"][p["segment"]] for p in run["proposals"])

    # bad edits are rejected before anything happens
    with pytest.raises(SajangError):
        approve_run(settings, run_id, [{"id": "at_risk", "discount_value": 95}], "admin")
    with pytest.raises(SajangError):
        approve_run(settings, run_id, [{"id": "nope"}], "admin")
    assert _count(engine, CouponIssue) == 0

    chosen = [{"id": "at_risk", "discount_value": "20", "message": "{name}님, 다시 만나요! {benefit} 쿠폰 {coupon}"},
              {"id": next(p["id"] for p in run["proposals"] if p["id"] != "at_risk")}]
    done = approve_run(settings, run_id, chosen, "admin")
    assert done["status"] == "executed" and done["approved_by"] == "admin" and not done["already_executed"]
    expected = run["segments"]["at_risk"] + run["segments"][chosen[1]["id"]]
    assert _count(engine, CouponIssue, run_id=run_id) == expected
    assert _count(engine, OutboxMessage, run_id=run_id) == expected
    with engine.connect() as conn:
        coupon = conn.execute(select(Coupon.id, Coupon.code, Coupon.discount_value, Coupon.discount_type)
                              .where(Coupon.code == coupon_code(run_id, "at_risk"))).one()
        assert coupon.discount_value == Decimal(20) and coupon.discount_type == "percent"
        name, text, own = conn.execute(
            select(Customer.name, OutboxMessage.text, CouponIssue.code)
            .join(Customer, Customer.id == OutboxMessage.customer_id)
            .join(CouponIssue, (CouponIssue.customer_id == OutboxMessage.customer_id)
                  & (CouponIssue.coupon_id == OutboxMessage.coupon_id))
            .where(OutboxMessage.coupon_id == coupon.id)).first()
        # the customer's own code, and the minimum order stated with the benefit
        assert text == f"{name}님, 다시 만나요! 30,000원 이상 주문 시 20% 할인 쿠폰 {own}"
        assert coupon.code not in text
        # every issued customer belongs to the approved segments of this run, once
        dup = conn.execute(select(CouponIssue.customer_id).where(CouponIssue.run_id == run_id)
                           .group_by(CouponIssue.customer_id).having(func.count() > 1)).all()
        assert not dup
        audits = conn.scalars(select(AuditLog.action).where(AuditLog.target_id == str(run_id))).all()
    assert audits == ["segmentation.execute"]

    # resume twice: through the service, through the graph, and the execute node run again directly
    again = approve_run(settings, run_id, chosen, "admin")
    assert again["already_executed"] and again["status"] == "executed"
    compiled = service_graph(settings)
    config = run_config(done_thread(engine, run_id))
    compiled.invoke(Command(resume={"action": "approve", "approvals": chosen, "actor": "admin"}), config,
                    context=run_context(settings))
    state = compiled.get_state(config).values
    out = execute(state, Runtime(context=run_context(settings)))
    assert out["result"]["issued_now"] == 0 and out["result"]["messages_now"] == 0
    assert _count(engine, CouponIssue) == expected and _count(engine, OutboxMessage) == expected
    assert _count(engine, Coupon) == 2
    with pytest.raises(Conflict):
        cancel_run(settings, run_id, "admin")


def done_thread(engine: Engine, run_id: int) -> str:
    from sajang.db.models import SegmentationRun

    with engine.connect() as conn:
        return str(conn.scalar(select(SegmentationRun.thread_id).where(SegmentationRun.id == run_id)))


def test_cancel_then_second_run_reports_moves(settings: Settings, engine: Engine) -> None:
    build_store(engine)
    first = start_run(settings, as_of=TODAY - timedelta(days=120), started_by="admin")
    assert first["moves"] == [] and first["previous_run_id"] is None
    cancelled = cancel_run(settings, first["run_id"], "admin")
    assert cancelled["status"] == "cancelled" and _count(engine, Coupon) == 0
    with pytest.raises(Conflict):
        approve_run(settings, first["run_id"], [{"id": first["proposals"][0]["id"]}], "admin")
    # a cancelled run is no baseline
    second = start_run(settings, as_of=TODAY - timedelta(days=60), started_by="admin")
    assert second["previous_run_id"] is None
    third = start_run(settings, as_of=TODAY, started_by="cli")
    assert third["previous_run_id"] == second["run_id"]
    assert third["moves"] and sum(m["customers"] for m in third["moves"]) > 0
    with engine.connect() as conn:
        prev = dict(conn.execute(select(CustomerSegment.customer_id, CustomerSegment.segment)
                                 .where(CustomerSegment.run_id == second["run_id"])).all())
        cur = dict(conn.execute(select(CustomerSegment.customer_id, CustomerSegment.segment)
                                .where(CustomerSegment.run_id == third["run_id"])).all())
    changed = sum(1 for c, s in cur.items() if prev.get(c) != s)
    assert sum(m["customers"] for m in third["moves"] if m["to"] is not None) == changed
    some = next(iter(cur))
    assert latest_segment(engine, some) == cur[some]
    assert run_summary(settings, third["run_id"])["status"] == "awaiting_approval"


def test_small_shop_run_uses_fallback(settings: Settings, engine: Engine) -> None:
    build_store(engine, customers=36)
    run = start_run(settings, as_of=TODAY)
    assert run["method"] == "small_shop_fallback" and run["customers"] < 50
    assert sum(run["segments"].values()) == run["customers"]


def test_cli_segment_contract_and_outbox_export(settings: Settings, engine: Engine, cli, tmp_path) -> None:
    build_store(engine, customers=90)
    res = cli("segment", "--as-of", TODAY.isoformat(), "--customers", "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert set(out) >= {"run_id", "as_of", "segments", "proposals", "customers"}
    assert out["as_of"] == TODAY.isoformat() and sum(out["segments"].values()) == len(out["customers"])
    row = out["customers"][0]
    assert set(row) == {"customer_id", "recency_days", "frequency", "monetary", "r", "f", "m", "segment"}
    assert all(1 <= c[k] <= 5 for c in out["customers"] for k in ("r", "f", "m"))
    with engine.connect() as conn:
        db = dict(conn.execute(select(CustomerSegment.customer_id, CustomerSegment.segment).where(
            CustomerSegment.run_id == out["run_id"])).all())
    assert all(db[c["customer_id"]] == c["segment"] for c in out["customers"])

    brief = json.loads(cli("segment", "--json").stdout)
    assert "customers" not in brief

    bad = cli("segment", "--as-of", "2026-13-01", "--json")
    assert bad.returncode != 0 and bad.stderr.strip().startswith("error:") and not bad.stdout

    pid = out["proposals"][0]["id"]
    ok = cli("segment", "approve", str(out["run_id"]), "--proposal", pid, "--amount", f"{pid}=7", "--json")
    assert ok.returncode == 0, ok.stderr
    done = json.loads(ok.stdout)
    assert done["status"] == "executed" and done["coupons"][0]["issued"] == out["segments"][pid]
    twice = json.loads(cli("segment", "approve", str(out["run_id"]), "--proposal", pid, "--json").stdout)
    assert twice["already_executed"] and _count(engine, CouponIssue) == out["segments"][pid]

    target = tmp_path / "outbox.csv"
    exp = cli("segment", "outbox", "--run", str(out["run_id"]), "--out", str(target), "--json")
    assert exp.returncode == 0, exp.stderr
    assert json.loads(exp.stdout)["messages"] == out["segments"][pid]
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    assert len(rows) == out["segments"][pid] and all(r["coupon_code"] for r in rows)
    # the CSV carries each customer's own code, the one in their message
    assert len({r["coupon_code"] for r in rows}) == len(rows)
    assert all(r["coupon_code"] in r["text"] for r in rows)
    assert all(r["text"] and "{" not in r["text"] for r in rows)
    # exported once: a second export of pending messages is empty
    assert json.loads(cli("segment", "outbox", "--run", str(out["run_id"]), "--out", str(target),
                          "--json").stdout)["messages"] == 0


def test_graph_is_registered_for_langgraph_server() -> None:
    from pathlib import Path

    from sajang.graphs.segmentation import graph as segmentation
    from sajang.graphs.segmentation import nodes

    spec = json.loads((Path(__file__).resolve().parent.parent / "langgraph.json").read_text())
    assert spec["graphs"]["segmentation"] == "./sajang/graphs/segmentation/graph.py:graph"
    graph_nodes = set(segmentation.graph.get_graph().nodes)
    assert {"compute_rfm", "assign_segments", "propose_actions", "approval", "execute", "cancel"} <= graph_nodes
    for name in ("compute_rfm", "assign_segments", "propose_actions", "approval", "execute", "cancel"):
        assert getattr(nodes, name).__doc__


def test_stored_moves_follow_the_baseline(settings: Settings, engine: Engine) -> None:
    """Moves are stored with a run; when its baseline is cancelled afterwards they are recomputed."""
    from sajang.db.dashboard import segment_overview

    build_store(engine, customers=80)
    a = start_run(settings, as_of=TODAY - timedelta(days=90))
    b = start_run(settings, as_of=TODAY)
    assert b["previous_run_id"] == a["run_id"] and b["moves"]
    overview = segment_overview(engine)
    assert overview["run_id"] == b["run_id"] and overview["moves"] == b["moves"]
    assert overview["segments"] == b["segments"] and overview["previous"] == a["segments"]
    cancel_run(settings, a["run_id"], "admin")
    again = run_summary(settings, b["run_id"])
    assert again["previous_run_id"] is None and again["moves"] == []
    assert segment_overview(engine)["previous"] == {}


def test_messages_take_the_particle_the_shop_name_needs() -> None:
    """No default message writes a particle both ways; one an admin wrote that way gets the right form."""
    from sajang.graphs.segmentation.policy import DEFAULT_ACTIONS, message_for

    for action in DEFAULT_ACTIONS.values():
        assert "(를)" not in action["message"] and "(가)" not in action["message"]
    edited = {"message": "{name}님, {shop}을(를) 찾아 주셔서 고마워요. {shop}이(가) 드리는 {benefit} 쿠폰 {coupon}",
              "discount_type": "percent", "discount_value": 10}
    until = date(2026, 12, 1)
    assert message_for(edited, "김치공방", until) == \
        "{name}님, 김치공방을 찾아 주셔서 고마워요. 김치공방이 드리는 10% 할인 쿠폰 {coupon}"
    assert message_for(edited, "바다마트", until).startswith("{name}님, 바다마트를 찾아 주셔서 고마워요. 바다마트가")


def test_message_states_the_minimum_order_with_the_right_particle() -> None:
    """The benefit carries the minimum order; the particle after it follows its last word whatever the
    admin typed (를 → 을 after 할인/사은품), and a both-ways particle after the code takes the vowel form."""
    from sajang.graphs.segmentation.policy import DEFAULT_ACTIONS, benefit_text, make_proposals, message_for

    assert benefit_text("amount", 3000, 20000) == "20,000원 이상 주문 시 3,000원 할인"
    assert benefit_text("percent", 15, 30000) == "30,000원 이상 주문 시 15% 할인"
    assert benefit_text("gift", 10000, 0) == "10,000원 상당 사은품"
    until = date(2026, 12, 1)
    at_risk = next(p for p in make_proposals({"at_risk": 3}, until) if p["id"] == "at_risk")
    text = message_for(at_risk, "김치공방", until)
    assert "30,000원 이상 주문 시 15% 할인을 해 드릴게요" in text and "{coupon}" in text
    typed = {"message": "{benefit}를 드려요. {benefit}는 {coupon}을(를) 입력, {benefit}이(가) 좋아요",
             "discount_type": "gift", "discount_value": 5000, "min_order_amount": 20000}
    assert message_for(typed, "가게", until) == (
        "20,000원 이상 주문 시 5,000원 상당 사은품을 드려요. 20,000원 이상 주문 시 5,000원 상당 사은품은 {coupon}를 "
        "입력, 20,000원 이상 주문 시 5,000원 상당 사은품이 좋아요")
    # every default message with a minimum order states it
    for seg, action in DEFAULT_ACTIONS.items():
        p = make_proposals({seg: 1}, until)[0]
        if action["min_order_amount"]:
            assert f"{action['min_order_amount']:,}원 이상 주문 시" in message_for(p, "가게", until), seg


def test_codes_are_per_customer_and_the_preview_matches_what_is_issued(settings: Settings, engine: Engine) -> None:
    """Nothing is pre-selected or issued without an explicit selection; the confirmation preview's counts
    and exposure are what approval issues; every customer gets a code of their own that says nothing
    about the segment and cannot be derived from another customer's."""
    from sajang.graphs.segmentation.policy import CODE_ALPHABET, CODE_RANDOM_CHARS

    build_store(engine)
    run = start_run(settings, as_of=TODAY, started_by="admin")
    run_id = run["run_id"]
    with pytest.raises(SajangError) as none:
        preview_approval(settings, run_id, [])
    assert none.value.code == "nothing_selected"
    with pytest.raises(SajangError):
        approve_run(settings, run_id, [], "admin")
    with pytest.raises(SajangError) as no_code:  # an edited message must still carry the customer's code
        preview_approval(settings, run_id, [{"id": "at_risk", "message": "{name}님 {benefit}"}])
    assert no_code.value.code == "invalid_message"
    assert _count(engine, CouponIssue) == 0
    kinds = {p["discount_type"] for p in run["proposals"]}
    assert {"percent", "amount"} <= kinds
    picked = [p["id"] for p in run["proposals"]][:4]
    approvals = [{"id": pid, "discount_value": "5000" if pid == "loyal" else None} for pid in picked]
    preview = preview_approval(settings, run_id, approvals)
    assert [i["id"] for i in preview["items"]] == picked
    assert _count(engine, CouponIssue) == 0 and run_summary(settings, run_id)["status"] == "awaiting_approval"
    for item in preview["items"]:
        assert item["customers"] == run["segments"][item["segment"]]
        if item["discount_type"] == "percent":
            assert item["per_customer"] == int(item["discount_value"] * item["min_order_amount"] / 100)
            assert item["open_ended"]
        else:
            assert item["per_customer"] == int(item["discount_value"]) and not item["open_ended"]
        assert item["exposure"] == item["per_customer"] * item["customers"]
        if item["min_order_amount"]:
            assert f"{item['min_order_amount']:,}원 이상 주문 시" in item["benefit"]
    done = approve_run(settings, run_id, approvals, "admin")
    assert sum(c["issued"] for c in done["coupons"]) == preview["coupons"] == done["outbox_messages"]
    assert {c["segment"]: c["issued"] for c in done["coupons"]} == {i["segment"]: i["customers"]
                                                                     for i in preview["items"]}
    with engine.connect() as conn:
        issues = conn.execute(select(CouponIssue.customer_id, CouponIssue.code, Coupon.segment, OutboxMessage.text)
                              .join(Coupon, Coupon.id == CouponIssue.coupon_id)
                              .join(OutboxMessage, (OutboxMessage.customer_id == CouponIssue.customer_id)
                                    & (OutboxMessage.coupon_id == CouponIssue.coupon_id))
                              .where(CouponIssue.run_id == run_id)).all()
    codes = [i.code for i in issues]
    assert len(codes) == preview["coupons"] and len(set(codes)) == len(codes)
    prefix = f"R{run_id}-"
    for i in issues:
        assert i.code.startswith(prefix) and len(i.code) == len(prefix) + CODE_RANDOM_CHARS
        assert set(i.code[len(prefix):]) <= set(CODE_ALPHABET)
        assert i.segment.upper().replace("_", "") not in i.code and i.customer_id not in i.code
        assert i.code in i.text and coupon_code(run_id, i.segment) not in i.text
    # codes of one segment share nothing beyond the run prefix: no common suffix or position pattern
    by_seg = [i.code[len(prefix):] for i in issues if i.segment == picked[0]]
    if len(by_seg) > 4:
        assert len({c[:3] for c in by_seg}) > 1 and len({c[-3:] for c in by_seg}) > 1
