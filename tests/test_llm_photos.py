"""A customer's photo read by a vision-capable model (`SAJANG_VISION_MODEL`) over the real
`langchain-openai` client and the local OpenAI-compatible stub (tests/openai_stub_server.py): the image goes
over the wire as a base64 data URL in an `image_url` content part (the OpenAI chat format, also what
Ollama's and vLLM's endpoints take: https://platform.openai.com/docs/guides/images-vision), the
description joins the answer call's prompt and the handoff summary the agent reads; when the vision call
fails the turn is answered all the same and the photo is only counted.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from openai_stub_server import OpenAIStub
from PIL import Image
from sqlalchemy import Engine
from test_inquiry_support import A, seed_llm_store

from sajang.config import Settings
from sajang.graphs.common.breaker import chat_model_status, reset_breakers
from sajang.graphs.inquiry.photos import MAX_SIDE, data_url
from sajang.graphs.inquiry.service import InquiryService, get_inquiry_service
from sajang.services.attachments import save_attachment

DAMAGE = "상자가 찌그러져서 왔고 국물이 다 새었어요"


@pytest.fixture
def stub() -> Iterator[OpenAIStub]:
    with OpenAIStub() as s:
        yield s


def vision_store(settings: Settings, engine: Engine, stub: OpenAIStub, monkeypatch: pytest.MonkeyPatch,
                 tmp_path: Any, **env: str) -> Settings:
    reset_breakers()
    monkeypatch.setenv("SAJANG_VISION_MODEL", "stub-vision")
    # a first turn also loads the classifier: on a busy machine that alone can outlast the default budget
    monkeypatch.setenv("SAJANG_LLM_TURN_DEADLINE_S", "300")
    for key, value in env.items():
        monkeypatch.setenv(f"SAJANG_{key.upper()}", value)
    return seed_llm_store(engine, tmp_path, monkeypatch, stub.base_url)


def photo_bytes(width: int = 2000, height: int = 1500, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (180, 120, 60)).save(buf, format=fmt)
    return buf.getvalue()


def send_with_photo(svc: InquiryService, settings: Settings, text: str, data: bytes,
                    filename: str = "box.png") -> dict[str, Any]:
    thread_id = svc.start_conversation(A)
    stored = save_attachment(settings, thread_id, filename, data)
    return svc.ask(text, customer_id=A, thread_id=thread_id, attachments=[stored.as_dict(settings)])


def test_a_photo_is_described_and_the_agent_reads_it_in_the_handoff(settings: Settings, engine: Engine,
                                                                    stub: OpenAIStub, tmp_path: Any,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    llm = vision_store(settings, engine, stub, monkeypatch, tmp_path)
    svc = get_inquiry_service(llm)
    r = send_with_photo(svc, llm, DAMAGE, photo_bytes())
    bodies = stub.chat_requests()
    vision = [b for b in bodies if b["model"] == "stub-vision"]
    assert len(vision) == 1 and not vision[0].get("tools")
    parts = vision[0]["messages"][-1]["content"]
    assert parts[0]["type"] == "text" and DAMAGE in parts[0]["text"]
    assert parts[1]["type"] == "image_url" and parts[1]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    # scaled to the longer side's limit and re-encoded as JPEG before it left
    assert stub.server.images == [("jpeg", MAX_SIDE, MAX_SIDE * 3 // 4)]
    # the answer call reads what the photo shows, and is told not to ask for one
    answer_call = [b for b in bodies if b["model"] == "stub-gpt"][-1]
    system = answer_call["messages"][0]["content"]
    assert "사진 1장" in system and "1024×768" in system and "찌그러지고" in system
    # the agent's queue line: what the photo shows, before opening it
    assert r["handoff"], r
    payload = svc.pending(r["thread_id"])[1]
    assert "첨부 1개" in payload["summary"] and "사진: 파손·누수 — 사진 1장(1024×768)" in payload["summary"]
    assert payload["photo_notes"].startswith("파손·누수")
    notice = svc.get_conversation(r["thread_id"])["messages"][-1]["text"]
    assert "사진을 보내 주시면" not in notice
    assert chat_model_status(llm)["consecutive_failures"] == 0


def test_a_photo_without_damage_is_described_plainly(settings: Settings, engine: Engine, stub: OpenAIStub,
                                                     tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    llm = vision_store(settings, engine, stub, monkeypatch, tmp_path)
    r = send_with_photo(get_inquiry_service(llm), llm, "반품 비용은 얼마예요?", photo_bytes(300, 400, "GIF"), "a.gif")
    # a GIF (which Ollama refuses) went out as a JPEG, not scaled up
    assert stub.server.images == [("jpeg", 300, 400)]
    system = stub.chat_requests()[-1]["messages"][0]["content"]
    assert "포장이 보입니다" in system and r["answer"]


def test_when_the_vision_call_fails_the_turn_still_ends_well(settings: Settings, engine: Engine, stub: OpenAIStub,
                                                             tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A text-only model answers 400 to image parts: the photo is only counted (as offline), the answer
    call still runs and is told a photo was sent, and the chat model is not counted as failing."""
    llm = vision_store(settings, engine, stub, monkeypatch, tmp_path)
    stub.server.no_images = True
    svc = get_inquiry_service(llm)
    r = send_with_photo(svc, llm, DAMAGE, photo_bytes())
    bodies = stub.chat_requests()
    assert [b["model"] for b in bodies] == ["stub-vision", "stub-gpt"]
    system = bodies[-1]["messages"][0]["content"]
    assert "사진 1장" in system and "사진 판독" not in system
    assert r["handoff"] and r["answer"]
    payload = svc.pending(r["thread_id"])[1]
    assert "첨부 1개" in payload["summary"] and "사진:" not in payload["summary"] and payload["photo_notes"] == ""
    assert chat_model_status(llm)["consecutive_failures"] == 0


def test_no_vision_call_without_a_photo_or_without_a_vision_model(settings: Settings, engine: Engine,
                                                                  stub: OpenAIStub, tmp_path: Any,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    llm = vision_store(settings, engine, stub, monkeypatch, tmp_path)
    svc = get_inquiry_service(llm)
    svc.ask(DAMAGE, customer_id=A)
    assert [b["model"] for b in stub.chat_requests()] == ["stub-gpt"]
    llm.vision_model = None
    send_with_photo(svc, llm, DAMAGE, photo_bytes())
    assert [b["model"] for b in stub.chat_requests()] == ["stub-gpt", "stub-gpt"] and stub.server.images == []


def test_with_personal_data_masked_photos_do_not_leave(settings: Settings, engine: Engine, stub: OpenAIStub,
                                                       tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A photo of a shipping label shows a name, a phone and an address that no placeholder can cover."""
    llm = vision_store(settings, engine, stub, monkeypatch, tmp_path, llm_mask_pii="true")
    r = send_with_photo(get_inquiry_service(llm), llm, DAMAGE, photo_bytes())
    assert stub.server.images == [] and all(b["model"] == "stub-gpt" for b in stub.chat_requests())
    assert r["answer"]


def test_data_url_keeps_the_first_frame_and_the_aspect() -> None:
    url = data_url(photo_bytes(4000, 1000, "WEBP"))
    assert url.startswith("data:image/jpeg;base64,")
    import base64

    with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as img:
        assert img.size == (MAX_SIDE, MAX_SIDE // 4) and img.format == "JPEG"
