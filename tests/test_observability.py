"""Probes, metrics and logs: readiness 503 until the warm-up is done and while a store (or Redis, when
REDIS_URL is set) is away, Prometheus counters moved by real chat turns, handoffs and refusals, the request
id on responses and JSON log lines, and a real `sajang serve` going from 503 to ready with JSON logs.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from sajang.app.observability import JsonFormatter, RequestContext, _RequestIdFilter
from sajang.config import Settings
from sajang.graphs.common.breaker import CircuitBreaker
from sajang.services import ratelimit
from sajang.services.health import WarmUp, readiness
from tests.browser import free_port
from tests.conftest import REPO
from tests.test_inquiry_support import seed_store


@pytest.fixture
def client(settings: Settings, engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    from sajang.app.main import create_app

    seed_store(settings, engine, tmp_path)  # customers, agents and a slice of the manual
    ratelimit.reset_all()
    with TestClient(create_app(settings, mount_ui=False), raise_server_exceptions=False) as c:
        yield c
    ratelimit.reset_all()


@pytest.fixture
def bare_client(settings: Settings) -> Iterator[TestClient]:
    from sajang.app.main import create_app

    with TestClient(create_app(settings, mount_ui=False), raise_server_exceptions=False) as c:
        yield c


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text, 0 when it is not there yet."""
    for line in text.splitlines():
        if not line.startswith(name + ("{" if labels else " ")):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0])) if labels else {}
        if found == labels:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_readiness_waits_for_the_warm_up_then_checks_every_store(settings: Settings) -> None:
    warm_up = WarmUp(settings)
    waiting = readiness(settings, warm_up)
    assert not waiting.ready and waiting.as_dict()["checks"] == {"warm_up": {"ok": False, "detail": "loading"}}
    warm_up.run()  # in this thread: the same work `sajang serve` does in the background
    assert warm_up.error is None
    ready = readiness(settings, warm_up)
    assert ready.ready, ready.as_dict()
    assert set(ready.checks) == {"warm_up", "database", "vector_store", "embedding_model"}
    # a vector store that does not answer: not ready, and the check says which one
    away = settings.model_copy(update={"chroma_url": f"http://127.0.0.1:{free_port()}"})
    result = readiness(away, warm_up)
    assert not result.ready and not result.checks["vector_store"].ok and result.checks["database"].ok


def test_ready_route_answers_503_with_the_reason_until_ready(bare_client: TestClient, settings: Settings) -> None:
    client = bare_client
    r = client.get("/api/v1/ready")
    assert r.status_code in (200, 503) and r.json()["status"] in ("ready", "not_ready")
    warm_up = WarmUp(settings)
    client.app.state.warm_up = warm_up  # type: ignore[attr-defined]
    r = client.get("/api/v1/ready")
    assert r.status_code == 503 and r.json()["checks"]["warm_up"]["detail"] == "loading"
    assert client.head("/api/v1/ready").status_code == 503
    warm_up.run()
    r = client.get("/api/v1/ready")
    assert r.status_code == 200, r.text
    assert r.json()["checks"]["database"]["ok"] and r.json()["checks"]["embedding_model"]["ok"]
    assert client.get("/api/v1/health").json()["status"] == "ok"  # liveness never waited


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs the redis-server binary")
def test_ready_checks_redis_when_redis_url_is_set(settings: Settings) -> None:
    """A Redis of this test's own, on a free port: ready while it answers, 503 naming Redis once it is gone."""
    from sajang.app.main import create_app

    port = free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with_redis = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{port}/0"})
    try:
        for _ in range(200):  # until it accepts connections (bounded)
            if readiness(with_redis, None).checks["redis"].ok:
                break
            time.sleep(0.05)
        warm_up = WarmUp(with_redis)
        warm_up.run()
        with TestClient(create_app(with_redis, mount_ui=False), raise_server_exceptions=False) as client:
            client.app.state.warm_up = warm_up  # type: ignore[attr-defined]
            r = client.get("/api/v1/ready")
            assert r.status_code == 200, r.text
            assert r.json()["checks"]["redis"] == {"ok": True, "detail": f"RedisClient(redis://127.0.0.1:{port}/0)"}
            server.terminate()
            server.wait(timeout=30)
            r = client.get("/api/v1/ready")
            assert r.status_code == 503, r.text
            checks = r.json()["checks"]
            assert not checks["redis"]["ok"] and "RedisUnavailable" in checks["redis"]["detail"]
            assert checks["database"]["ok"] and checks["vector_store"]["ok"]  # only Redis is named
            assert client.head("/api/v1/ready").status_code == 503
    finally:
        server.kill()
        server.wait()
        ratelimit.configure(None)
    # without REDIS_URL there is no Redis check at all
    assert "redis" not in readiness(settings, warm_up).checks


def test_metrics_count_turns_handoffs_refusals_and_the_queue(client: TestClient, settings: Settings,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "_now", lambda: 1000.0)  # limits counted, never timed
    before = client.get("/metrics").text
    session = client.post("/api/v1/chat/sessions", json={}).json()
    headers = {"Authorization": f"Bearer {session['token']}"}
    thread = session["thread_id"]
    r = client.post(f"/api/v1/chat/sessions/{thread}/messages", json={"text": "배송비는 얼마인가요?"},
                    headers=headers)
    assert r.status_code == 200, r.text
    r = client.post(f"/api/v1/chat/sessions/{thread}/handoff", json={}, headers=headers)
    assert r.status_code == 200 and r.json()["handoff"], r.text
    CircuitBreaker(failures=3).failure("connection refused")  # what the chat-model path reports
    # new chats per IP are limited (the first one above took a token): refusals counted under the limit's name
    codes = [client.post("/api/v1/chat/sessions", json={}).status_code
             for _ in range(settings.rate_limit_per_minute)]
    assert codes[-1] == 429
    after = client.get("/metrics")
    assert after.status_code == 200 and after.headers["content-type"].startswith("text/plain")
    text = after.text

    def grew(name: str, **labels: str) -> float:
        return sample(text, name, **labels) - sample(before, name, **labels)

    assert grew("sajang_turns_total", mode="ask", outcome="answered") == 1
    assert grew("sajang_turns_total", mode="ask", outcome="handoff") == 1
    assert grew("sajang_handoffs_total", reason="requested") == 1
    assert grew("sajang_answer_latency_seconds_count", mode="ask") == 2
    assert grew("sajang_model_failures_total") == 1
    assert grew("sajang_rate_limit_rejections_total", limit="chat_session_ip") == 1
    assert sample(text, "sajang_queue_length", status="new") == 1
    assert sample(text, "sajang_queue_length", status="assigned") == 0
    assert all(line.startswith(("#", "sajang_", "python_", "process_")) for line in text.splitlines() if line)


def test_request_id_is_echoed_or_made_and_put_on_json_log_lines(bare_client: TestClient) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(_RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    access = logging.getLogger("sajang.access")
    access.addHandler(handler)
    level = access.level
    access.setLevel(logging.INFO)
    try:
        r = bare_client.get("/api/v1/auth/me", headers={"X-Request-ID": "proxy-abc.123"})
        made = bare_client.get("/api/v1/openapi.json")
        bad = bare_client.get("/api/v1/openapi.json", headers={"X-Request-ID": "has spaces; <script>"})
    finally:
        access.removeHandler(handler)
        access.setLevel(level)
    assert r.headers["x-request-id"] == "proxy-abc.123"
    assert re.fullmatch(r"[0-9a-f]{16}", made.headers["x-request-id"])
    assert re.fullmatch(r"[0-9a-f]{16}", bad.headers["x-request-id"])  # not taken from the caller
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    first = lines[0]
    assert first["request_id"] == "proxy-abc.123" and first["logger"] == "sajang.access"
    assert first["path"] == "/api/v1/auth/me" and first["status"] == r.status_code and first["duration_ms"] >= 0
    assert lines[1]["request_id"] == made.headers["x-request-id"]
    assert isinstance(RequestContext, type)


@pytest.mark.slow
def test_sajang_serve_is_ready_after_warm_up_and_logs_json(settings: Settings) -> None:
    port = free_port()
    env = {**os.environ, "SAJANG_LOG_FORMAT": "json"}
    proc = subprocess.Popen([sys.executable, "-m", "sajang.app.cli", "serve", "--port", str(port)], cwd=REPO,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    statuses: list[int] = []
    try:
        for _ in range(1200):  # bounded: at most ~10 minutes on a loaded machine
            with contextlib.suppress(httpx.HTTPError):  # not listening yet
                statuses.append(httpx.get(base + "/api/v1/ready", timeout=5).status_code)
            if statuses and statuses[-1] == 200:
                break
            time.sleep(0.5)
        assert statuses and statuses[-1] == 200, statuses
        assert set(statuses) <= {200, 503}
        r = httpx.get(base + "/api/v1/openapi.json", headers={"X-Request-ID": "serve-test-1"})
        assert r.headers["x-request-id"] == "serve-test-1"
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    records = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert records and len(records) == len([line for line in err.splitlines() if line.strip()]), err[-2000:]
    assert any(r.get("request_id") == "serve-test-1" and r.get("path") == "/api/v1/openapi.json" for r in records)
    assert any("warm-up done" in r["message"] for r in records)
    assert not any("\x1b" in str(value) for r in records for value in r.values())  # no terminal colour codes
