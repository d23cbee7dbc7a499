"""Servers in processes of their own on loopback ports, for the tests that need a real server process:
`sajang serve` (kill -9 and restart, several replicas on one database; the test's settings reach it through
the environment, plus `env`) and a `chroma run` vector store server (CHROMA_URL)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from browser import free_port

REPO = Path(__file__).resolve().parents[1]
START_LIMIT_S = 600.0  # a bound for a hung start-up on a busy machine, not a measurement


class ServeProcess:
    """`python -m sajang.app.cli serve --port P ARGS`; its output appended to `log_path`. `up` is set while
    it answers (cleared by `kill`), so threads driving it can wait for a restart."""

    def __init__(self, log_path: Path, env: dict[str, str] | None = None, *args: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = env or {}
        self.args = args
        self.proc: subprocess.Popen[bytes] | None = None
        self.up = threading.Event()

    def spawn(self) -> None:
        """Start the process without waiting for it (several at once start side by side)."""
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "sajang.app.cli", "serve", "--port", str(self.port), *self.args],
                cwd=REPO, env={**os.environ, **self.env}, stdout=log, stderr=subprocess.STDOUT)

    def wait_up(self, limit_s: float = START_LIMIT_S) -> None:
        """Until `/api/v1/health` answers 200; RuntimeError with the log's tail if it exits or never does."""
        assert self.proc is not None
        deadline = time.monotonic() + limit_s
        with httpx.Client(timeout=5) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited: {self.log_path.read_text()[-3000:]}")
                try:
                    if client.get(f"{self.base}/api/v1/health").status_code == 200:
                        self.up.set()
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
        raise RuntimeError(f"server did not start: {self.log_path.read_text()[-3000:]}")

    def start(self, limit_s: float = START_LIMIT_S) -> None:
        self.spawn()
        self.wait_up(limit_s)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, requests in flight cut."""
        self.up.clear()
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            stop_process(self.proc, grace_s=30)


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 90, log: Path | None = None) -> None:
    """Until `url` answers 200; RuntimeError with the process's output (its pipe, or the tail of `log`) if it
    exits or never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            output = log.read_text(errors="replace")[-3000:] if log else proc.stdout.read() if proc.stdout else ""
            raise RuntimeError(f"server exited with {proc.returncode}: {output}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up")


def stop_process(proc: subprocess.Popen[bytes], grace_s: float = 15) -> None:
    """Terminate `proc`, and kill it when it has not exited after `grace_s`."""
    proc.terminate()
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def chroma_cli() -> str | None:
    """The `chroma` command of this interpreter's environment (else the one on PATH), or None."""
    beside = Path(sys.executable).with_name("chroma")
    return str(beside) if beside.exists() else shutil.which("chroma")


@contextlib.contextmanager
def chroma_server(path: Path, start_limit_s: float = 90) -> Iterator[str]:
    """`chroma run` (the chromadb package's server) on a free loopback port, its data under `path`, its output in
    `path` + `.log` (a pipe nobody reads would fill and stall the server); yields its URL for CHROMA_URL. Skips
    the test when the `chroma` command is not installed."""
    cli = chroma_cli()
    if cli is None:
        pytest.skip("the `chroma` command (chromadb's server) is not installed")
    port = free_port()
    log_path = path.with_name(f"{path.name}.log")
    with open(log_path, "ab") as log:
        proc = subprocess.Popen([cli, "run", "--path", str(path), "--port", str(port), "--host", "127.0.0.1"],
                                env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://127.0.0.1:{port}/api/v2/heartbeat", proc, start_limit_s, log_path)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(proc)
