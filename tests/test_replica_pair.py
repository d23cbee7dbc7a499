"""Two `sajang serve` replicas on one database, one `chroma run` server and Redis (issues #17 and #20).

Started once for the module, side by side: replica A (`serve --workers 2`: two processes behind one port) and
replica B (`serve`), UIs off, `SAJANG_SECRET_KEY`, `CHROMA_URL`, `REDIS_URL` as in `deploy/compose.yaml`.
On PostgreSQL each replica has a data dir of its own with `attachments/` shared (the compose file's volume);
on SQLite the chat checkpoints are a file in the data dir, so replicas on SQLite (one machine) share it.
Everything is checked through REST, each request sent to one replica or the other:

- a handoff asked for through A is in B's queue; one agent's claim through B wins, another's through A is 409;
  two claims at once through A and B: one winner;
- one agent's replies through A and B at once are both stored, once each; two agents' at once on an inquiry
  still in the queue: one is stored, the other is 409 `already_claimed` (the rule of tests/test_reply_races.py);
  an `Idempotency-Key` retried on the other replica returns the first reply; the customer sees the same
  conversation through either replica;
- a 👎 with the correct answer through A is used by the bot answering through B at once (its vectors are in
  the Chroma server, B's index catches up from the database signature, no restart);
- a chat token and a staff token issued by one replica work on the other; a photo uploaded through one is
  served by the other (to the customer, the staff and the signed link);
- a rate limit used up on one replica refuses on the other (Redis);
- the agents' queue has no push events: the hub polls the database (`QUEUE_REFRESH_SECONDS`), `GET
  /agent/inquiries` and `/metrics` read it per request, so a handoff through A is in B's queue and in B's
  `sajang_queue_length` on the next read.

Each test sends its own `X-Forwarded-For` address (uvicorn trusts it from 127.0.0.1), so the per-address limits
of one test do not spend another's. Skipped without a Redis at REDIS_URL or without the `chroma` command.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from concurrency import at_once
from serving import ServeProcess, chroma_server
from test_api import png_bytes
from test_inquiry_support import A_ORDER, MANUAL, seed_rows
from test_replicas import REDIS_URL, needs_redis

from sajang.config import Settings
from sajang.db.engine import dispose_all, get_engine

pytestmark = [pytest.mark.slow, needs_redis]

IS_PG = os.environ.get("DATABASE_URL", "").startswith(("postgresql", "postgres://"))
START_LIMIT_S = 300.0  # a bound for a hung start-up on a busy machine, not a measurement
LIMIT = 5  # SAJANG_RATE_LIMIT_PER_MINUTE: per address, per conversation
PASSWORD = "replica-pass-1"
MANUAL_SLICE = ["return-fee", "delivery-fee", "exchange-policy"]
CORRECT = "네, 주문하실 때 요청사항에 '선물 포장'이라고 적어 주시면 보자기 포장을 무료로 해 드립니다."


@dataclass
class Pair:
    a: ServeProcess
    b: ServeProcess
    chroma_url: str
    data_dirs: tuple[Path, Path]
    staff: dict[str, dict[str, str]]  # username → Authorization header

    def client(self, ip: str) -> httpx.Client:
        """Requests from one customer's (or agent's) address."""
        return httpx.Client(timeout=120, headers={"X-Forwarded-For": ip})


def _seed(settings: Settings, manual: Path) -> None:
    """Customers, orders and two agents who log in, and a slice of the manual indexed into the Chroma server."""
    from sajang.knowledge.service import get_knowledge, reset_knowledge_cache
    from sajang.services.accounts import create_account

    engine = get_engine(settings.resolved_database_url)
    seed_rows(engine)  # customers C-90001 / C-90002 and their orders
    create_account(engine, "mina", PASSWORD, "agent", "김민아")
    create_account(engine, "jun", PASSWORD, "agent", "박준")
    manual.mkdir()
    for name in MANUAL_SLICE:
        (manual / f"{name}.md").write_text((MANUAL / f"{name}.md").read_text(encoding="utf-8"), encoding="utf-8")
    get_knowledge(settings).import_manual_dir(manual)
    reset_knowledge_cache()
    dispose_all()


@pytest.fixture(scope="module")
def pair(databases: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    root = tmp_path_factory.mktemp("replica-pair")
    db_url = databases.fresh()
    data_a, data_b = root / "a", root / "b"
    data_a.mkdir()
    if IS_PG:  # each its own data dir, the attachments shared (deploy/compose.yaml's volume)
        data_b.mkdir()
        (data_a / "attachments").mkdir()
        (data_b / "attachments").symlink_to(data_a / "attachments")
    else:
        data_b = data_a
    with chroma_server(root / "chroma") as chroma_url:
        env = {"DATABASE_URL": db_url, "CHROMA_URL": chroma_url, "REDIS_URL": REDIS_URL,
               "SAJANG_REDIS_PREFIX": f"sajang-test-{uuid.uuid4().hex[:12]}",
               "SAJANG_SECRET_KEY": uuid.uuid4().hex * 2, "SAJANG_UI": "off",
               "SAJANG_RATE_LIMIT_PER_MINUTE": str(LIMIT), "SAJANG_PURGE_INTERVAL_HOURS": "0"}
        _seed(Settings(database_url=db_url, data_dir=data_a, chroma_url=chroma_url), root / "manual")
        a = ServeProcess(root / "a.log", {**env, "SAJANG_DATA_DIR": str(data_a)}, "--workers", "2")
        b = ServeProcess(root / "b.log", {**env, "SAJANG_DATA_DIR": str(data_b)})
        a.spawn()
        b.spawn()
        try:
            a.wait_up(START_LIMIT_S)
            b.wait_up(START_LIMIT_S)
            staff: dict[str, dict[str, str]] = {}
            with httpx.Client(timeout=60, headers={"X-Forwarded-For": "10.9.0.1"}) as client:
                for username, replica in (("mina", a), ("jun", b)):  # each logs in on one replica
                    r = client.post(f"{replica.base}/api/v1/auth/token",
                                    data={"username": username, "password": PASSWORD})
                    assert r.status_code == 200, r.text
                    staff[username] = {"Authorization": f"Bearer {r.json()['access_token']}"}
            yield Pair(a, b, chroma_url, (data_a, data_b), staff)
        finally:
            a.stop()
            b.stop()


def _chat(client: httpx.Client, replica: ServeProcess, **body: Any) -> tuple[str, dict[str, str]]:
    r = client.post(f"{replica.base}/api/v1/chat/sessions", json=body or {"name": "손님"})
    assert r.status_code == 201, r.text
    return r.json()["thread_id"], {"Authorization": f"Bearer {r.json()['token']}"}


def _handoff(client: httpx.Client, replica: ServeProcess, **body: Any) -> tuple[str, dict[str, str]]:
    """A new chat through `replica` whose customer asks for a person there."""
    thread, token = _chat(client, replica, **body)
    r = client.post(f"{replica.base}/api/v1/chat/sessions/{thread}/handoff", headers=token)
    assert r.status_code == 200 and r.json()["handoff"] is True, r.text
    return thread, token


def _queue(client: httpx.Client, replica: ServeProcess, agent: dict[str, str], status: str) -> list[str]:
    r = client.get(f"{replica.base}/api/v1/agent/inquiries", params={"status": status}, headers=agent)
    assert r.status_code == 200, r.text
    return [q["thread_id"] for q in r.json()]


def _messages(client: httpx.Client, replica: ServeProcess, thread: str, token: dict[str, str]) -> list[dict[str, Any]]:
    r = client.get(f"{replica.base}/api/v1/chat/sessions/{thread}/messages", headers=token)
    assert r.status_code == 200, r.text
    return list(r.json()["messages"])


def _error_code(r: httpx.Response) -> tuple[int, str | None]:
    return r.status_code, (r.json().get("code") if r.headers.get("content-type", "").startswith("application/json")
                           else None)


def test_a_handoff_through_a_is_claimed_once_across_replicas(pair: Pair) -> None:
    a, b, mina, jun = pair.a, pair.b, pair.staff["mina"], pair.staff["jun"]
    with pair.client("10.9.1.1") as client:
        thread, token = _handoff(client, a, order_id=A_ORDER, phone_last4="2222")
        assert thread in _queue(client, b, mina, "new")  # mina's token (issued by A) on B
        taken = client.post(f"{b.base}/api/v1/agent/inquiries/{thread}/claim", headers=mina)
        assert taken.status_code == 200 and taken.json()["assignee"] == "mina", taken.text
        assert _error_code(client.post(f"{a.base}/api/v1/agent/inquiries/{thread}/claim", headers=jun)) == (
            409, "already_claimed")
        assert thread in _queue(client, a, mina, "mine") and thread not in _queue(client, a, jun, "mine")
        assert thread not in _queue(client, b, jun, "new")
        # the customer's token, issued by A, reads the conversation on B
        session = client.get(f"{b.base}/api/v1/chat/sessions/{thread}", headers=token)
        assert session.status_code == 200 and session.json()["status"] == "assigned", session.text
        assert session.json()["verified"] is True

        # two agents claiming at once, one through each replica: one wins
        for _ in range(2):
            thread, _token = _handoff(client, b)
            got = at_once(partial(client.post, f"{a.base}/api/v1/agent/inquiries/{thread}/claim", headers=mina),
                           partial(client.post, f"{b.base}/api/v1/agent/inquiries/{thread}/claim", headers=jun))
            assert sorted(_error_code(r) for r in got) == [(200, None), (409, "already_claimed")], [r.text for r in got]
            winner = "mina" if got[0].status_code == 200 else "jun"
            assert thread in _queue(client, b, pair.staff[winner], "mine")


def test_replies_through_both_replicas_at_once(pair: Pair) -> None:
    a, b, mina, jun = pair.a, pair.b, pair.staff["mina"], pair.staff["jun"]
    with pair.client("10.9.2.1") as client:
        # one agent (two browser tabs, each on a replica) replying at once: both stored, once each
        for round_ in range(2):
            thread, token = _handoff(client, a)
            assert client.post(f"{a.base}/api/v1/agent/inquiries/{thread}/claim", headers=mina).status_code == 200
            texts = [f"확인해 보겠습니다 ({round_})", f"사진을 보내 주시겠어요? ({round_})"]
            got = at_once(partial(client.post, f"{a.base}/api/v1/agent/inquiries/{thread}/reply", headers=mina,
                                   json={"text": texts[0]}),
                           partial(client.post, f"{b.base}/api/v1/agent/inquiries/{thread}/reply", headers=mina,
                                   json={"text": texts[1]}))
            assert [r.status_code for r in got] == [200, 200], [r.text for r in got]
            assert not any(r.json()["duplicate"] for r in got)
            assert got[0].json()["message_id"] != got[1].json()["message_id"]
            seen = [_messages(client, replica, thread, token) for replica in (a, b)]
            assert seen[0] == seen[1]  # the same conversation through either replica
            assert sorted(m["text"] for m in seen[0] if m["role"] == "agent") == sorted(texts)

        # two agents at once on an inquiry still in the queue: the first reply takes it, the other is 409
        for round_ in range(2):
            thread, token = _handoff(client, b)
            texts = [f"김민아입니다 ({round_})", f"박준입니다 ({round_})"]
            got = at_once(partial(client.post, f"{a.base}/api/v1/agent/inquiries/{thread}/reply", headers=mina,
                                   json={"text": texts[0]}),
                           partial(client.post, f"{b.base}/api/v1/agent/inquiries/{thread}/reply", headers=jun,
                                   json={"text": texts[1]}))
            assert sorted(_error_code(r)[0] for r in got) == [200, 409], [r.text for r in got]
            won = 0 if got[0].status_code == 200 else 1
            assert _error_code(got[1 - won]) == (409, "already_claimed")
            for replica in (a, b):
                agent_texts = [m["text"] for m in _messages(client, replica, thread, token) if m["role"] == "agent"]
                assert agent_texts == [texts[won]]

        # a retry of one reply (same Idempotency-Key) landing on the other replica: the first reply, once
        key = {"Idempotency-Key": f"reply-{uuid.uuid4().hex}"}
        winner = {**(mina if won == 0 else jun), **key}
        first = client.post(f"{a.base}/api/v1/agent/inquiries/{thread}/reply", headers=winner,
                            json={"text": "추가로 확인해 드릴게요"})
        retry = client.post(f"{b.base}/api/v1/agent/inquiries/{thread}/reply", headers=winner,
                            json={"text": "추가로 확인해 드릴게요"})
        assert first.status_code == 200 and retry.status_code == 200, (first.text, retry.text)
        assert retry.json()["duplicate"] is True and not first.json()["duplicate"]
        assert retry.json()["message_id"] == first.json()["message_id"]
        agent_texts = [m["text"] for m in _messages(client, b, thread, token) if m["role"] == "agent"]
        assert agent_texts == [texts[won], "추가로 확인해 드릴게요"]


def test_a_correction_through_a_is_answered_by_b(pair: Pair) -> None:
    import chromadb

    a, b, mina = pair.a, pair.b, pair.staff["mina"]
    with pair.client("10.9.3.1") as client:
        # B answers once before (its index is loaded and current), without the answer it has not learned yet
        thread, token = _chat(client, b)
        before = client.post(f"{b.base}/api/v1/chat/sessions/{thread}/messages", headers=token,
                             json={"text": "선물용으로 포장 가능한가요?"})
        assert before.status_code == 200, before.text
        assert before.json()["answer"] != CORRECT
        assert all(s["kind"] != "learned" for s in before.json()["sources"])

        thread, token = _chat(client, a)
        asked = client.post(f"{a.base}/api/v1/chat/sessions/{thread}/messages", headers=token,
                            json={"text": "선물 포장도 해 주시나요?"})
        assert asked.status_code == 200, asked.text
        taught = client.post(f"{a.base}/api/v1/agent/inquiries/{thread}/feedback", headers=mina,
                             json={"correct_text": CORRECT})
        assert taught.status_code == 200, taught.text
        learned_id = taught.json()["learned_id"]

        # the very next question, through B, from another customer
        thread, token = _chat(client, b)
        after = client.post(f"{b.base}/api/v1/chat/sessions/{thread}/messages", headers=token,
                            json={"text": "선물용으로 포장 가능한가요?"})
        assert after.status_code == 200, after.text
        assert after.json()["answer"] == CORRECT and after.json()["sources"][0]["kind"] == "learned", after.json()
        assert after.json()["sources"][0]["id"] == f"learned:{learned_id}"
        unrelated = client.post(f"{b.base}/api/v1/chat/sessions/{thread}/messages", headers=token,
                                json={"text": "반품할 때 배송비는 얼마나 드나요?"})
        assert unrelated.status_code == 200 and unrelated.json()["answer"] != CORRECT

    # the vectors are in the Chroma server (one collection, the learned answer's among them), none on disk
    port = int(pair.chroma_url.rsplit(":", 1)[1])
    server = chromadb.HttpClient(host="127.0.0.1", port=port)
    collections = server.list_collections()
    assert len(collections) == 1
    learned = server.get_collection(collections[0].name).get(where={"kind": "learned"}, include=[])
    assert learned["ids"]
    assert not any((d / "chroma").exists() for d in pair.data_dirs)


def test_tokens_and_photos_work_on_either_replica(pair: Pair) -> None:
    a, b, mina, jun = pair.a, pair.b, pair.staff["mina"], pair.staff["jun"]
    with pair.client("10.9.4.1") as client:
        me = client.get(f"{b.base}/api/v1/auth/me", headers=mina)  # issued by A
        assert me.status_code == 200 and me.json()["username"] == "mina", me.text
        thread, token = _chat(client, a, order_id=A_ORDER, phone_last4="2222")
        photo = png_bytes((16, 16), "green")
        up = client.post(f"{a.base}/api/v1/chat/sessions/{thread}/attachments", headers=token,
                         files={"file": ("파손.png", photo, "image/png")})
        assert up.status_code == 201, up.text
        att = up.json()
        # the customer's token, the staff's and the signed link, each on the other replica
        through_b = client.get(f"{b.base}/api/v1/attachments/{att['id']}", headers=token)
        assert through_b.status_code == 200 and through_b.headers["content-type"] == "image/png", through_b.text
        assert client.get(f"{b.base}/api/v1/attachments/{att['id']}", headers=jun).content == through_b.content
        signed = httpx.get(f"{b.base}{att['url']}", timeout=60)
        assert signed.status_code == 200 and signed.content == through_b.content
        assert len(through_b.content) == att["size"]
        # sent with a message through B, asking for a person there; the agent answers with a photo of theirs
        asked = client.post(f"{b.base}/api/v1/chat/sessions/{thread}/messages", headers=token,
                            json={"text": "상담원 연결해 주세요. 받은 상품이 파손되어 왔어요", "attachment_ids": [att["id"]]})
        assert asked.status_code == 200 and asked.json()["handoff"] is True, asked.text
        conv = client.get(f"{a.base}/api/v1/agent/inquiries/{thread}", headers=jun).json()
        customer_atts = [x["id"] for m in conv["messages"] if m["role"] == "customer" for x in m.get("attachments", [])]
        assert customer_atts == [att["id"]]
        mine = client.post(f"{b.base}/api/v1/agent/inquiries/{thread}/attachments", headers=jun,
                           files={"file": ("교환안내.png", png_bytes(color="blue"), "image/png")})
        assert mine.status_code == 201, mine.text
        replied = client.post(f"{a.base}/api/v1/agent/inquiries/{thread}/reply", headers=jun,
                              json={"text": "교환 포장 방법을 사진으로 보내 드려요.", "attachment_ids": [mine.json()["id"]]})
        assert replied.status_code == 200, replied.text
        last = _messages(client, a, thread, token)[-1]
        assert last["role"] == "agent" and [x["id"] for x in last["attachments"]] == [mine.json()["id"]]
        image = client.get(f"{a.base}{last['attachments'][0]['url']}")
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"
        # a token of the other conversation is refused on both
        _other, other_token = _chat(client, b)
        for replica in (a, b):
            assert _error_code(client.get(f"{replica.base}/api/v1/attachments/{att['id']}",
                                          headers=other_token))[0] == 404


def test_rate_limits_are_shared(pair: Pair) -> None:
    a, b = pair.a, pair.b
    with pair.client("10.9.5.1") as client:
        started = time.monotonic()
        first = [client.post(f"{a.base}/api/v1/chat/sessions", json={"name": "손님"}).status_code
                 for _ in range(LIMIT)]
        on_b = client.post(f"{b.base}/api/v1/chat/sessions", json={"name": "손님"})
        on_a = client.post(f"{a.base}/api/v1/chat/sessions", json={"name": "손님"})
        elapsed = time.monotonic() - started
        other_address = client.post(f"{b.base}/api/v1/chat/sessions", json={"name": "손님"},
                                    headers={"X-Forwarded-For": "10.9.5.2"})
    assert first == [201] * LIMIT
    if int(elapsed * LIMIT / 60) == 0:  # tokens the bucket regained meanwhile (0 unless the machine crawled)
        assert on_b.status_code == 429, on_b.text  # the other replica: the same bucket, already empty
        assert on_b.json()["code"] == "rate_limited" and int(on_b.headers["Retry-After"]) >= 1
        assert on_a.status_code == 429
    assert other_address.status_code == 201  # another address, its own bucket
    a_log = pair.a.log_path.read_text()
    assert a_log.count("Started server process") == 2, a_log[-3000:]  # two workers behind replica A's port


def _queue_length(client: httpx.Client, replica: ServeProcess, status: str) -> int:
    text = client.get(f"{replica.base}/metrics").text
    found = re.search(rf'^sajang_queue_length\{{status="{status}"\}} (\d+)', text, re.M)
    assert found, text[-2000:]
    return int(found.group(1))


def test_a_new_handoff_is_in_the_other_replicas_queue_at_once(pair: Pair) -> None:
    a, b, jun = pair.a, pair.b, pair.staff["jun"]
    with pair.client("10.9.6.1") as client:
        waiting = _queue_length(client, b, "new")
        queued = _queue(client, b, jun, "new")
        assert len(queued) == waiting
        thread, _token = _handoff(client, a)
        assert set(_queue(client, b, jun, "new")) == {*queued, thread}
        assert _queue_length(client, b, "new") == waiting + 1
        assert _queue_length(client, a, "new") == waiting + 1
