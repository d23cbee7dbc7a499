"""The agent hub's 리뷰 tab in Chromium against the real web app and database: an agent analyses the new
reviews, opens the 4★ leaking-pouch review (aspects, product, customer, the product's other reviews),
edits the AI draft and approves it — the edited reply is published once, and a second click on the
next review, shown with its buttons disarmed, publishes nothing — undoes the publication (the review is a
draft again), approves it again, then rejects the 1★ one."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page
from sqlalchemy import Engine

from sajang.config import Settings
from sajang.graphs.review import service as svc
from tests.browser import launch_browser, live_server, login, new_page
from tests.test_reviews import HAPPY, LEAK, seed_reviews

pytestmark = pytest.mark.browser
WAIT_MS = 60_000
EDITED = "홍길동 고객님, 갈비탕 포장이 터져서 정말 죄송합니다. 오늘 새 상품으로 재발송해 드리겠습니다."


def _wait_text(page: Page, selector: str, text: str, timeout: int = WAIT_MS) -> None:
    page.wait_for_function("([s, t]) => { const e = document.querySelector(s); return !!e && e.innerText.includes(t); }",
                           arg=[selector, text], timeout=timeout)


def test_reviews_tab_approve_edited_draft_and_reject(settings: Settings, engine: Engine, artifacts: Path) -> None:
    from playwright.sync_api import sync_playwright

    from sajang.db.users import get_user_by_username
    from sajang.services.accounts import ensure_demo_users

    ensure_demo_users(engine)
    seed_reviews(engine)
    # the 1★ review's buttons stay disarmed long enough for the steps below on a busy machine
    settings = settings.model_copy(update={"review_arm_seconds": 4.0})
    with live_server(settings) as base, sync_playwright() as pw:
        browser = launch_browser(pw)
        page = new_page(browser)
        login(page, base, "agent", "agent1234", next_path="/agent/")
        page.click("#sj-tab-reviews-button")
        page.click("#sj-rv-analyse")
        _wait_text(page, "#sj-rv-queue", "순살 갈비탕")
        _wait_text(page, "#sj-rv-col-queue", "(2)")
        page.locator("#sj-rv-queue label", has_text="순살 갈비탕").click()
        _wait_text(page, "#sj-rv-detail", LEAK[:12])
        detail = page.inner_text("#sj-rv-detail")
        assert "★★★★☆" in detail and "포장/파손" in detail and "홍길동" in detail and "O-1001" in detail
        _wait_text(page, "#sj-rv-product", HAPPY[:10])  # the product's other review beside it
        draft = page.locator("#sj-rv-draft textarea")
        assert "포장이 터져" in draft.input_value()
        draft.fill(EDITED)
        page.screenshot(path=str(artifacts / "agent_hub_reviews.png"))
        page.click("#sj-rv-approve")
        _wait_text(page, "#sj-rv-note", "게시했습니다")
        _wait_text(page, "#sj-rv-detail", "일주일")  # moved on to the 1★ review …
        # … where a second click lands (issue #17 item 12: it published this review unread): the button is
        # disabled, and a click the browser lets through anyway is refused by the server
        approve = page.locator("#sj-rv-approve")
        assert approve.is_disabled() and "확인 중" in approve.inner_text()
        approve.click(force=True)
        page.screenshot(path=str(artifacts / "agent_hub_reviews_advanced.png"))
        page.evaluate("() => { const b = document.querySelector('#sj-rv-approve'); b.disabled = false; b.click(); }")
        _wait_text(page, "#sj-rv-note", "아무것도 처리하지 않았습니다")
        page.wait_for_function("() => !document.querySelector('#sj-rv-approve').disabled", timeout=WAIT_MS)
        assert svc.get_review(settings, "R-3")["reply_status"] == "draft"
        assert svc.get_review(settings, "R-1")["reply_status"] == "published"
        # 게시 취소: the reply goes back to a draft and its review is shown again
        page.click("#sj-rv-undo")
        _wait_text(page, "#sj-rv-note", "게시를 취소했습니다")
        _wait_text(page, "#sj-rv-detail", LEAK[:12])
        undone = svc.get_review(settings, "R-1")
        assert undone["reply_status"] == "draft" and undone["published_at"] is None
        assert page.locator("#sj-rv-draft textarea").input_value() == EDITED.replace("홍길동 고객님", "고객님")
        page.click("#sj-rv-approve")
        _wait_text(page, "#sj-rv-note", "게시했습니다")
        row = svc.get_review(settings, "R-1")
        user = get_user_by_username(engine, "agent")
        assert user is not None
        # published without the customer's name (issue #17: public replies carry no name or order number)
        assert row["reply_status"] == "published" and row["reply"] == EDITED.replace("홍길동 고객님", "고객님")
        assert row["replied_by"] == user.display_name and row["published_at"]
        # the queue moved on to the remaining 1★ review; reject it
        _wait_text(page, "#sj-rv-col-queue", "(1)")
        _wait_text(page, "#sj-rv-detail", "일주일")
        page.click("#sj-rv-reject")
        _wait_text(page, "#sj-rv-note", "답글 없이 처리했습니다")
        _wait_text(page, "#sj-rv-empty", "없습니다")
        assert svc.get_review(settings, "R-3")["reply_status"] == "rejected"
        page.screenshot(path=str(artifacts / "agent_hub_reviews_done.png"))
        browser.close()
