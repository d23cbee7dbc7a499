"""Security defects of issue #17 (items 1–7) and the tests that keep them out: the verification lockout, the
staff login's back-off, validation gaps, what public replies may say. The Gradio file routes' access matrix
is `tests/test_ui_access.py`.

Run on both databases:
    pytest tests/test_security.py
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test pytest tests/test_security.py
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from sajang.config import Settings
from sajang.db.engine import session_scope
from sajang.db.models import AuditLog, Conversation
from sajang.errors import Unauthorized
from sajang.services import ratelimit
from sajang.services.accounts import ensure_demo_users, login
from sajang.services.customers import verify_customer
from tests.test_api import add_shop, assert_error


@pytest.fixture(autouse=True)
def _fresh_buckets(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Empty rate-limit buckets and a frozen limiter clock: limits are counted, never timed."""
    ratelimit.reset_all()
    monkeypatch.setattr(ratelimit, "_now", lambda: 1000.0)
    yield
    ratelimit.reset_all()


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    from sajang.app.main import create_app

    ensure_demo_users(engine)
    add_shop(engine)
    with TestClient(create_app(settings, mount_ui=False), raise_server_exceptions=False) as c:
        yield c


# --- 1. verification lockout --------------------------------------------------------------------------


def _verify(client: TestClient, digits: str, order_id: str = "O-A1") -> int:
    return client.post("/api/v1/chat/sessions", json={"order_id": order_id, "phone_last4": digits}).status_code


def test_a_locked_order_refuses_even_the_right_digits_until_the_lock_expires(
        client: TestClient, settings: Settings, engine: Engine) -> None:
    assert [_verify(client, f"{i:04d}") for i in range(5)] == [401] * 5
    r = client.post("/api/v1/chat/sessions", json={"order_id": "O-A1", "phone_last4": "5678"})
    body = assert_error(r, 429, "rate_limited")
    assert "order" in body["message"] and int(r.headers["Retry-After"]) > 60
    # the failures are counted in the database: another process (no in-memory buckets) sees the lock too
    ratelimit.reset_all()
    assert _verify(client, "5678") == 429
    # the /chat page's form and a guest typing the digits into the chat share the rule
    with pytest.raises(ratelimit.RateLimited):
        verify_customer(settings, "O-A1", "5678", "10.0.0.9")
    from sajang.graphs.inquiry.service import get_inquiry_service

    svc = get_inquiry_service(settings)
    thread = svc.ask("제 택배 어디쯤이에요?")["thread_id"]
    svc.ask("O-A1 5678", thread_id=thread)
    with session_scope(engine) as s:
        assert s.scalar(select(Conversation.customer_id).where(Conversation.thread_id == thread)) is None
    # another order is not locked by this one's failures
    assert _verify(client, "0001", order_id="O-B1") == 201
    # the lock expires with the window: the failures are aged past it, the right digits verify again
    with session_scope(engine) as s:
        for row in s.scalars(select(AuditLog).where(AuditLog.action == "chat.verify_failed")):
            row.at = row.at - timedelta(minutes=16)
    ratelimit.reset_all()
    assert _verify(client, "5678") == 201


# --- 4. staff login: slow the attacker, never the owner ------------------------------------------------


def _age_login_failures(engine: Engine, by: timedelta) -> None:
    with session_scope(engine) as s:
        for row in s.scalars(select(AuditLog).where(AuditLog.action == "login.failed")):
            row.at = row.at - by


def test_wrong_passwords_slow_the_attacker_but_never_lock_the_owner_out(client: TestClient, engine: Engine) -> None:
    attacker, owner = "203.0.113.7", "198.51.100.20"
    outcomes = []
    for i in range(12):
        try:
            login(engine, "admin", f"guess-{i}", attacker)
            outcomes.append("ok")
        except ratelimit.RateLimited:
            outcomes.append("wait")
        except Unauthorized:
            outcomes.append("bad")
    # a few free tries, then the attacker waits before each next one (the password is not even checked)
    assert outcomes[:5] == ["bad"] * 5 and "wait" in outcomes[5:], outcomes
    with pytest.raises(ratelimit.RateLimited):
        login(engine, "admin", "admin1234", attacker)  # even the right password waits at the attacker's address
    # the owner, from an address without failures, gets in with the right password
    assert login(engine, "admin", "admin1234", owner).username == "admin"
    # attackers spread over many addresses: each new address gets one try, then the username's back-off
    for n in range(8):
        with pytest.raises(Unauthorized):
            login(engine, "admin", "nope-nope", f"192.0.2.{n}")
        with pytest.raises(ratelimit.RateLimited):
            login(engine, "admin", "nope-nope", f"192.0.2.{n}")
    assert login(engine, "admin", "admin1234", owner).username == "admin"
    # the login page and the token route share the rule: the test client's address has no failures
    r = client.post("/api/v1/auth/token", data={"username": "admin", "password": "admin1234"})
    assert r.status_code == 200, r.text
    for _ in range(5):
        assert_error(client.post("/api/v1/auth/token", data={"username": "agent", "password": "wrong-one"}), 401,
                     "invalid_credentials")
    r = client.post("/api/v1/auth/token", data={"username": "agent", "password": "agent1234"})
    assert_error(r, 429, "rate_limited")
    assert int(r.headers["Retry-After"]) >= 1
    # the back-off ends: the failures age out of the window
    _age_login_failures(engine, timedelta(minutes=16))
    assert client.post("/api/v1/auth/token", data={"username": "agent", "password": "agent1234"}).status_code == 200


# --- 6. validation gaps -------------------------------------------------------------------------------


def test_a_segmentation_run_needs_a_date_in_a_sane_range(client: TestClient, settings: Settings,
                                                         engine: Engine) -> None:
    from sajang.db.models import SegmentationRun
    from tests.test_api import staff_headers

    admin = staff_headers(settings, engine, "admin")
    for as_of in (0, 1_700_000_000, True, "1970-01-01", "2999-01-01", "not a date"):
        body = assert_error(client.post("/api/v1/segments/runs", json={"as_of": as_of}, headers=admin), 422,
                            "validation_error")
        assert "as_of" in body["message"]
    with session_scope(engine) as s:
        assert s.scalars(select(SegmentationRun)).first() is None  # no run dated 1970-01-01


# --- 7. what a public review reply may say ------------------------------------------------------------


def test_a_published_review_reply_never_holds_the_order_number_or_full_name() -> None:
    from sajang.graphs.review.drafts import public_reply

    edited = "홍길동 고객님, 주문번호(O-1001)로 문의 주시면 홍길동님께 바로 재발송해 드릴게요. 주문번호 O-1001 확인했어요."
    out = public_reply(edited, "O-1001", "홍길동")
    assert "O-1001" not in out and "홍길동" not in out
    assert out.startswith("고객님, 주문번호로 문의 주시면 홍*동님께") and "재발송" in out
