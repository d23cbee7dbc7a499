"""Staff accounts: hashing, tokens, secret key, demo users, `sajang user`, /login, UI gates."""

from __future__ import annotations

import stat
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from sajang.config import Settings
from sajang.db.engine import session_scope
from sajang.db.models import AuditLog, User
from sajang.db.users import get_user_by_username, list_users
from sajang.errors import SajangError
from sajang.security import (
    SESSION_COOKIE,
    CustomerClaims,
    StaffClaims,
    check_attachment_signature,
    hash_password,
    issue_customer_token,
    issue_staff_token,
    read_token,
    secret_key,
    sign_attachment,
    verify_password,
)
from sajang.services import ratelimit
from sajang.services.accounts import (
    authenticate,
    change_password,
    claims_for,
    create_account,
    ensure_demo_users,
)


@pytest.fixture(autouse=True)
def _fresh_buckets() -> Iterator[None]:
    ratelimit.reset_all()
    yield
    ratelimit.reset_all()


def test_passwords_are_argon2_and_verify() -> None:
    h = hash_password("s3cret-pass")
    assert h.startswith("$argon2id$") and "s3cret-pass" not in h
    assert verify_password("s3cret-pass", h)[0]
    assert not verify_password("s3cret-pasS", h)[0]
    assert not verify_password("anything", None)[0]
    assert not verify_password("anything", "not-a-hash")[0]


def test_secret_key_is_generated_once_with_mode_0600(settings: Settings) -> None:
    key = secret_key(settings)
    path = settings.data_dir / "secret_key"
    assert path.read_text().strip() == key and len(key) >= 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # a restart (new process state) reads the same key: sessions survive
    from sajang import security

    security._key_cache.clear()
    assert secret_key(settings) == key
    assert secret_key(settings.model_copy(update={"secret_key": "explicit"})) == "explicit"


def test_tokens_are_signed_typed_and_scoped(settings: Settings) -> None:
    staff = StaffClaims(7, "kim", "agent", "abc")
    tok = issue_staff_token(settings, staff)
    assert read_token(settings, tok) == staff
    assert read_token(settings, tok[:-2] + ("A" if tok[-2] != "A" else "B") + tok[-1]) is None
    # a bearer token is not a session cookie and vice versa (different salts)
    assert read_token(settings, tok, kind="session") is None
    cookie = issue_staff_token(settings, staff, kind="session")
    assert read_token(settings, cookie, kind="session") == staff and read_token(settings, cookie) is None
    cust = CustomerClaims("thread-1", "C-00001", "홍길동", "ko")
    assert read_token(settings, issue_customer_token(settings, cust)) == cust
    # another shop's key does not validate
    other = settings.model_copy(update={"secret_key": "another-key"})
    assert read_token(other, tok) is None
    sig = sign_attachment(settings, 5, "thread-1")
    assert check_attachment_signature(settings, sig, 5) == "thread-1"
    assert check_attachment_signature(settings, sig, 6) is None


def test_accounts_create_authenticate_change_password(engine: Engine) -> None:
    user = create_account(engine, "minji", "password-1", "agent", "김민지")
    assert user.role == "agent" and user.display_name == "김민지"
    assert authenticate(engine, "MINJI", "password-1") is not None  # usernames are case-insensitive
    assert authenticate(engine, "minji", "password-2") is None
    assert authenticate(engine, "nobody", "password-1") is None
    with pytest.raises(SajangError) as exc:
        create_account(engine, "Minji", "password-9", "agent")
    assert exc.value.status_code == 409
    with pytest.raises(SajangError):
        create_account(engine, "x y", "password-1", "agent")
    with pytest.raises(SajangError):
        create_account(engine, "owner2", "password-1", "superuser")
    with pytest.raises(SajangError):
        create_account(engine, "short", "1234", "agent")
    before = claims_for(get_user_by_username(engine, "minji"))  # type: ignore[arg-type]
    change_password(engine, "minji", "password-2", actor="test")
    assert authenticate(engine, "minji", "password-2") is not None
    assert claims_for(get_user_by_username(engine, "minji")).fingerprint != before.fingerprint  # type: ignore[arg-type]
    with session_scope(engine) as s:
        actions = [a.action for a in s.scalars(select(AuditLog).where(AuditLog.target_type == "user"))]
        details = [a.details for a in s.scalars(select(AuditLog))]
    assert actions == ["user.create", "user.update"]
    assert "password-2" not in str(details) and "$argon2" not in str(details)


def test_demo_users_are_created_once_and_not_reset(engine: Engine) -> None:
    logins = ensure_demo_users(engine)
    assert logins == [("admin", "admin", "admin1234"), ("agent", "agent", "agent1234"),
                      ("agent", "agent2", "agent1234")]
    assert {u.display_name for u in list_users(engine)} == {"사장님", "김민지", "이서연"}
    change_password(engine, "admin", "owner-changed-it", actor="test")
    again = ensure_demo_users(engine)
    assert ("admin", "admin", "admin1234") not in again and len(again) == 2
    assert len(list_users(engine)) == 3
    assert authenticate(engine, "admin", "owner-changed-it") is not None


def test_cli_user_add_list_passwd(cli, engine: Engine) -> None:
    r = cli("user", "add", "seoyeon", "--role", "agent", "--name", "이서연", "--password-stdin", "--json",
            input="pw-for-seoyeon\n")
    assert r.returncode == 0, r.stderr
    import json

    created = json.loads(r.stdout)
    assert created["username"] == "seoyeon" and created["role"] == "agent" and created["display_name"] == "이서연"
    r = cli("user", "add", "boss", "--role", "admin", "--password-stdin", input="boss-password\n")
    assert r.returncode == 0, r.stderr
    r = cli("user", "list", "--json")
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [(u["username"], u["role"]) for u in rows] == [("seoyeon", "agent"), ("boss", "admin")]
    assert all("password" not in k for u in rows for k in u)
    # errors: one line on stderr, non-zero exit, nothing written
    r = cli("user", "add", "seoyeon", "--password-stdin", input="another-pass\n")
    assert r.returncode != 0 and r.stderr.strip().startswith("error:") and "exists" in r.stderr
    r = cli("user", "add", "weak", "--password-stdin", input="123\n")
    assert r.returncode != 0 and "too short" in r.stderr
    r = cli("user", "add", "notty")  # no terminal to prompt on, no --password-stdin
    assert r.returncode != 0 and "--password-stdin" in r.stderr
    r = cli("user", "passwd", "seoyeon", "--password-stdin", input="brand-new-pass\n")
    assert r.returncode == 0, r.stderr
    assert authenticate(engine, "seoyeon", "brand-new-pass") is not None
    assert authenticate(engine, "seoyeon", "pw-for-seoyeon") is None
    r = cli("user", "passwd", "ghost", "--password-stdin", input="brand-new-pass\n")
    assert r.returncode != 0 and "ghost" in r.stderr
    assert len(list_users(engine)) == 2


@pytest.fixture
def web(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """The whole app, UIs mounted, with the demo logins."""
    from sajang.app.main import create_app

    ensure_demo_users(engine)
    with TestClient(create_app(settings)) as client:
        yield client


def _login(client: TestClient, username: str, password: str, next_path: str = "/agent/"):
    client.get("/login", params={"next": next_path})
    return client.post("/login", data={"username": username, "password": password, "next": next_path,
                                       "csrf": client.cookies.get("sajang_csrf") or ""}, follow_redirects=False)


def test_login_page_gates_and_roles(web: TestClient, engine: Engine) -> None:
    # anonymous: UI pages redirect to the login page, Gradio endpoints refuse
    for area in ("agent", "admin"):
        r = web.get(f"/{area}/", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/login?next=/{area}/"
        assert web.get(f"/{area}/config").status_code == 401
    page = web.get("/login")
    assert page.status_code == 200 and "직원 로그인" in page.text and "아이디" in page.text
    assert "Staff login" in web.get("/login", params={"lang": "en"}).text
    # wrong password, missing CSRF token
    assert _login(web, "agent", "wrong-password").status_code == 401
    r = web.post("/login", data={"username": "agent", "password": "agent1234", "csrf": "forged"})
    assert r.status_code == 400 and SESSION_COOKIE not in web.cookies
    # agent: hub yes, dashboard no
    r = _login(web, "agent", "agent1234")
    assert r.status_code == 303 and r.headers["location"] == "/agent/"
    assert web.get("/agent/").status_code == 200
    assert web.get("/agent/config").status_code == 200
    denied = web.get("/admin/", follow_redirects=False)
    assert denied.status_code == 403 and "접근 권한이 없습니다" in denied.text and "김민지" in denied.text
    assert web.get("/admin/config").status_code == 401
    # logout ends it
    web.get("/logout")
    assert web.get("/agent/", follow_redirects=False).status_code == 303
    # admin: both
    r = _login(web, "admin", "admin1234", next_path="/admin/")
    assert r.headers["location"] == "/admin/"
    assert web.get("/admin/").status_code == 200 and web.get("/agent/").status_code == 200


def test_login_refuses_open_redirects(web: TestClient) -> None:
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        r = _login(web, "agent", "agent1234", next_path=evil)
        assert r.status_code == 303 and r.headers["location"] == "/agent", evil
        web.get("/logout")


def test_password_change_or_disable_ends_sessions(web: TestClient, engine: Engine) -> None:
    from sajang.db.users import update_user

    _login(web, "agent", "agent1234")
    assert web.get("/agent/").status_code == 200
    token = web.post("/api/v1/auth/token", data={"username": "agent", "password": "agent1234"}).json()
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert web.get("/api/v1/auth/me", headers=bearer).json()["display_name"] == "김민지"
    change_password(engine, "agent", "a-new-password", actor="test")
    assert web.get("/agent/", follow_redirects=False).status_code == 303
    assert web.get("/api/v1/auth/me", headers=bearer).status_code == 401
    # a disabled user cannot log in or use a fresh token
    token = web.post("/api/v1/auth/token", data={"username": "agent", "password": "a-new-password"}).json()
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    user = get_user_by_username(engine, "agent")
    assert isinstance(user, User)
    update_user(engine, user.id, actor="test", is_active=False)
    from sajang.services.accounts import forget_user

    forget_user(user.id)
    assert web.get("/api/v1/auth/me", headers=bearer).status_code == 401
    assert web.post("/api/v1/auth/token", data={"username": "agent", "password": "a-new-password"}).status_code == 401


def test_login_attempts_are_rate_limited(web: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "_now", lambda: 1000.0)  # no refill while the test runs
    codes = [web.post("/api/v1/auth/token", data={"username": "admin", "password": f"guess-{i}"}).status_code
             for i in range(12)]
    # a few free failures, then this address backs off (`test_security.py`: never the owner elsewhere)
    assert codes[:5] == [401] * 5 and codes[5:] == [429] * 7
    r = web.post("/api/v1/auth/token", data={"username": "admin", "password": "admin1234"})
    assert r.status_code == 429 and r.json()["code"] == "rate_limited" and int(r.headers["retry-after"]) >= 1
