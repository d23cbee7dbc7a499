"""`sajang serve` in a process of its own on a loopback port, for the tests that need a real server process
(kill -9 and restart, several replicas on one database). The test's settings reach it through the
environment, plus `env`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
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
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
