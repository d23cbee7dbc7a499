"""What one customer message costs in storage: the checkpoint stays small (bounded history, no article
bodies) and, with `async_commit`, chat turns commit without waiting for the WAL flush on PostgreSQL.

Run on both databases (the commit-mode test checks which pool writes the chat rows and its setting on PostgreSQL).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from conftest import IS_PG
from sqlalchemy import Engine, event
from test_inquiry_support import A, B, seed_store

from sajang.config import Settings


@pytest.fixture
def store(settings: Settings, engine: Engine, tmp_path: Path) -> Settings:
    return seed_store(settings, engine, tmp_path)


def test_checkpoint_keeps_the_last_turns_and_no_article_bodies(store: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from sajang.graphs.inquiry import state as state_mod
    from sajang.graphs.inquiry.service import get_inquiry_service

    monkeypatch.setattr(state_mod, "HISTORY_TURNS", 4)
    svc = get_inquiry_service(store)
    first = svc.ask("반품할 때 배송비는 얼마나 드나요?", customer_id=A)
    thread = first["thread_id"]
    for q in ("교환 신청은 어떻게 하나요?", "제주도도 배송되나요?"):
        assert not svc.ask(q, customer_id=A, thread_id=thread)["handoff"]
    values = svc.graph.get_state({"configurable": {"thread_id": thread}}).values
    history = values["history"]
    assert len(history) == 4  # 6 turns were said; the checkpoint keeps the last 4
    assert [t["role"] for t in history] == ["customer", "ai", "customer", "ai"]
    assert history[-2]["text"] == "제주도도 배송되나요?"
    # the answer came from the article body; the stored hits keep title and passage, not the body
    assert values["hits"] and all("body" not in h and h.get("text") for h in values["hits"])
    assert "3,000원" in first["answer"]


@pytest.mark.parametrize("async_commit", [True, False])
def test_chat_turns_skip_the_wal_flush_only_when_configured(store: Settings, engine: Engine,
                                                           async_commit: bool) -> None:
    from sajang.db.engine import relaxed_commit_engine
    from sajang.graphs.inquiry.service import get_inquiry_service

    settings = store.model_copy(update={"async_commit": async_commit})
    relaxed = relaxed_commit_engine(engine)
    writes: dict[str, list[str]] = {"durable": [], "relaxed": []}

    def recorder(kind: str) -> Any:
        def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            # tables written, in order (PostgreSQL writes a turn as one statement of two CTEs)
            writes[kind].extend(re.findall(r"(?:INSERT INTO|UPDATE) (\w+)", statement))
        return record

    svc = get_inquiry_service(settings)
    engines = {"durable": engine} if relaxed is engine else {"durable": engine, "relaxed": relaxed}
    listeners = {kind: recorder(kind) for kind in engines}
    for kind, eng in engines.items():
        event.listen(eng, "before_cursor_execute", listeners[kind])
    try:
        r = svc.ask("반품할 때 배송비는 얼마나 드나요?", customer_id=A)
    finally:
        for kind, eng in engines.items():
            event.remove(eng, "before_cursor_execute", listeners[kind])
    assert not r["handoff"]
    # the new conversation, the customer's message and the bot's answer (+ their conversation updates)
    chat_rows = ["conversations", "conversations", "messages", "conversations", "messages"]
    if async_commit and settings.is_postgres:
        assert writes == {"durable": [], "relaxed": chat_rows}
        with relaxed.connect() as conn:
            assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "off"
    else:
        assert writes["durable"] == chat_rows and not writes["relaxed"]
    with engine.connect() as conn:  # everything else (agent replies, admin writes) waits for the disk
        assert conn.exec_driver_sql("PRAGMA synchronous" if not settings.is_postgres else
                                    "SHOW synchronous_commit").scalar() in ("on", 1)
    if settings.is_postgres:  # checkpoints of customer messages: the same choice; resumes by people: durable
        def mode(graph: Any) -> str:
            with graph.checkpointer.conn.connection() as conn:
                row = conn.execute("SHOW synchronous_commit").fetchone()
            return row["synchronous_commit"] if isinstance(row, dict) else row[0]

        assert mode(svc.chat_graph) == ("off" if async_commit else "on")
        assert mode(svc.graph) == "on"


def test_a_photo_sent_with_a_damage_report_reaches_the_agent(store: Settings) -> None:
    from sajang.graphs.inquiry.service import get_inquiry_service

    svc = get_inquiry_service(store)
    photo = {"id": 9001, "filename": "broken.jpg", "content_type": "image/jpeg", "size": 1234}
    r = svc.ask("유리병이 깨져서 왔어요", customer_id=A, attachments=[photo])
    assert r["handoff"] and r["handoff_reason"] == "urgent"
    notice = svc.get_conversation(r["thread_id"])["messages"][-1]["text"]
    assert "보내 주신 사진" in notice and "사진을 보내 주시면" not in notice  # thanks, does not ask again
    payload = svc.pending(r["thread_id"])[1]
    assert payload["attachments"] == [{"id": 9001, "filename": "broken.jpg", "content_type": "image/jpeg"}]
    assert "첨부 1개" in payload["summary"]
    # a second photo while the customer waits: the agent sees both
    svc.ask("뚜껑 쪽 사진도 보내요", customer_id=A, thread_id=r["thread_id"],
            attachments=[{**photo, "id": 9002, "filename": "lid.jpg"}])
    payload = svc.pending(r["thread_id"])[1]
    assert [a["id"] for a in payload["attachments"]] == [9001, 9002] and "첨부 2개" in payload["summary"]


def test_without_a_photo_the_urgent_notice_asks_for_one(store: Settings) -> None:
    from sajang.graphs.inquiry.service import get_inquiry_service

    r = get_inquiry_service(store).ask("유리병이 깨져서 왔어요", customer_id=A)
    assert r["handoff_reason"] == "urgent"
    notice = get_inquiry_service(store).get_conversation(r["thread_id"])["messages"][-1]["text"]
    assert "사진을 보내 주시면" in notice


def test_a_message_sent_while_the_previous_one_hands_off_reaches_the_agent(store: Settings) -> None:
    """B arrives while A ("상담원 연결해 주세요") is still running: B must see A's handoff, be appended to
    it for the agent, and not start a new bot run that would discard the waiting handoff."""
    import threading
    import time

    from sajang.graphs.inquiry.service import get_inquiry_service

    svc = get_inquiry_service(store)
    thread = svc.start_conversation(A)
    real_invoke = svc.chat_graph.invoke  # the graph that runs customer messages
    second: dict[str, Any] = {}

    def ask_second() -> None:
        second.update(svc.ask("교환 신청은 어떻게 하나요?", customer_id=A, thread_id=thread))

    runner = threading.Thread(target=ask_second)

    def invoke_then_let_b_in(*args: Any, **kwargs: Any) -> Any:
        if not runner.is_alive() and not second:
            runner.start()
            time.sleep(0.5)  # B is now waiting (for the conversation's lock, or past it with a stale status)
        return real_invoke(*args, **kwargs)

    svc.chat_graph.invoke = invoke_then_let_b_in  # type: ignore[method-assign]
    try:
        first = svc.ask("상담원 연결해 주세요", customer_id=A, thread_id=thread)
        runner.join(60)
    finally:
        svc.chat_graph.invoke = real_invoke  # type: ignore[method-assign]
    assert first["handoff"] and first["handoff_reason"] == "requested"
    assert second["handoff"]  # the conversation stays with the person it was handed to
    # while the customer waits, the bot still answers what it can and says a person reads the thread too
    # (in or out of service hours: the two notices differ, both say so)
    assert second["answer"] is None or "상담원도" in second["answer"], second["answer"]
    pending = svc.pending(thread)
    assert pending is not None, "the waiting handoff was discarded"
    assert pending[1]["customer_lines"] == ["상담원 연결해 주세요", "교환 신청은 어떻게 하나요?"]
    notices = [m for m in svc.get_conversation(thread)["messages"] if m["handoff"]]
    assert len(notices) == 1


@pytest.mark.parametrize("durable", [True, False])
def test_a_turn_write_is_idempotent_per_dedup_key_and_scoped_to_its_customer(store: Settings, engine: Engine,
                                                                            durable: bool) -> None:
    from sqlalchemy import func, select

    from sajang.db.models import Message
    from sajang.graphs.inquiry import conversations as conv
    from sajang.graphs.inquiry.service import get_inquiry_service

    thread = get_inquiry_service(store).start_conversation(A)
    first = conv.record_bot_answer(engine, thread, A, "안내드립니다", dedup_key=f"{thread}:t1:ai", category="shipping",
                                   urgency="normal", confidence=0.8, sources=[], meta=None, durable=durable)
    again = conv.record_bot_answer(engine, thread, A, "안내드립니다", dedup_key=f"{thread}:t1:ai", category="shipping",
                                   urgency="normal", confidence=0.8, sources=[], meta=None, durable=durable)
    row, mid = conv.open_customer_turn(engine, thread, A, "감사합니다", dedup_key=f"{thread}:t2:customer",
                                       durable=durable)
    _, mid_again = conv.open_customer_turn(engine, thread, A, "감사합니다", dedup_key=f"{thread}:t2:customer",
                                           durable=durable)
    assert first == again and mid == mid_again and mid != first
    assert row["thread_id"] == thread and row["status"] == "bot" and row["subject"] == "감사합니다"
    with pytest.raises(LookupError):  # someone else's conversation: as if it did not exist, nothing written
        conv.open_customer_turn(engine, thread, B, "제 주문은요?", dedup_key=f"{thread}:t3:customer", durable=durable)
    with engine.connect() as c:
        texts = c.execute(select(Message.text).where(Message.dedup_key.like(f"{thread}:%"))
                          .order_by(Message.id)).scalars().all()
        assert texts == ["안내드립니다", "감사합니다"]
        assert c.scalar(select(func.count()).select_from(Message).where(Message.text == "제 주문은요?")) == 0


@pytest.mark.parametrize("durable", [True, False])
def test_a_customer_turn_links_the_files_sent_with_it(store: Settings, engine: Engine, durable: bool) -> None:
    from sqlalchemy import select

    from sajang.db.engine import session_scope
    from sajang.db.models import Attachment, Conversation
    from sajang.graphs.inquiry import conversations as conv
    from sajang.graphs.inquiry.service import get_inquiry_service

    thread = get_inquiry_service(store).start_conversation(A)
    with session_scope(engine) as s:
        conv_id = s.scalar(select(Conversation.id).where(Conversation.thread_id == thread))
        photo = Attachment(conversation_id=conv_id, filename="broken.jpg", content_type="image/jpeg", size=10,
                           sha256="0" * 64, path="attachments/broken.jpg", uploaded_by="customer")
        s.add(photo)
        s.flush()
        photo_id = photo.id
    _, mid = conv.open_customer_turn(engine, thread, A, "사진 보냅니다", dedup_key=f"{thread}:p1:customer",
                                     attachment_ids=[photo_id], durable=durable)
    with engine.connect() as c:
        assert c.scalar(select(Attachment.message_id).where(Attachment.id == photo_id)) == mid


def test_chat_writes_of_one_process_take_turns_on_sqlite(store: Settings, engine: Engine) -> None:
    """SQLite: the chat writes of a process wait for each other on the process's lock (not in SQLite's busy
    wait, where under load they starved past its timeout: HTTP 500 "database is locked"); PostgreSQL: side by
    side. Every write lands either way."""
    import threading

    from concurrency import at_once
    from sqlalchemy import func, select

    from sajang.db.models import Message
    from sajang.graphs.inquiry import conversations as conv
    from sajang.graphs.inquiry.service import get_inquiry_service

    service = get_inquiry_service(store)
    threads = [service.start_conversation(A) for _ in range(6)]
    open_now, most = 0, 0
    count_lock = threading.Lock()

    def began(_conn: Any) -> None:
        nonlocal open_now, most
        with count_lock:
            open_now += 1
            most = max(most, open_now)

    def ended(_conn: Any) -> None:
        nonlocal open_now
        with count_lock:
            open_now -= 1

    def writes(thread: str) -> None:
        for turn in range(4):
            conv.open_customer_turn(engine, thread, A, f"질문 {turn}", dedup_key=f"{thread}:w{turn}:customer")
            conv.record_bot_answer(engine, thread, A, f"답 {turn}", dedup_key=f"{thread}:w{turn}:ai",
                                   category="shipping", urgency="normal", confidence=0.8, sources=[], meta=None)

    for name, listener in (("begin", began), ("commit", ended), ("rollback", ended)):
        event.listen(engine, name, listener)
    try:
        results = at_once(*(lambda t=t: writes(t) for t in threads))
    finally:
        for name, listener in (("begin", began), ("commit", ended), ("rollback", ended)):
            event.remove(engine, name, listener)
    assert results == [None] * len(threads)
    if engine.dialect.name == "sqlite":
        assert most == 1
    with engine.connect() as c:
        assert c.scalar(select(func.count()).select_from(Message)
                        .where(Message.dedup_key.like("%:w_:%"))) == len(threads) * 8


@pytest.mark.skipif(not IS_PG, reason="the checkpoint migrations' lock is PostgreSQL's")
def test_processes_starting_at_once_set_up_the_checkpoint_tables_without_a_deadlock(databases: Any,
                                                                                    tmp_path: Path) -> None:
    """Replicas starting together on a fresh database: one runs the saver's migrations (CREATE INDEX
    CONCURRENTLY, which waits for every open statement) while the others wait for the lock — waiting by a
    blocking pg_advisory_lock made PostgreSQL report a deadlock in CI. Threads, each its own connection,
    stand in for the processes: the lock is per connection, so the race is the same."""
    from concurrent.futures import ThreadPoolExecutor

    from sajang.graphs.common import checkpoint

    settings = Settings(database_url=databases.fresh(), data_dir=tmp_path)
    with ThreadPoolExecutor(max_workers=4) as pool:
        savers = list(pool.map(lambda _: checkpoint._postgres_saver(settings, 2, False), range(4)))
    try:
        for saver in savers:
            assert saver.get_tuple({"configurable": {"thread_id": "none-yet"}}) is None
    finally:
        checkpoint.close_checkpointers()
