"""Naver TalkTalk chatbot API: `POST /channels/naver-talk/webhook` against the running app, the real inquiry
service and a local fake of the TalkTalk send API (tests/channel_fakes.py).

Events, answers and the send API follow TalkTalk's public docs, https://github.com/navertalk/chatbot-api:
- README.md: `open` / `leave` / `send` events (`user`, `textContent.text|code|inputType`, `imageContent.imageUrl`,
  `options`), the answer as a `send` event in the response body, the send API
  (`POST https://gw.talk.naver.com/chatbot/v1/event`, `Authorization: <partner token>`, answer
  `{"success": true, "resultCode": "00"}`), quick-reply TEXT buttons (title ≤ 10), text ≤ 10,000;
- handover_v1.md: `{"event": "handover", "options": {"control": "passThread", "targetId": 1}}` hands the thread
  to the partner center, the customer's events then carry `standby: true` (the bot stays silent), and
  «상담 완료하기» sends `{"event": "handover", "options": {"control": "passThread", "metadata": …}}` back;
- handover_v1.md, «echo 이벤트 활용» (https://github.com/navertalk/chatbot-api/blob/master/handover_v1.md):
  the partner's own messages come back as `{"event": "echo", "echoedEvent": "send", "textContent": …,
  "options": {"sourceId": 1 | <bot id>, "threadOwnerId": …, "managerNickname": …}}` — `sourceId` 1 is a
  person in the partner center.

Run on both databases:
    pytest tests/test_channels_naver_talk.py
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test pytest tests/test_channels_naver_talk.py
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from channel_fakes import FakePlatform
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from test_inquiry_support import seed_store

from sajang.config import Settings, get_settings
from sajang.db.engine import session_scope
from sajang.db.models import ChannelLink, Conversation, Message, User
from sajang.services import ratelimit
from sajang.services.accounts import StaffMember
from sajang.services.channels import channels
from sajang.services.inquiry import inquiries

USER = "al-2eGuGr5WQOnco1_V-FQ"
TOKEN = "ct_wc8b1i_Pb1AXDQ0RZWuCccpzdNL"


def send(text: str, user: str = USER, **extra: Any) -> dict[str, Any]:
    return {"event": "send", "user": user, "textContent": {"text": text, "inputType": "typing"},
            "options": {"mobile": False}, **extra}


@pytest.fixture(autouse=True)
def _fresh_buckets() -> Iterator[None]:
    ratelimit.reset_all()
    yield
    ratelimit.reset_all()


@pytest.fixture
def talk() -> Iterator[FakePlatform]:
    with FakePlatform() as fake:
        yield fake


@pytest.fixture
def shop(settings: Settings, engine: Engine, tmp_path: Path, talk: FakePlatform,
         monkeypatch: pytest.MonkeyPatch) -> Settings:
    seed_store(settings, engine, tmp_path)
    monkeypatch.setenv("SAJANG_CHANNELS", "naver_talk")
    monkeypatch.setenv("SAJANG_NAVER_TALK_TOKEN", TOKEN)
    monkeypatch.setenv("SAJANG_NAVER_TALK_API_URL", f"{talk.url}/chatbot/v1/event")
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture
def client(shop: Settings) -> TestClient:
    from sajang.app.main import create_app

    return TestClient(create_app(shop, mount_ui=False))


def _link(engine: Engine) -> ChannelLink:
    with session_scope(engine) as s:
        link = s.scalar(select(ChannelLink).where(ChannelLink.channel == "naver_talk", ChannelLink.external_id == USER))
        assert link is not None
        s.expunge(link)
        return link


def _lines(engine: Engine, thread_id: str) -> list[tuple[str, str]]:
    with session_scope(engine) as s:
        conv_id = s.scalar(select(Conversation.id).where(Conversation.thread_id == thread_id))
        return [(m.role, m.text) for m in s.scalars(select(Message).where(Message.conversation_id == conv_id)
                                                    .order_by(Message.id))]


def _agent(engine: Engine) -> StaffMember:
    with session_scope(engine) as s:
        u = s.scalar(select(User).where(User.username == "agent"))
        assert u is not None
        return StaffMember(id=u.id, username=u.username, name=u.display_name, role="agent", locale="ko")


def test_open_then_text_answered_in_the_body(client: TestClient, engine: Engine) -> None:
    opened = client.post("/channels/naver-talk/webhook", json={
        "event": "open", "user": USER,
        "options": {"inflow": "button", "referer": "https://smartstore.naver.com/shop/products/1", "friend": False,
                    "under14": False, "under19": False}})
    assert opened.status_code == 200
    welcome = opened.json()
    assert welcome["event"] == "send" and "무엇을 도와드릴까요" in welcome["textContent"]["text"]
    buttons = welcome["textContent"]["quickReply"]["buttonList"]
    assert [b["data"]["title"] for b in buttons] == ["배송 조회", "교환·반품", "취소", "상품 문의", "상담원 연결"]
    assert all(b["type"] == "TEXT" and len(b["data"]["title"]) <= 10 for b in buttons)

    answer = client.post("/channels/naver-talk/webhook", json=send("배송비 얼마예요?"))
    assert answer.status_code == 200 and "3,000원" in answer.json()["textContent"]["text"]
    # a chip: the customer sees its title, we read its code
    chip = client.post("/channels/naver-talk/webhook", json={
        "event": "send", "user": USER,
        "textContent": {"text": "교환·반품", "code": "교환이나 반품은 어떻게 하나요?", "inputType": "button"}})
    assert chip.status_code == 200 and chip.json()["textContent"]["text"]
    link = _link(engine)
    customer = [t for r, t in _lines(engine, link.thread_id) if r == "customer"]
    assert customer == ["배송비 얼마예요?", "교환이나 반품은 어떻게 하나요?"]
    with session_scope(engine) as s:
        assert s.scalar(select(Conversation.channel).where(Conversation.thread_id == link.thread_id)) == "naver_talk"
    assert client.post("/channels/naver-talk/webhook", json={"event": "leave", "user": USER}).status_code == 200


def test_retry_of_an_event_is_not_a_second_turn(client: TestClient, engine: Engine) -> None:
    event = send("카드 환불은 며칠 걸려요?")
    first = client.post("/channels/naver-talk/webhook", json=event)
    again = client.post("/channels/naver-talk/webhook", json=event)
    assert first.json() == again.json()
    roles = [r for r, _ in _lines(engine, _link(engine).thread_id)]
    assert roles.count("customer") == 1 and roles.count("ai") == 1


def test_handoff_passes_the_thread_standby_is_silent_agent_reply_goes_out(
        client: TestClient, shop: Settings, engine: Engine, talk: FakePlatform) -> None:
    handoff = client.post("/channels/naver-talk/webhook", json=send("상담원과 연결해 주세요."))
    assert handoff.status_code == 200 and handoff.content == b""
    notice, passed = talk.wait_for(2)
    assert notice["headers"]["Authorization"] == TOKEN and notice["path"] == "/chatbot/v1/event"
    assert notice["json"]["event"] == "send" and notice["json"]["user"] == USER
    assert "상담원" in notice["json"]["textContent"]["text"]
    assert passed["json"] == {"event": "handover", "user": USER,
                              "options": {"control": "passThread", "targetId": 1}}

    # the partner center owns the thread: the customer's line is kept for the agent, the bot says nothing
    quiet = client.post("/channels/naver-talk/webhook", json=send("주문번호는 O-1234 입니다", standby=True))
    assert quiet.status_code == 200 and quiet.content == b""
    photo = client.post("/channels/naver-talk/webhook", json={
        "event": "send", "user": USER, "standby": True,
        "imageContent": {"imageUrl": "https://talk.pstatic.net/img/broken.jpg"}})
    assert photo.status_code == 200 and photo.content == b""
    link = _link(engine)
    lines = _lines(engine, link.thread_id)
    assert ("customer", "주문번호는 O-1234 입니다") in lines and lines[-1][0] == "customer"
    assert link.owner == "partner"

    # an agent answers in our hub: the reply goes out through the send API
    inquiries(shop).reply(link.thread_id, "확인해 보니 내일 도착합니다.", _agent(engine))
    reply = talk.wait_for(3)[2]["json"]
    assert reply == {"event": "send", "user": USER, "textContent": {"text": "[상담원 김민지] 확인해 보니 내일 도착합니다."}}
    assert channels(shop).deliver_agent_replies(link.thread_id) == 0  # sent once

    # «상담 완료하기» in the partner center: the thread is the bot's again, the conversation resolved
    back = client.post("/channels/naver-talk/webhook", json={
        "event": "handover", "user": USER, "partner": "wc1234",
        "options": {"control": "passThread", "metadata": "{\"managerNickname\":\"파트너닉네임\",\"autoEnd\":false}"}})
    assert back.status_code == 200
    assert _link(engine).owner == "bot"
    with session_scope(engine) as s:
        assert s.scalar(select(Conversation.status).where(Conversation.thread_id == link.thread_id)) == "resolved"
    again = client.post("/channels/naver-talk/webhook", json=send("배송비 얼마예요?"))
    assert "3,000원" in again.json()["textContent"]["text"]


def test_failed_send_is_sent_again_later(client: TestClient, shop: Settings, engine: Engine,
                                         talk: FakePlatform) -> None:
    client.post("/channels/naver-talk/webhook", json=send("배송비 얼마예요?"))
    link = _link(engine)
    api = channels(shop)
    talk.fail = True
    inquiries(shop).claim(link.thread_id, _agent(engine))
    api.api.service.reply(link.thread_id, "무료배송은 5만 원부터예요.", _agent(engine).id, "김민지")
    assert api.deliver_agent_replies(link.thread_id) == 0  # refused (resultCode 01): kept for later
    talk.fail = False
    assert api.deliver_agent_replies(link.thread_id) == 1
    assert talk.received[-1]["json"]["textContent"]["text"] == "[상담원 김민지] 무료배송은 5만 원부터예요."


def test_secret_in_the_webhook_url(shop: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from sajang.app.main import create_app

    monkeypatch.setenv("SAJANG_NAVER_TALK_SECRET", "talk-s3cret")
    get_settings.cache_clear()
    client = TestClient(create_app(get_settings(), mount_ui=False))
    open_event = {"event": "open", "user": USER, "options": {"inflow": "none"}}
    assert client.post("/channels/naver-talk/webhook", json=open_event).status_code == 401
    assert client.post("/channels/naver-talk/webhook?secret=talk-s3cret", json=open_event).status_code == 200
    bad = client.post("/channels/naver-talk/webhook?secret=talk-s3cret", json={"user": USER})
    assert bad.status_code == 422 and "event" in bad.json()["message"]


def echo(text: str, source_id: int, owner_id: int = 1, nickname: str = "박상담") -> dict[str, Any]:
    """An `echo` event as handover_v1.md shows it («echo 이벤트 활용»)."""
    return {"echoedEvent": "send", "event": "echo", "user": USER, "partner": "wc8b1i",
            "textContent": {"text": text, "inputType": "typing"},
            "options": {"mobile": False, "sourceId": source_id, "threadOwnerId": owner_id,
                        "managerNickname": nickname}}


def test_echo_events_are_never_customer_messages(client: TestClient, shop: Settings, engine: Engine,
                                                talk: FakePlatform) -> None:
    """Our own sends echoed back are ignored; a partner-center person's message (sourceId 1) is recorded
    once as an agent line (a retry of the event stores nothing twice), never answered, never sent back."""
    client.post("/channels/naver-talk/webhook", json=send("상담원과 연결해 주세요."))
    talk.wait_for(2)  # the notice and passThread
    link = _link(engine)
    before = _lines(engine, link.thread_id)

    # the bot's own send (its sourceId is the bot's sequence, not 1) echoed: nothing stored, nothing said
    own = client.post("/channels/naver-talk/webhook", json=echo("상담원에게 연결했어요.", source_id=10007, owner_id=1))
    assert own.status_code == 200 and own.content == b""
    assert _lines(engine, link.thread_id) == before

    # a person writes in the partner center while owning the thread: an agent line, once
    event = echo("안녕하세요, 파트너센터 박상담입니다. 확인해 볼게요.", source_id=1)
    for _ in range(2):
        said = client.post("/channels/naver-talk/webhook", json=event)
        assert said.status_code == 200 and said.content == b""
    lines = _lines(engine, link.thread_id)
    assert lines[:len(before)] == before
    assert lines[len(before):] == [("agent", "안녕하세요, 파트너센터 박상담입니다. 확인해 볼게요.")]
    assert not [r for r, _ in lines[len(before):] if r == "customer"]
    assert _link(engine).owner == "partner"
    view = inquiries(shop).conversation(link.thread_id)
    assert view.messages[-1].role == "agent" and view.messages[-1].author_name == "박상담"

    # the customer already has it: a delivery sends nothing; a hub reply after it goes out alone
    sent = len(talk.received)
    assert channels(shop).deliver_agent_replies(link.thread_id) == 0
    inquiries(shop).reply(link.thread_id, "내일 도착 예정이에요.", _agent(engine))
    out = talk.wait_for(sent + 1)[sent:]
    assert [e["json"]["textContent"]["text"] for e in out] == ["[상담원 김민지] 내일 도착 예정이에요."]
    # that reply's own echo (sourceId: the bot) is not stored a second time
    client.post("/channels/naver-talk/webhook", json=echo("[상담원 김민지] 내일 도착 예정이에요.", source_id=10007))
    assert [r for r, _ in _lines(engine, link.thread_id)].count("agent") == 2
