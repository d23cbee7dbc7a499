"""The store policy the admin edits (service, REST, CLI): validated, audited with old and new values, and used
by the very next answer, review draft and coupon message.

Run on both databases:
    pytest tests/test_store_settings.py
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test pytest tests/test_store_settings.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from sajang.config import Settings
from sajang.db.models import AuditLog, OutboxMessage, ShopSetting
from sajang.services import store_settings
from sajang.services.accounts import ensure_demo_users
from sajang.services.store_settings import InvalidSetting


def _audit_changes(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(AuditLog.actor, AuditLog.details).where(AuditLog.action == "store_policy.update")
                            .order_by(AuditLog.id)).all()
    return [{"actor": r.actor, **(r.details or {})} for r in rows]


def test_update_validates_saves_and_audits(settings: Settings, engine: Engine) -> None:
    view = store_settings.show(settings)
    assert view.values["delivery_fee"] == 3000 and view.overridden == []

    result = store_settings.update(settings, {"delivery_fee": "3,500원", "dispatch_cutoff": "9:30",
                                              "cs_phone": "02-123-4567"}, actor="admin")
    assert [(c.key, c.old, c.new) for c in result.changes] == [
        ("delivery_fee", 3000, 3500), ("dispatch_cutoff", "14:00", "09:30"), ("cs_phone", "1588-0000", "02-123-4567")]
    assert result.settings.values["delivery_fee"] == 3500
    assert sorted(result.settings.overridden) == ["cs_phone", "delivery_fee", "dispatch_cutoff"]
    assert result.settings.updated_by == "admin"
    # the policy every answer reads is the validated one (money stays exact Decimal)
    policy = store_settings.current_policy(settings)
    assert str(policy.delivery_fee) == "3500" and policy.dispatch_cutoff == "09:30"
    audits = _audit_changes(engine)
    assert audits == [{"actor": "admin", "changes": {
        "cs_phone": {"old": "1588-0000", "new": "02-123-4567"}, "delivery_fee": {"old": 3000, "new": 3500},
        "dispatch_cutoff": {"old": "14:00", "new": "09:30"}}}]

    # saving the value in effect writes nothing; reset goes back to the environment and is audited
    assert store_settings.update(settings, {"delivery_fee": 3500}, actor="admin").changes == []
    assert len(_audit_changes(engine)) == 1
    back = store_settings.update(settings, {}, actor="minji", reset=["delivery_fee"])
    assert [(c.key, c.old, c.new) for c in back.changes] == [("delivery_fee", 3500, 3000)]
    assert _audit_changes(engine)[-1] == {"actor": "minji", "changes": {"delivery_fee": {"old": 3500, "new": 3000}}}
    assert "delivery_fee" not in store_settings.show(settings).overridden


@pytest.mark.parametrize(("key", "value", "reason"), [
    ("delivery_fees", "3000", "unknown setting 'delivery_fees'"),
    ("delivery_fee", "삼천원", "not an amount in won"),
    ("delivery_fee", "-100", "between 0 and"),
    ("delivery_fee", "3000.5", "whole won"),
    ("free_shipping_threshold", "NaN", "whole won"),
    ("return_window_days", "0", "from 1 to 365"),
    ("return_window_days", "7.5", "from 1 to 365"),
    ("dispatch_cutoff", "25:00", "HH:MM"),
    ("shop_name", "   ", "must not be empty"),
    ("shop_name", "가" * 61, "at most 60"),
    ("cs_phone", "call me", "not a phone number"),
])
def test_bad_keys_and_values_are_refused_with_the_reason(settings: Settings, engine: Engine, key: str, value: str,
                                                         reason: str) -> None:
    with pytest.raises(InvalidSetting, match=reason):
        # a good value next to the bad one: nothing of the request is saved
        store_settings.update(settings, {"courier": "한진택배", key: value}, actor="admin")
    with engine.connect() as conn:
        assert conn.scalar(select(ShopSetting.value).where(ShopSetting.key == "store_policy")) is None
    assert _audit_changes(engine) == []


def test_next_answer_and_review_draft_use_the_new_policy(settings: Settings, engine: Engine, tmp_path: Path) -> None:
    from test_inquiry_support import seed_store
    from test_reviews import seed_reviews

    from sajang.graphs.inquiry.service import get_inquiry_service
    from sajang.graphs.review import service as reviews

    store = seed_store(settings, engine, tmp_path)
    svc = get_inquiry_service(store)
    before = svc.ask("반품할 때 배송비는 얼마나 드나요?")
    assert "사장님네 식탁" in before["answer"]

    store_settings.update(store, {"shop_name": "새봄 반찬가게"}, actor="admin")
    after = svc.ask("반품할 때 배송비는 얼마나 드나요?")  # a new conversation: the greeting names the shop
    assert "새봄 반찬가게" in after["answer"] and "사장님네 식탁" not in after["answer"]

    seed_reviews(engine)
    store_settings.update(store, {"cs_phone": "02-555-0199"}, actor="admin")
    draft = reviews.process_review(store, "R-3")["draft"]  # a 1★ late-delivery review
    assert "02-555-0199" in draft and "1588-0000" not in draft
    assert draft.rstrip().endswith("새봄 반찬가게 드림")


def test_coupon_messages_name_the_saved_shop(settings: Settings, engine: Engine) -> None:
    from sajang.db.demo import seed_demo_store
    from sajang.graphs.segmentation.service import approve_run, start_run

    seed_demo_store(engine, customers=60, seed=7)
    store_settings.update(settings, {"shop_name": "새봄 반찬가게"}, actor="admin")
    run = start_run(settings, started_by="admin")
    approvals = [{"id": p["id"]} for p in run["proposals"] if p["recommended"]]
    approve_run(settings, run["run_id"], approvals, "admin")
    with engine.connect() as conn:
        texts = conn.scalars(select(OutboxMessage.text)).all()
    assert any("새봄 반찬가게" in t for t in texts) and not any("사장님네 식탁" in t for t in texts)


def test_rest_routes_are_admin_only_and_explain_bad_input(settings: Settings, engine: Engine) -> None:
    from sajang.app.main import create_app
    from sajang.db.users import get_user_by_username
    from sajang.security import issue_staff_token
    from sajang.services.accounts import claims_for

    ensure_demo_users(engine)

    def headers(username: str) -> dict[str, str]:
        user = get_user_by_username(engine, username)
        assert user is not None
        return {"Authorization": f"Bearer {issue_staff_token(settings, claims_for(user))}"}

    with TestClient(create_app(settings, mount_ui=False), raise_server_exceptions=False) as client:
        assert client.get("/api/v1/admin/settings").status_code == 401
        assert client.get("/api/v1/admin/settings", headers=headers("agent")).status_code == 403
        shown = client.get("/api/v1/admin/settings", headers=headers("admin"))
        assert shown.status_code == 200 and shown.json()["values"]["free_shipping_threshold"] == 50000

        ok = client.patch("/api/v1/admin/settings", headers=headers("admin"),
                          json={"values": {"free_shipping_threshold": 40000, "courier": "한진택배"}})
        assert ok.status_code == 200, ok.text
        assert ok.json()["changes"] == [{"key": "free_shipping_threshold", "old": 50000, "new": 40000},
                                        {"key": "courier", "old": "CJ대한통운", "new": "한진택배"}]
        assert ok.json()["settings"]["history"][0]["actor"] == "admin"

        bad = client.patch("/api/v1/admin/settings", headers=headers("admin"), json={"values": {"fee": 1}})
        assert bad.status_code == 422 and bad.json()["code"] == "invalid_setting"
        assert "unknown setting 'fee'" in bad.json()["message"]
        bad = client.patch("/api/v1/admin/settings", headers=headers("admin"),
                           json={"values": {"return_window_days": "abc"}})
        assert bad.status_code == 422 and "from 1 to 365" in bad.json()["message"]
        assert client.patch("/api/v1/admin/settings", headers=headers("agent"),
                            json={"values": {"courier": "x"}}).status_code == 403
    assert store_settings.show(settings).values["courier"] == "한진택배"


def test_cli_show_and_set(settings: Settings, cli: Any) -> None:
    r = cli("settings", "set", "delivery_fee", "4,000")
    assert r.returncode == 0, r.stderr
    assert "delivery_fee: 3000 → 4000" in r.stdout
    shown = json.loads(cli("settings", "show", "--json").stdout)
    assert shown["values"]["delivery_fee"] == 4000 and shown["overridden"] == ["delivery_fee"]
    assert shown["history"][0]["actor"] == "cli"
    r = cli("settings", "set", "DELIVERY_FEE", "abc")
    assert r.returncode == 1 and "delivery_fee: 'abc' is not an amount in won" in r.stderr
    r = cli("settings", "set", "color", "red")
    assert r.returncode == 1 and "unknown setting 'color'" in r.stderr and "delivery_fee" in r.stderr
