"""The customer chat page in Chromium: on a phone and a desktop, the shop's name (as the owner last saved it), the
welcome bubble and the quick-reply chips (one sends its text and gets an answer); a Korean question gets a
Korean answer with sources; verification;
«상담원 연결» and the agent's reply appearing without a reload; a reload and a later visit bring the same
conversation back (history, photo, verification, the reply that came meanwhile), «답변 알림 받기», «새 대화»,
a forged stored token; the English switch."""

from __future__ import annotations

import re

import pytest
from PIL import Image
from sqlalchemy import Engine, select

from sajang.config import Settings
from sajang.db.engine import session_scope
from sajang.db.models import Conversation, Customer, Order, OutboxMessage
from sajang.db.users import get_user_by_username
from sajang.services.channels import CHIPS
from tests.browser import Steps, diagnosed, launch_browser, live_server, new_page

pytestmark = pytest.mark.browser
HANGUL = re.compile(r"[가-힣]")
CHAT_PARTS = ("#chatbot", "#who", "#notify-note")  # what a failed wait reports the chat page showing


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


def _answer_with_sources(page) -> str:
    """Wait until the last bot message is complete (its sources line is added last) and return its text, read in
    the same evaluation: a second lookup could land while the chatbot re-renders its messages."""
    handle = page.wait_for_function("""() => {
        const t = [...document.querySelectorAll('#chatbot [data-testid="bot"]')].pop()?.innerText || '';
        return t.includes('참고한 안내') ? t : false; }""")
    return str(handle.json_value())


def _reload_and_restore(page) -> None:
    """Reload and wait for the page's load event (the stored conversation's restore) to be answered."""
    with page.expect_response(lambda r: "/run/predict" in r.url and r.request.method == "POST") as loaded:
        page.reload()
    assert loaded.value.ok
    page.locator("#chat-input textarea").wait_for()


def _wait_lines(page, selector: str, lines: tuple[str, ...]) -> str:
    """Wait until every line is rendered in `selector`, then return its text. The chatbot renders its
    messages' Markdown asynchronously: a read right after an update may catch a message still empty."""
    handle = page.wait_for_function("([sel, lines]) => { const e = document.querySelector(sel); const t = e ? e.innerText"
                                    " : ''; return lines.every(l => t.includes(l)) ? t : false; }",
                                    arg=[selector, list(lines)])
    return str(handle.json_value())  # read in the evaluation that waited: a second lookup could meet a re-render


def _chips_fit(page) -> None:
    """Every chip is shown, none wider than the page, all on the chat's width (scrolling sideways if need be)."""
    chips = page.locator("#chips button")
    assert chips.count() == len(CHIPS)
    width = page.viewport_size["width"]
    for i in range(len(CHIPS)):
        assert chips.nth(i).is_visible()
        box = chips.nth(i).bounding_box()
        assert box and box["height"] < 48 and box["width"] < width / 2, box
    assert [chips.nth(i).inner_text().strip() for i in range(len(CHIPS))] == [label for label, _ in CHIPS]


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
    from sajang.services.store_settings import update as update_store

    at = Steps()
    with live_server(settings) as base, sync_playwright() as pw, diagnosed(at, CHAT_PARTS, "sajang-chat-session"):
        browser = launch_browser(pw)
        # the owner renames the shop after the app started: the page shows the new name
        update_store(settings, {"shop_name": "바다앤찬 마켓"}, actor="admin")

        # on a phone (390×844): a compact header with the shop's name, the welcome bubble, the chips;
        # a chip sends its text as the customer's message and the bot answers it
        phone_ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="ko-KR",
                                        timezone_id="Asia/Seoul", device_scale_factor=2, is_mobile=True,
                                        has_touch=True)
        phone_page = phone_ctx.new_page()
        phone_page.set_default_timeout(120_000)
        at("the phone page's welcome", phone_page)
        phone_page.goto(f"{base}/chat/")
        phone_page.wait_for_function(
            "() => (document.querySelector('#chat-title')?.innerText || '').includes('바다앤찬 마켓')")
        assert "고객센터" in phone_page.inner_text("#chat-title")
        welcome = phone_page.locator("#chatbot").get_by_text("주문번호와 휴대폰 뒤 4자리")
        welcome.wait_for()
        assert "바다앤찬 마켓" in phone_page.inner_text("#chatbot")
        assert phone_page.locator('#chatbot [data-testid="bot"], #chatbot [data-testid="user"]').count() == 0
        assert not phone_page.locator("#order-id").is_visible()  # the form is folded away below the chat
        _chips_fit(phone_page)
        for sel in ("#chat-input textarea", "#send-btn", "#attach-btn", "#handoff-btn"):
            b = phone_page.locator(sel).bounding_box()
            assert b and b["x"] >= 0 and b["x"] + b["width"] <= 390, (sel, b)
        assert phone_page.evaluate("() => document.documentElement.scrollWidth") <= 390
        phone_page.screenshot(path=str(artifacts / "chat_phone_welcome.png"))
        # the bot's "typing" bubble is markup of ours, never shown as raw text
        phone_page.evaluate("""() => { window.__typing = []; new MutationObserver(() => {
            const c = document.querySelector('#chatbot'); if (!c) return;
            if (c.querySelector('.sj-typing')) window.__typing.push('bubble');
            if (c.innerText.includes('sj-typing')) window.__typing.push('raw');
        }).observe(document.body, {subtree: true, childList: true, characterData: true}); }""")
        at("a chip's answer", phone_page)
        label, message = CHIPS[1]
        phone_page.locator("#chips button", has_text=label).click()
        phone_page.locator('#chatbot [data-testid="user"]').first.wait_for()
        assert phone_page.locator('#chatbot [data-testid="user"]').first.inner_text().strip() == message
        _wait_bot_count(phone_page, 1)
        answer = _answer_with_sources(phone_page)
        assert "반품" in answer or "교환" in answer, answer
        assert "raw" not in phone_page.evaluate("() => window.__typing")
        phone_page.screenshot(path=str(artifacts / "chat_phone_chip_answer.png"))
        phone_ctx.close()

        page = new_page(browser)
        at("the desktop page", page)
        page.set_viewport_size({"width": 1440, "height": 900})
        page.set_default_timeout(120_000)  # generous: CI machines may be busy (waits, not timing checks)
        page.goto(f"{base}/chat/")
        box = page.locator("#chat-input textarea")
        box.wait_for()
        page.wait_for_function(
            "() => (document.querySelector('#chat-title')?.innerText || '').includes('바다앤찬 마켓')")
        assert "고객센터" in page.inner_text("body")
        _chips_fit(page)
        page.screenshot(path=str(artifacts / "chat_desktop_welcome.png"))

        at("a guest's question", page)
        # a guest asks in Korean and gets a Korean answer with its sources
        box.fill("배송비는 얼마인가요? 무료배송 기준도 알려주세요.")
        box.press("Enter")
        _wait_bot_count(page, 1)
        # the answer streams in; its sources line is added when it is complete
        answer = _answer_with_sources(page)
        assert len(HANGUL.findall(answer)) >= 10, answer
        assert "참고한 안내" in answer, answer
        page.screenshot(path=str(artifacts / "chat_korean_answer.png"))

        at("verification", page)
        # verification with order number + last 4 phone digits (the folded form below the chat)
        page.click("#verify-acc .label-wrap")
        page.locator("#order-id").locator("input, textarea").first.fill(order_id)
        page.locator("#phone4").locator("input, textarea").first.fill(re.sub(r"\D", "", phone)[-4:])
        page.click("#verify-btn")
        page.wait_for_function("() => document.querySelector('#who').innerText.includes('본인 확인되었습니다')")
        assert name in page.inner_text("#who")

        at("a photo", page)
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

        at("a handoff and the agent's reply", page)
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

        at("«답변 알림 받기»", page)
        # «답변 알림 받기» while a person is awaited: a wrong number is refused, a right one kept
        contact = page.locator("#notify-contact").locator("input, textarea").first
        contact.fill("02-123-4567")
        page.click("#notify-btn")
        page.wait_for_function("() => document.querySelector('#notify-note').innerText.includes('정확히')")
        contact.fill("010 2222 3333")
        page.click("#notify-btn")
        page.wait_for_function("() => document.querySelector('#notify-note').innerText.includes('010-2222-3333')")
        with session_scope(engine) as s:
            assert s.scalar(select(Conversation.notify_contact).where(Conversation.thread_id == thread_id)) \
                == "010-2222-3333"

        at("a reload", page)
        # a reload: the same conversation, its photo, the verification, the agent's reply
        # (verifying started the customer's own conversation: the guest question before it is not part of it)
        lines = ("포장이 터져서 왔어요", "상담원과 연결해 주세요", "상담원 김민지입니다")
        _wait_lines(page, "#chatbot", lines)
        page.reload()
        _wait_lines(page, "#chatbot", lines)
        assert name in _wait_lines(page, "#who", ("본인 확인되었습니다",))
        page.wait_for_function("""() => { const i = [...document.querySelectorAll('#chatbot [data-testid="user"] img')].pop();
                                          return i && i.complete && i.naturalWidth === 120; }""")
        page.screenshot(path=str(artifacts / "chat_after_reload.png"), full_page=True)

        # the tab is closed; a reply comes meanwhile (through the service the hub calls: a notice is queued);
        # the customer comes back later and finds it
        page.close()
        from sajang.services.accounts import StaffMember
        from sajang.services.inquiry import inquiries
        inquiries(settings).reply(thread_id, "내일 오전에 새 상품으로 다시 보내 드릴게요.",
                                  StaffMember(id=agent.id, username=agent.username, name=agent.display_name,
                                              role="agent", locale="ko"))
        with session_scope(engine) as s:
            notices = s.scalars(select(OutboxMessage.recipient).where(OutboxMessage.recipient.is_not(None))).all()
        assert notices == ["010-2222-3333"]
        page = browser.contexts[0].new_page()
        page.set_default_timeout(120_000)
        at("a later visit", page)
        page.goto(f"{base}/chat/")
        # both replies, each waited for: the chatbot renders its messages one by one
        _wait_lines(page, "#chatbot", ("새 상품으로 다시", "상담원 김민지입니다"))
        box = page.locator("#chat-input textarea")

        at("«새 대화»", page)
        # «새 대화» starts over, and a reload keeps it fresh
        stored = page.evaluate("() => localStorage.getItem('sajang-chat-session')")
        assert stored
        page.click("#new-chat-btn")
        page.wait_for_function("() => !(document.querySelector('#chatbot')?.innerText || '').includes('김민지')")
        page.wait_for_function("([old]) => localStorage.getItem('sajang-chat-session') !== old", arg=[stored])
        _wait_lines(page, "#who", ("게스트",))
        _reload_and_restore(page)
        _wait_lines(page, "#who", ("게스트",))
        assert "김민지" not in page.inner_text("#chatbot")

        at("a forged stored value", page)
        # a forged stored value: a fresh chat, no error shown
        page.evaluate("() => localStorage.setItem('sajang-chat-session', 'U2FsdGVkX1+forged==')")
        _reload_and_restore(page)
        _wait_lines(page, "#who", ("게스트",))
        assert "김민지" not in page.inner_text("#chatbot")
        assert page.locator(".toast-body, .error").count() == 0

        at("the English switch", page)
        # English switch relabels the page
        page.get_by_label("English").check()
        page.wait_for_function("() => document.body.innerText.includes('Talk to a person')")
        page.wait_for_function("() => document.querySelector('#chips').innerText.includes('Track delivery')")
        page.screenshot(path=str(artifacts / "chat_desktop_english.png"))
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
    at = Steps()
    with live_server(settings) as base, sync_playwright() as pw, diagnosed(at, CHAT_PARTS, "sajang-chat-session"):
        browser = launch_browser(pw)
        page = new_page(browser)
        page.set_default_timeout(120_000)  # waits, not timing checks: CI machines may be busy
        at("the taught answer", page)
        page.goto(f"{base}/chat/")
        box = page.locator("#chat-input textarea")
        box.wait_for()
        box.fill(RESTOCK_QUESTION)
        box.press("Enter")
        _wait_bot_count(page, 1)
        answer = _answer_with_sources(page)
        assert TAUGHT_RANGES in answer, answer
        assert page.locator("#chatbot del, #chatbot s").count() == 0
        page.screenshot(path=str(artifacts / "chat_ranges_literal.png"))

        # an agent's reply with ranges and Markdown-looking characters reaches the customer as written
        at("the agent's reply in the chat", page)
        with session_scope(engine) as s:
            thread_id = s.scalar(select(Conversation.thread_id).order_by(Conversation.id.desc()))
        assert thread_id and thread_id != taught["thread_id"]
        agent = get_user_by_username(engine, "agent")
        assert agent is not None
        assert service.claim(thread_id, agent.id)
        service.reply(thread_id, AGENT_RANGES, agent.id, agent.display_name)
        chat_text = _wait_lines(page, "#chatbot", ("울릉도",))
        assert AGENT_RANGES in chat_text.replace("\n", " "), chat_text

        # the hub shows the same conversation literally
        hub = new_page(browser)
        at("the hub", hub)
        login(hub, base, "agent", "agent1234", next_path="/agent/")
        hub.locator('#sj-queue [data-tab="mine"]').click()
        item = hub.locator(f'#sj-queue [data-thread="{thread_id}"]')
        item.wait_for()
        item.click()
        hub_text = _wait_lines(hub, "#sj-chat", ("울릉도",))
        assert TAUGHT_RANGES in hub_text, hub_text
        assert AGENT_RANGES in hub_text.replace("\n", " "), hub_text
        assert hub.locator("#sj-chat del, #sj-chat s").count() == 0
        hub.screenshot(path=str(artifacts / "agent_hub_ranges_literal.png"))
        browser.close()
