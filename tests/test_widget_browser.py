"""The web widget in real Chromium, embedded in a shop page served from another origin: `GET /widget.js`,
CORS from `SAJANG_CORS_ORIGINS`, a signed member identity, answers with a typing indicator, quick-reply chips,
«상담원 연결» and the agent's reply arriving while the chat is open, the conversation surviving a reload.
Screenshots at 1440×900 and 390×844 in test-artifacts/. Also the headers without a browser (CORS preflight,
`Content-Security-Policy: frame-ancestors`) and the member signature checks.

Signed identity as Intercom's identity verification (`user_hash` = HMAC-SHA256 of the user id with a secret
the shop's server holds) and Channel.io's member hash: https://developers.intercom.com/installing-intercom/web/identity-verification
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from test_inquiry_support import A_TRACK, A, seed_store

from sajang.config import Settings, get_settings
from sajang.db.engine import session_scope
from sajang.db.models import Conversation, User
from sajang.security import member_hash
from sajang.services import ratelimit
from sajang.services.accounts import StaffMember
from sajang.services.inquiry import inquiries
from tests.browser import LiveServer, free_port, launch_browser

WIDGET_SECRET = "widget-secret-for-tests"


class ShopSite:
    """The shop's own page on another origin (localhost vs our 127.0.0.1), with the one-line script."""

    def __init__(self, sajang_url: str, member: str | None = None) -> None:
        self.port = free_port()
        self.origin = f"http://localhost:{self.port}"
        attrs = f' data-member-id="{member}" data-member-hash="{member_hash(WIDGET_SECRET, member)}"' if member else ""
        html = ("<!doctype html><html lang='ko'><head><meta charset='utf-8'>"
                "<meta name='viewport' content='width=device-width,initial-scale=1'><title>사장님네 식탁 쇼핑몰</title>"
                "<style>body{margin:0;font-family:sans-serif;background:#faf7f2}header{background:#3d2b1f;color:#fff;"
                "padding:18px 24px;font-size:20px}main{padding:24px}.card{background:#fff;border-radius:12px;padding:18px;"
                "margin-bottom:14px;box-shadow:0 1px 3px rgba(0,0,0,.08)}</style></head><body>"
                "<header>사장님네 식탁 — 밀키트 · 주방용품</header><main>"
                "<div class='card'><h2>순살 갈비탕 2인분</h2><p>16,000원 · 오늘 2시 전 결제 시 당일 출발</p></div>"
                "<div class='card'><h2>왕만두 1kg</h2><p>18,000원</p></div></main>"
                f"<script src='{sajang_url}/widget.js'{attrs} async></script></body></html>").encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(html)))
                self.end_headers()
                self.wfile.write(html)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def _fresh_buckets() -> Iterator[None]:
    ratelimit.reset_all()
    yield
    ratelimit.reset_all()


def _settings(monkeypatch: pytest.MonkeyPatch, shop_origin: str) -> Settings:
    monkeypatch.setenv("SAJANG_CHANNELS", "widget")
    monkeypatch.setenv("SAJANG_CORS_ORIGINS", f"{shop_origin},https://other-shop.example")
    monkeypatch.setenv("SAJANG_FRAME_ANCESTORS", f"{shop_origin} https://*.cafe24.com".replace(" ", ","))
    monkeypatch.setenv("SAJANG_WIDGET_SECRET", WIDGET_SECRET)
    get_settings.cache_clear()
    return get_settings()


def test_cors_frame_ancestors_and_member_signature(settings: Settings, engine: Engine, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from sajang.app.main import create_app

    seed_store(settings, engine, tmp_path)
    shop = "http://localhost:8123"
    client = TestClient(create_app(_settings(monkeypatch, shop), mount_ui=False))
    script = client.get("/widget.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert "사장님네 식탁" in script.text and "/*CONFIG*/{}" not in script.text
    preflight = client.options("/api/v1/chat/sessions", headers={
        "Origin": shop, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})
    assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == shop
    stranger = client.options("/api/v1/chat/sessions", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in stranger.headers
    health = client.get("/api/v1/health")
    assert health.headers["content-security-policy"] == f"frame-ancestors 'self' {shop} https://*.cafe24.com"
    assert "x-frame-options" not in health.headers  # it cannot name the shop: the CSP decides

    signed = client.post("/api/v1/chat/sessions", json={"channel": "widget", "member_id": A,
                                                        "member_hash": member_hash(WIDGET_SECRET, A)})
    assert signed.status_code == 201 and signed.json()["verified"] and signed.json()["customer_id"] == A
    forged = client.post("/api/v1/chat/sessions", json={"member_id": A, "member_hash": member_hash("guess", A)})
    assert forged.status_code == 401 and forged.json()["code"] == "bad_member_hash"
    unknown = client.post("/api/v1/chat/sessions", json={"member_id": "M-404",
                                                         "member_hash": member_hash(WIDGET_SECRET, "M-404")})
    assert unknown.status_code == 404 and unknown.json()["code"] == "member_unknown"
    with session_scope(engine) as s:
        assert s.scalar(select(Conversation.channel).where(
            Conversation.thread_id == signed.json()["thread_id"])) == "widget"


def _agent(engine: Engine) -> StaffMember:
    with session_scope(engine) as s:
        u = s.scalar(select(User).where(User.username == "agent"))
        assert u is not None
        return StaffMember(id=u.id, username=u.username, name=u.display_name, role="agent", locale="ko")


def _widget(page: Any) -> Any:
    return page.locator("#sajang-chat-widget")


def _open(page: Any) -> None:
    _widget(page).locator(".bubble").click()
    _widget(page).locator(".panel.open").wait_for()


def _wait_rows(page: Any, selector: str, count: int) -> None:
    page.wait_for_function(
        """([sel, n]) => {
            const root = document.querySelector('#sajang-chat-widget').shadowRoot;
            return root.querySelectorAll(sel).length >= n && !root.querySelector('.typing');
        }""", arg=[selector, count], timeout=180_000)


@pytest.mark.browser
def test_widget_on_another_origin(settings: Settings, engine: Engine, tmp_path: Path, artifacts: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from playwright.sync_api import sync_playwright

    from sajang.app.main import create_app

    seed_store(settings, engine, tmp_path)
    port = free_port()
    site = ShopSite(f"http://127.0.0.1:{port}", member=A)
    app_settings = _settings(monkeypatch, site.origin)
    server = LiveServer(create_app(app_settings, mount_ui=False), port=port).start()
    try:
        with sync_playwright() as pw:
            browser = launch_browser(pw)
            desktop = browser.new_context(viewport={"width": 1440, "height": 900}, locale="ko-KR",
                                          timezone_id="Asia/Seoul")
            desktop.set_default_timeout(120_000)
            page = desktop.new_page()
            page.goto(site.origin + "/")
            _widget(page).locator(".bubble").wait_for()
            _open(page)
            widget = _widget(page)
            assert "무엇을 도와드릴까요" in widget.locator(".log").inner_text()
            assert widget.locator(".chip").all_inner_texts() == ["배송 조회", "교환·반품", "취소", "상품 문의",
                                                                 "상담원 연결"]
            # a signed member asks about their order: answered from their own orders, no order number asked
            widget.locator("textarea").fill("주문한 거 어디쯤 왔어요?")
            widget.locator("textarea").press("Enter")
            _wait_rows(page, ".row.them:not(.typing)", 2)
            assert A_TRACK in widget.locator(".log").inner_text()
            widget.locator(".chip", has_text="교환·반품").click()
            _wait_rows(page, ".row.them:not(.typing)", 3)
            assert "읽음" in widget.locator(".row.me .meta").first.inner_text()
            page.screenshot(path=str(artifacts / "widget_desktop_1440x900.png"))

            # reload: the conversation is still there
            page.reload()
            _open(page)
            _wait_rows(page, ".row.me", 2)
            assert "주문한 거 어디쯤 왔어요?" in _widget(page).locator(".log").inner_text()

            # a person, then the agent's reply shows up in the open chat
            _widget(page).locator(".chip", has_text="상담원 연결").click()
            _wait_rows(page, ".row.me", 3)
            with session_scope(engine) as s:
                thread_id = s.scalar(select(Conversation.thread_id).where(Conversation.channel == "widget"))
            assert thread_id
            inquiries(app_settings).reply(thread_id, "안녕하세요, 김민지입니다. 내일 오전 도착 예정이에요.", _agent(engine))
            _wait_rows(page, ".row.agent", 1)
            assert "상담원 김민지" in _widget(page).locator(".row.agent").inner_text()
            page.screenshot(path=str(artifacts / "widget_desktop_agent_reply.png"))

            mobile = browser.new_context(viewport={"width": 390, "height": 844}, locale="ko-KR",
                                         timezone_id="Asia/Seoul", is_mobile=True, has_touch=True,
                                         device_scale_factor=2)
            mobile.set_default_timeout(120_000)
            phone = mobile.new_page()
            phone.goto(site.origin + "/")
            phone.screenshot(path=str(artifacts / "widget_mobile_390x844_closed.png"))
            _open(phone)
            _widget(phone).locator("textarea").fill("배송비 얼마예요?")
            _widget(phone).locator(".send").click()
            _wait_rows(phone, ".row.them:not(.typing)", 2)
            phone.screenshot(path=str(artifacts / "widget_mobile_390x844.png"))
            browser.close()
    finally:
        server.stop()
        site.close()
