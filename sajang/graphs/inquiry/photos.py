"""What the customer's photos show, read by a vision-capable model (`SAJANG_VISION_MODEL`).

One call per message with photos: the images (scaled to at most `MAX_SIDE` px, re-encoded as JPEG, sent
as base64 data URLs: OpenAI, vLLM and Ollama all take them; Ollama refuses GIF) and the customer's
words; the model answers with a short description for the agent (damage, a leak, a spoiled or wrong
item, what a label says) and what kinds of finding it saw. The description joins the chat model's
prompt of the turn and the handoff summary the agent reads first.

The call gets at most half of the turn's remaining budget (the answer call needs the rest) and never
fails the turn: without a vision model, with `llm_mask_pii` (a photo of a shipping label cannot be
masked), while the chat model's circuit breaker is open, or when the call fails, the photos are only
counted, as offline.
"""

from __future__ import annotations

import base64
import io
import logging
from pathlib import Path
from typing import Any, Literal

from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.config import get_config
from langgraph.runtime import Runtime
from PIL import Image
from pydantic import BaseModel, Field
from sqlalchemy import Engine, select

from sajang.config import Settings
from sajang.db.models import Attachment, Conversation
from sajang.graphs.common.breaker import breaker_for
from sajang.graphs.common.llm import Deadline, call_within, get_chat_model
from sajang.graphs.inquiry.context import InquiryContext, thread_of
from sajang.graphs.inquiry.llm_answer import images, model_errors, turn_deadline
from sajang.graphs.inquiry.state import InquiryState

log = logging.getLogger(__name__)

MAX_PHOTOS = 4  # per message: more cost more than they tell
MAX_SIDE = 1024  # px, the longer side (OpenAI's high-detail tiles; a label stays legible)
VISION_SHARE = 0.5  # of the turn's remaining budget


def photo_errors() -> tuple[type[Exception], ...]:
    """A model error (see llm_answer), or a file gone or unreadable: the photos are only counted."""
    return (*model_errors(), OSError, Image.DecompressionBombError)

FINDING_KO = {"damage": "파손", "leak": "누수", "spoiled": "변질", "wrong_item": "오배송", "label": "라벨",
              "packaging": "포장", "other": "기타"}


class PhotoReading(BaseModel):
    """What the customer's photos show, for the agent who takes the conversation."""

    description: str = Field(description="한두 문장, 한국어: 사진에 실제로 보이는 것 (상품·포장 상태, 라벨에 적힌 글자)")
    findings: list[Literal["damage", "leak", "spoiled", "wrong_item", "label", "packaging", "other"]] = Field(
        description="사진에서 확인되는 것: damage 파손, leak 누수, spoiled 변질·곰팡이, wrong_item 주문과 다른 상품, "
                    "label 라벨·송장·유통기한, packaging 포장 상태, other 그 밖")


RESPONSE_FORMAT: dict[str, Any] = {"type": "json_schema", "json_schema": {
    "name": "PhotoReading", "description": PhotoReading.__doc__, "strict": True,
    "schema": {**PhotoReading.model_json_schema(), "additionalProperties": False}}}

SYSTEM = """온라인 식품 쇼핑몰 고객센터입니다. 고객이 보낸 사진을 상담원이 먼저 읽을 수 있게 설명하세요.
사진에 실제로 보이는 것만 쓰세요: 상자·포장의 찌그러짐이나 찢어짐, 깨진 상품, 새거나 녹은 흔적, 상하거나 곰팡이 핀
상품, 주문과 다른 상품, 라벨·송장·유통기한에 적힌 글자. 보이지 않는 것은 추측하지 마세요."""


def photo_files(engine: Engine, data_dir: Path, thread_id: str, ids: list[int]) -> list[bytes]:
    """The bytes of the conversation's own attachments `ids` (another conversation's id reads nothing)."""
    if not ids:
        return []
    with engine.connect() as conn:
        rows = conn.execute(select(Attachment.id, Attachment.path)
                            .join(Conversation, Conversation.id == Attachment.conversation_id)
                            .where(Conversation.thread_id == thread_id, Attachment.id.in_(ids))).all()
    root = (data_dir / "attachments").resolve()
    out = []
    for _, rel in sorted(rows, key=lambda r: ids.index(r[0])):
        path = (data_dir / rel).resolve()
        if path.is_relative_to(root) and path.is_file():
            out.append(path.read_bytes())
    return out


def data_url(data: bytes) -> str:
    """The image scaled to `MAX_SIDE` and re-encoded as a JPEG data URL."""
    with Image.open(io.BytesIO(data)) as img:
        img.seek(0)  # the first frame of an animation
        img.draft("RGB", (MAX_SIDE, MAX_SIDE))  # a large JPEG decodes at 1/2, 1/4 … of its size: less work
        rgb = img.convert("RGB")
    rgb.thumbnail((MAX_SIDE, MAX_SIDE), resample=Image.Resampling.BILINEAR)  # bicubic: 1.5× the time, no gain here
    buf = io.BytesIO()
    rgb.save(buf, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def describe_photos(settings: Settings, photos: list[bytes], text: str, deadline: Deadline,
                    config: Any = None) -> PhotoReading:
    """One vision call for the photos (raises on model errors and when its share of the budget is spent)."""
    parts: list[str | dict[str, Any]] = [{"type": "text", "text": f"고객 메시지: {text}" if text else "고객 메시지 없음"}]
    parts += [{"type": "image_url", "image_url": {"url": data_url(p)}} for p in photos]
    model = get_chat_model(settings, max_retries=0, model_name=settings.vision_model).bind(
        response_format=RESPONSE_FORMAT)
    share = Deadline(deadline.at - deadline.remaining() * (1 - VISION_SHARE))
    ai = call_within(model, [SystemMessage(SYSTEM), HumanMessage(content=parts)], config, share, retries=0)
    return PhotoReading.model_validate_json(ai.content if isinstance(ai.content, str) else "")


def photo_note(reading: PhotoReading) -> str:
    """The one line the agent and the answer call read: '파손·라벨 — 상자 모서리가 …'."""
    kinds = "·".join(dict.fromkeys(FINDING_KO[f] for f in reading.findings if f != "other"))
    desc = " ".join(reading.description.split())[:300]
    return f"{kinds} — {desc}" if kinds else desc


def vision_ready(settings: Settings) -> bool:
    return bool(settings.vision_model) and not settings.llm_mask_pii \
        and breaker_for(settings).status()["state"] != "open"


def route_after_load(state: InquiryState, runtime: Runtime[InquiryContext]) -> Literal["read_photos", "classify"]:
    """Photos and a vision model to read them: `read_photos` first; otherwise on to `classify`."""
    return "read_photos" if images(state.get("attachments")) and vision_ready(runtime.context.settings) \
        else "classify"


def read_photos(state: InquiryState, runtime: Runtime[InquiryContext]) -> dict[str, Any]:
    """Describe the photos sent with this message (see the module docstring).

    Reads: `attachments`, `text`. Writes: `photo_notes` ("" when there are none, no vision model, or the
    call failed: the photos are then only counted).
    """
    settings = runtime.context.settings
    pictures = images(state.get("attachments"))[:MAX_PHOTOS]
    if not pictures or not vision_ready(settings):
        return {"photo_notes": ""}
    config = get_config()
    try:
        files = photo_files(runtime.context.engine, settings.data_dir, thread_of(config),
                            [int(a["id"]) for a in pictures if isinstance(a.get("id"), int)])
        if not files:
            return {"photo_notes": ""}
        reading = describe_photos(settings, files, state.get("text") or "", turn_deadline(settings, config), config)
    except photo_errors() as exc:
        log.warning("the photos could not be described, counting them only: %s: %s", type(exc).__name__, exc)
        return {"photo_notes": ""}
    return {"photo_notes": photo_note(reading)}
