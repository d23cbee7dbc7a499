"""`langgraph dev` serves the inquiry graph from langgraph.json (a real server on a free loopback port)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from serving import stop_process
from sqlalchemy import Engine, select

from sajang.config import Settings
from sajang.db.engine import session_scope
from sajang.db.models import Conversation
from sajang.security import CustomerClaims, issue_customer_token

REPO = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _http(method: str, url: str, body: Any = None, timeout: float = 120, token: str | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        raw = resp.read()
    return json.loads(raw) if raw else None


def test_langgraph_dev_serves_inquiry(settings: Settings, engine: Engine, tmp_path: Path) -> None:
    exe = shutil.which("langgraph")
    if exe is None:
        pytest.skip("langgraph CLI (langgraph-cli[inmem]) is not installed")
    port = _free_port()
    env = {**os.environ, "LANGGRAPH_CLI_NO_ANALYTICS": "1", "LANGSMITH_TRACING": "false",
           "LANGCHAIN_TRACING_V2": "false", "DO_NOT_TRACK": "1"}
    log = (tmp_path / "langgraph.log").open("w")
    proc = subprocess.Popen([exe, "dev", "--port", str(port), "--host", "127.0.0.1", "--no-browser", "--no-reload",
                             "--allow-blocking", "--config", str(REPO / "langgraph.json")],
                            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            try:
                if (_http("GET", f"{base}/ok", timeout=5) or {}).get("ok") is True:
                    break
            except OSError:
                pass
            assert proc.poll() is None, (tmp_path / "langgraph.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "langgraph dev did not answer /ok in time"
            time.sleep(1)
        # the server takes the caller's identity from our signed tokens only (langgraph.json `auth`): a guest
        guest = issue_customer_token(settings, CustomerClaims("t-guest", None, None, "ko"))
        assistants = _http("POST", f"{base}/assistants/search", {"limit": 50}, token=guest)
        assert "inquiry" in {a["graph_id"] for a in assistants}
        # a real run: a request for a person ends in the handoff interrupt, our row records it
        thread = _http("POST", f"{base}/threads", {}, token=guest)
        out = _http("POST", f"{base}/threads/{thread['thread_id']}/runs/wait",
                    {"assistant_id": "inquiry", "input": {"text": "상담원 연결해 주세요", "turn_id": "t1"}}, timeout=240,
                    token=guest)
        assert out["handoff"]["reason"] == "requested" and out["waiting"] is True
        with session_scope(engine) as s:
            row = s.scalar(select(Conversation).where(Conversation.thread_id == thread["thread_id"]))
            assert row is not None and row.status == "new" and row.handed_off
    finally:
        stop_process(proc, grace_s=20)
        log.close()
