"""The customer chat page (`/chat`): Korean first, English switch, guest or verified, streamed answers.

It looks like a messenger, phone first: a compact header with the shop's name (as the owner last saved it,
read on every page load), the bot's welcome as the first bubble while the conversation is empty (the
Chatbot's placeholder: never stored as a message), the quick-reply chips every channel offers
(`sajang.services.channels.CHIPS`; «상담원 연결» is the handoff button's action), a pulsing «…» bubble while
the bot works, and one composer row (photo, message, send). The bot itself asks a guest for the order
number and the phone's last 4 digits in the chat; the old side form stays, folded below the conversation.

A customer chats as a guest, or proves who they are with an order number and the last 4 digits of the
phone on that order (then the bot may talk about *their* orders). Answers stream in with their
sources; «상담원 연결» hands the chat to a person, whose replies appear here without a reload (a timer
polls the conversation). Images can be attached: checked, stored by `sajang.services.attachments`, and
shown through signed links that only this conversation gets. Everything goes through the service API
(`sajang.services`): the page restates none of its rules (verification limits, the «상담원 연결» text).

The conversation lives server-side in the Gradio session state: a customer cannot point the page at
another customer's thread or identity. The browser keeps only the conversation's signed customer token
(the REST chat's token, `sajang.security.issue_customer_token`, in `localStorage` through
`gr.BrowserState`): a reload, or a visit within `CUSTOMER_TOKEN_TTL_S`, brings the same conversation
back — its history with photos, the verification, the agent replies that came meanwhile. A forged or
expired token, or one whose conversation is gone or belongs to someone else, starts a fresh chat without
a word. «새 대화» starts over. While a person is awaited the customer may leave a phone number or an
e-mail address to be told when they answer (`sajang.services.notify`).

Once the conversation has ended (`sajang.services.csat.conversation_ended`: a person resolved it, or the
bot answered and nothing waits) a small row asks for a rating: five star buttons (one tap stores it) and an
optional comment typed first. A conversation is rated once (`record_csat`: a second rating changes
nothing, and the row says so); then a thanks line stays in its place, across reloads too. The row never
shows while the conversation goes on (a question unanswered, a person awaited).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from sajang.config import Settings
from sajang.errors import SajangError
from sajang.security import CustomerClaims, issue_customer_token, read_token, secret_key
from sajang.services import ratelimit
from sajang.services.attachments import save_attachment, signed_url
from sajang.services.channels import CHIPS
from sajang.services.csat import MAX_COMMENT_CHARS, conversation_ended, rating_of, record_csat
from sajang.services.customers import verify_customer
from sajang.services.inquiry import AskResult, ConversationView, MessageView, handoff_request_text, inquiries
from sajang.services.notify import InvalidContact, set_contact
from sajang.services.store_settings import current_policy
from sajang.ui.i18n import LOCALE_LABELS, Strings
from sajang.ui.literal import literal

log = logging.getLogger(__name__)

T = Strings({
    "title": {"ko": "{shop} 고객센터", "en": "{shop} customer service"},
    "subtitle": {"ko": "고객센터 · 보통 바로 답해 드려요", "en": "Customer service · usually answers right away"},
    "welcome": {"ko": "안녕하세요! **{shop}** 고객센터예요.\n\n배송, 교환·반품, 주문 취소, 상품 문의 무엇이든 "
                      "편하게 물어보세요. 아래 버튼을 눌러도 돼요.\n\n내 주문을 확인하려면 **주문번호와 휴대폰 뒤 "
                      "4자리**를 채팅으로 보내 주세요.",
                "en": "Hi! This is **{shop}** customer service.\n\nAsk anything: delivery, exchanges and returns, "
                      "cancelling, our products. Or tap a button below.\n\nTo check your own order, send your "
                      "**order number and the last 4 digits of your phone** in the chat."},
    "placeholder": {"ko": "메시지를 입력하세요", "en": "Type your message"},
    "send": {"ko": "보내기", "en": "Send"},
    "attach": {"ko": "＋ 사진", "en": "＋ Photo"},
    "handoff": {"ko": "상담원 연결", "en": "Talk to a person"},
    "verify_title": {"ko": "주문 조회를 위한 본인 확인", "en": "Verify yourself to ask about your orders"},
    "verify_help": {"ko": "주문번호와 주문하신 휴대폰 번호 뒤 4자리를 입력하면 주문·배송 내역을 안내해 드려요.",
                    "en": "Enter an order number and the last 4 digits of the phone on the order to ask "
                          "about your orders and deliveries."},
    "order_id": {"ko": "주문번호", "en": "Order number"},
    "phone4": {"ko": "휴대폰 뒤 4자리", "en": "Last 4 phone digits"},
    "verify": {"ko": "확인", "en": "Verify"},
    "verified": {"ko": "{name}님, 본인 확인되었습니다.", "en": "Verified: {name}."},
    "verified_greeting": {"ko": "{name}님, 확인되었습니다. 주문이나 배송에 대해 무엇이든 물어보세요.",
                          "en": "Thank you, {name}. Ask me anything about your orders and deliveries."},
    "verify_failed": {"ko": "주문번호와 휴대폰 번호가 일치하지 않아요. 다시 확인해 주세요.",
                      "en": "The order number and phone digits do not match. Please check them."},
    "verify_missing": {"ko": "주문번호와 휴대폰 뒤 4자리(숫자 4개)를 모두 입력해 주세요.",
                       "en": "Please enter the order number and exactly 4 phone digits."},
    "guest": {"ko": "비회원(게스트)으로 상담 중입니다.", "en": "You are chatting as a guest."},
    "sources": {"ko": "참고한 안내", "en": "Sources"},
    "agent": {"ko": "상담원", "en": "Agent"},
    "waiting": {"ko": "상담원에게 전달했어요. 확인 후 이 창에서 답변드릴게요. (운영시간: {hours})",
                "en": "Passed on to our team. An agent will answer here. (Hours: {hours})"},
    "queued": {"ko": "메시지를 상담원에게 전달했어요.", "en": "Your message was passed on to the agent."},
    "too_long": {"ko": "메시지가 너무 길어요 ({n}자). {limit}자 이내로 보내 주세요.",
                 "en": "Your message is too long ({n} characters). Please keep it under {limit}."},
    "too_fast": {"ko": "메시지를 너무 빨리 보내고 있어요. 잠시 후 다시 시도해 주세요.",
                 "en": "You are sending messages too fast. Please wait a moment."},
    "attached": {"ko": "첨부됨: {name} — 다음 메시지와 함께 보내져요.",
                 "en": "Attached: {name} — it goes with your next message."},
    "attach_bad": {"ko": "사진만 첨부할 수 있어요 (JPG, PNG, GIF, WebP, 최대 {mb} MB).",
                   "en": "Only photos can be attached (JPG, PNG, GIF, WebP, up to {mb} MB)."},
    "photo": {"ko": "사진", "en": "photo"},
    "error": {"ko": "죄송합니다. 잠시 문제가 생겼어요. 다시 시도하시거나 「상담원 연결」을 눌러 주세요.",
              "en": "Sorry, something went wrong. Please try again or press “Talk to a person”."},
    "language": {"ko": "언어", "en": "Language"},
    # the quick-reply chips (`sajang.services.channels.CHIPS`, Korean) in English: label, the message sent
    "chip:배송 조회": {"ko": "배송 조회", "en": "Track delivery"},
    "chip:교환·반품": {"ko": "교환·반품", "en": "Exchange/return"},
    "chip:취소": {"ko": "취소", "en": "Cancel"},
    "chip:상품 문의": {"ko": "상품 문의", "en": "Product question"},
    "chip:상담원 연결": {"ko": "상담원 연결", "en": "Talk to a person"},
    "chip_text:배송 조회": {"ko": "", "en": "I would like to track my delivery."},
    "chip_text:교환·반품": {"ko": "", "en": "How do I exchange or return an item?"},
    "chip_text:취소": {"ko": "", "en": "I would like to cancel my order."},
    "chip_text:상품 문의": {"ko": "", "en": "I have a question about a product."},
    "new_chat": {"ko": "새 대화", "en": "New chat"},
    "notify_help": {"ko": "상담원이 답변하면 문자나 이메일로 알려 드릴게요. 창을 닫으셔도 괜찮아요. (운영시간: {hours})",
                    "en": "We can tell you by text or e-mail when a person answers; you may close this page. "
                          "(Hours: {hours})"},
    "notify_contact": {"ko": "휴대폰 번호 또는 이메일", "en": "Mobile number or e-mail"},
    "notify_button": {"ko": "답변 알림 받기", "en": "Notify me"},
    "notify_saved": {"ko": "답변이 오면 알려 드릴게요: {contact}", "en": "We will tell you at {contact}."},
    "notify_bad": {"ko": "휴대폰 번호(010-1234-5678) 또는 이메일 주소를 정확히 입력해 주세요.",
                   "en": "Please enter a mobile number (010-1234-5678) or an e-mail address."},
    "csat_ask": {"ko": "상담은 만족스러우셨나요? 별을 눌러 평가해 주세요.",
                 "en": "How was this conversation? Tap the stars to rate it."},
    "csat_once": {"ko": "평가는 대화마다 한 번만 할 수 있어요. 남기실 말씀은 별을 누르기 전에 적어 주세요.",
                  "en": "You can rate each conversation once; type a comment before tapping, if you like."},
    "csat_comment": {"ko": "한마디 남기기 (선택)", "en": "Add a comment (optional)"},
    "csat_thanks": {"ko": "평가해 주셔서 감사합니다! {stars}", "en": "Thank you for your rating! {stars}"},
    "csat_already": {"ko": "이미 평가해 주셨어요. 처음 남기신 평가가 저장되어 있어요: {stars}",
                     "en": "You already rated this conversation; your first rating is kept: {stars}"},
    "csat_not_ended": {"ko": "대화가 끝난 뒤에 평가할 수 있어요.", "en": "You can rate once the conversation has ended."},
})
CUSTOMER_ROLES = ("customer", "ai", "agent")
STORAGE_KEY = "sajang-chat-session"

CSS = """
#chat-shell {max-width: 760px; width: 100%; margin: 0 auto !important; align-self: center; gap: 10px;}
.sajang-chat footer {display: none !important;}
.sajang-chat .side-note {font-size: 0.88em; color: var(--body-text-color-subdued);}
.sajang-chat .side-note:empty, #notify-note:empty {display: none;}
#chat-header {align-items: center; flex-wrap: nowrap; gap: 8px; padding: 10px 14px; border-radius: 14px;
  background: linear-gradient(135deg, #2f6df6, #5b8cff); color: #fff;}
#chat-header #chat-title {min-width: 0;}
#chat-header #chat-title h2 {margin: 0; font-size: 1.15em; color: #fff; line-height: 1.3; overflow: hidden;
  text-overflow: ellipsis; white-space: nowrap;}
#chat-header #chat-title p {margin: 2px 0 0; font-size: 0.82em; color: rgba(255,255,255,0.88);}
#chat-header #lang {flex: 0 0 auto !important; min-width: 0 !important; width: auto !important;
  background: transparent !important; border: 0 !important; padding: 0 !important;}
#chat-header #lang > span, #chat-header #lang [data-testid="block-info"] {display: none;}
#chat-header #lang .wrap {gap: 4px; flex-wrap: nowrap;}
#chat-header #lang label {padding: 3px 9px !important; border-radius: 999px !important; font-size: 0.8em !important;
  background: rgba(255,255,255,0.18) !important; color: #fff !important; border: 0 !important;
  box-shadow: none !important;}
#chat-header #lang label.selected {background: #fff !important; color: #2f6df6 !important;}
#chat-header #lang label {position: relative;}
#chat-header #lang input {position: absolute; opacity: 0; width: 1px; height: 1px; margin: 0;}
#who {padding: 0 6px;}
#who, #who .prose, #who p {font-size: 13px !important; color: var(--body-text-color-subdued) !important; margin: 0;}
#chatbot {height: calc(100dvh - 330px) !important; min-height: 300px; max-height: 640px;
  border-radius: 14px; background: #f4f6fb;}
#chatbot .placeholder-content, #chatbot .placeholder {align-items: flex-start !important;
  justify-content: flex-start !important; height: auto !important;}
#chatbot .placeholder {margin: 12px; padding: 12px 14px; max-width: 85%; background: #fff; border-radius: 4px 16px 16px 16px;
  box-shadow: 0 1px 2px rgba(0,0,0,0.08); text-align: left !important; line-height: 1.55;}
#chatbot .placeholder p {margin: 0 0 6px;}
#chatbot .message.user {background: #2f6df6 !important; border: 0 !important; box-shadow: none !important;
  border-radius: 16px 16px 4px 16px !important;}
#chatbot .message.user * {color: #fff !important; background: transparent !important;}
#chatbot .message.bot {background: #fff !important; border: 1px solid #e3e8f2 !important; box-shadow: none !important;
  border-radius: 16px 16px 16px 4px !important;}
#chatbot .message.bot [data-testid="bot"] {background: transparent !important;}
#chatbot .message img {width: auto !important; max-width: min(100%, 320px) !important; height: auto !important;}
#chatbot .sj-typing {display: inline-block; font-size: 1.5em; letter-spacing: 2px; line-height: 1;
  animation: sj-typing 1.1s ease-in-out infinite;}
@keyframes sj-typing {0%, 100% {opacity: 0.25;} 50% {opacity: 1;}}
#chips {flex-wrap: wrap !important; gap: 6px; padding: 0 2px;}
#chips button {flex: 0 0 auto !important; min-width: 0 !important; width: auto !important; padding: 5px 12px !important;
  border-radius: 999px !important; font-size: 0.85em !important; font-weight: 500; white-space: nowrap;
  background: #fff !important; color: #2f6df6 !important; border: 1px solid #b9ccff !important; box-shadow: none !important;}
#chips button:hover {background: #eef3ff !important;}
#composer {flex-wrap: nowrap !important; align-items: flex-end; gap: 6px; background: #fff;
  border: 1px solid var(--border-color-primary); border-radius: 22px; padding: 4px 4px 4px 6px;}
#composer #chat-input {background: transparent !important; border: 0 !important; box-shadow: none !important;
  padding: 0 !important; min-width: 0 !important;}
#composer #chat-input textarea {border: 0 !important; box-shadow: none !important; background: transparent !important;}
#composer button {flex: 0 0 auto !important; min-width: 0 !important; width: auto !important;
  border-radius: 999px !important; padding: 7px 14px !important; font-size: 0.9em !important;}
#composer #send-btn {background: #2f6df6 !important; color: #fff !important; border: 0 !important;}
#composer #attach-btn {background: transparent !important; border: 0 !important; box-shadow: none !important;
  color: var(--body-text-color-subdued) !important; padding: 7px 8px !important;}
#chat-tools {flex-wrap: wrap !important; gap: 6px; justify-content: flex-start;}
#chat-tools button {flex: 0 0 auto !important; min-width: 0 !important; width: auto !important;
  background: transparent !important; border: 1px solid var(--border-color-primary) !important; box-shadow: none !important;
  border-radius: 999px !important; padding: 4px 12px !important; font-size: 0.82em !important;
  color: var(--body-text-color-subdued) !important;}
#notify {padding: 10px 12px; border-radius: 12px; background: #fffaf0 !important; border: 1px solid #ffe2a8 !important;}
#notify > *, #notify .form, #notify .block {background: transparent !important; border: 0 !important;
  box-shadow: none !important;}
#notify #notify-contact input {background: #fff !important; border: 1px solid var(--border-color-primary) !important;}
#notify-btn {align-self: flex-end; background: #2f6df6 !important; color: #fff !important; border: 0 !important;
  border-radius: 999px !important;}
#csat {padding: 10px 12px; border-radius: 12px; background: #f5f8ff !important; border: 1px solid #d3e0ff !important;}
#csat > *, #csat .form, #csat .block {background: transparent !important; border: 0 !important;
  box-shadow: none !important;}
#csat-note p {margin: 0;}
#csat-note p + p {margin-top: 2px; font-size: 0.85em; color: var(--body-text-color-subdued);}
/* the rating row takes its height from the conversation, so the composer stays on screen */
#chat-shell:has(#csat:not(.hide)) #chatbot {height: calc(100dvh - 445px) !important; min-height: 240px;}
#csat-form {flex-wrap: wrap !important; gap: 6px; align-items: center;}
#csat-form #csat-comment {flex: 1 1 220px !important; min-width: 180px !important;}
#csat-form #csat-comment input {background: #fff !important; border: 1px solid var(--border-color-primary) !important;
  border-radius: 999px !important; padding: 6px 12px !important;}
#csat-form button {flex: 0 0 auto !important; min-width: 0 !important; width: auto !important; border-radius: 999px !important;
  padding: 4px 10px !important; font-size: 0.95em !important; letter-spacing: 1px; background: #fff !important;
  color: #f29900 !important; border: 1px solid #ffd27a !important; box-shadow: none !important;}
#csat-form button:hover {background: #fff6e0 !important;}
#verify-acc {border-radius: 12px;}
#verify-acc .label-wrap span {font-size: 0.9em;}
#verify-row {flex-wrap: wrap; gap: 8px; align-items: flex-end;}
#verify-row > div {min-width: 140px !important;}
@media (max-width: 640px) {
  .sajang-chat {padding: 0 !important;}
  #chatbot {height: calc(100dvh - 380px) !important; min-height: 280px;}
  #chat-shell:has(#csat:not(.hide)) #chatbot {height: calc(100dvh - 520px) !important; min-height: 220px;}
  #csat-form #csat-comment {flex-basis: 100% !important;}
  #csat-form button {padding: 4px 7px !important; letter-spacing: 0;}
}
"""
POLL_SECONDS = 3.0
# the bot's bubble while it works: «…» pulsing (CSS `.sj-typing`), replaced by the answer as it streams in
TYPING = '<span class="sj-typing">…</span>'

# Sessions whose answer is streaming right now: the poller leaves their history alone.
_busy: set[str] = set()
_busy_lock = threading.Lock()
# How many times each session pressed «새 대화» (guarded by `_busy_lock`): a poll that read the state before the
# press must not write the old conversation back over the fresh one
_fresh_starts: dict[str, int] = {}


def _client_ip(request: gr.Request | None) -> str:
    client = getattr(request, "client", None)
    return getattr(client, "host", None) or "unknown"


def _sources_line(sources: list[dict[str, Any]], locale: str) -> str:
    titles: list[str] = []
    for src in sources or []:
        title = str(src.get("title") or "").strip()
        if title and title not in titles:
            titles.append(title)
    if not titles:
        return ""
    return f"\n\n**{T('sources', locale)}** · " + " · ".join(literal(t) for t in titles[:4])


def _image_markdown(att: dict[str, Any], locale: str) -> str:
    url = att.get("url")
    return f"![{T('photo', locale)}]({url})" if url else f"[{att.get('filename', '')}]"


def _agent_bubble(msg: MessageView, locale: str, settings: Settings, thread_id: str) -> dict[str, Any]:
    who = msg.author_name or T("agent", locale)
    text = f"**{T('agent', locale)} {literal(who)}**\n\n{literal(msg.text)}"
    for att in msg.attachments:
        if isinstance(att.get("id"), int):
            text += "\n\n" + _image_markdown({"url": signed_url(settings, att["id"], thread_id)}, locale)
    return {"role": "assistant", "content": text}


def _stars(score: int) -> str:
    return "★" * score + "☆" * (5 - score)


def _message_key(msg: MessageView) -> str:
    return str(msg.id)


def _history(conversation: ConversationView, locale: str, settings: Settings) -> list[dict[str, Any]]:
    """The conversation as the page shows it: the customer's lines (with their photos), the bot's answers
    with their sources, the agents' replies; never drafts, summaries or internal notes."""
    thread_id = conversation.thread_id
    out: list[dict[str, Any]] = []
    for m in conversation.messages:
        if m.role not in CUSTOMER_ROLES:
            continue
        if m.role == "agent":
            out.append(_agent_bubble(m, locale, settings, thread_id))
            continue
        photos = "".join("\n\n" + _image_markdown({"url": signed_url(settings, a["id"], thread_id)}, locale)
                         for a in m.attachments if isinstance(a.get("id"), int))
        if m.role == "customer":
            out.append({"role": "user", "content": literal(m.text) + photos})
        else:
            out.append({"role": "assistant", "content": literal(m.text) + _sources_line(m.sources, locale)})
    return out


def resume_chat(settings: Settings, token: object) -> tuple[CustomerClaims, ConversationView] | None:
    """The claims and conversation a token kept by the browser stands for; None for anything else — a
    forged or expired token, a staff token, a conversation that is gone or is not the token's customer's."""
    claims = read_token(settings, token) if isinstance(token, str) and token else None
    if not isinstance(claims, CustomerClaims):
        return None
    try:
        conversation = inquiries(settings).conversation(claims.thread_id)
    except SajangError:
        return None
    if conversation.customer_id != claims.customer_id:
        return None
    return claims, conversation


def _browser_secret(settings: Settings) -> str:
    """The key `gr.BrowserState` encrypts with (it reaches the browser: derived, never the secret key
    itself); stable across restarts, so a stored token survives them. The token is signed on its own."""
    return hmac.new(secret_key(settings).encode(), b"sajang.chat.browser-state", hashlib.sha256).hexdigest()[:32]


def build_chat(settings: Settings) -> gr.Blocks:
    """The `/chat` page as a `gr.Blocks` (mounted by `sajang.app.main` with `css=CSS`)."""
    default_locale = settings.locale
    max_mb = max(1, settings.max_attachment_bytes // (1024 * 1024))

    def new_state(locale: str | None = None) -> dict[str, Any]:
        return {"thread_id": None, "customer_id": None, "name": None, "locale": locale or default_locale,
                "pending": [], "seen_agent": [], "waiting": False, "csat": {"ended": False}}

    def session_token(st: dict[str, Any]) -> str:
        """The conversation's signed customer token (the REST chat's), or "" before there is one."""
        if not st.get("thread_id"):
            return ""
        return issue_customer_token(settings, CustomerClaims(st["thread_id"], st.get("customer_id"), st.get("name"),
                                                             st.get("locale") or default_locale))

    def resumed(token: str | None) -> tuple[dict[str, Any], ConversationView] | None:
        found = resume_chat(settings, token)
        if found is None:
            return None
        claims, conversation = found
        st = new_state(claims.locale if claims.locale in ("ko", "en") else default_locale)
        st.update(thread_id=claims.thread_id, customer_id=claims.customer_id, name=claims.name,
                  seen_agent=[_message_key(m) for m in conversation.messages if m.role == "agent"],
                  waiting=conversation.status in ("new", "assigned"))
        return st, conversation

    def ensure_thread(state: dict[str, Any]) -> str:
        if not state.get("thread_id"):
            state["thread_id"] = inquiries(settings).start(
                state.get("customer_id"), guest_name=None if state.get("customer_id") else state.get("name"),
                channel="chat", locale=state.get("locale") or default_locale)
            state["seen_agent"] = []
        return state["thread_id"]

    def shop_name() -> str:
        """The shop's name as the owner last saved it (read per page load and language switch)."""
        try:
            return current_policy(settings).shop_name
        except Exception:  # the page still opens when the settings row cannot be read
            log.exception("shop settings unreadable")
            return settings.store.shop_name

    def header(locale: str, shop: str) -> str:
        return f"## {literal(shop)}\n{T('subtitle', locale)}"

    def welcome(locale: str, shop: str) -> str:
        return T("welcome", locale, shop=literal(shop))

    with gr.Blocks(title=T("title", default_locale, shop=settings.store.shop_name),
                   elem_classes=["sajang-chat"]) as blocks:
        state = gr.State(new_state)
        # {"token": …}: an object, never "" (Gradio's BrowserState does not write a falsy value, so «새 대화»
        # could not clear a stored token otherwise)
        saved = gr.BrowserState({"token": ""}, storage_key=STORAGE_KEY, secret=_browser_secret(settings))
        with gr.Column(elem_id="chat-shell"):
            with gr.Row(equal_height=True, elem_id="chat-header"):
                title = gr.Markdown(header(default_locale, settings.store.shop_name), elem_id="chat-title")
                lang = gr.Radio(choices=[(LOCALE_LABELS[k], k) for k in ("ko", "en")], value=default_locale,
                                label=T("language", default_locale), show_label=False, container=False,
                                elem_id="lang", scale=0, min_width=0)
            who = gr.Markdown(T("guest", default_locale), elem_id="who")
            # latex off: a price or a "$$" in an answer is text, never maths. The welcome is the placeholder:
            # shown as the bot's first bubble while the conversation is empty, never stored as a message.
            chatbot = gr.Chatbot(show_label=False, elem_id="chatbot", feedback_options=None, buttons=["copy"],
                                 group_consecutive_messages=False, latex_delimiters=[], layout="bubble",
                                 placeholder=welcome(default_locale, settings.store.shop_name))
            # the rating, once the conversation has ended (`csat_view`)
            with gr.Column(visible=False, elem_id="csat") as csat_group:
                csat_note = gr.Markdown(elem_id="csat-note")
                with gr.Row(elem_id="csat-form") as csat_form:
                    csat_comment = gr.Textbox(placeholder=T("csat_comment", default_locale), show_label=False,
                                              container=False, max_length=MAX_COMMENT_CHARS, lines=1, max_lines=1,
                                              scale=1, elem_id="csat-comment")
                    csat_btns = [gr.Button(_stars(n).rstrip("☆"), size="sm", scale=0, min_width=0,
                                           elem_id=f"csat-{n}", elem_classes=["csat-star"]) for n in range(1, 6)]
            with gr.Row(elem_id="chips"):
                chip_btns = [gr.Button(T(f"chip:{label}", default_locale), size="sm", scale=0, min_width=0,
                                       elem_classes=["chip"]) for label, _ in CHIPS]
            with gr.Row(elem_id="composer"):
                upload_btn = gr.UploadButton(T("attach", default_locale), file_types=["image"], file_count="single",
                                             size="sm", scale=0, min_width=0, elem_id="attach-btn")
                box = gr.Textbox(placeholder=T("placeholder", default_locale), show_label=False, container=False,
                                 scale=1, lines=1, max_lines=6, max_length=settings.max_message_chars,
                                 elem_id="chat-input", autofocus=True)
                send_btn = gr.Button(T("send", default_locale), variant="primary", size="sm", scale=0, min_width=0,
                                     elem_id="send-btn")
            attach_note = gr.Markdown(elem_classes=["side-note"])
            with gr.Group(visible=False, elem_id="notify") as notify_group:
                notify_help = gr.Markdown(T("notify_help", default_locale, hours=literal(settings.store.cs_hours)),
                                          elem_classes=["side-note"])
                with gr.Row():
                    contact_box = gr.Textbox(label=T("notify_contact", default_locale), max_length=254, scale=4,
                                             elem_id="notify-contact")
                    notify_btn = gr.Button(T("notify_button", default_locale), size="sm", scale=1, min_width=110,
                                           elem_id="notify-btn")
                notify_note = gr.Markdown(elem_id="notify-note")
            with gr.Row(elem_id="chat-tools"):
                handoff_btn = gr.Button(T("handoff", default_locale), size="sm", variant="secondary", scale=0,
                                        min_width=0, elem_id="handoff-btn")
                new_btn = gr.Button(T("new_chat", default_locale), size="sm", variant="secondary", scale=0,
                                    min_width=0, elem_id="new-chat-btn")
            # the bot asks a guest for the order number and phone digits in the chat; the form stays for those
            # who prefer it, folded away below the conversation
            with gr.Accordion(T("verify_title", default_locale), open=False, elem_id="verify-acc") as verify_acc:
                verify_title = gr.Markdown(T("verify_help", default_locale), elem_classes=["side-note"])
                with gr.Row(elem_id="verify-row"):
                    order_box = gr.Textbox(label=T("order_id", default_locale), max_length=64, elem_id="order-id")
                    phone_box = gr.Textbox(label=T("phone4", default_locale), max_length=4, type="password",
                                           elem_id="phone4")
                    verify_btn = gr.Button(T("verify", default_locale), size="sm", scale=0, min_width=80,
                                           elem_id="verify-btn")
        timer = gr.Timer(POLL_SECONDS)

        def status_line(st: dict[str, Any]) -> str:
            locale = st.get("locale") or default_locale
            if st.get("customer_id"):
                return T("verified", locale, name=literal(st.get("name") or st["customer_id"]))
            return T("guest", locale)

        # --- the rating once the conversation has ended ----------------------------------------------
        def csat_state(conversation: ConversationView) -> dict[str, Any]:
            """Ended or not, and the stored rating (read only for an ended conversation)."""
            if not conversation_ended(conversation):
                return {"ended": False}
            rated = rating_of(settings, conversation.thread_id)
            return {"ended": True, "score": rated["score"] if rated else None, "already": False}

        def csat_view(st: dict[str, Any]) -> tuple[Any, Any, Any]:
            """The rating row: hidden, asking (stars and comment), or a thanks line."""
            cs = st.get("csat") or {}
            locale = st.get("locale") or default_locale
            if not cs.get("ended"):
                return gr.update(visible=False), gr.update(), gr.update()
            score = cs.get("score")
            if score is None:
                return (gr.update(visible=True), gr.update(value=f"**{T('csat_ask', locale)}**\n\n{T('csat_once', locale)}"),
                        gr.update(visible=True))
            key = "csat_already" if cs.get("already") else "csat_thanks"
            return gr.update(visible=True), gr.update(value=T(key, locale, stars=_stars(int(score)))), \
                gr.update(visible=False)

        def read_csat(conversation: Callable[[], ConversationView], fallback: Any) -> Any:
            """`csat_state` of the conversation, `fallback` when it cannot be read (the rating is a courtesy:
            the chat goes on without it)."""
            try:
                return csat_state(conversation())
            except Exception:
                log.exception("rating state unreadable")
                return fallback

        def refresh_csat(st: dict[str, Any]) -> tuple[Any, ...]:
            """After the customer's turn, a verification or «새 대화»: the row as the conversation now stands."""
            thread_id = st.get("thread_id")
            st["csat"] = read_csat(lambda: inquiries(settings).conversation(thread_id), {"ended": False}) \
                if thread_id else {"ended": False}
            return st, *csat_view(st)

        # --- language -------------------------------------------------------------------------------
        def switch_language(locale: str, st: dict[str, Any]) -> tuple[Any, ...]:
            locale = locale if locale in ("ko", "en") else "ko"
            st["locale"] = locale
            shop = shop_name()
            return (st, gr.update(value=header(locale, shop)), gr.update(placeholder=welcome(locale, shop)),
                    gr.update(placeholder=T("placeholder", locale)), gr.update(value=T("send", locale)),
                    gr.update(label=T("attach", locale)), gr.update(value=T("handoff", locale)),
                    gr.update(label=T("language", locale)), gr.update(label=T("verify_title", locale)),
                    gr.update(value=T("verify_help", locale)),
                    gr.update(label=T("order_id", locale)), gr.update(label=T("phone4", locale)),
                    gr.update(value=T("verify", locale)), gr.update(value=status_line(st)),
                    gr.update(value=T("new_chat", locale)),
                    gr.update(value=T("notify_help", locale, hours=literal(settings.store.cs_hours))),
                    gr.update(label=T("notify_contact", locale)), gr.update(value=T("notify_button", locale)),
                    csat_view(st)[1], gr.update(placeholder=T("csat_comment", locale)),
                    *(gr.update(value=T(f"chip:{label}", locale)) for label, _ in CHIPS))

        lang.change(switch_language, [lang, state],
                    [state, title, chatbot, box, send_btn, upload_btn, handoff_btn, lang, verify_acc, verify_title,
                     order_box, phone_box, verify_btn, who, new_btn, notify_help, contact_box, notify_btn,
                     csat_note, csat_comment, *chip_btns], queue=False)

        # --- the conversation across reloads and visits ----------------------------------------------
        def restore(stored: Any) -> tuple[Any, ...]:
            found = resumed(stored.get("token") if isinstance(stored, dict) else None)
            shop = shop_name()  # the owner may have renamed the shop since the app started
            if found is None:  # nothing stored, or nothing it may show: a fresh chat, no error
                st = new_state()
                return (st, gr.update(value=[], placeholder=welcome(st["locale"], shop)),
                        gr.update(value=status_line(st)), gr.update(), gr.update(visible=False),
                        gr.update(value=header(st["locale"], shop)), *csat_view(st))
            st, conversation = found
            history = _history(conversation, st["locale"], settings)
            st["csat"] = read_csat(lambda: conversation, st.get("csat"))
            return (st, gr.update(value=history, placeholder=welcome(st["locale"], shop)),
                    gr.update(value=status_line(st)), gr.update(value=st["locale"]),
                    gr.update(visible=bool(st["waiting"])), gr.update(value=header(st["locale"], shop)),
                    *csat_view(st))

        csat_outputs = [csat_group, csat_note, csat_form]
        blocks.load(restore, [saved], [state, chatbot, who, lang, notify_group, title, *csat_outputs], queue=False)

        def remember(st: dict[str, Any]) -> tuple[Any, ...]:
            # re-signed on every change: the week counts from the customer's last activity
            return {"token": session_token(st)}, gr.update(visible=bool(st.get("waiting")))

        state.change(remember, [state], [saved, notify_group], queue=False, show_progress="hidden")

        def start_over(st: dict[str, Any], request: gr.Request) -> tuple[Any, ...]:
            session = getattr(request, "session_hash", None) or "anon"
            with _busy_lock:
                _fresh_starts[session] = _fresh_starts.get(session, 0) + 1
            fresh = new_state(st.get("locale"))
            # the stored token is cleared here, not only by `remember` after the state's change event: that event
            # sometimes left the old token stored (a reload then brought the old conversation back); the start's
            # number makes the value differ from any stored before, so the page always writes it
            cleared = {"token": "", "started": time.time_ns()}
            return (fresh, [], gr.update(value=status_line(fresh)), gr.update(value=""), gr.update(value=""),
                    cleared)

        # queued: Gradio tells the page a state changed (and so runs `remember`) only for queued events
        new_btn.click(start_over, [state], [state, chatbot, who, attach_note, notify_note, saved]) \
            .then(refresh_csat, [state], [state, *csat_outputs], show_progress="hidden")

        def leave_contact(raw: str, st: dict[str, Any], request: gr.Request) -> tuple[Any, ...]:
            locale = st.get("locale") or default_locale
            thread_id = st.get("thread_id")
            if not thread_id:
                return gr.update(), gr.update(value=T("notify_bad", locale))
            try:
                ratelimit.check("chat_notify_ip", _client_ip(request), settings.rate_limit_per_minute)
                contact = set_contact(settings, thread_id, raw or "")
            except ratelimit.RateLimited:
                return gr.update(), gr.update(value=T("too_fast", locale))
            except InvalidContact:
                return gr.update(), gr.update(value=T("notify_bad", locale))
            return gr.update(value=""), gr.update(value=T("notify_saved", locale, contact=literal(contact.value)))

        notify_btn.click(leave_contact, [contact_box, state], [contact_box, notify_note])
        contact_box.submit(leave_contact, [contact_box, state], [contact_box, notify_note])

        # --- verification ---------------------------------------------------------------------------
        def verify(order_id: str, phone4: str, st: dict[str, Any], history: list[dict[str, Any]],
                   request: gr.Request) -> tuple[Any, ...]:
            locale = st.get("locale") or default_locale
            order_id = (order_id or "").strip()
            phone4 = (phone4 or "").strip()
            if not order_id or len(phone4) != 4 or not phone4.isdigit():
                return st, history, gr.update(value=T("verify_missing", locale)), gr.update(), gr.update()
            try:
                found = verify_customer(settings, order_id, phone4, _client_ip(request))
            except ratelimit.RateLimited:
                return st, history, gr.update(value=T("too_fast", locale)), gr.update(), gr.update()
            except SajangError:  # verification_failed
                return st, history, gr.update(value=T("verify_failed", locale)), gr.update(), gr.update(value="")
            customer_id, name = found.customer_id, found.name
            # A verified chat is a new conversation bound to that customer.
            st.update(customer_id=customer_id, name=name, thread_id=None, pending=[], seen_agent=[], waiting=False)
            ensure_thread(st)  # the conversation row knows its customer: a reload keeps the verification
            shown = name or customer_id
            history = [*history, {"role": "assistant",
                                  "content": T("verified_greeting", locale, name=literal(shown))}]
            return (st, history, gr.update(value=T("verified", locale, name=literal(shown))), gr.update(value=""),
                    gr.update(value=""))

        verify_btn.click(verify, [order_box, phone_box, state, chatbot],
                         [state, chatbot, who, order_box, phone_box]) \
            .then(refresh_csat, [state], [state, *csat_outputs], show_progress="hidden")

        # --- attachments ----------------------------------------------------------------------------
        def attach(file: Any, st: dict[str, Any], request: gr.Request) -> tuple[Any, ...]:
            locale = st.get("locale") or default_locale
            path = Path(file if isinstance(file, str) else getattr(file, "name", "") or "")
            try:
                if not path.is_file():
                    raise ValueError("no file")
                ratelimit.check("chat_upload_ip", _client_ip(request), settings.rate_limit_per_minute)
                data = path.read_bytes()[: settings.max_attachment_bytes + 1]
                thread_id = ensure_thread(st)
                ratelimit.check("chat_upload_session", thread_id, settings.rate_limit_per_minute)
                stored = save_attachment(settings, thread_id, path.name, data, "customer")
            except ratelimit.RateLimited:
                return st, gr.update(value=T("too_fast", locale))
            except Exception as exc:  # a refused file is a message to the customer, never a crash
                log.info("attachment refused: %s", exc)
                return st, gr.update(value=T("attach_bad", locale, mb=max_mb))
            finally:
                # Gradio's upload cache would serve the file to anyone with its URL: drop our copy now.
                with contextlib.suppress(OSError):
                    if path.is_file():
                        os.unlink(path)
            st["pending"] = [*st.get("pending", []), stored.as_dict(settings)][-5:]
            names = ", ".join(literal(a["filename"]) for a in st["pending"])
            return st, gr.update(value=T("attached", locale, name=names))

        upload_btn.upload(attach, [upload_btn, state], [state, attach_note])

        # --- sending (streamed) ---------------------------------------------------------------------
        def respond(text: str, st: dict[str, Any], history: list[dict[str, Any]],
                    request: gr.Request) -> Iterator[tuple[Any, ...]]:
            locale = st.get("locale") or default_locale
            text = (text or "").strip()
            pending = list(st.get("pending") or [])
            if not text and not pending:
                yield st, history, gr.update(), gr.update()
                return
            if not text:
                text = T("photo", locale)
            if len(text) > settings.max_message_chars:
                gr.Warning(T("too_long", locale, n=len(text), limit=settings.max_message_chars))
                yield st, history, gr.update(), gr.update()
                return
            session = getattr(request, "session_hash", None) or "anon"
            try:
                ratelimit.check("chat_msg_ip", _client_ip(request), settings.rate_limit_per_minute)
                thread_id = ensure_thread(st)
                ratelimit.check("chat_msg_session", thread_id, settings.rate_limit_per_minute)
            except ratelimit.RateLimited:
                gr.Warning(T("too_fast", locale))
                yield st, history, gr.update(), gr.update()
                return
            shown = literal(text) + "".join("\n\n" + _image_markdown(a, locale) for a in pending)
            history = [*history, {"role": "user", "content": shown}]
            st["pending"] = []
            yield st, history, gr.update(value=""), gr.update(value="")
            with _busy_lock:
                _busy.add(session)
            answer = ""
            history = [*history, {"role": "assistant", "content": TYPING}]
            yield st, history, gr.update(), gr.update()  # the bot is "typing" until the first words come
            try:
                result: AskResult | None = None
                for chunk in inquiries(settings).stream(text, customer_id=st.get("customer_id"), thread_id=thread_id,
                                                        locale=locale, attachment_ids=[int(a["id"]) for a in pending]):
                    if isinstance(chunk, AskResult):
                        result = chunk
                    elif chunk:
                        answer += str(chunk)
                        history[-1] = {"role": "assistant", "content": literal(answer)}
                        yield st, history, gr.update(), gr.update()
                final = _final_text(result, answer, locale)
                if result is not None and result.handoff:
                    st["waiting"] = True  # a person is awaited: offer «답변 알림 받기»
                if final:
                    history[-1] = {"role": "assistant", "content": final}
                else:
                    history = history[:-1]
            except Exception:
                log.exception("chat answer failed")
                history[-1] = {"role": "assistant", "content": T("error", locale)}
            finally:
                with _busy_lock:
                    _busy.discard(session)
            yield st, history, gr.update(), gr.update()

        def _final_text(result: AskResult | None, streamed: str, locale: str) -> str:
            if result is None:
                return literal(streamed)
            answer = (result.answer or streamed or "").strip()
            if result.handoff and not answer:
                shown = T("waiting", locale, hours=literal(settings.store.cs_hours))
            elif answer:
                shown = literal(answer)
            else:
                return T("queued", locale) if result.handoff_reason == "waiting_for_agent" else ""
            return shown + _sources_line(result.sources, locale)

        send_inputs = [box, state, chatbot]
        send_outputs = [state, chatbot, box, attach_note]
        after_turn: dict[str, Any] = {"fn": refresh_csat, "inputs": [state], "outputs": [state, *csat_outputs],
                                      "show_progress": "hidden"}
        box.submit(respond, send_inputs, send_outputs, concurrency_limit=16).then(**after_turn)
        send_btn.click(respond, send_inputs, send_outputs, concurrency_limit=16).then(**after_turn)

        def ask_person(st: dict[str, Any], history: list[dict[str, Any]],
                       request: gr.Request) -> Iterator[tuple[Any, ...]]:
            yield from respond(handoff_request_text(st.get("locale") or default_locale), st, history, request)

        handoff_btn.click(ask_person, [state, chatbot], send_outputs, concurrency_limit=16).then(**after_turn)

        # --- quick-reply chips: the channels' list; «상담원 연결» is the handoff button's action ---------
        def chip_sender(label: str, message: str) -> Any:
            def send_chip(st: dict[str, Any], history: list[dict[str, Any]],
                          request: gr.Request) -> Iterator[tuple[Any, ...]]:
                locale = st.get("locale") or default_locale
                text = (handoff_request_text(locale) if message == handoff_request_text("ko")
                        else message if locale == "ko" else T(f"chip_text:{label}", locale) or message)
                yield from respond(text, st, history, request)
            return send_chip

        for (label, message), chip in zip(CHIPS, chip_btns, strict=True):
            chip.click(chip_sender(label, message), [state, chatbot], send_outputs,
                       concurrency_limit=16).then(**after_turn)

        # --- the rating: one tap stores it (once per conversation) -----------------------------------
        def rater(score: int) -> Any:
            def rate(comment: str, st: dict[str, Any], request: gr.Request) -> tuple[Any, ...]:
                locale = st.get("locale") or default_locale
                thread_id = st.get("thread_id")
                if not thread_id:
                    return st, *csat_view(st), gr.update()
                try:
                    ratelimit.check("chat_csat_ip", _client_ip(request), settings.rate_limit_per_minute)
                    # asked again here: a row left open in another tab may be out of date
                    st["csat"] = csat_state(inquiries(settings).conversation(thread_id))
                    if not st["csat"]["ended"]:
                        gr.Warning(T("csat_not_ended", locale))
                        return st, *csat_view(st), gr.update()
                    out = record_csat(settings, thread_id, score, comment)
                except ratelimit.RateLimited:
                    gr.Warning(T("too_fast", locale))
                    return st, *csat_view(st), gr.update()
                except SajangError:
                    log.exception("rating refused")
                    gr.Warning(T("error", locale))
                    return st, *csat_view(st), gr.update()
                st["csat"] = {"ended": True, "score": out["score"], "already": not out["stored"]}
                return st, *csat_view(st), gr.update(value="")
            return rate

        for n, star_btn in enumerate(csat_btns, start=1):
            star_btn.click(rater(n), [csat_comment, state], [state, *csat_outputs, csat_comment])

        # --- agent replies without reload -----------------------------------------------------------
        def poll(st: dict[str, Any], history: list[dict[str, Any]], request: gr.Request) -> tuple[Any, ...]:
            thread_id = st.get("thread_id")
            session = getattr(request, "session_hash", None) or "anon"
            with _busy_lock:
                busy = session in _busy
                starts = _fresh_starts.get(session, 0)
            unchanged = (gr.skip(),) * (3 + len(csat_outputs))
            if not thread_id or busy:
                return unchanged
            try:
                conversation = inquiries(settings).conversation(thread_id)
            except Exception:
                log.exception("poll failed")
                return unchanged
            with _busy_lock:
                if _fresh_starts.get(session, 0) != starts:  # «새 대화» meanwhile: this state is the old one
                    return unchanged
            seen = set(st.get("seen_agent") or [])
            new = [m for m in conversation.messages if m.role == "agent" and _message_key(m) not in seen]
            # an agent resolving the conversation (or reopening it) shows (or hides) the rating row
            ended = conversation_ended(conversation)
            rating: tuple[Any, ...] = (gr.skip(),) * (1 + len(csat_outputs))
            changed = ended != bool((st.get("csat") or {}).get("ended"))
            if changed:
                st["csat"] = read_csat(lambda: conversation, {"ended": False})
                st["waiting"] = conversation.status in ("new", "assigned")  # resolved: no more «답변 알림»
                rating = (*csat_view(st), gr.update(visible=st["waiting"]))
            if not new:
                return st if changed else gr.skip(), gr.skip(), *rating
            locale = st.get("locale") or default_locale
            st["seen_agent"] = [*seen, *(_message_key(m) for m in new)]
            return st, [*history, *(_agent_bubble(m, locale, settings, thread_id) for m in new)], *rating

        timer.tick(poll, [state, chatbot], [state, chatbot, *csat_outputs, notify_group], show_progress="hidden",
                   queue=False)

    blocks.queue(default_concurrency_limit=16)
    return blocks
