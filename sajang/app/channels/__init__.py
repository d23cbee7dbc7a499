"""Customer channels: the routes each messaging platform calls, in that platform's format.

    POST /channels/kakao/skill           KakaoTalk channel chatbot (Kakao i OpenBuilder skill)
    POST /channels/naver-talk/webhook    Naver TalkTalk chatbot API
    GET  /widget.js                      the chat bubble for any shop site (talks to /api/v1/chat/*)

Only the channels named in `SAJANG_CHANNELS` are mounted (the others answer 404). The turn logic is the
service API (`sajang.services.channels` over `sajang.services.inquiry`); these modules only translate.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter

from sajang.app.channels import kakao, naver_talk, widget
from sajang.config import Settings

log = logging.getLogger("sajang.channels")

ROUTERS = {"kakao": kakao.router, "naver_talk": naver_talk.router, "widget": widget.router}
SECRETS = {"kakao": "kakao_secret", "naver_talk": "naver_talk_secret"}


def build_channels_router(settings: Settings) -> APIRouter:
    """The enabled channels' routes; warns at start about a platform webhook without a shared secret."""
    router = APIRouter()
    for channel in settings.channels:
        router.include_router(ROUTERS[channel])
        secret = SECRETS.get(channel)
        if secret and not getattr(settings, secret):
            log.warning("channel %s: SAJANG_%s is not set, so any request to its webhook is accepted "
                        "(development only: set it and send it from the platform)", channel, secret.upper())
        if channel == "naver_talk" and not settings.naver_talk_token:
            log.warning("channel naver_talk: SAJANG_NAVER_TALK_TOKEN is not set, so agent replies and handoffs "
                        "cannot be sent through the TalkTalk send API")
    return router
