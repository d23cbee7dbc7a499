"""A local fake of a messaging platform's outbound API for the channel tests (no tests here): it records
every JSON POST (the TalkTalk send API, a KakaoTalk callback URL) and answers as the platform documents
(`{"success": true, "resultCode": "00"}` for TalkTalk, 200 for a Kakao callback)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakePlatform:
    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.fail = False  # answer like a refused call (resultCode 01) while set
        self._cond = threading.Condition()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                entry = {"path": self.path, "headers": dict(self.headers), "json": json.loads(body or b"null")}
                with fake._cond:
                    fake.received.append(entry)
                    fake._cond.notify_all()
                reply = ({"success": False, "resultCode": "01", "resultMessage": "Authorization 정보 오류"}
                         if fake.fail else {"success": True, "resultCode": "00"})
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json;charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakePlatform:
        self._thread.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 60.0) -> list[dict[str, Any]]:
        """The requests once `count` have arrived (fails the test after `timeout`: a bound, not a timing)."""
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.received) >= count, timeout=timeout), \
                f"expected {count} requests to the fake platform, got {len(self.received)}: {self.received}"
            return list(self.received)
