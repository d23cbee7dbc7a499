"""AI metrics (resolution and involvement rates, median first response, CSAT with its weekly trend) on
conversations built with known outcomes, and the one-tap CSAT stored once per conversation (service and REST).

Run on both databases:
    pytest tests/test_ai_metrics.py
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test pytest tests/test_ai_metrics.py
"""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update

from sajang.config import Settings
from sajang.db.ai_metrics import ai_metrics
from sajang.db.engine import session_scope
from sajang.db.models import Conversation, CsatRating, Customer, Message
from sajang.errors import SajangError
from sajang.services.csat import record_csat

NOW = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)


def _conversation(s: object, thread: str, started: datetime, customer: str | None = None, ai_after_s: float | None = 2,
                  handed_off_after: timedelta | None = None, agent_after_s: float | None = None) -> None:
    conv = Conversation(thread_id=thread, customer_id=customer, status="bot", created_at=started, updated_at=started,
                        handed_off=handed_off_after is not None,
                        handed_off_at=started + handed_off_after if handed_off_after is not None else None)
    s.add(conv)  # type: ignore[attr-defined]
    s.flush()  # type: ignore[attr-defined]
    s.add(Message(conversation_id=conv.id, role="customer", text="질문", created_at=started))  # type: ignore[attr-defined]
    if ai_after_s is not None:
        s.add(Message(conversation_id=conv.id, role="ai", text="답변",  # type: ignore[attr-defined]
                      created_at=started + timedelta(seconds=ai_after_s)))
    if agent_after_s is not None:
        s.add(Message(conversation_id=conv.id, role="agent", text="상담원 답변",  # type: ignore[attr-defined]
                      created_at=started + timedelta(seconds=agent_after_s)))


def test_resolution_involvement_and_first_response(engine: Engine) -> None:
    day = NOW - timedelta(days=3)
    with session_scope(engine) as s:
        s.add_all([Customer(id="C-1", name="가"), Customer(id="C-2", name="나")])
        s.flush()
        _conversation(s, "ok-1", day, ai_after_s=2)                                   # resolved by the AI
        _conversation(s, "ok-2", day + timedelta(hours=1), ai_after_s=4)              # resolved by the AI
        _conversation(s, "late-handoff", day, ai_after_s=6,
                      handed_off_after=timedelta(hours=30))                           # handed off after 24 h: resolved
        _conversation(s, "handoff", day, ai_after_s=8, handed_off_after=timedelta(minutes=5),
                      agent_after_s=600)                                              # handed off: not resolved
        _conversation(s, "reopened", day, customer="C-1", ai_after_s=10)              # came back within 24 h
        _conversation(s, "again", day + timedelta(hours=5), customer="C-1", ai_after_s=12)  # resolved
        _conversation(s, "agent-only", day, ai_after_s=None, handed_off_after=timedelta(0),
                      agent_after_s=120)                                              # no AI involved
        _conversation(s, "too-young", NOW - timedelta(hours=2), customer="C-2")       # not settled: not counted
        _conversation(s, "too-old", NOW - timedelta(days=40))                         # outside the window
    m = ai_metrics(engine, days=30, now=NOW)
    assert m["conversations"] == 7
    assert m["involvement_rate"] == pytest.approx(6 / 7)
    assert m["resolved"] == 4 and m["resolution_rate"] == pytest.approx(4 / 7)
    assert m["median_first_response_s"] == pytest.approx(statistics.median([2, 4, 6, 8, 10, 12, 120]))
    assert m["csat"] is None and m["csat_ratings"] == 0
    assert sum(w["conversations"] for w in m["weeks"]) == 7
    from sajang.ui.admin_briefing import render_ai_metrics

    cards = render_ai_metrics(m, "ko")
    assert "AI 해결률" in cards and "57%" in cards and "86%" in cards and "7건 중" in cards and "8초" in cards


def test_csat_is_stored_once_per_conversation(settings: Settings, engine: Engine) -> None:
    with session_scope(engine) as s:
        _conversation(s, "rated", NOW - timedelta(days=2))
        _conversation(s, "rated-2", NOW - timedelta(days=2))
    first = record_csat(settings, "rated", 4, "  친절했어요  ")
    assert first == {"stored": True, "score": 4, "comment": "친절했어요"}
    again = record_csat(settings, "rated", 1, "다시 누름")
    assert again == {"stored": False, "score": 4, "comment": "친절했어요"}
    record_csat(settings, "rated-2", 2)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(CsatRating)) == 2
    for bad in (0, 6, True):
        with pytest.raises(SajangError, match="1 to 5"):
            record_csat(settings, "rated-2", bad)  # type: ignore[arg-type]
    with pytest.raises(SajangError, match="no such conversation"):
        record_csat(settings, "nope", 5)
    m = ai_metrics(engine, days=30, now=datetime.now(UTC))
    assert m["csat"] == pytest.approx(3.0) and m["csat_ratings"] == 2
    assert [w["csat_ratings"] for w in m["weeks"] if w["csat_ratings"]] == [2]


def test_csat_over_rest_for_the_conversation_s_own_customer(settings: Settings, engine: Engine) -> None:
    from sajang.app.main import create_app

    with TestClient(create_app(settings, mount_ui=False), raise_server_exceptions=False) as client:
        chat = client.post("/api/v1/chat/sessions", json={}).json()
        other = client.post("/api/v1/chat/sessions", json={}).json()
        headers = {"Authorization": f"Bearer {chat['token']}"}
        url = f"/api/v1/chat/sessions/{chat['thread_id']}/csat"
        r = client.post(url, headers=headers, json={"score": 5, "comment": "빨랐어요"})
        assert r.status_code == 200 and r.json() == {"stored": True, "score": 5, "comment": "빨랐어요"}
        r = client.post(url, headers=headers, json={"score": 1})
        assert r.status_code == 200 and r.json()["stored"] is False and r.json()["score"] == 5
        assert client.post(url, headers=headers, json={"score": 9}).status_code == 422
        assert client.post(url, json={"score": 3}).status_code == 401
        r = client.post(url, headers={"Authorization": f"Bearer {other['token']}"}, json={"score": 3})
        assert r.status_code == 404
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(CsatRating)) == 1


def test_a_conversation_is_offered_the_rating_only_once_it_has_ended(settings: Settings, engine: Engine) -> None:
    """Resolved by a person, or the bot's answer last with nothing waiting: ended. The customer's line
    unanswered, a person awaited or answering: not yet. The stored rating is read back."""
    from sajang.services.csat import conversation_ended, rating_of
    from sajang.services.inquiry import inquiries

    start = datetime.now(UTC) - timedelta(minutes=5)
    with session_scope(engine) as s:
        _conversation(s, "bot-answered", start)
        _conversation(s, "unanswered", start, ai_after_s=None)
        _conversation(s, "asked-again", start)
        conv_id = s.scalar(select(Conversation.id).where(Conversation.thread_id == "asked-again"))
        s.add(Message(conversation_id=conv_id, role="customer", text="하나 더요", created_at=start + timedelta(minutes=1)))
        _conversation(s, "with-agent", start, handed_off_after=timedelta(seconds=3), agent_after_s=60)
        s.execute(update(Conversation).where(Conversation.thread_id == "with-agent").values(status="assigned"))
        _conversation(s, "resolved", start, handed_off_after=timedelta(seconds=3), agent_after_s=60)
        s.execute(update(Conversation).where(Conversation.thread_id == "resolved").values(status="resolved"))
    api = inquiries(settings)
    ended = {t: conversation_ended(api.conversation(t))
             for t in ("bot-answered", "unanswered", "asked-again", "with-agent", "resolved")}
    assert ended == {"bot-answered": True, "unanswered": False, "asked-again": False, "with-agent": False,
                     "resolved": True}
    assert rating_of(settings, "resolved") is None
    record_csat(settings, "resolved", 2, "느렸어요")
    assert rating_of(settings, "resolved") == {"score": 2, "comment": "느렸어요"}
    assert rating_of(settings, "bot-answered") is None and rating_of(settings, "nope") is None
