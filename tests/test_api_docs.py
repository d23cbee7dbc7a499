"""`/api/v1/docs` works offline: every operation of the OpenAPI document on one page rendered by the app,
no script and no asset from anywhere else (FastAPI's default page loads Swagger UI from a CDN)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sajang.config import Settings


def test_docs_page_lists_every_operation_without_outside_assets(settings: Settings) -> None:
    from sajang.app.main import create_app

    client = TestClient(create_app(settings, mount_ui=False))
    spec = client.get("/api/v1/openapi.json").json()
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "<script" not in html and "cdn" not in html.lower() and "src=" not in html
    assert "default-src 'none'" in page.headers["content-security-policy"]
    operations = [(m.upper(), p) for p, item in spec["paths"].items() for m in item]
    assert len(operations) >= 20
    for method, path in operations:
        assert f">{method}</span>{path}" in html, (method, path)
    assert "Sajang REST API 문서" in html and "Sajang REST API reference" in client.get("/api/v1/docs?lang=en").text


@pytest.mark.browser
def test_docs_page_in_the_browser_loads_nothing_from_outside(settings: Settings, artifacts: Path) -> None:
    from playwright.sync_api import sync_playwright

    from tests.browser import launch_browser, live_server, new_page

    with live_server(settings) as base, sync_playwright() as pw:
        browser = launch_browser(pw)
        page = new_page(browser)
        requested: list[str] = []
        page.on("request", lambda r: requested.append(r.url))
        page.goto(f"{base}/api/v1/docs")
        page.click("details summary >> nth=0")
        page.screenshot(path=str(artifacts / "api_docs.png"), full_page=False)
        assert page.locator("details").count() >= 20
        browser.close()
    assert requested and all(url.startswith(base) for url in requested), requested
