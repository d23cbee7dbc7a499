"""The customer chat page in Chromium: a Korean question gets a Korean answer with sources; verification;
«상담원 연결» and the agent's reply appearing without a reload; the English switch."""

from __future__ import annotations

import re

import pytest
from PIL import Image
from sqlalchemy import Engine, select

from sajang.config import Settings
from sajang.db.engine import session_scope
from sajang.db.models import Conversation, Customer, Order
from sajang.db.users import get_user_by_username
from tests.browser import launch_browser, live_server, new_page

pytestmark = pytest.mark.browser
HANGUL = re.compile(r"[가-힣]")


def _bot_messages(page):
    return page.locator('#chatbot [data-testid="bot"]')


def _wait_bot_count(page, n: int, timeout_ms: int = 180_000) -> None:
    page.wait_for_function(
        """([n]) => {
            const els = document.querySelectorAll('#chatbot [data-testid="bot"]');
            if (els.length < n) return false;
            const t = els[els.length - 1].innerText.trim();
            return t.length > 3 && t !== '…';
        }""", arg=[n], timeout=timeout_ms)


def test_chat_page_korean_answer_handoff_and_agent_reply(settings: Settings, engine: Engine, artifacts,
                                                         tmp_path) -> None:
    from playwright.sync_api import sync_playwright

    from sajang.app.demo import seed_everything
    from sajang.graphs.inquiry.service import get_inquiry_service

    seed_everything(settings, customers=20, seed=7)
    with session_scope(engine) as s:
        order_id, phone, name = s.execute(
            select(Order.id, Customer.phone, Customer.name).join(Customer, Customer.id == Order.customer_id)
            .where(Customer.id == "C-00001").order_by(Order.ordered_at.desc())).first()  # type: ignore[misc]
    with live_server(settings) as base, sync_playwright() as pw:
        browser = launch_browser(pw)
        page = new_page(browser)
        page.set_default_timeout(120_000)  # generous: CI machines may be busy (waits, not timing checks)
        page.goto(f"{base}/chat/")
        box = page.locator("#chat-input textarea")
        box.wait_for()
        assert "고객센터" in page.inner_text("body")

        # a guest asks in Korean and gets a Korean answer with its sources
        box.fill("배송비는 얼마인가요? 무료배송 기준도 알려주세요.")
        box.press("Enter")
        _wait_bot_count(page, 1)
        # the answer streams in; its sources line is added when it is complete
        page.wait_for_function("""() => [...document.querySelectorAll('#chatbot [data-testid="bot"]')]
                                          .pop().innerText.includes('참고한 안내')""")
        answer = _bot_messages(page).last.inner_text()
        assert len(HANGUL.findall(answer)) >= 10, answer
        assert "참고한 안내" in answer, answer
        page.screenshot(path=str(artifacts / "chat_korean_answer.png"))

        # verification with order number + last 4 phone digits
        page.locator("#order-id").locator("input, textarea").first.fill(order_id)
        page.locator("#phone4").locator("input, textarea").first.fill(re.sub(r"\D", "", phone)[-4:])
        page.click("#verify-btn")
        page.wait_for_function("() => document.querySelector('#who').innerText.includes('본인 확인되었습니다')")
        assert name in page.inner_text("#who")

        # a photo goes with the next message and is shown through its signed link
        photo = tmp_path / "파손.png"
        Image.new("RGB", (120, 80), "orange").save(photo)
        with page.expect_file_chooser() as chooser:
            page.click("#attach-btn")
        chooser.value.set_files(str(photo))
        page.wait_for_function("() => document.body.innerText.includes('첨부됨')")
        before = _bot_messages(page).count()
        box.fill("포장이 터져서 왔어요. 사진 보내드립니다.")
        box.press("Enter")
        _wait_bot_count(page, before + 1)
        img = page.locator('#chatbot [data-testid="user"] img').last
        img.wait_for()
        assert "/api/v1/attachments/" in (img.get_attribute("src") or "")
        page.wait_for_function("""() => { const i = [...document.querySelectorAll('#chatbot [data-testid="user"] img')].pop();
                                          return i && i.complete && i.naturalWidth === 120; }""")
        page.screenshot(path=str(artifacts / "chat_photo.png"))

        # ask for a person; the agent's reply shows up without a reload
        before = _bot_messages(page).count()
        page.click("#handoff-btn")
        _wait_bot_count(page, before + 1)
        with session_scope(engine) as s:
            thread_id = s.scalar(select(Conversation.thread_id).where(Conversation.customer_id == "C-00001")
                                 .order_by(Conversation.id.desc()))
        assert thread_id
        agent = get_user_by_username(engine, "agent")
        assert agent is not None
        service = get_inquiry_service(settings)
        assert service.claim(thread_id, agent.id)
        service.reply(thread_id, "안녕하세요, 상담원 김민지입니다. 주문하신 상품 바로 확인해 드릴게요.", agent.id,
                      agent.display_name)
        page.wait_for_function(
            "() => document.querySelector('#chatbot').innerText.includes('상담원 김민지입니다')")
        page.screenshot(path=str(artifacts / "chat_agent_reply.png"))

        # English switch relabels the page
        page.get_by_label("English").check()
        page.wait_for_function("() => document.body.innerText.includes('Talk to a person')")
        browser.close()


RESTOCK_QUESTION = "품절된 상품은 언제 다시 들어와요?"
TAUGHT_RANGES = "냉동·냉장 식품은 보통 2~5일, 게장·선물세트는 5~10일 뒤에 다시 들어와요."
AGENT_RANGES = "제주는 2~3일, 울릉도는 3~4일 더 걸려요. *별표*와 1. 번호도 그대로 보여요."


def test_ranges_render_as_written_in_the_chat_page_and_the_hub(settings: Settings, engine: Engine,
                                                               artifacts) -> None:
    """«2~5일 … 5~10일» in one answer (an agent taught it): Markdown would strike «5일 … 5» through and
    show «25일 … 510일». The page's rendered text is read back (innerText) on both pages, and no
    strikethrough element exists."""
    from playwright.sync_api import sync_playwright

    from sajang.app.demo import MANUAL_DIR
    from sajang.graphs.inquiry.service import get_inquiry_service
    from sajang.knowledge.service import get_knowledge
    from sajang.services.accounts import ensure_demo_users
    from tests.browser import login

    ensure_demo_users(engine)
    kb = get_knowledge(settings)
    for name in ("stock-restock", "cs-hours"):  # the restock article states ranges too
        kb.import_manual_file(MANUAL_DIR / f"{name}.md")
    service = get_inquiry_service(settings)
    taught = service.ask(RESTOCK_QUESTION)
    assert service.feedback(taught["thread_id"], TAUGHT_RANGES, author_name="김민지")["answer"] == TAUGHT_RANGES
    with live_server(settings) as base, sync_playwright() as pw:
        browser = launch_browser(pw)
        page = new_page(browser)
        page.set_default_timeout(120_000)  # waits, not timing checks: CI machines may be busy
        page.goto(f"{base}/chat/")
        box = page.locator("#chat-input textarea")
        box.wait_for()
        box.fill(RESTOCK_QUESTION)
        box.press("Enter")
        _wait_bot_count(page, 1)
        page.wait_for_function("""() => [...document.querySelectorAll('#chatbot [data-testid="bot"]')]
                                          .pop().innerText.includes('참고한 안내')""")
        answer = _bot_messages(page).last.inner_text()
        assert TAUGHT_RANGES in answer, answer
        assert page.locator("#chatbot del, #chatbot s").count() == 0
        page.screenshot(path=str(artifacts / "chat_ranges_literal.png"))

        # an agent's reply with ranges and Markdown-looking characters reaches the customer as written
        with session_scope(engine) as s:
            thread_id = s.scalar(select(Conversation.thread_id).order_by(Conversation.id.desc()))
        assert thread_id and thread_id != taught["thread_id"]
        agent = get_user_by_username(engine, "agent")
        assert agent is not None
        assert service.claim(thread_id, agent.id)
        service.reply(thread_id, AGENT_RANGES, agent.id, agent.display_name)
        page.wait_for_function("() => document.querySelector('#chatbot').innerText.includes('울릉도')")
        chat_text = page.inner_text("#chatbot")
        assert AGENT_RANGES in chat_text.replace("\n", " "), chat_text

        # the hub shows the same conversation literally
        hub = new_page(browser)
        login(hub, base, "agent", "agent1234", next_path="/agent/")
        hub.locator('#sj-queue [data-tab="mine"]').click()
        item = hub.locator(f'#sj-queue [data-thread="{thread_id}"]')
        item.wait_for()
        item.click()
        hub.wait_for_function("() => document.querySelector('#sj-chat').innerText.includes('울릉도')")
        hub_text = hub.inner_text("#sj-chat")
        assert TAUGHT_RANGES in hub_text, hub_text
        assert AGENT_RANGES in hub_text.replace("\n", " "), hub_text
        assert hub.locator("#sj-chat del, #sj-chat s").count() == 0
        hub.screenshot(path=str(artifacts / "agent_hub_ranges_literal.png"))
        browser.close()
