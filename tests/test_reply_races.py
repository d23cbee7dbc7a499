"""Agent replies and customer messages are never lost or doubled (issue #17 items 8–10).

- two replicas (two `InquiryService`s: their own in-process locks and graphs, one database) replying on
  one conversation at once both store their reply, once each;
- a reply after a crash that left the thread's checkpoint on an interrupt already answered is stored;
- an idempotency key: a retried customer message or reply returns the first result, stores nothing;
- a conversation whose status and thread disagree (a crash between the row write and the checkpoint
  write) is put right on read and by the start-up sweep.
Runs on SQLite and PostgreSQL (DATABASE_URL).
"""

from __future__ import annotations

import sqlite3
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from concurrency import at_once
from sqlalchemy import Engine, select, text
from test_inquiry_support import A, seed_store

from sajang.config import Settings
from sajang.db.models import Conversation, Message, User
from sajang.errors import Conflict
from sajang.graphs.common.checkpoint import CHECKPOINT_FILE
from sajang.graphs.inquiry import conversations as conv_store
from sajang.graphs.inquiry.service import InquiryService, get_inquiry_service


@pytest.fixture
def store(settings: Settings, engine: Engine, tmp_path: Path) -> Settings:
    return seed_store(settings, engine, tmp_path)


def _agent(engine: Engine, username: str = "agent") -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(User.id).where(User.username == username)) or 0)


def _rows(engine: Engine, thread_id: str, role: str) -> list[tuple[int, str]]:
    with engine.connect() as conn:
        return [(int(r.id), str(r.text)) for r in conn.execute(
            select(Message.id, Message.text).join(Conversation, Conversation.id == Message.conversation_id)
            .where(Conversation.thread_id == thread_id, Message.role == role).order_by(Message.id))]


def _handed_off(svc: InquiryService) -> str:
    out = svc.ask("상담원 연결해 주세요. 받은 상품이 파손되어 왔어요", customer_id=A)
    assert out["handoff"]
    return str(out["thread_id"])


def test_two_replicas_replying_at_once_store_both(store: Settings, engine: Engine) -> None:
    one, two = InquiryService(store), InquiryService(store)
    agent = _agent(engine)
    for round_ in range(3):
        thread = _handed_off(one)
        first, second = f"확인해 보겠습니다 ({round_})", f"사진을 보내 주시겠어요? ({round_})"
        got = at_once(partial(one.reply, thread, first, agent, "김민지"),
                       partial(two.reply, thread, second, agent, "김민지"))
        assert all(isinstance(r, dict) and not r["duplicate"] for r in got), got
        assert got[0]["message_id"] != got[1]["message_id"]
        assert sorted(t for _, t in _rows(engine, thread, "agent")) == sorted([first, second])
        # the thread saw both turns and still waits for the next message of a person
        state = one.graph.get_state(one._config(thread))
        agent_turns = [t["text"] for t in state.values.get("history") or [] if t.get("role") == "agent"]
        assert sorted(agent_turns) == sorted([first, second])
        assert one.pending(thread) is not None


class _CheckpointRows:
    """The rows of a thread's checkpoints and pending writes, to take the thread back to a moment: what a
    crash between a node's row write and the checkpoint write leaves (the checkpoint tables of
    `langgraph-checkpoint-sqlite` / `-postgres`)."""

    def __init__(self, settings: Settings, engine: Engine, thread_id: str) -> None:
        self.settings, self.engine, self.thread_id = settings, engine, thread_id
        self.postgres = engine.dialect.name == "postgresql"
        self.tables = ("checkpoint_writes", "checkpoints") if self.postgres else ("writes", "checkpoints")
        self.kept = self._keys()

    def _run(self, query: str, params: dict[str, Any]) -> list[tuple[str, ...]]:
        if self.postgres:
            with self.engine.begin() as conn:
                result = conn.execute(text(query), params)
                return [tuple(str(v) for v in r) for r in result] if result.returns_rows else []
        with sqlite3.connect(Path(self.settings.data_dir) / CHECKPOINT_FILE) as db:
            return [tuple(str(v) for v in r) for r in db.execute(query, params)]

    def _keys(self) -> dict[str, set[tuple[str, ...]]]:
        cols = {"checkpoints": "checkpoint_id", "writes": "checkpoint_id, task_id, idx",
                "checkpoint_writes": "checkpoint_id, task_id, idx"}
        return {table: set(self._run(f"SELECT {cols[table]} FROM {table} WHERE thread_id = :thread_id",
                                     {"thread_id": self.thread_id})) for table in self.tables}

    def restore(self) -> None:
        """Delete every checkpoint and write of the thread made since this object was made."""
        now = self._keys()
        for table in self.tables:
            for key in now[table] - self.kept[table]:
                names = ("checkpoint_id", "task_id", "idx")[:len(key)]
                params: dict[str, Any] = dict(zip(names, key, strict=True))
                if "idx" in params:
                    params["idx"] = int(params["idx"])
                where = " AND ".join(f"{c} = :{c}" for c in names)
                self._run(f"DELETE FROM {table} WHERE thread_id = :thread_id AND {where}",
                          {"thread_id": self.thread_id, **params})


def test_reply_after_a_crash_left_the_old_interrupt_is_stored(store: Settings, engine: Engine) -> None:
    svc = get_inquiry_service(store)
    agent = _agent(engine)
    thread = _handed_off(svc)
    before = svc.pending(thread)
    assert before is not None
    moment = _CheckpointRows(store, engine, thread)
    svc.reply(thread, "첫 번째 답변입니다", agent, "김민지")
    moment.restore()  # the reply's row stays, its checkpoint is gone
    assert svc.pending(thread) == before  # the same interrupt as before the first reply
    out = svc.reply(thread, "두 번째 답변입니다", agent, "김민지")
    assert not out["duplicate"]
    assert [t for _, t in _rows(engine, thread, "agent")] == ["첫 번째 답변입니다", "두 번째 답변입니다"]


def test_idempotency_keys_return_the_first_result(store: Settings, engine: Engine) -> None:
    svc = get_inquiry_service(store)
    agent = _agent(engine)
    thread = svc.start_conversation(A)
    asked = svc.ask("반품하면 배송비 얼마예요?", customer_id=A, thread_id=thread, client_key="q-1")
    again = svc.ask("반품하면 배송비 얼마예요?", customer_id=A, thread_id=thread, client_key="q-1")
    assert again == asked and asked["answer"]
    assert len(_rows(engine, thread, "customer")) == 1 and len(_rows(engine, thread, "ai")) == 1
    with pytest.raises(Conflict) as reused:
        svc.ask("다른 질문", customer_id=A, thread_id=thread, client_key="q-1")
    assert reused.value.code == "idempotency_key_reused"
    # the same key on another conversation is another message
    other = svc.start_conversation(A)
    svc.ask("반품하면 배송비 얼마예요?", customer_id=A, thread_id=other, client_key="q-1")
    assert len(_rows(engine, other, "customer")) == 1

    handoff = svc.ask("상담원과 연결해 주세요.", customer_id=A, thread_id=thread, client_key="h-1")
    assert handoff["handoff"] and svc.ask("상담원과 연결해 주세요.", customer_id=A, thread_id=thread,
                                          client_key="h-1") == handoff
    waiting = svc.ask("사진도 있어요", customer_id=A, thread_id=thread, client_key="w-1")
    assert svc.ask("사진도 있어요", customer_id=A, thread_id=thread, client_key="w-1") == waiting
    assert [t for _, t in _rows(engine, thread, "customer")] == [
        "반품하면 배송비 얼마예요?", "상담원과 연결해 주세요.", "사진도 있어요"]

    first = svc.reply(thread, "확인해 드릴게요", agent, "김민지", client_key="r-1")
    retry = svc.reply(thread, "확인해 드릴게요", agent, "김민지", client_key="r-1")
    assert retry["message_id"] == first["message_id"] and retry["duplicate"] and not first["duplicate"]
    # a deliberate identical reply (another key) is another message
    svc.reply(thread, "확인해 드릴게요", agent, "김민지", client_key="r-2")
    assert [t for _, t in _rows(engine, thread, "agent")] == ["확인해 드릴게요", "확인해 드릴게요"]
    with pytest.raises(Conflict):
        svc.reply(thread, "다른 답변", agent, "김민지", client_key="r-1")


def test_status_and_thread_put_right_on_read_and_at_start_up(store: Settings, engine: Engine) -> None:
    svc = get_inquiry_service(store)
    # 1. queued, but the handoff's checkpoint was never written (crash after escalate's row write)
    queued = svc.start_conversation(A)
    moment = _CheckpointRows(store, engine, queued)
    svc.ask("상담원 연결해 주세요. 환불 문의예요", customer_id=A, thread_id=queued)
    moment.restore()
    assert conv_store.conversation_row(engine, queued)["status"] == "new" and svc.pending(queued) is None
    # 2. resolved in the rows while the thread still waits (crash before the resolving checkpoint)
    resolved = _handed_off(svc)
    conv_store.mark_resolved(engine, resolved)
    assert svc.pending(resolved) is not None

    counts = svc.reconcile_all()
    assert counts["restored_handoff"] == 1 and counts["closed_wait"] == 1
    assert svc.pending(queued) is not None and svc.pending(resolved) is None
    assert svc.reconcile_all()["restored_handoff"] == 0  # nothing left to do
    # the restored handoff works: the agent's reply resumes it
    agent = _agent(engine)
    assert svc.reply(queued, "환불 도와드릴게요", agent, "김민지")["status"] == "assigned"
    assert svc.pending(queued) is not None

    # on read: the hub's and the customer's view of a conversation put it right too
    again = svc.start_conversation(A)
    moment = _CheckpointRows(store, engine, again)
    svc.ask("상담원 연결해 주세요.", customer_id=A, thread_id=again)
    moment.restore()
    view = svc.get_conversation(again)
    assert view["status"] == "new" and view["waiting"] is True and view["pending"]["summary"]
