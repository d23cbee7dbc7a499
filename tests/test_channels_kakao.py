"""KakaoTalk channel chatbot: `POST /channels/kakao/skill` against the running app and the real inquiry service.

Payloads and responses follow Kakao's public docs for the OpenBuilder skill:
- skill payload / response v2.0: https://kakaobusiness.gitbook.io/main/tool/chatbot/skill_guide/answer_json_format
  (also https://i.kakao.com/docs/skill-response-format): `userRequest.utterance`, `userRequest.user.id`
  (botUserKey), `template.outputs[].simpleText.text`, `template.quickReplies[]` (label, action, messageText);
- AI-chatbot callback: https://i.kakao.com/docs/skill-callback-dev-guide — `userRequest.callbackUrl` (one use,
  1 minute), answer `{"version": "2.0", "useCallback": true}` within the 5 s skill timeout and POST the
  response to the URL; here the URL is a local fake (tests/channel_fakes.py) and the chat model the repo's
  OpenAI-compatible stub.

Run on both databases:
    pytest tests/test_channels_kakao.py
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test pytest tests/test_channels_kakao.py
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from channel_fakes import FakePlatform
from fastapi.testclient import TestClient
from openai_stub_server import OpenAIStub
from sqlalchemy import Engine, select
from test_inquiry_support import seed_llm_store, seed_store

from sajang.app.channels.kakao import OUTPUTS_LIMIT, TEXT_LIMIT, skill_response
from sajang.config import Settings, get_settings
from sajang.db.engine import session_scope
from sajang.db.models import ChannelLink, Conversation, Message, User
from sajang.services import ratelimit
from sajang.services.accounts import StaffMember
from sajang.services.inquiry import inquiries

CHIP_LABELS = ["배송 조회", "교환·반품", "취소", "상품 문의", "상담원 연결"]


def payload(text: str, user: str = "bUk-001", callback: str | None = None, **params: Any) -> dict[str, Any]:
    """A skill request as the bot sends it (the documented fields; `callbackUrl` only on callback blocks)."""
    user_request: dict[str, Any] = {
        "timezone": "Asia/Seoul", "params": {"ignoreMe": "true", **params},
        "block": {"id": "5f0d8e4a", "name": "폴백 블록"}, "utterance": text, "lang": "ko",
        "user": {"id": user, "type": "botUserKey", "properties": {"botUserKey": user, "bot_user_key": user}},
    }
    if callback:
        user_request["callbackUrl"] = callback
    return {"intent": {"id": "5f0d8e4a", "name": "폴백 블록"}, "userRequest": user_request,
            "bot": {"id": "5f0d8e00", "name": "사장님네 식탁"},
            "action": {"name": "sajang", "clientExtra": None, "params": {}, "id": "5f0d8e77", "detailParams": {}}}


def texts(response: dict[str, Any]) -> list[str]:
    return [o["simpleText"]["text"] for o in response["template"]["outputs"]]


def _client(monkeypatch: pytest.MonkeyPatch, **env: str) -> tuple[TestClient, Settings]:
    from sajang.app.main import create_app

    for key, value in {"SAJANG_CHANNELS": "kakao,naver_talk,widget", **env}.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    settings = get_settings()
    return TestClient(create_app(settings, mount_ui=False)), settings


@pytest.fixture(autouse=True)
def _fresh_buckets() -> Iterator[None]:
    ratelimit.reset_all()
    yield
    ratelimit.reset_all()


@pytest.fixture
def shop(settings: Settings, engine: Engine, tmp_path: Path) -> Settings:
    return seed_store(settings, engine, tmp_path)


@pytest.fixture
def client(shop: Settings, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    return _client(monkeypatch)[0]


def _messages(engine: Engine, thread_id: str) -> list[tuple[str, str]]:
    with session_scope(engine) as s:
        conv = s.scalar(select(Conversation).where(Conversation.thread_id == thread_id))
        assert conv is not None
        return [(m.role, m.text) for m in s.scalars(select(Message).where(Message.conversation_id == conv.id)
                                                    .order_by(Message.id))]


def _link(engine: Engine, user: str) -> ChannelLink:
    with session_scope(engine) as s:
        link = s.scalar(select(ChannelLink).where(ChannelLink.channel == "kakao", ChannelLink.external_id == user))
        assert link is not None
        s.expunge(link)
        return link


def test_text_answer_in_skill_format_one_conversation_per_user(client: TestClient, engine: Engine) -> None:
    first = client.post("/channels/kakao/skill", json=payload("배송비는 얼마인가요?"))
    assert first.status_code == 200
    body = first.json()
    assert body["version"] == "2.0" and "useCallback" not in body
    assert any("3,000원" in t for t in texts(body))
    assert [q["label"] for q in body["template"]["quickReplies"]] == CHIP_LABELS
    assert all(q["action"] == "message" and q["messageText"] for q in body["template"]["quickReplies"])
    # a follow-up of the same botUserKey continues the same conversation; another user gets their own
    assert client.post("/channels/kakao/skill", json=payload("반품 배송비는요?")).status_code == 200
    client.post("/channels/kakao/skill", json=payload("배송비 얼마예요?", user="bUk-002"))
    link, other = _link(engine, "bUk-001"), _link(engine, "bUk-002")
    assert link.thread_id != other.thread_id
    lines = _messages(engine, link.thread_id)
    assert [t for r, t in lines if r == "customer"] == ["배송비는 얼마인가요?", "반품 배송비는요?"]
    with session_scope(engine) as s:
        assert s.scalar(select(Conversation.channel).where(Conversation.thread_id == link.thread_id)) == "kakao"


def test_platform_retry_gets_the_same_answer_without_a_second_turn(client: TestClient, engine: Engine) -> None:
    request = payload("카드 환불은 며칠 걸려요?")
    first = client.post("/channels/kakao/skill", json=request).json()
    again = client.post("/channels/kakao/skill", json=request).json()
    assert again == first
    lines = _messages(engine, _link(engine, "bUk-001").thread_id)
    assert [r for r, _ in lines].count("customer") == 1 and [r for r, _ in lines].count("ai") == 1


def test_handoff_then_agent_reply_on_the_next_message(client: TestClient, shop: Settings, engine: Engine) -> None:
    handoff = client.post("/channels/kakao/skill", json=payload("상담원과 연결해 주세요.")).json()
    said = " ".join(texts(handoff))
    assert "상담원" in said and "답변 확인" in said  # told that a person comes and how the answer arrives
    labels = [q["label"] for q in handoff["template"]["quickReplies"]]
    assert labels[0] == "답변 확인" and "상담원 연결" not in labels
    # nothing yet: «답변 확인» says so without a bot turn
    empty = client.post("/channels/kakao/skill", json=payload("상담원 답변 확인")).json()
    assert texts(empty) == ["아직 상담원 답변이 없어요. 답변이 오면 다음 메시지에 함께 보여 드릴게요."]

    link = _link(engine, "bUk-001")
    with session_scope(engine) as s:
        agent = s.scalar(select(User).where(User.username == "agent"))
        assert agent is not None
        me = StaffMember(id=agent.id, username=agent.username, name=agent.display_name, role="agent", locale="ko")
    inquiries(shop).reply(link.thread_id, "주문하신 갈비탕은 내일 도착합니다.", me)

    nxt = client.post("/channels/kakao/skill", json=payload("배송비는 얼마인가요?")).json()
    out = texts(nxt)
    assert out[0] == "[상담원 김민지] 주문하신 갈비탕은 내일 도착합니다."
    assert len(out) >= 2  # the answer to what was just asked follows
    later = client.post("/channels/kakao/skill", json=payload("감사합니다")).json()
    assert not any("갈비탕은 내일" in t for t in texts(later))  # delivered once


def test_photo_is_kept_for_the_agent(client: TestClient, engine: Engine) -> None:
    url = "https://talk.kakaocdn.net/dn/abc/photo.jpg"
    body = client.post("/channels/kakao/skill", json=payload(url, media={"type": "image", "url": url})).json()
    assert texts(body) == ["사진 잘 받았어요. 어떤 일인지 글로 적어 주시면 함께 확인할게요."]
    assert ("customer", f"[사진] {url}") in _messages(engine, _link(engine, "bUk-001").thread_id)


def test_bad_payloads_are_clear_4xx(client: TestClient) -> None:
    no_user = payload("안녕하세요")
    del no_user["userRequest"]["user"]
    bad = client.post("/channels/kakao/skill", json=no_user)
    assert bad.status_code == 422 and "user" in bad.json()["message"]
    assert client.post("/channels/kakao/skill", content=b"{not json", headers={"Content-Type": "application/json"}
                       ).status_code == 422
    long = client.post("/channels/kakao/skill", json=payload("가" * 2500)).json()
    assert texts(long) == ["메시지가 너무 길어요. 2000자 이내로 나누어 보내 주세요."]


def test_secret_and_switch(shop: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    client, _ = _client(monkeypatch, SAJANG_KAKAO_SECRET="s3cret-kakao")
    refused = client.post("/channels/kakao/skill", json=payload("배송비는?"))
    assert refused.status_code == 401 and refused.json()["code"] == "bad_secret"
    assert client.post("/channels/kakao/skill", json=payload("배송비는?"),
                       headers={"X-Sajang-Secret": "wrong"}).status_code == 401
    assert client.post("/channels/kakao/skill", json=payload("배송비는?"),
                       headers={"X-Sajang-Secret": "s3cret-kakao"}).status_code == 200
    off, _ = _client(monkeypatch, SAJANG_CHANNELS="widget")
    gone = off.post("/channels/kakao/skill", json=payload("배송비는?"))
    assert gone.status_code == 404 and off.post("/channels/naver-talk/webhook", json={"event": "open"}).status_code == 404


def test_answer_fits_the_bubble_limits() -> None:
    long_answer = ("배송은 보통 이틀 걸립니다. " * 200).strip()
    body = skill_response(["[상담원 김민지] 확인했습니다.", long_answer], waiting=False)
    outputs = texts(body)
    assert len(outputs) <= OUTPUTS_LIMIT and all(len(t) <= TEXT_LIMIT for t in outputs)
    assert len(body["template"]["quickReplies"]) <= 10


@pytest.fixture
def stub() -> Iterator[OpenAIStub]:
    with OpenAIStub() as s:
        yield s


def test_slow_turn_answers_through_the_callback(settings: Settings, engine: Engine, stub: OpenAIStub,
                                                monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seed_llm_store(engine, tmp_path, monkeypatch, stub.base_url)
    client, _ = _client(monkeypatch)
    with FakePlatform() as kakao:
        callback = f"{kakao.url}/v1/skill/callback/once-1234"
        first = client.post("/channels/kakao/skill", json=payload("배송비는 얼마인가요?", callback=callback))
        assert first.status_code == 200
        assert first.json() == {"version": "2.0", "useCallback": True,
                                "data": {"text": "답변을 준비하고 있어요. 잠시만 기다려 주세요."}}
        posted = kakao.wait_for(1)
        assert posted[0]["path"] == "/v1/skill/callback/once-1234"
        final = posted[0]["json"]
        assert final["version"] == "2.0" and texts(final) and all(len(t) <= TEXT_LIMIT for t in texts(final))
        # the platform retrying the same request: the same immediate answer, no second turn or callback
        again = client.post("/channels/kakao/skill", json=payload("배송비는 얼마인가요?", callback=callback))
        assert again.json()["useCallback"] is True
    assert len(kakao.received) == 1
    assert [r for r, _ in _messages(engine, _link(engine, "bUk-001").thread_id)].count("customer") == 1


def test_the_hub_shows_the_channel() -> None:
    from datetime import UTC, datetime

    from sajang.ui.agent_render import render_header, render_queue

    item = {"thread_id": "t-1", "status": "new", "channel": "kakao", "category": "delivery", "urgency": "normal",
            "subject": "배송 언제 와요?"}
    queue = render_queue({"new": [item]}, "new", None, {}, "ko", datetime.now(UTC))
    assert "sj-ch-kakao" in queue and "카카오톡" in queue
    assert "Naver TalkTalk" in render_header({**item, "channel": "naver_talk"}, "김하나", "en", datetime.now(UTC))
    assert "sj-ch-" not in render_queue({"new": [{**item, "channel": "chat"}]}, "new", None, {}, "ko",
                                        datetime.now(UTC))
