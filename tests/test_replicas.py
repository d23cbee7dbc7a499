"""Several serving processes on one database (issue #20): rate limits shared through Redis, `serve --workers`.

- the Redis token bucket: shared by two clients (two processes' worth), atomic under concurrent takes,
  its key expiring once full again; Redis down → the in-process buckets, one warning;
- `sajang serve --workers 2` is refused while the Gradio UIs are mounted (their sessions live in one
  process's memory, bench/README.md "Several workers").

Two real replicas (a rate limit used up on one refuses on the other, claims, replies, learned answers, tokens,
photos) are tests/test_replica_pair.py.

The Redis tests are skipped when no Redis answers at REDIS_URL (default redis://127.0.0.1:6379/0). Runs on
SQLite and PostgreSQL (DATABASE_URL).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator

import pytest
from browser import free_port
from conftest import run_cli

from sajang.config import Settings
from sajang.services import ratelimit
from sajang.services.redis_client import RedisClient, RedisUnavailable

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


def _redis_answers() -> bool:
    try:
        return RedisClient(REDIS_URL, timeout_s=0.5).execute("PING") == b"PONG"
    except (RedisUnavailable, OSError):
        return False


needs_redis = pytest.mark.skipif(not _redis_answers(), reason=f"no Redis answers at {REDIS_URL}")


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix of this test's own (the SQLite and PostgreSQL suites may share one Redis)."""
    value = f"sajang-test-{uuid.uuid4().hex[:12]}"
    yield value
    ratelimit.configure(None)
    ratelimit.reset_all()


@needs_redis
def test_redis_buckets_are_shared_atomic_and_expire(prefix: str) -> None:
    one = ratelimit.RedisBuckets(RedisClient(REDIS_URL), prefix)
    two = ratelimit.RedisBuckets(RedisClient(REDIS_URL), prefix)  # another process's client
    # an hour's period: the refill (one token per 12 minutes) cannot add a token while the test runs
    taken = [b.try_take("t", "ip-1", 5, 3600.0) for b in (one, two, one, two, one)]
    assert taken == [0.0] * 5
    wait = two.try_take("t", "ip-1", 5, 3600.0)
    assert wait is not None and 0 < wait <= 720.0  # one token of 5 an hour
    assert one.try_take("t", "ip-2", 5, 3600.0) == 0.0  # another key, its own bucket
    ttl = one.client.execute("PTTL", one.key("t", "ip-1", 5, 3600.0))
    assert isinstance(ttl, int) and 0 < ttl <= 3600_000 + 1000  # gone once it would be full again

    # 8 threads × 3 takes at once on a bucket of 10: exactly 10 are allowed
    results: list[float | None] = []
    lock = threading.Lock()

    def take(buckets: ratelimit.RedisBuckets) -> None:
        for _ in range(3):
            got = buckets.try_take("t", "burst", 10, 3600.0)
            with lock:
                results.append(got)

    threads = [threading.Thread(target=take, args=(one if i % 2 else two,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert None not in results
    assert sum(1 for r in results if r == 0.0) == 10


@needs_redis
def test_check_uses_redis_when_configured(prefix: str) -> None:
    ratelimit.configure(REDIS_URL, prefix)
    assert ratelimit.backend() == "redis"
    for _ in range(2):
        ratelimit.check("chat_msg_ip", "10.0.0.9", 2, 3600.0)
    ratelimit.reset_all()  # the in-process buckets are not where these were counted
    with pytest.raises(ratelimit.RateLimited) as refused:
        ratelimit.check("chat_msg_ip", "10.0.0.9", 2, 3600.0)
    assert refused.value.retry_after > 1


def test_redis_down_falls_back_to_the_process_buckets(prefix: str, caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    ratelimit.configure(f"redis://127.0.0.1:{closed}/0", prefix)
    with caplog.at_level(logging.WARNING, logger="sajang.ratelimit"):
        ratelimit.check("login_ip", "10.0.0.7", 2, 3600.0)
        ratelimit.check("login_ip", "10.0.0.7", 2, 3600.0)
        with pytest.raises(ratelimit.RateLimited):  # still limited: by this process
            ratelimit.check("login_ip", "10.0.0.7", 2, 3600.0)
    warnings = [r for r in caplog.records if "Redis unavailable" in r.getMessage()]
    assert len(warnings) == 1  # once per outage, not per request


def test_a_redis_that_accepts_but_never_answers_is_down_too(prefix: str) -> None:
    """A stalled server (it takes the connection, never replies to AUTH): the limit falls back to the
    process's buckets instead of a 500."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        client = RedisClient(f"redis://:secret@127.0.0.1:{listener.getsockname()[1]}/0", timeout_s=0.3)
        with pytest.raises(RedisUnavailable):
            client.execute("PING")
        ratelimit.configure(f"redis://:secret@127.0.0.1:{listener.getsockname()[1]}/0", prefix)
        ratelimit.check("login_ip", "10.0.0.8", 1, 3600.0)
        with pytest.raises(ratelimit.RateLimited):
            ratelimit.check("login_ip", "10.0.0.8", 1, 3600.0)
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


def test_serve_refuses_workers_with_the_uis(settings: Settings) -> None:
    done = run_cli("serve", "--workers", "2", "--port", str(free_port()), timeout=120)
    assert done.returncode == 1
    assert "SAJANG_UI=off" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
