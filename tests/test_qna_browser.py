"""The agent hub's 상품 Q&A tab in Chromium against the real web app and database: the queue shows the
questions with their «상품 Q&A» badge, the Coupang one due first; the sold-out product's facts sit beside
the question; the agent edits the AI draft and approves it — stored once, with who answered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page
from sqlalchemy import Engine

from sajang.config import Settings
from sajang.db.engine import session_scope
from sajang.db.models import ProductQna
from sajang.services import qna
from tests.browser import launch_browser, live_server, login, new_page
from tests.test_qna import seed

pytestmark = pytest.mark.browser
WAIT_MS = 60_000


def _wait_text(page: Page, selector: str, text: str, timeout: int = WAIT_MS) -> None:
    page.wait_for_function("([s, t]) => { const e = document.querySelector(s); return !!e && e.innerText.includes(t); }",
                           arg=[selector, text], timeout=timeout)


def test_qna_tab_shows_deadline_order_product_facts_and_approves_an_edit(settings: Settings, engine: Engine,
                                                                         artifacts: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from sajang.services.accounts import ensure_demo_users

    ensure_demo_users(engine)
    seed(settings, engine, tmp_path, agent=False)
    now = datetime.now(UTC)
    with session_scope(engine) as s:
        s.add(ProductQna(id="Q-1", product_id="P-002", text="선물 포장 되나요?", asked_at=now - timedelta(hours=30),
                         marketplace="smartstore"))
        s.add(ProductQna(id="coupang:844", product_id="P-001", text="품절이네요 ㅠ 언제 다시 들어와요?",
                         asked_at=now - timedelta(hours=20), marketplace="coupang"))
    qna.draft_pending(settings)
    with live_server(settings) as base, sync_playwright() as pw:
        browser = launch_browser(pw)
        page = new_page(browser)
        login(page, base, "agent", "agent1234", next_path="/agent/")
        # the main queue lists both questions with their badge; a click opens that one in the Q&A tab
        _wait_text(page, "#sj-queue", "선물 포장 되나요?")
        item = page.locator('#sj-queue [data-qna="Q-1"]')
        assert "상품 Q&A" in item.inner_text() and "고기 왕만두" in item.inner_text()
        assert page.locator("#sj-queue [data-qna]").count() == 2
        page.screenshot(path=str(artifacts / "agent_hub_queue_qna.png"))
        item.click()
        _wait_text(page, "#sj-qa-detail", "선물 포장")
        _wait_text(page, "#sj-qa-col-queue", "(2)")
        labels = page.locator("#sj-qa-queue label").all_inner_texts()
        assert "[상품 Q&A]" in labels[0] and "쿠팡" in labels[0] and "4시간 남음" in labels[0]  # Coupang's 24 h
        assert "스마트스토어" in labels[1]
        page.locator("#sj-qa-queue label").nth(0).click()
        _wait_text(page, "#sj-qa-detail", "언제 다시 들어와요")
        _wait_text(page, "#sj-qa-product", "품절")
        product = page.inner_text("#sj-qa-product")
        assert "순살 갈비탕" in product and "호주산" in product and "재입고 예정" in product
        draft = page.locator("#sj-qa-draft textarea")
        assert "재입고될 예정" in draft.input_value()
        edited = draft.input_value().replace("입고되는 대로 바로 주문하실 수 있습니다.", "재입고 알림을 신청해 주세요.")
        draft.fill(edited)
        page.screenshot(path=str(artifacts / "agent_hub_qna.png"))
        page.click("#sj-qa-approve")
        _wait_text(page, "#sj-qa-note", "답변을 등록했습니다")
        done = qna.get(settings, "coupang:844")
        assert done.answered and done.answer == edited and done.answered_by == "김민지"
        _wait_text(page, "#sj-qa-col-queue", "(1)")
        page.screenshot(path=str(artifacts / "agent_hub_qna_done.png"))
        browser.close()
