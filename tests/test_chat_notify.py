"""Conversations that last: the /chat page's stored token brings the same conversation back (and nothing
else), «답변 알림 받기» (validated contact, one outbox notice per burst of agent replies, in the CSV export),
and `sajang privacy export/forget` covering the contact.

Run on both databases:
    pytest tests/test_chat_notify.py
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test pytest tests/test_chat_notify.py
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from itsdangerous.timed import TimestampSigner
from sqlalchemy import Engine, select

from sajang.config import Settings
from sajang.db.engine import session_scope
from sajang.db.models import Conversation, OutboxMessage, User
from sajang.db.rfm import outbox_csv_text
from sajang.security import CustomerClaims, StaffClaims, issue_customer_token, issue_staff_token, read_token
from sajang.services import ratelimit
from sajang.services.accounts import StaffMember, ensure_demo_users
from sajang.services.inquiry import inquiries
from sajang.services.notify import InvalidContact, normalize_contact, queue_reply_notice, set_contact
from sajang.services.privacy import export_customer, forget_customer
from sajang.ui.chat import resume_chat
from tests.test_api import add_shop, assert_error, start_chat


@pytest.fixture(autouse=True)
def _fresh_buckets() -> Iterator[None]:
    ratelimit.reset_all()
    yield
    ratelimit.reset_all()


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    from sajang.app.main import create_app

    ensure_demo_users(engine)
    add_shop(engine)
    with TestClient(create_app(settings, mount_ui=False), raise_server_exceptions=False) as c:
        yield c


def _agent(engine: Engine) -> StaffMember:
    with session_scope(engine) as s:
        u = s.scalar(select(User).where(User.username == "agent"))
        assert u is not None
        return StaffMember(id=u.id, username=u.username, name=u.display_name, role="agent", locale="ko")


def _outbox(engine: Engine, thread_id: str) -> list[OutboxMessage]:
    with session_scope(engine) as s:
        conv_id = s.scalar(select(Conversation.id).where(Conversation.thread_id == thread_id))
        rows = list(s.scalars(select(OutboxMessage).where(OutboxMessage.conversation_id == conv_id)
                              .order_by(OutboxMessage.id)))
        s.expunge_all()
        return rows


@pytest.mark.parametrize(("raw", "kind", "value"), [
    ("010-1234-5678", "sms", "010-1234-5678"),
    ("01012345678", "sms", "010-1234-5678"),
    (" 010 1234 5678 ", "sms", "010-1234-5678"),
    ("+82 10-1234-5678", "sms", "010-1234-5678"),
    ("011-234-5678", "sms", "011-234-5678"),
    ("Kim.Gana+cs@Example.CO.KR", "email", "Kim.Gana+cs@example.co.kr"),
])
def test_contact_is_normalised(raw: str, kind: str, value: str) -> None:
    contact = normalize_contact(raw)
    assert (contact.kind, contact.value) == (kind, value)


@pytest.mark.parametrize("raw", ["", "   ", "02-123-4567", "010-1234-567", "010-12345-67890", "1588-1234",
                                 "012-1234-5678", "kim@", "@example.com", "kim@example", "kim gana@example.com",
                                 "a" * 250 + "@x.kr", "010-1234-5678; DROP TABLE outbox"])
def test_bad_contacts_are_refused(raw: str) -> None:
    with pytest.raises(InvalidContact) as err:
        normalize_contact(raw)
    assert err.value.status_code == 422


def test_contact_over_rest_is_validated_and_only_for_the_own_chat(client: TestClient) -> None:
    mine, other = start_chat(client), start_chat(client)
    url = f"/api/v1/chat/sessions/{mine['thread_id']}/notify"
    assert_error(client.post(url, json={"contact": "02-123-4567"}, headers=mine["headers"]), 422, "invalid_contact")
    assert_error(client.post(url, json={"contact": "kim@"}, headers=mine["headers"]), 422, "invalid_contact")
    assert_error(client.post(url, json={}, headers=mine["headers"]), 422)
    assert_error(client.post(url, json={"contact": "x" * 300}, headers=mine["headers"]), 422)
    assert_error(client.post(url, json={"contact": "010-1234-5678"}, headers=other["headers"]), 404)
    assert_error(client.post(url, json={"contact": "010-1234-5678"}), 401)
    ok = client.post(url, json={"contact": "01012345678"}, headers=mine["headers"])
    assert ok.status_code == 200 and ok.json() == {"kind": "sms", "contact": "010-1234-5678"}


def test_agent_replies_queue_one_notice_per_burst(client: TestClient, settings: Settings, engine: Engine) -> None:
    chat = start_chat(client)
    thread = chat["thread_id"]
    handoff = client.post(f"/api/v1/chat/sessions/{thread}/handoff", headers=chat["headers"])
    assert handoff.status_code == 200 and handoff.json()["handoff"] is True
    agent = _agent(engine)
    api = inquiries(settings)
    api.reply(thread, "확인 중이에요.", agent)
    assert _outbox(engine, thread) == []  # no contact left: nothing to queue

    assert client.post(f"/api/v1/chat/sessions/{thread}/notify", json={"contact": "010-2222-3333"},
                       headers=chat["headers"]).status_code == 200
    api.reply(thread, "주문 내역을 찾았어요.", agent)
    api.reply(thread, "내일 다시 보내 드릴게요.", agent)  # the same burst: no second notice
    api.reply(thread, "내일 다시 보내 드릴게요.", agent, client_key="k-1")
    api.reply(thread, "내일 다시 보내 드릴게요.", agent, client_key="k-1")  # a retried reply
    assert not queue_reply_notice(settings, thread)
    queued = _outbox(engine, thread)
    assert len(queued) == 1
    notice = queued[0]
    assert (notice.recipient, notice.channel, notice.status, notice.customer_id) == (
        "010-2222-3333", "sms", "pending", None)
    assert settings.store.shop_name in notice.text and "/chat/" in notice.text

    # the customer writes again: the next reply is a new burst
    sent = client.post(f"/api/v1/chat/sessions/{thread}/messages", json={"text": "네 감사합니다. 언제 오나요?"},
                       headers=chat["headers"])
    assert sent.status_code == 200
    api.reply(thread, "모레 도착해요.", agent)
    api.reply(thread, "좋은 하루 보내세요.", agent)
    assert len(_outbox(engine, thread)) == 2

    # the shop's export carries the guest's number (no customer row behind it)
    body, n = outbox_csv_text(engine)
    assert n == 2 and body.count("010-2222-3333") == 2


def test_forget_erases_the_contact_and_its_notices(client: TestClient, settings: Settings, engine: Engine) -> None:
    verified = start_chat(client, order_id="O-A1", phone_last4="5678")
    guest = start_chat(client)
    set_contact(settings, verified["thread_id"], "kim@example.com")
    set_contact(settings, guest["thread_id"], "01012345678")  # C-A's own phone, left in a guest chat
    other = start_chat(client)
    set_contact(settings, other["thread_id"], "010-7777-8888")
    agent = _agent(engine)
    for chat in (verified, guest, other):
        client.post(f"/api/v1/chat/sessions/{chat['thread_id']}/handoff", headers=chat["headers"])
        inquiries(settings).reply(chat["thread_id"], "답변드려요.", agent)
        assert len(_outbox(engine, chat["thread_id"])) == 1

    exported = export_customer(settings, "C-A")
    assert [c["notify_contact"] for c in exported["conversations"]] == ["kim@example.com"]
    assert [m["recipient"] for m in exported["queued_messages"]] == ["kim@example.com"]

    result = forget_customer(settings, "C-A", actor="test")
    assert result.contacts >= 1 and result.queued_messages == 2
    with session_scope(engine) as s:
        contacts = {t: c for t, c in s.execute(select(Conversation.thread_id, Conversation.notify_contact))}
    assert contacts[verified["thread_id"]] is None and contacts[guest["thread_id"]] is None
    assert contacts[other["thread_id"]] == "010-7777-8888"  # someone else's stays
    assert _outbox(engine, verified["thread_id"]) == [] and _outbox(engine, guest["thread_id"]) == []
    assert len(_outbox(engine, other["thread_id"])) == 1
    assert forget_customer(settings, "C-A", actor="test").queued_messages == 0  # nothing left


def test_a_stored_token_resumes_its_own_conversation_only(client: TestClient, settings: Settings,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    verified = start_chat(client, order_id="O-A1", phone_last4="5678")
    thread = verified["thread_id"]
    found = resume_chat(settings, verified["token"])
    assert found is not None
    claims, conversation = found
    assert (claims.thread_id, claims.customer_id, conversation.customer_id) == (thread, "C-A", "C-A")

    forged = verified["token"][:-4] + ("AAAA" if not verified["token"].endswith("AAAA") else "BBBB")
    assert resume_chat(settings, forged) is None
    assert resume_chat(settings, "") is None and resume_chat(settings, None) is None
    assert resume_chat(settings, {"tid": thread}) is None
    # signed, but claiming someone else's verification for this conversation, or a conversation that is not
    assert resume_chat(settings, issue_customer_token(settings, CustomerClaims(thread, "C-B", "이다라", "ko"))) is None
    assert resume_chat(settings, issue_customer_token(settings, CustomerClaims("nope", None, None, "ko"))) is None
    assert resume_chat(settings, issue_staff_token(settings, StaffClaims(1, "agent", "agent", "x"))) is None
    # a week and a day old: expired
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 8 * 24 * 3600)
    old: Any = issue_customer_token(settings, CustomerClaims(thread, "C-A", "김가나", "ko"))
    monkeypatch.undo()
    assert resume_chat(settings, old) is None
    # a verified customer's token lasts 12 h (it shows their orders; the browser may be shared) ...
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 13 * 3600)
    stale = issue_customer_token(settings, CustomerClaims(thread, "C-A", "김가나", "ko"))
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 11 * 3600)
    recent = issue_customer_token(settings, CustomerClaims(thread, "C-A", "김가나", "ko"))
    # ... a guest's a week (it shows nothing of anyone's)
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 6 * 24 * 3600)
    guest = issue_customer_token(settings, CustomerClaims(thread, None, None, "ko"))
    monkeypatch.undo()
    assert resume_chat(settings, stale) is None
    assert resume_chat(settings, recent) is not None
    assert read_token(settings, guest) is not None
