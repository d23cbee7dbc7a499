"""Access to files through the web app (issue #17, items 2 and 3): each Gradio app's file route × anonymous /
customer / agent / admin, the staff download route, and the public /chat's upload route.

Staff files (the admin's outbox CSV, customer photos the hub shows) are never served to non-staff: the hub
links photos to the staff-only attachment route, the outbox export is a 0600 file in the data dir behind
`/staff/files/{token}`, each Gradio app serves only the files of its own folder, and /chat serves none.

Run on both databases:
    pytest tests/test_ui_access.py
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test pytest tests/test_ui_access.py
"""

from __future__ import annotations

import io
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from gradio.utils import get_upload_folder
from PIL import Image
from sqlalchemy import Engine

from sajang.config import Settings
from sajang.db.users import get_user_by_username
from sajang.security import SESSION_COOKIE, CustomerClaims, issue_customer_token, issue_staff_token
from sajang.services import ratelimit, staff_files
from sajang.services.accounts import claims_for, ensure_demo_users

ROLES = ("anonymous", "customer", "agent", "admin")
APP_ROLES = {"chat": set(), "agent": {"agent", "admin"}, "admin": {"admin"}}  # who may read an app's own files
SECRET = b"outbox_id,name,phone\n1,\xea\xb9\x80\xea\xb0\x80\xeb\x82\x98,010-1234-5678\n"


@pytest.fixture(autouse=True)
def _fresh_buckets(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    ratelimit.reset_all()
    monkeypatch.setattr(ratelimit, "_now", lambda: 1000.0)
    yield
    ratelimit.reset_all()


@pytest.fixture
def web(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    from sajang.app.main import create_app

    ensure_demo_users(engine)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def _credentials(settings: Settings, engine: Engine) -> dict[str, dict[str, Any]]:
    """Request options per role: the staff's session cookie, a chat customer's bearer token."""
    out: dict[str, dict[str, Any]] = {"anonymous": {}}
    token = issue_customer_token(settings, CustomerClaims("T-access", "C-A", "김가나", "ko"))
    out["customer"] = {"headers": {"Authorization": f"Bearer {token}"}}
    for name in ("agent", "admin"):
        user = get_user_by_username(engine, name)
        assert user is not None
        out[name] = {"cookies": {SESSION_COOKIE: issue_staff_token(settings, claims_for(user), kind="session")}}
    return out


def _get(web: TestClient, url: str, creds: dict[str, Any]) -> Any:
    web.cookies.clear()
    for key, value in creds.get("cookies", {}).items():
        web.cookies.set(key, value)
    return web.get(url, headers=creds.get("headers", {}))


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), "blue").save(buf, format="PNG")
    return buf.getvalue()


def test_each_gradio_app_serves_only_its_own_files_and_staff_files_only_to_staff(
        web: TestClient, settings: Settings, engine: Engine) -> None:
    from sajang.app.main import gradio_file_dir

    creds = _credentials(settings, engine)
    # a file each app's components cached (a photo the hub showed, an admin's file), one in Gradio's shared
    # upload folder (where the outbox CSV used to go), one in the data dir (stored attachments)
    own: dict[str, Path] = {}
    for area in APP_ROLES:
        folder = gradio_file_dir(settings, area) / "f00d"
        folder.mkdir(parents=True, exist_ok=True)
        own[area] = folder / "photo.png"
        own[area].write_bytes(_png())
    shared = Path(get_upload_folder()) / "sajang-access-test"
    shared.mkdir(parents=True, exist_ok=True)
    shared_csv = shared / "sajang-outbox-test.csv"
    shared_csv.write_bytes(SECRET)
    data_file = Path(settings.data_dir) / "attachments" / "t" / "photo.png"
    data_file.parent.mkdir(parents=True, exist_ok=True)
    data_file.write_bytes(_png())
    seen = 0
    try:
        for app, app_roles in APP_ROLES.items():
            for role in ROLES:
                for area, path in own.items():
                    r = _get(web, f"/{app}/gradio_api/file={path}", creds[role])
                    where = f"{role} /{app} {area}'s file: {r.status_code}"
                    if area == app and role in app_roles:
                        assert r.status_code == 200 and r.content == path.read_bytes(), where
                    else:
                        assert r.status_code in (401, 403, 404), where
                    assert "Traceback" not in r.text
                    seen += 1
                for path in (shared_csv, data_file):
                    r = _get(web, f"/{app}/gradio_api/file={path}", creds[role])
                    assert r.status_code in (401, 403, 404) and b"010-1234" not in r.content, (role, app, path)
                    seen += 1
                # Gradio would fetch a URL given as the file (network at run time): never
                r = _get(web, f"/{app}/gradio_api/file=http://127.0.0.1:9/x.png", creds[role])
                assert r.status_code in (401, 403, 404), (role, app)
    finally:
        shared_csv.unlink()
        shared.rmdir()
    assert seen == 3 * 4 * 5
    # each app's folder is private to the server's user
    for area in APP_ROLES:
        assert stat.S_IMODE(gradio_file_dir(settings, area).stat().st_mode) == 0o700


def test_the_outbox_export_is_a_private_file_served_to_the_admin_only(
        web: TestClient, settings: Settings, engine: Engine) -> None:
    creds = _credentials(settings, engine)
    before = {p.name for p in Path(tempfile.gettempdir()).glob("sajang-outbox-*")}

    def write(fh: Any) -> int:
        fh.write(SECRET.decode())
        return 1

    token, n = staff_files.write_staff_file(settings, "admin", "sajang-outbox-20261202-010203.csv", write)
    assert n == 1
    path = staff_files.staff_file(settings, token, "admin")
    assert path.is_relative_to(Path(settings.data_dir)) and stat.S_IMODE(path.stat().st_mode) == 0o600
    url = staff_files.download_url(token)
    for role in ROLES:
        r = _get(web, url, creds[role])
        if role == "admin":
            assert r.status_code == 200 and "010-1234-5678" in r.content.decode("utf-8-sig")
            assert "attachment" in r.headers["content-disposition"] and r.headers["cache-control"] == "no-store"
        else:
            assert r.status_code in (401, 404) and b"010-1234" not in r.content, role
    # no Gradio app serves it either, and nothing is left in the system's temp directory
    for app in APP_ROLES:
        r = _get(web, f"/{app}/gradio_api/file={path}", creds["admin"])
        assert r.status_code in (403, 404), app
    assert {p.name for p in Path(tempfile.gettempdir()).glob("sajang-outbox-*")} == before
    # cleaned up: past its time the file is deleted and the link answers 404
    assert staff_files.sweep(settings, now=path.stat().st_mtime + staff_files.STAFF_FILE_TTL_S + 1) == 1
    assert not path.exists() and _get(web, url, creds["admin"]).status_code == 404


def _upload(web: TestClient, files: list[tuple[str, bytes, str]], ip_headers: dict[str, str] | None = None) -> Any:
    web.cookies.clear()
    return web.post("/chat/gradio_api/upload", files=[("files", f) for f in files], headers=ip_headers or {})


def test_the_public_chat_upload_route_is_bounded(web: TestClient, settings: Settings) -> None:
    png = _png()
    ok = _upload(web, [("a.png", png, "image/png")])
    assert ok.status_code == 200, ok.text
    stored = Path(ok.json()[0])
    from sajang.app.main import gradio_file_dir

    # kept in /chat's own private folder, and /chat's file route does not serve it back (no file hosting)
    assert stored.is_relative_to(gradio_file_dir(settings, "chat"))
    assert web.get(f"/chat/gradio_api/file={stored}").status_code == 404
    refusals = [
        _upload(web, [("a.html", b"<script>alert(1)</script>", "text/html")]),  # not an image
        _upload(web, [("a.png", png, "image/png"), ("b.png", png, "image/png")]),  # more than one file
        _upload(web, [("big.png", png + b"\0" * (settings.max_attachment_bytes + 20_000), "image/png")]),
    ]
    assert [r.status_code for r in refusals] == [415, 400, 413], [r.text for r in refusals]
    for r in refusals:
        assert r.json()["code"] and "Traceback" not in r.text
    # a rate per client address, like the REST attachment route
    codes = [_upload(web, [("a.png", png, "image/png")]).status_code for _ in range(settings.rate_limit_per_minute)]
    assert codes[-1] == 429 and 200 in codes


# --- 5. malformed anonymous Gradio calls ---------------------------------------------------------------


def test_malformed_anonymous_gradio_calls_get_4xx_and_leave_no_traceback(
        web: TestClient, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    web.cookies.clear()
    calls = [
        ("/chat/gradio_api/queue/join", {"data": [1, 2], "fn_index": 9999, "session_hash": "x"}),
        ("/chat/gradio_api/run/predict", {"data": [1]}),
        ("/chat/gradio_api/api/predict", {"data": [1]}),
        ("/chat/gradio_api/call/no_such_function", {"data": [1]}),
        ("/chat/gradio_api/queue/join", {"data": "x", "fn_index": 0, "session_hash": "x"}),
        ("/chat/gradio_api/component_server", {"component_id": 1, "fn_name": "x", "data": 1, "session_hash": "s"}),
    ]
    for url, body in calls:
        r = web.post(url, json=body)
        assert 400 <= r.status_code < 500, (url, r.status_code, r.text[:200])
    # wrong inputs for a real event go through the queue: Gradio's error event, not a traceback per call
    for api, data in (("verify", [1, 2, 3]), ("attach", ["/etc/passwd", {}])):
        r = web.post(f"/chat/gradio_api/call/{api}", json={"data": data})
        assert r.status_code == 200, r.text
        with web.stream("GET", f"/chat/gradio_api/call/{api}/{r.json()['event_id']}") as events:
            assert b"event: error" in events.read()
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err + caplog.text
