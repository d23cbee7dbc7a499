"""`GET /widget.js`: the chat bubble for any shop site (Cafe24 skin, Imweb, the shop's own pages).

One line on the shop's page — `<script src="https://<sajang>/widget.js" async></script>` (with
`data-member-id` / `data-member-hash` for a logged-in member) — adds a bubble that opens a chat talking to
`/api/v1/chat/*` across origins (the shop's origin must be in `SAJANG_CORS_ORIGINS`). The conversation's
token stays in the browser (`localStorage`), so a reload or a later visit shows the history and the agent
replies that came meanwhile; the open chat polls for them. The widget draws itself in a shadow root, so the
shop's CSS and ours never mix.
"""

from __future__ import annotations

import json
from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import Response

from sajang.app.deps import SettingsDep
from sajang.services.channels import CHIPS

router = APIRouter(tags=["channels"])

WELCOME = "안녕하세요, {shop}입니다 😊 무엇을 도와드릴까요? 아래에서 골라 주시거나 편하게 적어 주세요."


@router.get("/widget.js", summary="The chat bubble script for the shop's own site",
            response_class=Response, responses={200: {"content": {"text/javascript": {}}}})
def widget_js(settings: SettingsDep) -> Response:
    config = {"shop": settings.store.shop_name, "color": settings.widget_color,
              "welcome": WELCOME.format(shop=settings.store.shop_name),
              "chips": [{"label": label, "text": text} for label, text in CHIPS]}
    source = files("sajang.app.channels").joinpath("widget.js").read_text(encoding="utf-8")
    body = source.replace("/*CONFIG*/{}", json.dumps(config, ensure_ascii=False))
    return Response(body, media_type="text/javascript; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=300"})
