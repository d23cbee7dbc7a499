"""`sajang ask` through a running `sajang serve` (issue #20): a real server process on a loopback port, the CLI
in a process of its own finds it by the data dir's serve.json, signs an admin token with the shared secret
key, and prints what the in-process graph prints; when the server is gone it answers in its own process.
Runs on SQLite and PostgreSQL (DATABASE_URL)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import httpx
from browser import free_port
from conftest import run_cli, run_cli_process
from serving import ServeProcess
from sqlalchemy import Engine, select
from test_inquiry_support import A_ORDER, A, seed_store

from sajang.app.client import database_digest
from sajang.config import Settings
from sajang.db.engine import session_scope
from sajang.db.models import Conversation, User
from sajang.security import issue_staff_token
from sajang.services.accounts import claims_for

QUESTIONS = [("배송비 얼마예요?", None), ("주문한 거 어디쯤 왔어요?", A), ("How long does a refund take?", None)]
BATCH = "\n".join([json.dumps({"text": "반품하면 배송비 얼마예요?", "thread": "t1"}, ensure_ascii=False),
                   json.dumps({"text": "교환은 어떻게 하나요?", "thread": "t1"}, ensure_ascii=False),
                   json.dumps({"text": "택배 언제 와요?", "customer_id": A}, ensure_ascii=False)])


def _ask(*args: str, in_process: bool = False, **kwargs: Any) -> Any:
    """`sajang ask ARGS`: a new process (what a shell runs) or, for the in-process side, this test's process
    (the same `main()`, without loading the graph again for each call)."""
    run = run_cli if in_process else run_cli_process
    return run("ask", *args, **kwargs)


def _answers(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def _without_thread(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "thread_id"} for row in rows]


def _conversation(engine: Engine, thread_id: str) -> Conversation | None:
    with session_scope(engine) as s:
        return s.scalar(select(Conversation).where(Conversation.thread_id == thread_id))


def test_ask_through_server_prints_what_in_process_prints_and_falls_back(
        settings: Settings, engine: Engine, tmp_path: Path) -> None:
    store = seed_store(settings, engine, tmp_path)
    server = ServeProcess(tmp_path / "server.log", {"SAJANG_UI": "off"})
    announced = store.data_dir / "serve.json"
    server.start()
    try:
        # no admin to sign a token for: the server is not asked (by default the CLI would answer itself)
        no_admin = _ask("배송비 얼마예요?", "--json", "--server")
        assert no_admin.returncode == 1 and "no active admin user" in no_admin.stderr
        with session_scope(engine) as s:
            s.add(User(username="owner", display_name="사장님", role="admin", password_hash="x"))
        found = json.loads(announced.read_text())
        assert (found["url"], found["pid"]) == (server.base, server.proc.pid if server.proc else 0)
        # a CLI on another database of the same data dir does not take this server for its own
        other = _ask("배송비 얼마예요?", "--json", "--server", env={"DATABASE_URL": "sqlite:///" + str(tmp_path / "other.db")})
        assert other.returncode == 1 and "no running `sajang serve`" in other.stderr
        through_server = []
        for text, customer in QUESTIONS:
            args = [text, "--json", "--server", *(["--customer", customer] if customer else [])]
            out = _ask(*args)
            assert out.returncode == 0, out.stderr
            through_server += _answers(out.stdout)
        batch = _ask("--queries", "-", "--json", "--server", input=BATCH)
        assert batch.returncode == 0, batch.stderr
        batch_rows = _answers(batch.stdout)

        # the server answered them: its access log has the requests, its rows the conversations
        log = (tmp_path / "server.log").read_text()
        assert log.count("POST /api/v1/admin/ask") == len(QUESTIONS) + 3
        for row in through_server + batch_rows:
            conv = _conversation(engine, row["thread_id"])
            assert conv is not None and conv.channel == "chat"
        assert batch_rows[0]["thread_id"] == batch_rows[1]["thread_id"] != batch_rows[2]["thread_id"]
        assert _conversation(engine, batch_rows[2]["thread_id"]).customer_id == A  # type: ignore[union-attr]
        token = store.data_dir / "cli_token"
        assert stat.S_IMODE(token.stat().st_mode) == 0o600

        # the endpoint is the owner's: an agent's token and no token are refused
        agent = claims_for(_user(engine, "agent"))
        with httpx.Client(base_url=server.base, timeout=60) as client:
            assert client.post("/api/v1/admin/ask", json={"text": "배송비"}).status_code == 401
            refused = client.post("/api/v1/admin/ask", json={"text": "배송비"},
                                  headers={"Authorization": f"Bearer {issue_staff_token(store, agent)}"})
            assert refused.status_code == 403
            # an error of the service reaches the CLI as the same one line as in its own process
        unknown = _ask("배송비 얼마예요?", "--customer", "C-NOPE", "--json", "--server")
        assert unknown.returncode == 1 and "customer C-NOPE not found" in unknown.stderr
    finally:
        server.stop()
    assert not announced.exists()  # removed at a clean exit

    # the same questions in this process: the same objects, field for field (the thread ids aside)
    in_process = []
    for text, customer in QUESTIONS:
        out = _ask(text, "--json", "--no-server", *(["--customer", customer] if customer else []), in_process=True)
        assert out.returncode == 0, out.stderr
        in_process += _answers(out.stdout)
    assert _without_thread(through_server) == _without_thread(in_process)
    assert [list(row) for row in through_server] == [list(row) for row in in_process]  # same keys, same order
    assert any(s["kind"] == "order" and s["id"] == A_ORDER for s in through_server[1]["sources"])
    # in a cold process of its own, where Kiwi loads in a child process while the graph imports: the same answer
    cold = _ask(QUESTIONS[0][0], "--json", "--no-server")
    assert cold.returncode == 0, cold.stderr
    assert _without_thread(_answers(cold.stdout)) == _without_thread(through_server[:1])
    local_batch = _ask("--queries", "-", "--json", "--no-server", input=BATCH, in_process=True)
    assert _without_thread(_answers(local_batch.stdout)) == _without_thread(batch_rows)

    # no server: `--server` says so; by default the message is answered here
    forced = _ask("배송비 얼마예요?", "--json", "--server")
    assert forced.returncode == 1 and "no running `sajang serve`" in forced.stderr
    # a server that died without cleaning up (kill -9): its file names a port nobody listens on
    announced.write_text(json.dumps({"url": f"http://127.0.0.1:{free_port()}", "pid": os.getpid(),
                                     "database": database_digest(store)}))
    forced = _ask("배송비 얼마예요?", "--json", "--server")
    assert forced.returncode == 1 and "the server did not take the message" in forced.stderr
    fallback = _ask("배송비 얼마예요?", "--json", in_process=True)
    assert fallback.returncode == 0, fallback.stderr
    assert _without_thread(_answers(fallback.stdout)) == _without_thread(in_process[:1])


def _user(engine: Engine, username: str) -> User:
    with session_scope(engine) as s:
        user = s.scalar(select(User).where(User.username == username))
        assert user is not None
        s.expunge(user)
        return user
