"""The one-tap rating on the customer chat page in Chromium (1440×900): no rating row before the conversation
has ended; after the bot's answer the row asks, a comment and a tap store the rating (the database row), a
thanks line replaces it and comes back after a reload; a conversation handed to a person shows no row until
the agent resolves it, then the row appears without a reload (English here) and a tap stores that rating.

Run on both databases:
    pytest tests/test_chat_csat_browser.py
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test pytest tests/test_chat_csat_browser.py
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from sajang.config import Settings
from sajang.db.models import Conversation, CsatRating
from sajang.db.users import get_user_by_username
from tests.browser import launch_browser, live_server, new_page

pytestmark = pytest.mark.browser
QUESTION = "배송비는 얼마인가요? 무료배송 기준도 알려주세요."


def _ratings(engine: Engine) -> list[tuple[str, int, str | None]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(  # type: ignore[misc]
            select(Conversation.thread_id, CsatRating.score, CsatRating.comment)
            .join(Conversation, Conversation.id == CsatRating.conversation_id).order_by(CsatRating.id)).all()]


def _latest_thread(engine: Engine) -> str:
    with engine.connect() as conn:
        thread = conn.scalar(select(Conversation.thread_id).order_by(Conversation.id.desc()))
    assert thread
    return str(thread)


def _wait_answered(page, n: int) -> None:
    """The n-th bot bubble is complete (its sources line, or any text once the «…» bubble is replaced)."""
    page.wait_for_function(
        """([n]) => { const els = document.querySelectorAll('#chatbot [data-testid="bot"]');
                      if (els.length < n) return false;
                      const t = els[els.length - 1].innerText.trim(); return t.length > 3 && t !== '…'; }""",
        arg=[n])


def test_rating_after_the_bot_answer_and_after_an_agent_resolves(settings: Settings, engine: Engine,
                                                                 artifacts) -> None:
    from playwright.sync_api import sync_playwright

    from sajang.app.demo import MANUAL_DIR
    from sajang.graphs.inquiry.service import get_inquiry_service
    from sajang.knowledge.service import get_knowledge
    from sajang.services.accounts import ensure_demo_users

    ensure_demo_users(engine)
    kb = get_knowledge(settings)
    for name in ("delivery-fee", "cs-hours"):
        kb.import_manual_file(MANUAL_DIR / f"{name}.md")
    with live_server(settings) as base, sync_playwright() as pw:
        browser = launch_browser(pw)
        page = new_page(browser)
        page.set_viewport_size({"width": 1440, "height": 900})
        page.set_default_timeout(120_000)  # waits, not timing checks: CI machines may be busy
        page.goto(f"{base}/chat/")
        box = page.locator("#chat-input textarea")
        box.wait_for()
        csat = page.locator("#csat")
        assert not csat.is_visible()  # nothing to rate yet

        # the bot answers: the conversation has ended, the row asks (in Korean)
        box.fill(QUESTION)
        box.press("Enter")
        _wait_answered(page, 1)
        csat.wait_for(state="visible")
        assert "만족스러우셨나요" in csat.inner_text() and "한 번만" in csat.inner_text()
        assert [page.locator(f"#csat-{n}").inner_text().strip() for n in range(1, 6)] == \
            ["★", "★★", "★★★", "★★★★", "★★★★★"]
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 1440
        for sel in ("#csat-comment", "#csat-5", "#chat-input textarea", "#send-btn"):  # all on the first screen
            b = page.locator(sel).bounding_box()
            assert b and b["y"] >= 0 and b["y"] + b["height"] <= 900, (sel, b)
        page.screenshot(path=str(artifacts / "chat_csat_ask.png"))

        # a comment, then one tap: stored, thanked, the stars and the comment gone
        page.locator("#csat-comment").locator("input, textarea").first.fill("  빠르고 친절했어요  ")
        page.click("#csat-4")
        page.wait_for_function("() => document.querySelector('#csat').innerText.includes('감사합니다')")
        assert "★★★★☆" in csat.inner_text()
        assert not page.locator("#csat-4").is_visible()
        bot_thread = _latest_thread(engine)
        assert _ratings(engine) == [(bot_thread, 4, "빠르고 친절했어요")]
        page.screenshot(path=str(artifacts / "chat_csat_thanks.png"))

        # a reload brings the conversation and the thanks back, never the stars
        page.reload()
        page.wait_for_function("() => (document.querySelector('#csat')?.innerText || '').includes('감사합니다')")
        assert not page.locator("#csat-1").is_visible()

        # a new conversation handed to a person: no row while the person is awaited or answering
        page.click("#new-chat-btn")
        page.wait_for_function("() => !(document.querySelector('#chatbot')?.innerText || '').includes('배송비')")
        page.locator("#csat").wait_for(state="hidden")
        page.click("#handoff-btn")
        _wait_answered(page, 1)
        handed = _latest_thread(engine)
        assert handed != bot_thread
        page.get_by_label("English").check()
        page.wait_for_function("() => document.body.innerText.includes('Talk to a person')")
        agent = get_user_by_username(engine, "agent")
        assert agent is not None
        service = get_inquiry_service(settings)
        assert service.claim(handed, agent.id)
        service.reply(handed, "안녕하세요, 상담원 김민지입니다. 확인해 드릴게요.", agent.id, agent.display_name)
        page.wait_for_function("() => document.querySelector('#chatbot').innerText.includes('김민지')")
        assert not csat.is_visible()

        # the agent resolves it: the row appears without a reload, in the customer's language
        service.resolve(handed, agent.id)
        csat.wait_for(state="visible")
        assert "How was this conversation" in csat.inner_text()
        assert not page.locator("#notify-contact").is_visible()  # no «tell me when a person answers» any more
        page.screenshot(path=str(artifacts / "chat_csat_resolved_en.png"))
        page.set_viewport_size({"width": 390, "height": 844})  # on a phone: the row wraps, nothing sideways
        # the page reflows after the resize (once, in PostgreSQL's full run, the stars were measured mid-reflow:
        # four on one line, the fifth below); wait until it has settled on one line, then measure
        page.wait_for_function("() => new Set([1, 2, 3, 4, 5].map(n => Math.round("
                               "document.querySelector('#csat-' + n).getBoundingClientRect().top))).size === 1",
                               timeout=10_000)
        for sel in ("#csat-comment", "#csat-1", "#csat-5"):
            b = page.locator(sel).bounding_box()
            assert b and b["x"] >= 0 and b["x"] + b["width"] <= 390, (sel, b)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
        stars = [page.locator(f"#csat-{n}").bounding_box() for n in range(1, 6)]
        assert len({round(b["y"]) for b in stars if b}) == 1, stars  # the five stars on one line
        page.screenshot(path=str(artifacts / "chat_csat_phone.png"))
        page.set_viewport_size({"width": 1440, "height": 900})
        page.click("#csat-5")
        page.wait_for_function("() => document.querySelector('#csat').innerText.includes('Thank you')")
        assert _ratings(engine) == [(bot_thread, 4, "빠르고 친절했어요"), (handed, 5, None)]
        browser.close()
