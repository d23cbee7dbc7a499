"""REST `/api/v1/segments` and `/api/v1/dashboard`: admin only, 4xx JSON errors, approval once."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from sajang.config import Settings
from sajang.db.models import CouponIssue
from tests.test_segmentation import TODAY, build_store


@pytest.fixture
def client(settings: Settings, engine: Engine) -> TestClient:
    from sajang.app.main import create_app
    from sajang.services.accounts import ensure_demo_users

    ensure_demo_users(engine)
    return TestClient(create_app(settings, mount_ui=False))


def _token(client: TestClient, username: str, password: str) -> dict[str, str]:
    res = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert res.status_code == 200, res.text
    return {"Authorization": f"Bearer {res.json()['access_token']}"}


def test_segments_api_flow(client: TestClient, engine: Engine) -> None:
    build_store(engine, customers=120)
    admin = _token(client, "admin", "admin1234")
    agent = _token(client, "agent", "agent1234")
    assert client.post("/api/v1/segments/runs", json={}).status_code == 401
    denied = client.post("/api/v1/segments/runs", json={}, headers=agent)
    assert denied.status_code == 403 and denied.json()["code"] == "forbidden"

    res = client.post("/api/v1/segments/runs", json={"as_of": TODAY.isoformat()}, headers=admin)
    assert res.status_code == 201, res.text
    run = res.json()
    assert run["status"] == "awaiting_approval" and run["started_by"] == "admin"
    rid = run["run_id"]
    customers = client.get(f"/api/v1/segments/runs/{rid}/customers", headers=admin).json()
    assert len(customers) == run["customers"]
    assert client.get("/api/v1/segments/runs/999999", headers=admin).json()["code"] == "run_not_found"
    bad = client.post(f"/api/v1/segments/runs/{rid}/approve", json={"approvals": [{"id": "nope"}]}, headers=admin)
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_proposal"
    assert client.post(f"/api/v1/segments/runs/{rid}/approve", json={"approvals": []},
                       headers=admin).status_code == 422

    pid = run["proposals"][0]["id"]
    body = {"approvals": [{"id": pid, "message": "{name}님 감사합니다 {coupon}"}]}
    # the confirmation step: what approving would issue, nothing written
    preview = client.post(f"/api/v1/segments/runs/{rid}/preview", json=body, headers=admin)
    assert preview.status_code == 200, preview.text
    assert preview.json()["coupons"] == run["segments"][pid] == preview.json()["items"][0]["customers"]
    assert client.post(f"/api/v1/segments/runs/{rid}/preview", json={"approvals": []},
                       headers=admin).status_code == 422
    no_code = client.post(f"/api/v1/segments/runs/{rid}/preview", headers=admin,
                          json={"approvals": [{"id": pid, "message": "{name}님 감사합니다"}]})
    assert no_code.status_code == 400 and no_code.json()["code"] == "invalid_message"
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(CouponIssue)) == 0
    done = client.post(f"/api/v1/segments/runs/{rid}/approve", json=body, headers=admin).json()
    assert done["status"] == "executed" and done["approved_by"] == "admin"
    again = client.post(f"/api/v1/segments/runs/{rid}/approve", json=body, headers=admin).json()
    assert again["already_executed"]
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(CouponIssue)) == run["segments"][pid]
    assert client.post(f"/api/v1/segments/runs/{rid}/cancel", headers=admin).status_code == 409

    exp = client.post("/api/v1/segments/outbox/export", headers=admin)
    assert exp.status_code == 200 and exp.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exp.text.lstrip("\ufeff"))))
    assert len(rows) == run["segments"][pid] and rows[0]["text"].endswith(rows[0]["coupon_code"])

    some = customers[0]
    seg = client.get(f"/api/v1/segments/customers/{some['customer_id']}", headers=admin).json()
    assert seg["segment"] == some["segment"] and seg["label"]
    listed = client.get("/api/v1/segments/runs", headers=admin).json()
    assert listed[0]["run_id"] == rid


def test_dashboard_api(client: TestClient, engine: Engine) -> None:
    from sajang.db.demo import seed_demo_store

    seed_demo_store(engine, customers=120, seed=5)
    admin = _token(client, "admin", "admin1234")
    assert client.get("/api/v1/dashboard").status_code == 401
    res = client.get("/api/v1/dashboard", params={"days": 90}, headers=admin)
    assert res.status_code == 200, res.text
    out = res.json()
    assert len(out["sales"]) == 90 and out["kpis"]["unanswered_qna"] >= 0
    assert any(a["kind"] == "review_spike" and a["product_id"] == "P-001" for a in out["alerts"])
    assert client.get("/api/v1/dashboard/sales", params={"days": 3}, headers=admin).status_code == 422
    assert client.get("/api/v1/dashboard/kpis", headers=admin).json()["low_stock"] == sum(
        1 for a in out["alerts"] if a["kind"] == "low_stock")
