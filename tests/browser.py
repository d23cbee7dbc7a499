"""Shared helpers for browser tests: a live server on a free loopback port, Chromium, staff login.

    from tests.browser import launch_browser, live_server, login, new_page

    @pytest.mark.browser
    def test_x(settings, artifacts):
        with live_server(settings) as base, sync_playwright() as pw:
            browser = launch_browser(pw)
            page = new_page(browser)
            login(page, base, "agent", "agent1234", next_path="/agent/")
            ...
            page.screenshot(path=artifacts / "x.png")

The server runs `sajang.app.main.create_app(settings)` under uvicorn in a thread of the test process,
so it uses exactly the test's database and data dir.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
VIEWPORT = {"width": 1400, "height": 900}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """uvicorn serving an ASGI app on 127.0.0.1:<free port> in a daemon thread."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        import uvicorn

        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on",
                                ws="none")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=f"uvicorn-{self.port}", daemon=True)

    def start(self, timeout: float = 60.0) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.server.started:
                try:
                    if httpx.get(self.url + "/api/v1/health", timeout=2).status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
            if not self.thread.is_alive():
                raise RuntimeError("the test server stopped during start-up")
            time.sleep(0.1)
        raise TimeoutError(f"the test server did not start on {self.url}")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@contextmanager
def live_server(settings: Any, app: Any = None) -> Iterator[str]:
    """Serve `create_app(settings)` (or `app`) and yield its base URL; stopped on exit."""
    if app is None:
        from sajang.app.main import create_app

        app = create_app(settings)
    server = LiveServer(app).start()
    try:
        yield server.url
    finally:
        server.stop()


def launch_browser(playwright: Any, **kwargs: Any) -> Any:
    """Debian's Chromium, headless, with nothing phoning home."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, **kwargs)


def new_page(browser: Any, locale: str = "ko-KR") -> Any:
    """A fresh context (own cookies) at 1400×900 with a Korean locale."""
    context = browser.new_context(viewport=VIEWPORT, locale=locale, timezone_id="Asia/Seoul")
    context.set_default_timeout(30_000)
    return context.new_page()


def login(page: Any, base_url: str, username: str, password: str, next_path: str = "/agent/") -> None:
    """Log in through /login and wait for the target page."""
    page.goto(f"{base_url}/login?next={next_path}")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}{next_path}*")


class Steps:
    """The step a browser test is at, and its page: a wait that times out names them (`diagnosed`)."""

    def __init__(self) -> None:
        self.label: str = "start"
        self.page: Any = None

    def __call__(self, label: str, page: Any) -> None:
        self.label, self.page = label, page


@contextmanager
def diagnosed(steps: Steps, parts: tuple[str, ...], storage_key: str | None = None) -> Iterator[None]:
    """A Playwright error becomes one line naming the step and the end of what `parts` (CSS selectors) of its
    page showed (and the start of the value stored under `storage_key`): CI prints a failing test's summary line
    whole but may elide the traceback above it."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        yield
    except PlaywrightError as error:
        try:
            shown = steps.page.evaluate(
                "(parts) => parts.map(s => s + ': ' + (document.querySelector(s)?.innerText || '')"
                ".replace(/\\s+/g, ' ').slice(-300)).join(' | ')", list(parts)) if steps.page else ""
            if steps.page and storage_key:
                stored = steps.page.evaluate("(key) => String(localStorage.getItem(key)).slice(0, 24)", storage_key)
                shown += f" | stored: {stored}"
        except PlaywrightError as unreadable:
            shown = f"(page unreadable: {str(unreadable).splitlines()[0]})"
        raise AssertionError(f"step «{steps.label}»: {str(error).splitlines()[0]} — {json.dumps(shown, ensure_ascii=False)}"
                             ) from error
