"""Crash test over REST (issue #17 items 8–10): customers and an agent work through a real `sajang serve`
(uvicorn in its own process, loopback); the server is killed with SIGKILL while requests are in flight,
started again, and every request that got no answer is retried with the same `Idempotency-Key`; then
every answered request is sent once more. Afterwards: 0 acknowledged messages lost, 0 stored twice,
0 conversations whose status and thread disagree. Bounded: 8 conversations × 5 keyed requests.
Runs on SQLite and PostgreSQL (DATABASE_URL). The figures are printed (`-s`) for bench/README.md.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from serving import ServeProcess
from sqlalchemy import Engine, select
from test_inquiry_support import seed_store

from sajang.config import Settings
from sajang.db.models import Conversation, Message
from sajang.db.users import get_user_by_username
from sajang.graphs.inquiry.service import WAITING_STATUSES, InquiryService
from sajang.security import issue_staff_token
from sajang.services.accounts import claims_for

CONVERSATIONS = 8
CLIENTS = 4
KILL_AFTER = 12  # acknowledged requests before the kill (of 40): the other clients are mid-request
READY_LIMIT_S = 600.0  # a bound for a hung start-up, not a measurement


@dataclass
class Tally:
    tried: int = 0  # keyed requests sent, retries included
    acked: int = 0  # answered 200
    interrupted: int = 0  # cut by the kill (no answer): retried with the same key
    failed: list[str] = field(default_factory=list)  # any answer but 200
    lock: threading.Lock = field(default_factory=threading.Lock)
    acked_event: threading.Event = field(default_factory=threading.Event)


@dataclass
class Op:
    kind: str  # ask | handoff | reply
    key: str
    text: str = ""
    resolve: bool = False
    result: dict[str, Any] | None = None


def _script(i: int) -> list[Op]:
    return [Op("ask", f"q-{i}", f"반품하면 배송비 얼마예요? ({i}번 문의)"),
            Op("handoff", f"h-{i}"),
            Op("reply", f"r1-{i}", f"확인해 보겠습니다, 고객님 ({i})"),
            Op("ask", f"w-{i}", f"사진도 보내 드릴 수 있어요 ({i})"),
            Op("reply", f"r2-{i}", f"재발송해 드렸습니다. 감사합니다 ({i})", resolve=True)]


def _send(client: httpx.Client, server: ServeProcess, session: dict[str, Any], op: Op, staff: dict[str, str]) -> Any:
    thread = session["thread_id"]
    customer = {"Authorization": f"Bearer {session['token']}", "Idempotency-Key": op.key}
    if op.kind == "ask":
        return client.post(f"{server.base}/api/v1/chat/sessions/{thread}/messages", json={"text": op.text},
                           headers=customer)
    if op.kind == "handoff":
        return client.post(f"{server.base}/api/v1/chat/sessions/{thread}/handoff", headers=customer)
    return client.post(f"{server.base}/api/v1/agent/inquiries/{thread}/reply",
                       json={"text": op.text, "resolve": op.resolve}, headers={**staff, "Idempotency-Key": op.key})


def _until_answered(call: Any, server: ServeProcess, tally: Tally, counted: bool = True) -> Any:
    """Send until the server answers: a request the kill cut is sent again (same key) once it is back."""
    while True:
        if counted:
            with tally.lock:
                tally.tried += 1
        try:
            return call()
        except httpx.TransportError:
            with tally.lock:
                tally.interrupted += 1
            server.up.wait(READY_LIMIT_S)


def _client(server: ServeProcess, convs: list[int], scripts: dict[int, list[Op]], sessions: dict[int, dict[str, Any]],
            staff: dict[str, str], tally: Tally) -> None:
    with httpx.Client(timeout=300) as client:
        for i in convs:
            r = _until_answered(lambda i=i: client.post(f"{server.base}/api/v1/chat/sessions",
                                                        json={"name": f"손님{i}"}), server, tally, counted=False)
            assert r.status_code == 201, r.text
            sessions[i] = r.json()
            for op in scripts[i]:
                r = _until_answered(lambda op=op, i=i: _send(client, server, sessions[i], op, staff),
                                    server, tally)
                with tally.lock:
                    if r.status_code != 200:
                        tally.failed.append(f"{op.kind} {op.key}: {r.status_code} {r.text[:200]}")
                        continue
                    tally.acked += 1
                    if tally.acked >= KILL_AFTER:
                        tally.acked_event.set()
                op.result = r.json()


def _rows(engine: Engine, thread_id: str) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [(str(r.role), str(r.text)) for r in conn.execute(
            select(Message.role, Message.text).join(Conversation, Conversation.id == Message.conversation_id)
            .where(Conversation.thread_id == thread_id).order_by(Message.id))]


def test_kill_minus_nine_mid_flight_loses_and_doubles_nothing(settings: Settings, engine: Engine,
                                                                tmp_path: Path) -> None:
    store = seed_store(settings, engine, tmp_path)
    agent = get_user_by_username(engine, "agent")
    assert agent is not None
    staff = {"Authorization": f"Bearer {issue_staff_token(store, claims_for(agent))}"}
    server = ServeProcess(tmp_path / "server.log", {"SAJANG_RATE_LIMIT_PER_MINUTE": "100000"})
    scripts = {i: _script(i) for i in range(CONVERSATIONS)}
    sessions: dict[int, dict[str, Any]] = {}
    tally = Tally()
    server.start(READY_LIMIT_S)
    try:
        workers = [threading.Thread(target=_client, args=(server, list(range(c, CONVERSATIONS, CLIENTS)), scripts,
                                                          sessions, staff, tally)) for c in range(CLIENTS)]
        for w in workers:
            w.start()
        tally.acked_event.wait(READY_LIMIT_S)
        server.kill()  # SIGKILL: no shutdown, no flush, requests in flight cut
        server.start(READY_LIMIT_S)  # the start-up reconcile runs before the first request is served
        for w in workers:
            w.join()
        # every answered request sent again: the first result comes back, nothing is stored again
        replayed_differently = []
        with httpx.Client(timeout=300) as client:
            for i, ops in scripts.items():
                for op in ops:
                    r = _until_answered(lambda op=op, i=i: _send(client, server, sessions[i], op, staff),
                                        server, tally)
                    assert r.status_code == 200, r.text
                    again = r.json()
                    if op.kind == "reply":
                        same = again["message_id"] == (op.result or {}).get("message_id") and again["duplicate"]
                    else:
                        same = again == op.result
                    if not same:
                        replayed_differently.append((op.key, op.result, again))
    finally:
        server.stop()

    lost, duplicates, inconsistent = [], [], []
    checker = InquiryService(store)
    for i, ops in scripts.items():
        thread = sessions[i]["thread_id"]
        rows = Counter(_rows(engine, thread))
        for op in ops:
            text = op.text or "상담원과 연결해 주세요."
            role = "agent" if op.kind == "reply" else "customer"
            n = rows[(role, text)]
            if n == 0:
                lost.append(op.key)
            elif n > 1:
                duplicates.append(op.key)
        status = checker._conversation(thread)["status"]
        if (status in WAITING_STATUSES) != (checker.pending(thread) is not None):
            inconsistent.append((thread, status))
        assert status == "resolved", (thread, status)
    reconciled = [line for line in (tmp_path / "server.log").read_text().splitlines() if "start-up reconcile" in line]
    print(f"\ncrash test ({engine.dialect.name}): tried {tally.tried}, acknowledged {tally.acked}, "
          f"cut by kill -9 {tally.interrupted}, failed {len(tally.failed)}, lost {len(lost)}, "
          f"duplicates {len(duplicates)}, inconsistent {len(inconsistent)}, replayed differently "
          f"{len(replayed_differently)}; start-up reconcile: {reconciled[-1].split(': ', 1)[-1] if reconciled else 'nothing'}")
    assert tally.interrupted >= 1  # the kill did cut requests in flight
    assert not tally.failed
    assert not lost and not duplicates and not inconsistent
    assert not replayed_differently, replayed_differently[:3]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-s", "-q"]))
