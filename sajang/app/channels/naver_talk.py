"""`POST /channels/naver-talk/webhook`: the Naver TalkTalk chatbot API (the 톡톡 button of SmartStore).

Format (public docs): https://github.com/navertalk/chatbot-api (README: events `open`, `leave`, `send` with
`textContent` / `imageContent`, the answer in the response body or later through the send API
`POST https://gw.talk.naver.com/chatbot/v1/event` with the partner's `Authorization` token; text at most
10,000 characters, quick-reply button titles at most 10) and its handover_v1.md (`passThread` with
`targetId: 1` gives the thread to the partner center's queue; while a person owns it the customer's events
carry `standby: true` and the bot must stay silent; «상담 완료하기» sends a `handover` event back to the bot).

- the event's `user` is the customer: one conversation each, channel `naver_talk`;
- a text is one turn of the inquiry service with the fast deadline (TalkTalk reads for 5 s); the answer
  goes back in the response body;
- on a handoff the notice and `passThread` go out through the send API, so the conversation is in the
  partner center's queue as well as in our hub; the hub's agent replies go out through the send API;
- `standby` lines are stored for the agent without a bot turn; the partner's `handover` back ends the
  person's part (the conversation is resolved and the bot answers again);
- `echo` events (handover_v1.md, «echo 이벤트 활용»: `echoedEvent: "send"`, `options.sourceId` — 1 for a
  person in the partner center, the bot's own id for what we sent — `threadOwnerId`, `managerNickname`)
  are the partner's own messages, never a customer's: never answered; what a person wrote in the partner
  center is stored as an agent message (the hub shows the whole thread; a platform retry of the same
  event stores nothing twice), what we sent ourselves is ignored (it is stored already).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from sajang.app.channels.common import check_secret
from sajang.app.deps import SettingsDep
from sajang.config import Settings
from sajang.services.channels import (
    CHIPS,
    NAVER_BUTTON_TITLE_LIMIT,
    NAVER_TEXT_LIMIT,
    NaverSendError,
    channels,
    event_key,
    naver_send,
    split_text,
)

router = APIRouter(prefix="/channels/naver-talk", tags=["channels"])
log = logging.getLogger(__name__)

CHANNEL = "naver_talk"
PARTNER_TARGET = 1  # handover targetId of the partner center (also an echo's sourceId / threadOwnerId)
WELCOME = "안녕하세요, {shop}입니다. 무엇을 도와드릴까요? 아래에서 골라 주시거나 편하게 적어 주세요."
HANDOFF_NOTICE = "상담원에게 연결했어요. 상담원이 이 대화방에서 바로 답변드릴게요."
PHOTO_RECEIVED = "사진 잘 받았어요. 어떤 일인지 글로 적어 주시면 함께 확인할게요."
TOO_LONG = "메시지가 너무 길어요. {limit}자 이내로 나누어 보내 주세요."


class TextContent(BaseModel):
    model_config = ConfigDict(extra="allow")
    text: str = Field(default="", max_length=20_000)
    code: str | None = Field(default=None, max_length=1000)
    inputType: str | None = None


class ImageContent(BaseModel):
    model_config = ConfigDict(extra="allow")
    imageUrl: str = Field(max_length=2000)


class NaverEvent(BaseModel):
    model_config = ConfigDict(extra="allow")
    event: str = Field(min_length=1, max_length=32)
    echoedEvent: str | None = Field(default=None, max_length=32)
    user: str | None = Field(default=None, max_length=128)
    standby: bool = False
    textContent: TextContent | None = None
    imageContent: ImageContent | None = None
    options: dict[str, Any] = {}


def quick_reply() -> dict[str, Any]:
    """The chips as TalkTalk quick-reply TEXT buttons (the code carries the message the chip sends)."""
    return {"buttonList": [{"type": "TEXT", "data": {"title": label[:NAVER_BUTTON_TITLE_LIMIT], "code": text}}
                           for label, text in CHIPS]}


def send_event(text: str, chips: bool = True) -> dict[str, Any]:
    content: dict[str, Any] = {"text": text[:NAVER_TEXT_LIMIT]}
    if chips:
        content["quickReply"] = quick_reply()
    return {"event": "send", "textContent": content}


def _hand_over(settings: Settings, user: str, notice: str | None) -> None:
    """The handoff notice, then `passThread` to the partner center (send API, after the webhook answered)."""
    try:
        if notice:
            for piece in split_text(notice, NAVER_TEXT_LIMIT):
                naver_send(settings, {"event": "send", "user": user, "textContent": {"text": piece}})
        naver_send(settings, {"event": "handover", "user": user,
                              "options": {"control": "passThread", "targetId": PARTNER_TARGET}})
    except NaverSendError:
        log.warning("TalkTalk handoff of %s not sent", user, exc_info=True)


def _record_echo(settings: Settings, ev: NaverEvent) -> None:
    """A person's message in the partner center becomes an agent line of the conversation; our own sends
    (the bot's answers, the hub's replies: another `sourceId`) are stored already."""
    if ev.echoedEvent not in (None, "send") or not ev.user or ev.options.get("sourceId") != PARTNER_TARGET:
        return
    if ev.textContent is not None and ev.textContent.text.strip():
        text = ev.textContent.text.strip()
    elif ev.imageContent is not None:
        text = f"[사진] {ev.imageContent.imageUrl}"
    else:
        return
    api = channels(settings)
    link = api.link(CHANNEL, ev.user)
    if ev.options.get("threadOwnerId") == PARTNER_TARGET and link.owner != "partner":
        api.set_owner(link, "partner")
    nickname = ev.options.get("managerNickname")
    api.record_partner_line(link, text, str(nickname)[:100] if nickname else None)


def handle(settings: Settings, ev: NaverEvent) -> dict[str, Any] | None:
    """One webhook event: the event to answer with in the body, or None (200 with an empty body)."""
    if not ev.user:
        return None
    api = channels(settings)
    if ev.event == "open":
        api.link(CHANNEL, ev.user)
        return send_event(WELCOME.format(shop=settings.store.shop_name))
    if ev.event == "handover":
        link = api.link(CHANNEL, ev.user)
        # the partner finished («상담 완료하기»): the thread is the bot's again
        if ev.options.get("control") == "passThread":
            api.set_owner(link, "bot")
            if api.status(link.thread_id) in ("new", "assigned"):
                api.api.resolve(link.thread_id, None)
        return None
    if ev.event == "echo":
        _record_echo(settings, ev)
        return None  # the partner's own message: never a customer's, never answered
    if ev.event != "send":
        return None  # leave, friend, action …: nothing to say
    link = api.link(CHANNEL, ev.user)
    if ev.imageContent is not None:
        api.record_customer_line(link, f"[사진] {ev.imageContent.imageUrl}",
                                 meta={"image_url": ev.imageContent.imageUrl})
        return None if ev.standby else send_event(PHOTO_RECEIVED)
    if ev.textContent is None:
        return None
    # a chip sends its label as text and the message as code
    text = (ev.textContent.code if ev.textContent.inputType == "button" and ev.textContent.code
            else ev.textContent.text).strip()
    if not text:
        return None
    if ev.standby:  # a person owns the thread in the partner center: store the line, say nothing
        if link.owner != "partner":
            api.set_owner(link, "partner")
        api.record_customer_line(link, text)
        return None
    if len(text) > settings.max_message_chars:
        return send_event(TOO_LONG.format(limit=settings.max_message_chars))
    api.deliver_agent_replies(link.thread_id)  # a reply the push missed (send API down, CLI) goes first
    was_waiting = api.status(link.thread_id) in ("new", "assigned")
    turn = api.ask(link, text, deadline_s=settings.llm_fast_deadline_s)
    if turn.handoff and not was_waiting:
        api.set_owner(link, "partner")
        threading.Thread(target=_hand_over, args=(settings, ev.user, turn.answer or HANDOFF_NOTICE),
                         name="naver-handover", daemon=True).start()
        return None
    return send_event(turn.answer) if turn.answer else None


@router.post("/webhook", summary="Naver TalkTalk chatbot API webhook (open, send, leave, handover)")
async def webhook(ev: NaverEvent, request: Request, settings: SettingsDep) -> Response:
    check_secret(request, settings.naver_talk_secret)
    key = event_key(CHANNEL, ev.model_dump_json())
    api = channels(settings)
    new, stored = await run_in_threadpool(api.claim_event, CHANNEL, key)
    if not new:
        return JSONResponse(stored["event"]) if stored and stored.get("event") else Response(status_code=200)
    answer = await run_in_threadpool(handle, settings, ev)
    await run_in_threadpool(api.remember_response, CHANNEL, key, {"event": answer})
    if answer is None:
        return Response(status_code=200)
    return JSONResponse(answer)
