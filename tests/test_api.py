"""REST API: role matrix, anonymous refusal over the whole OpenAPI spec, IDOR, limits, error shapes.

Runs the real app (FastAPI TestClient) on the test's real database and the real inquiry service.
"""

from __future__ import annotations

import io
import re
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import Engine, select

from sajang.config import Settings
from sajang.db.engine import session_scope
from sajang.db.models import Attachment, Customer, Message, Order, OrderItem
from sajang.db.users import get_user_by_username
from sajang.security import issue_staff_token
from sajang.services import ratelimit
from sajang.services.accounts import claims_for, ensure_demo_users

PUBLIC = {("get", "/api/v1/health"), ("post", "/api/v1/auth/token"), ("post", "/api/v1/chat/sessions")}


@pytest.fixture(autouse=True)
def _fresh_buckets(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Empty rate-limit buckets and a frozen limiter clock: limits are counted, never timed."""
    ratelimit.reset_all()
    monkeypatch.setattr(ratelimit, "_now", lambda: 1000.0)
    yield
    ratelimit.reset_all()


def test_token_bucket_refills_with_time(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [0.0]
    monkeypatch.setattr(ratelimit, "_now", lambda: clock[0])
    bucket = ratelimit.TokenBucket(3, period_s=60)
    assert [bucket.try_take("ip-1") for _ in range(3)] == [0, 0, 0]
    assert bucket.try_take("ip-1") == pytest.approx(20.0)  # one token every 20 s
    assert bucket.try_take("ip-2") == 0  # keys are independent
    clock[0] = 20.0
    assert bucket.try_take("ip-1") == 0 and bucket.try_take("ip-1") > 0
    clock[0] = 10_000.0
    assert [bucket.try_take("ip-1") for _ in range(4)][:3] == [0, 0, 0]  # refills up to capacity only


def png_bytes(size: tuple[int, int] = (8, 8), color: str = "red") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def add_shop(engine: Engine) -> None:
    """Two customers with one order each (A: phone ends 5678, B: phone ends 0001)."""
    now = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    with session_scope(engine) as s:
        s.add_all([Customer(id="C-A", name="김가나", phone="010-1234-5678"),
                   Customer(id="C-B", name="이다라", phone="010-9999-0001")])
        s.flush()
        s.add_all([Order(id="O-A1", customer_id="C-A", ordered_at=now, amount=Decimal(32000), status="shipping",
                         courier="CJ대한통운", tracking_no="612345678901"),
                   Order(id="O-B1", customer_id="C-B", ordered_at=now, amount=Decimal(15000), status="paid")])
        s.flush()
        s.add_all([OrderItem(order_id="O-A1", product_name="순살 갈비탕", quantity=2, unit_price=Decimal(16000),
                             amount=Decimal(32000)),
                   OrderItem(order_id="O-B1", product_name="왕만두", quantity=1, unit_price=Decimal(15000),
                             amount=Decimal(15000))])


@pytest.fixture
def api_settings(settings: Settings) -> Settings:
    return settings


@pytest.fixture
def client(api_settings: Settings, engine: Engine) -> Iterator[TestClient]:
    from sajang.app.main import create_app

    ensure_demo_users(engine)
    add_shop(engine)
    with TestClient(create_app(api_settings, mount_ui=False), raise_server_exceptions=False) as c:
        yield c


def staff_headers(settings: Settings, engine: Engine, username: str) -> dict[str, str]:
    user = get_user_by_username(engine, username)
    assert user is not None
    return {"Authorization": f"Bearer {issue_staff_token(settings, claims_for(user))}"}


def start_chat(client: TestClient, **body: Any) -> dict[str, Any]:
    r = client.post("/api/v1/chat/sessions", json=body)
    assert r.status_code == 201, r.text
    out = r.json()
    out["headers"] = {"Authorization": f"Bearer {out['token']}"}
    return out


def assert_error(r: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert set(body) >= {"code", "message"} and isinstance(body["message"], str) and body["message"]
    assert "Traceback" not in r.text
    if code:
        assert body["code"] == code, body
    return body


# --- anonymous over the whole spec ------------------------------------------------------------------


def _fill_path(path: str, op: dict[str, Any]) -> str:
    for param in op.get("parameters", []):
        if param.get("in") != "path":
            continue
        schema = param.get("schema", {})
        value = "1" if schema.get("type") == "integer" else "T-1"
        path = path.replace("{" + param["name"] + "}", value)
    return path


def test_every_protected_operation_refuses_anonymous_calls(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    seen = 0
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if (method, path) in PUBLIC:
                continue
            seen += 1
            assert op.get("security"), f"{method.upper()} {path} does not declare its bearer security"
            url = _fill_path(path, op)
            r = client.request(method.upper(), url)
            assert_error(r, 401)
            assert r.headers.get("www-authenticate") == "Bearer", url
            # a forged token is the same as none
            r = client.request(method.upper(), url, headers={"Authorization": "Bearer forged.token.value"})
            assert_error(r, 401)
    assert seen >= 20  # chat, attachments, agent, admin, dashboard, segments …


def test_public_operations_need_no_credentials(client: TestClient) -> None:
    assert client.get("/api/v1/health").json()["status"] == "ok"
    assert client.head("/api/v1/health").status_code == 200  # load balancers probe with HEAD
    assert_error(client.post("/api/v1/auth/token", data={"username": "agent", "password": "nope-nope"}), 401,
                 "invalid_credentials")
    assert client.post("/api/v1/auth/token", data={"username": "agent", "password": "agent1234"}).status_code == 200
    chat = start_chat(client)
    assert chat["verified"] is False and chat["customer_id"] is None and chat["thread_id"]


# --- role matrix ----------------------------------------------------------------------------------

# (method, path, json body, roles allowed): {thread} = the customer's own conversation
MATRIX: list[tuple[str, str, dict[str, Any] | None, set[str]]] = [
    ("GET", "/api/v1/auth/me", None, {"agent", "admin"}),
    ("GET", "/api/v1/chat/sessions/{thread}", None, {"customer"}),
    ("GET", "/api/v1/chat/sessions/{thread}/messages", None, {"customer"}),
    ("POST", "/api/v1/chat/sessions/{thread}/messages", {"text": "배송은 보통 며칠 걸리나요?"}, {"customer"}),
    ("GET", "/api/v1/chat/orders", None, {"customer"}),
    ("GET", "/api/v1/chat/orders/O-A1", None, {"customer"}),
    ("GET", "/api/v1/agent/inquiries?status=new", None, {"agent", "admin"}),
    ("GET", "/api/v1/agent/inquiries/{thread}", None, {"agent", "admin"}),
    ("GET", "/api/v1/agent/inquiries/{thread}/suggestion", None, {"agent", "admin"}),
    ("POST", "/api/v1/agent/inquiries/{thread}/claim", None, {"agent", "admin"}),
    ("GET", "/api/v1/agent/customers/C-A", None, {"agent", "admin"}),
    ("GET", "/api/v1/admin/users", None, {"admin"}),
    ("POST", "/api/v1/admin/users", {"username": "newbie", "password": "newbie-pass", "role": "agent"}, {"admin"}),
    ("GET", "/api/v1/dashboard/kpis", None, {"admin"}),
]


def test_role_matrix(client: TestClient, api_settings: Settings, engine: Engine) -> None:
    chat = start_chat(client, order_id="O-A1", phone_last4="5678")
    headers = {"anonymous": {}, "customer": chat["headers"],
               "agent": staff_headers(api_settings, engine, "agent"),
               "admin": staff_headers(api_settings, engine, "admin")}
    for method, path, body, allowed in MATRIX:
        url = path.format(thread=chat["thread_id"])
        for role, hdrs in headers.items():
            r = client.request(method, url, json=body, headers=hdrs)
            where = f"{role} {method} {url}: {r.status_code} {r.text[:200]}"
            if role in allowed:
                assert r.status_code < 400 or r.status_code == 409, where  # 409: claimed by the agent before
            elif role == "anonymous":
                assert r.status_code == 401, where
            else:
                assert r.status_code == 403, where
            assert r.status_code < 500, where


# --- customers: verification and IDOR ---------------------------------------------------------------


def test_verification_by_order_and_phone_digits(client: TestClient) -> None:
    ok = start_chat(client, order_id="O-A1", phone_last4="5678", locale="ko")
    assert ok["verified"] and ok["customer_id"] == "C-A" and ok["customer_name"] == "김가나"
    assert_error(client.post("/api/v1/chat/sessions", json={"order_id": "O-A1", "phone_last4": "0001"}), 401,
                 "verification_failed")
    assert_error(client.post("/api/v1/chat/sessions", json={"order_id": "O-NONE", "phone_last4": "5678"}), 401,
                 "verification_failed")
    assert_error(client.post("/api/v1/chat/sessions", json={"order_id": "O-A1"}), 422)
    assert_error(client.post("/api/v1/chat/sessions", json={"order_id": "O-A1", "phone_last4": "56"}), 422)
    # guessing the 4 digits is cut off after a few failures per order
    codes = [client.post("/api/v1/chat/sessions", json={"order_id": "O-B1", "phone_last4": f"{i:04d}"}).status_code
             for i in range(2, 9)]
    assert 429 in codes and codes[0] == 401
    guest = start_chat(client, name="손님")
    assert_error(client.get("/api/v1/chat/orders", headers=guest["headers"]), 403, "not_verified")


def test_customer_cannot_read_another_customers_data(client: TestClient, api_settings: Settings,
                                                     engine: Engine) -> None:
    a = start_chat(client, order_id="O-A1", phone_last4="5678")
    b = start_chat(client, order_id="O-B1", phone_last4="0001")
    r = client.post(f"/api/v1/chat/sessions/{a['thread_id']}/messages", headers=a["headers"],
                    json={"text": "주문한 갈비탕 배송 어디쯤인가요?"})
    assert r.status_code == 200, r.text
    up = client.post(f"/api/v1/chat/sessions/{a['thread_id']}/attachments", headers=a["headers"],
                     files={"file": ("box.png", png_bytes(), "image/png")})
    assert up.status_code == 201, up.text
    att = up.json()
    # A sees their own things
    assert [o["order_id"] for o in client.get("/api/v1/chat/orders", headers=a["headers"]).json()] == ["O-A1"]
    assert client.get("/api/v1/chat/orders/O-A1", headers=a["headers"]).json()["items"][0]["product_name"] == "순살 갈비탕"
    msgs = client.get(f"/api/v1/chat/sessions/{a['thread_id']}/messages", headers=a["headers"]).json()
    assert msgs["messages"][0]["role"] == "customer" and "갈비탕" in msgs["messages"][0]["text"]
    got = client.get(f"/api/v1/attachments/{att['id']}", headers=a["headers"])
    assert got.status_code == 200 and got.content == png_bytes()
    # B sees none of them: same answers as for things that do not exist
    for url in (f"/api/v1/chat/sessions/{a['thread_id']}", f"/api/v1/chat/sessions/{a['thread_id']}/messages",
                "/api/v1/chat/orders/O-A1", f"/api/v1/attachments/{att['id']}"):
        assert_error(client.get(url, headers=b["headers"]), 404)
    assert [o["order_id"] for o in client.get("/api/v1/chat/orders", headers=b["headers"]).json()] == ["O-B1"]
    assert_error(client.post(f"/api/v1/chat/sessions/{a['thread_id']}/messages", headers=b["headers"],
                             json={"text": "안녕하세요"}), 404)
    assert_error(client.post(f"/api/v1/chat/sessions/{a['thread_id']}/attachments", headers=b["headers"],
                             files={"file": ("x.png", png_bytes(), "image/png")}), 404)
    # B cannot attach A's image to B's own message either
    assert_error(client.post(f"/api/v1/chat/sessions/{b['thread_id']}/messages", headers=b["headers"],
                             json={"text": "이 사진 봐주세요", "attachment_ids": [att["id"]]}), 404)
    # the signed link works for that attachment only, anonymous without it is refused
    sig = re.search(r"sig=([^&]+)", att["url"]).group(1)  # type: ignore[union-attr]
    assert client.get(att["url"]).status_code == 200
    assert_error(client.get(f"/api/v1/attachments/{att['id'] + 1}?sig={sig}"), 404)
    assert_error(client.get(f"/api/v1/attachments/{att['id']}"), 401)
    assert_error(client.get(f"/api/v1/attachments/{att['id']}?sig=forged"), 404)
    # staff may open it
    staff = client.get(f"/api/v1/attachments/{att['id']}", headers=staff_headers(api_settings, engine, "agent"))
    assert staff.status_code == 200


# --- attachments ------------------------------------------------------------------------------------


def test_attachments_are_sniffed_limited_and_stored_safely(client: TestClient, api_settings: Settings,
                                                         engine: Engine) -> None:
    chat = start_chat(client)
    url = f"/api/v1/chat/sessions/{chat['thread_id']}/attachments"
    h = chat["headers"]
    # the name and the declared type do not matter: the bytes do
    r = client.post(url, headers=h, files={"file": ("../../etc/evil.php", png_bytes(), "application/x-php")})
    assert r.status_code == 201, r.text
    att = r.json()
    assert att["content_type"] == "image/png" and att["filename"] == "evil.php"
    with session_scope(engine) as s:
        row = s.scalar(select(Attachment).where(Attachment.id == att["id"]))
        assert row is not None
        stored = api_settings.data_dir / row.path
    assert re.fullmatch(r"attachments/\d{4}/\d{2}/[0-9a-f]{32}\.png", row.path)
    assert stored.read_bytes() == png_bytes()
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    got = client.get(att["url"])
    assert got.headers["content-type"] == "image/png"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in got.headers["content-security-policy"]
    # not images, disguised or damaged
    for name, data in (("page.png", b"<html><script>alert(1)</script></html>"),
                       ("fake.jpg", b"\xff\xd8\xff" + b"not really a jpeg" * 10),
                       ("cut.png", png_bytes((64, 64))[:60]),
                       ("empty.png", b"")):
        assert_error(client.post(url, headers=h, files={"file": (name, data, "image/png")}), 415,
                     "attachment_rejected")
    too_big = b"\x89PNG\r\n\x1a\n" + b"\0" * (api_settings.max_attachment_bytes + 10)
    assert_error(client.post(url, headers=h, files={"file": ("big.png", too_big, "image/png")}), 413)
    assert_error(client.post(url, headers=h, files={"wrong": ("x.png", png_bytes(), "image/png")}), 422)
    assert_error(client.post(url, headers=h, json={"file": "x"}), 422)


# --- limits and malformed requests ------------------------------------------------------------------


def test_oversize_and_malformed_requests_are_4xx_json(client: TestClient, api_settings: Settings) -> None:
    chat = start_chat(client)
    url = f"/api/v1/chat/sessions/{chat['thread_id']}/messages"
    h = chat["headers"]
    limit = api_settings.max_message_chars
    assert_error(client.post(url, headers=h, json={"text": "가" * (limit + 1)}), 413, "message_too_long")
    assert_error(client.post(url, headers=h, json={"text": "가" * 30_000}), 422, "validation_error")
    assert_error(client.post(url, headers=h, json={"text": "   "}), 422)
    assert_error(client.post(url, headers=h, json={"text": "a\x00b"}), 422)
    assert_error(client.post(url, headers=h, json={"text": 5}), 422)
    assert_error(client.post(url, headers=h, json={"text": "hi", "attachment_ids": [2**40]}), 422)
    assert_error(client.post(url, headers={**h, "Content-Type": "application/json"}, content=b"{not json"), 422)
    assert_error(client.post(url, headers={**h, "Content-Type": "application/json"}, content=b'"\\ud800"'), 422)
    assert_error(client.post("/api/v1/chat/sessions", json={"name": "x" * 500}), 422)
    assert_error(client.post("/api/v1/chat/sessions", json={"locale": "fr"}), 422)
    assert_error(client.get("/api/v1/attachments/99999999999999999999"), 422)
    assert_error(client.get("/api/v1/chat/sessions/" + "x" * 200, headers=h), 422)
    assert_error(client.get("/api/v1/no/such/route"), 404, "not_found")
    assert_error(client.delete("/api/v1/health"), 405)
    big = {"Content-Length": str(api_settings.max_attachment_bytes * 2), "Content-Type": "application/json"}
    assert_error(client.post(url, headers={**h, **big}, content=b"{}"), 413, "too_large")
    assert_error(client.post("/api/v1/auth/token", data={"username": "", "password": ""}), 422)


def test_ids_with_nul_are_refused_before_the_database(client: TestClient, api_settings: Settings,
                                                      engine: Engine) -> None:
    """PostgreSQL cannot hold NUL in text: an id, a member or a rating comment carrying one is a 422, never the
    database's error as a 500 (CI's fuzz run on PostgreSQL found the admin ask's customer id)."""
    admin = staff_headers(api_settings, engine, "admin")
    assert_error(client.post("/api/v1/admin/ask", headers=admin, json={"text": "배송비", "customer_id": "c\x00"}), 422)
    assert_error(client.post("/api/v1/chat/sessions", json={"member_id": "m\x00", "member_hash": "0" * 64}), 422)
    assert_error(client.post("/api/v1/chat/sessions", json={"order_id": "\x00"}), 422)
    chat = start_chat(client)
    rate = f"/api/v1/chat/sessions/{chat['thread_id']}/csat"
    assert_error(client.post(rate, headers=chat["headers"], json={"score": 5, "comment": "좋아요\x00"}), 422)
    assert client.post(rate, headers=chat["headers"], json={"score": 5, "comment": "좋아요"}).status_code == 200


def test_messages_are_rate_limited_per_session_and_ip(settings: Settings, engine: Engine) -> None:
    from sajang.app.main import create_app

    add_shop(engine)
    limited = settings.model_copy(update={"rate_limit_per_minute": 3})
    with TestClient(create_app(limited, mount_ui=False)) as c:
        chat = start_chat(c)
        url = f"/api/v1/chat/sessions/{chat['thread_id']}/messages"
        codes = [c.post(url, headers=chat["headers"], json={"text": "배송비는 얼마인가요?"}).status_code
                 for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        r = c.post(url, headers=chat["headers"], json={"text": "또 질문"})
        assert_error(r, 429, "rate_limited")
        assert int(r.headers["retry-after"]) >= 1
        # new chats from the same IP are limited too
        codes = [c.post("/api/v1/chat/sessions", json={}).status_code for _ in range(4)]
        assert 429 in codes


def test_error_bodies_never_leak_internals(client: TestClient, api_settings: Settings, engine: Engine) -> None:
    admin = staff_headers(api_settings, engine, "admin")
    r = client.post("/api/v1/admin/users", headers=admin,
                    json={"username": "agent", "password": "some-password", "role": "agent"})
    assert_error(r, 409, "user_exists")
    r = client.patch("/api/v1/admin/users/1", headers=admin, json={"is_active": False})
    assert_error(r, 403)  # the admin cannot lock themselves out
    r = client.patch("/api/v1/admin/users/999", headers=admin, json={"display_name": "누구"})
    assert_error(r, 404)
    created = client.post("/api/v1/admin/users", headers=admin,
                          json={"username": "jiwoo", "password": "jiwoo-pass-1", "role": "agent",
                                "display_name": "박지우"})
    assert created.status_code == 201 and "password" not in created.text
    login = client.post("/api/v1/auth/token", data={"username": "jiwoo", "password": "jiwoo-pass-1"})
    assert login.status_code == 200 and login.json()["role"] == "agent"


def test_agent_flow_over_rest(client: TestClient, api_settings: Settings, engine: Engine) -> None:
    """Customer asks for a person → queue → claim (one winner) → reply seen by the customer → feedback → resolve."""
    chat = start_chat(client, order_id="O-A1", phone_last4="5678")
    tid, ch = chat["thread_id"], chat["headers"]
    r = client.post(f"/api/v1/chat/sessions/{tid}/handoff", headers=ch)
    assert r.status_code == 200 and r.json()["handoff"] is True, r.text
    agent, agent2 = staff_headers(api_settings, engine, "agent"), staff_headers(api_settings, engine, "agent2")
    queue = client.get("/api/v1/agent/inquiries", params={"status": "new"}, headers=agent).json()
    assert [q["thread_id"] for q in queue] == [tid] and queue[0]["customer_id"] == "C-A"
    conv = client.get(f"/api/v1/agent/inquiries/{tid}", headers=agent).json()
    assert conv["messages"][0]["role"] == "customer"
    assert client.post(f"/api/v1/agent/inquiries/{tid}/claim", headers=agent).json()["claimed"] is True
    assert_error(client.post(f"/api/v1/agent/inquiries/{tid}/claim", headers=agent2), 409, "already_claimed")
    assert [q["thread_id"] for q in client.get("/api/v1/agent/inquiries", params={"status": "mine"},
                                                headers=agent).json()] == [tid]
    assert client.get("/api/v1/agent/inquiries", params={"status": "mine"}, headers=agent2).json() == []
    assert_error(client.get("/api/v1/agent/inquiries", params={"status": "bogus"}, headers=agent), 422)
    r = client.post(f"/api/v1/agent/inquiries/{tid}/reply", headers=agent,
                    json={"text": "안녕하세요, 김민지입니다. 갈비탕은 내일 도착 예정이에요."})
    assert r.status_code == 200, r.text
    seen = client.get(f"/api/v1/chat/sessions/{tid}/messages", headers=ch).json()["messages"]
    last = seen[-1]
    assert last["role"] == "agent" and "내일 도착" in last["text"] and last["author"] == "김민지"
    # the customer never sees internal handoff data (draft, summary)
    assert "ai_draft" not in str(seen) and "pending" not in str(seen)
    profile = client.get("/api/v1/agent/customers/C-A", headers=agent).json()
    assert profile["id"] == "C-A" and profile["order_count"] == 1 and profile["total_spent"].startswith("32000")
    assert_error(client.get("/api/v1/agent/customers/C-NOPE", headers=agent), 404)
    fb = client.post(f"/api/v1/agent/inquiries/{tid}/feedback", headers=agent,
                     json={"correct_text": "배송 조회는 주문 상세의 운송장 번호로 택배사 사이트에서 확인하실 수 있어요."})
    assert fb.status_code == 200, fb.text
    assert client.post(f"/api/v1/agent/inquiries/{tid}/resolve", headers=agent).status_code == 200
    assert [q["thread_id"] for q in client.get("/api/v1/agent/inquiries", params={"status": "resolved"},
                                                headers=agent).json()] == [tid]


def test_streamed_answer_is_server_sent_events(client: TestClient) -> None:
    chat = start_chat(client)
    with client.stream("POST", f"/api/v1/chat/sessions/{chat['thread_id']}/messages/stream",
                       headers=chat["headers"], json={"text": "반품하려면 어떻게 해야 하나요?"}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        body = "".join(r.iter_text())
    import json

    events = [(m.group(1), json.loads(m.group(2))) for m in re.finditer(r"event: (\w+)\ndata: (.*)\n\n", body)]
    kinds = [k for k, _ in events]
    assert kinds[-1] == "result" and "error" not in kinds
    result = events[-1][1]
    assert result["thread_id"] == chat["thread_id"] and result["category"] == "return_refund", result
    # the deltas add up to the final answer (an empty store hands off, and says so in Korean)
    streamed = "".join(d["text"] for k, d in events if k == "delta")
    assert kinds.count("delta") >= 1 and streamed.strip() == result["answer"].strip()
    assert re.search(r"[가-힣]{2,}", streamed)


def test_llm_answer_streams_over_sse(settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch,
                                     tmp_path: Any) -> None:
    """The LLM path: the real langchain-openai client against a local OpenAI-compatible server; the model's
    streamed tokens reach the customer as `delta` events, then the structured result."""
    import json

    from openai_stub_server import OpenAIStub
    from test_inquiry_support import seed_llm_store

    from sajang.app.main import create_app

    with OpenAIStub() as stub:
        llm = seed_llm_store(engine, tmp_path, monkeypatch, stub.base_url)
        with TestClient(create_app(llm, mount_ui=False)) as c:
            chat = start_chat(c)
            with c.stream("POST", f"/api/v1/chat/sessions/{chat['thread_id']}/messages/stream",
                          headers=chat["headers"], json={"text": "반품 비용은 얼마예요?"}) as r:
                assert r.status_code == 200
                body = "".join(r.iter_text())
        events = [(m.group(1), json.loads(m.group(2))) for m in re.finditer(r"event: (\w+)\ndata: (.*)\n\n", body)]
        deltas = [d["text"] for k, d in events if k == "delta"]
        kind, result = events[-1]
        assert kind == "result" and result["handoff"] is False and result["answer"]
        assert len(deltas) >= 3 and "".join(deltas) == result["answer"]
        assert any(req["body"].get("stream") for req in stub.requests if req["path"] == "/v1/chat/completions")


def test_agent_reply_carries_attachment_ids_like_the_hub(client: TestClient, api_settings: Settings,
                                                         engine: Engine) -> None:
    """`POST …/reply {"text", "attachment_ids"}`: the agent's uploaded image goes with the reply, the
    customer sees it through a signed link; another conversation's attachment id is a 404."""
    chat, other = start_chat(client, order_id="O-A1", phone_last4="5678"), start_chat(client)
    tid, ch = chat["thread_id"], chat["headers"]
    assert client.post(f"/api/v1/chat/sessions/{tid}/handoff", headers=ch).json()["handoff"] is True
    agent = staff_headers(api_settings, engine, "agent")
    up = client.post(f"/api/v1/agent/inquiries/{tid}/attachments", headers=agent,
                     files={"file": ("교환안내.png", png_bytes(color="blue"), "image/png")})
    assert up.status_code == 201, up.text
    att_id = up.json()["id"]
    foreign = client.post(f"/api/v1/chat/sessions/{other['thread_id']}/attachments", headers=other["headers"],
                          files={"file": ("x.png", png_bytes(), "image/png")}).json()["id"]
    assert_error(client.post(f"/api/v1/agent/inquiries/{tid}/reply", headers=agent,
                             json={"text": "사진 보내 드려요", "attachment_ids": [foreign]}), 404)
    r = client.post(f"/api/v1/agent/inquiries/{tid}/reply", headers=agent,
                    json={"text": "교환 포장 방법을 사진으로 보내 드려요.", "attachment_ids": [att_id]})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "assigned"  # the replying agent took the inquiry from the queue
    last = client.get(f"/api/v1/chat/sessions/{tid}/messages", headers=ch).json()["messages"][-1]
    assert last["role"] == "agent" and [a["id"] for a in last["attachments"]] == [att_id]
    image = client.get(last["attachments"][0]["url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    with session_scope(engine) as s:
        linked = s.scalar(select(Attachment.message_id).where(Attachment.id == att_id))
        written = s.scalar(select(Message.meta).where(Message.id == last["id"])) or {}
    assert linked == last["id"]
    # the message was written with its photo: a /chat poll between the INSERT and the link sees it too
    assert [a["id"] for a in written.get("attachments", [])] == [att_id]


def test_hub_and_rest_teach_against_the_same_question(client: TestClient, api_settings: Settings,
                                                      engine: Engine) -> None:
    """A 👎 after «상담원 연결»: the hub and `POST …/feedback` (no message id) correct the bot's real answer
    and learn the customer's question, not "a person, please"."""
    from sajang.app.demo import MANUAL_DIR
    from sajang.db.models import Feedback
    from sajang.knowledge.service import get_knowledge
    from sajang.services.inquiry import inquiries
    from sajang.ui.agent_hub import AgentHub

    get_knowledge(api_settings).import_manual_file(MANUAL_DIR / "cooking-galbitang.md")
    question = "해동한 갈비탕 다시 얼려도 되나요?"
    api = inquiries(api_settings)
    threads = []
    for _ in range(2):
        thread = api.start(None, guest_name="손님")
        api.ask(question, thread_id=thread)
        asked = api.ask_for_a_person(thread, None, "ko")
        assert asked.handoff, asked
        threads.append(thread)
    agent = get_user_by_username(engine, "agent")
    assert agent is not None
    me = {"id": agent.id, "username": "agent", "name": agent.display_name, "role": "agent", "locale": "ko"}
    correct = "한 번 해동한 갈비탕은 다시 얼리지 말고 냉장 보관해 이틀 안에 드세요."
    hub = AgentHub(api_settings)
    hub.build()
    hub.on_feedback(me, threads[0], correct)
    r = client.post(f"/api/v1/agent/inquiries/{threads[1]}/feedback", headers=staff_headers(api_settings, engine,
                                                                                          "agent"),
                    json={"correct_text": correct})
    assert r.status_code == 200, r.text
    learned = api.learned_answers()
    assert sorted(x["question"] for x in learned) == [question, question]
    assert r.json()["question"] == question
    assert {x["source_thread_id"] for x in learned} == set(threads)
    for x in learned:
        with session_scope(engine) as s:
            message_id = s.scalar(select(Feedback.message_id).where(Feedback.learned_answer_id == x["id"]))
        messages = {m.id: m for m in api.conversation(x["source_thread_id"]).messages}
        assert message_id in messages, x
        target = messages[message_id]
        assert target.role == "ai" and target.category != "human" and not target.handoff
    # with a message id, only one of the bot's answers: a customer's line or the «connecting you» notice is 404
    messages = api.conversation(threads[1]).messages
    url = f"/api/v1/agent/inquiries/{threads[1]}/feedback"
    for wrong in (next(m for m in messages if m.role == "customer"), next(m for m in messages if m.handoff)):
        r = client.post(url, headers=staff_headers(api_settings, engine, "agent"),
                        json={"correct_text": correct, "message_id": wrong.id})
        assert r.status_code == 404, (wrong, r.text)
    answer = next(m for m in messages if m.role == "ai" and not m.handoff)
    r = client.post(url, headers=staff_headers(api_settings, engine, "agent"),
                    json={"correct_text": correct, "message_id": answer.id})
    assert r.status_code == 200 and r.json()["message_id"] == answer.id, r.text


def test_canned_replies_and_queue_search_over_rest(client: TestClient, api_settings: Settings,
                                                   engine: Engine) -> None:
    """Agents list and render saved replies; only the admin writes them; the queue takes `q`."""
    admin, agent = staff_headers(api_settings, engine, "admin"), staff_headers(api_settings, engine, "agent")
    base = "/api/v1/agent/canned-replies"
    assert client.get(base, headers=agent).json() == []
    body = {"title": "배송 안내", "body": "{고객명}님, 주문 {주문번호}은 {주문상태}입니다. 배송비 {배송비} {모름}"}
    assert_error(client.post(base, headers=agent, json=body), 403)
    r = client.post(base, headers=admin, json=body)
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    assert_error(client.post(base, headers=admin, json=body), 409, "duplicate_title")
    assert_error(client.post(base, headers=admin, json={"title": "x", "body": ""}), 422)
    assert_error(client.post(base, headers=admin, json={"title": "x", "body": "y", "extra": 1}), 422)
    assert_error(client.post(base, headers=admin, json={"title": "x", "body": "a\x00b"}), 422)
    assert_error(client.patch(f"{base}/{rid}", headers=agent, json={"title": "바꿈"}), 403)
    assert client.patch(f"{base}/{rid}", headers=admin, json={"title": "배송 상태"}).json()["title"] == "배송 상태"
    assert_error(client.get(f"{base}/99999", headers=agent), 404)
    assert_error(client.get(f"{base}/0", headers=agent), 422)

    chat = start_chat(client, order_id="O-A1", phone_last4="5678")
    tid = chat["thread_id"]
    assert client.post(f"/api/v1/chat/sessions/{tid}/handoff", headers=chat["headers"]).json()["handoff"]
    out = client.get(f"/api/v1/agent/inquiries/{tid}/canned-replies/{rid}", headers=agent).json()
    assert out["text"] == "김가나님, 주문 O-A1은 배송 중입니다. 배송비 3,000원 {모름}" and out["unknown"] == ["모름"]
    assert_error(client.get(f"/api/v1/agent/inquiries/T-none/canned-replies/{rid}", headers=agent), 404)
    guest = start_chat(client)
    assert client.post(f"/api/v1/chat/sessions/{guest['thread_id']}/handoff", headers=guest["headers"]).json()["handoff"]
    out = client.get(f"/api/v1/agent/inquiries/{guest['thread_id']}/canned-replies/{rid}", headers=agent).json()
    assert out["text"].startswith("[고객명 입력]님, 주문 [주문번호 입력]은 [주문상태 입력]") and "None" not in out["text"]

    def search(q: str, **params: Any) -> list[str]:
        r = client.get("/api/v1/agent/inquiries", params={"status": "all", "q": q, **params}, headers=agent)
        assert r.status_code == 200, r.text
        return [i["thread_id"] for i in r.json()]

    assert search("김가") == [tid] and search("5678") == [tid] and search("O-A1") == [tid]
    from sajang.services.inquiry import handoff_request_text

    asked = handoff_request_text("ko")
    assert set(search(asked[:5])) == {tid, guest["thread_id"]} and len(search(asked[:5], limit=1)) == 1
    assert search("%") == [] and search("김가", status="resolved") == []
    assert_error(client.get("/api/v1/agent/inquiries", params={"q": "x" * 101}, headers=agent), 422)
    assert_error(client.get("/api/v1/agent/inquiries", params={"q": "x", "limit": 0}, headers=agent), 422)
    assert client.delete(f"{base}/{rid}", headers=agent).status_code == 403
    assert client.delete(f"{base}/{rid}", headers=admin).status_code == 204
    assert_error(client.delete(f"{base}/{rid}", headers=admin), 404)
