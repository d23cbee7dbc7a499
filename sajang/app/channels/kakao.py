"""`POST /channels/kakao/skill`: the KakaoTalk channel chatbot, a Kakao i OpenBuilder skill.

Format (public docs): the skill payload and response v2.0
(https://kakaobusiness.gitbook.io/main/tool/chatbot/skill_guide/answer_json_format, also
https://i.kakao.com/docs/skill-response-format) and the AI-chatbot callback
(https://i.kakao.com/docs/skill-callback-dev-guide): the skill answers within 5 s; a block with the callback
enabled sends a one-time `userRequest.callbackUrl`, valid 1 minute, and the skill may answer
`{"version": "2.0", "useCallback": true}` at once and POST the real response to that URL.

- `userRequest.user.id` (the botUserKey) is the customer: one conversation each, channel `kakao`;
- without a chat model a turn takes milliseconds and is answered in the response; with one, a request
  carrying a `callbackUrl` is answered through the callback (the turn gets up to `llm_turn_deadline_s`,
  inside the URL's minute), and one without gets the fast deadline (`llm_fast_deadline_s`) to fit in 5 s;
- handoff: the customer is told; a KakaoTalk chatbot cannot push, so the agent's reply is shown on the
  customer's next message (or when they tap «답변 확인»);
- at most 3 outputs, simpleText at most 1,000 characters, at most 10 quickReplies.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import httpx
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from sajang.app.channels.common import check_secret
from sajang.app.deps import SettingsDep
from sajang.config import Settings
from sajang.services.channels import (
    CHECK_REPLY,
    CHIPS,
    EVENT_WINDOW,
    WAITING_NOTICE,
    ChannelTurn,
    agent_line,
    channels,
    event_key,
    split_text,
)

router = APIRouter(prefix="/channels/kakao", tags=["channels"])
log = logging.getLogger(__name__)

CHANNEL = "kakao"
TEXT_LIMIT = 1000  # simpleText.text
OUTPUTS_LIMIT = 3  # template.outputs
QUICK_REPLIES_LIMIT = 10
CALLBACK_DEADLINE_S = 45.0  # the callback URL lives 1 minute: the turn and the POST must fit
WELCOME = "안녕하세요, {shop}입니다. 무엇을 도와드릴까요? 아래에서 골라 주시거나 편하게 적어 주세요."
PREPARING = "답변을 준비하고 있어요. 잠시만 기다려 주세요."
PHOTO_RECEIVED = "사진 잘 받았어요. 어떤 일인지 글로 적어 주시면 함께 확인할게요."
TOO_LONG = "메시지가 너무 길어요. {limit}자 이내로 나누어 보내 주세요."
# a KakaoTalk chatbot cannot push: the customer learns how the person's answer will reach them
REPLY_HOW = "상담원 답변이 오면 다음에 메시지를 보내시거나 «답변 확인»을 누르실 때 여기에서 보여 드릴게요."


class KakaoUser(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str = Field(min_length=1, max_length=128)
    type: str | None = None


class KakaoUserRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    utterance: str = Field(default="", max_length=20_000)
    user: KakaoUser
    callbackUrl: str | None = Field(default=None, max_length=2000, pattern=r"^https?://")
    params: dict[str, Any] = {}


class KakaoSkillRequest(BaseModel):
    """The skill payload (intent, userRequest, bot, action); only `userRequest` is read."""

    model_config = ConfigDict(extra="allow")
    userRequest: KakaoUserRequest


def _quick_replies(waiting: bool) -> list[dict[str, str]]:
    chips = ([CHECK_REPLY] if waiting else []) + [c for c in CHIPS if not (waiting and c[0] == "상담원 연결")]
    return [{"label": label, "action": "message", "messageText": text}
            for label, text in chips[:QUICK_REPLIES_LIMIT]]


def skill_response(texts: list[str], waiting: bool) -> dict[str, Any]:
    """A v2.0 skill response: the texts as simpleText outputs within the limits, and the chips."""
    pieces = [p for t in texts if t for p in split_text(t, TEXT_LIMIT)]
    if len(pieces) > OUTPUTS_LIMIT:  # keep the newest: the answer to what was just asked
        pieces = pieces[-OUTPUTS_LIMIT:]
    outputs = [{"simpleText": {"text": p}} for p in pieces]
    return {"version": "2.0", "template": {"outputs": outputs, "quickReplies": _quick_replies(waiting)}}


def _render(turn: ChannelTurn) -> dict[str, Any]:
    texts = [agent_line(r) for r in turn.agent_replies]
    answer = turn.answer or (WAITING_NOTICE if turn.waiting else None)
    if answer:
        texts.append(answer)
    if turn.handoff and turn.answer:
        texts.append(REPLY_HOW)
    return skill_response(texts, turn.waiting)


def _image_url(req: KakaoUserRequest) -> str | None:
    """A photo the customer sent: `params.media` of an image, or an utterance that is only an image URL."""
    media = req.params.get("media")
    if isinstance(media, dict) and media.get("type") == "image" and isinstance(media.get("url"), str):
        return str(media["url"])
    text = req.utterance.strip()
    if text.startswith(("http://", "https://")) and " " not in text and \
            text.split("?")[0].lower().endswith((".jpg", ".jpeg", ".png", ".gif", ".webp")):
        return text
    return None


def handle(settings: Settings, body: KakaoSkillRequest, deadline_s: float) -> dict[str, Any]:
    """One skill request (after the secret and idempotency checks): the skill response."""
    api = channels(settings)
    req = body.userRequest
    link = api.link(CHANNEL, req.user.id)
    text = req.utterance.strip()
    image = _image_url(req)
    if image:
        api.record_customer_line(link, f"[사진] {image}", meta={"image_url": image})
        turn = api.check_replies(link)
        return skill_response([agent_line(r) for r in turn.agent_replies] + [PHOTO_RECEIVED], turn.waiting)
    if not text:
        return skill_response([WELCOME.format(shop=settings.store.shop_name)], False)
    if len(text) > settings.max_message_chars:
        return skill_response([TOO_LONG.format(limit=settings.max_message_chars)], False)
    if text in CHECK_REPLY:
        return _render(api.check_replies(link))
    return _render(api.ask(link, text, deadline_s=deadline_s))


def _answer_by_callback(settings: Settings, body: KakaoSkillRequest, url: str, key: str) -> None:
    try:
        response = handle(settings, body, deadline_s=min(settings.llm_turn_deadline_s, CALLBACK_DEADLINE_S))
    except Exception:
        log.exception("kakao callback turn failed")
        response = skill_response(["죄송해요, 답변을 만들지 못했어요. 잠시 후 다시 보내 주세요."], False)
    try:
        httpx.post(url, json=response, timeout=10.0).raise_for_status()
    except httpx.HTTPError:
        log.warning("kakao callback POST to %s failed", url, exc_info=True)


@router.post("/skill", summary="KakaoTalk channel chatbot (Kakao i OpenBuilder skill, response v2.0)")
async def skill(body: KakaoSkillRequest, request: Request, settings: SettingsDep) -> dict[str, Any]:
    check_secret(request, settings.kakao_secret)
    req = body.userRequest
    # a callback URL is issued once per request; otherwise a retry is the same body again
    key = event_key(CHANNEL, req.callbackUrl or body.model_dump_json())
    api = channels(settings)
    # a callback URL is never reused: its request is never run twice, however slow the first answer
    new, stored = await run_in_threadpool(api.claim_event, CHANNEL, key, None if req.callbackUrl else EVENT_WINDOW)
    if not new:
        return stored or skill_response([PREPARING], False)
    if req.callbackUrl and settings.llm_enabled:
        response: dict[str, Any] = {"version": "2.0", "useCallback": True, "data": {"text": PREPARING}}
        await run_in_threadpool(api.remember_response, CHANNEL, key, response)
        threading.Thread(target=_answer_by_callback, args=(settings, body, req.callbackUrl, key),
                         name="kakao-callback", daemon=True).start()
        return response
    response = await run_in_threadpool(handle, settings, body, settings.llm_fast_deadline_s)
    await run_in_threadpool(api.remember_response, CHANNEL, key, response)
    return response
