"""Opt-in tracing (sajang/tracing.py, SAJANG_TRACING): off by default and then nothing leaves the process,
even with LangSmith and OTLP endpoints and a LangSmith key in the environment; `langsmith` sends a chat turn's
runs to LANGSMITH_ENDPOINT; `otel` sends a span per HTTP request and per turn to the OTLP endpoint. The
endpoints are a recording HTTP server of the test's own on loopback.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import langsmith.run_trees
import langsmith.utils
import pytest
from fastapi.testclient import TestClient
from langchain_core.tracers.langchain import wait_for_all_tracers
from sqlalchemy import Engine

from sajang import tracing
from sajang.config import Settings
from sajang.services import ratelimit
from tests.test_inquiry_support import seed_store


class Recorder(ThreadingHTTPServer):
    """Every request as (method, path, body); 200 with `{}` to each."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, bytes]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with outer.lock:
                    outer.requests.append((self.command, self.path, body))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            do_GET = do_POST = do_PATCH = _answer

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def client(settings: Settings, engine: Engine, tmp_path: Path, recorder: Recorder,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The REST app (tracing off, the default) with every tracing endpoint pointed at the recorder."""
    from sajang.app.main import create_app

    monkeypatch.setenv("LANGSMITH_ENDPOINT", recorder.url)
    monkeypatch.setenv("LANGSMITH_API_KEY", "test-key")
    monkeypatch.setenv("LANGSMITH_TRACING", "true")  # left in the environment: SAJANG_TRACING still decides
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", recorder.url)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    monkeypatch.setattr(langsmith.run_trees, "_CLIENT", None)  # a client made with this test's endpoint
    langsmith.utils.get_env_var.cache_clear()
    seed_store(settings, engine, tmp_path)
    ratelimit.reset_all()
    with TestClient(create_app(settings, mount_ui=False), raise_server_exceptions=False) as c:
        yield c
    tracing.configure_tracing("off")
    ratelimit.reset_all()


def chat_turn(client: TestClient) -> None:
    session = client.post("/api/v1/chat/sessions", json={}).json()
    r = client.post(f"/api/v1/chat/sessions/{session['thread_id']}/messages", json={"text": "배송비는 얼마인가요?"},
                    headers={"Authorization": f"Bearer {session['token']}"})
    assert r.status_code == 200, r.text


def test_off_by_default_nothing_leaves(client: TestClient, recorder: Recorder, settings: Settings) -> None:
    assert settings.tracing == "off"
    assert os.environ["LANGSMITH_TRACING"] == "false" and not langsmith.utils.tracing_is_enabled()
    assert not tracing.enabled()
    chat_turn(client)
    wait_for_all_tracers()
    assert tracing.flush()
    assert recorder.requests == []


def test_langsmith_sends_the_turns_runs_to_the_endpoint(client: TestClient, recorder: Recorder) -> None:
    tracing.configure_tracing("langsmith")
    assert langsmith.utils.tracing_is_enabled()
    chat_turn(client)
    wait_for_all_tracers()  # the runs are sent in batches by a background thread
    runs = [(m, p, b) for m, p, b in recorder.requests if m == "POST" and p.startswith("/runs")]
    assert runs, recorder.requests
    assert any("배송비는 얼마인가요?".encode() in b or json.dumps("배송비는 얼마인가요?").encode() in b
               for _, _, b in runs)
    assert not tracing.enabled()  # LangSmith only: no OpenTelemetry spans


def test_otel_sends_a_span_per_request_and_per_turn(client: TestClient, recorder: Recorder) -> None:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    tracing.configure_tracing("otel")
    assert tracing.enabled() and not langsmith.utils.tracing_is_enabled()
    chat_turn(client)
    assert tracing.flush()
    names: dict[str, dict[str, object]] = {}
    for method, path, body in recorder.requests:
        assert (method, path) == ("POST", "/v1/traces")
        export = ExportTraceServiceRequest.FromString(body)
        for resource_spans in export.resource_spans:
            service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}["service.name"]
            assert service == "sajang"
            for scope in resource_spans.scope_spans:
                for s in scope.spans:
                    names[s.name] = {a.key: a.value for a in s.attributes}
    assert "POST /api/v1/chat/sessions" in names
    turn_request = names["POST /api/v1/chat/sessions/{thread_id}/messages"]  # the template, no thread id
    assert turn_request["http.response.status_code"].int_value == 200
    assert names["sajang.turn"]["sajang.mode"].string_value == "ask"
    assert names["sajang.turn"]["sajang.handoff"].bool_value is False
