"""`sajang ask` through a running `sajang serve`: the server has the graph, Kiwi and the knowledge base loaded,
so a message costs the CLI an HTTP request instead of seconds of loading them.

How the CLI finds the server: `SAJANG_SERVER_URL`, else `<data dir>/serve.json`, which `sajang serve`
writes at start-up (its URL, process id and a digest of its database URL) and removes at exit; a file whose
process is gone, or whose server uses another database, is ignored.
How it authenticates: as an admin, with a staff bearer token, the API's own (`POST /api/v1/admin/ask` is
admin only): `SAJANG_SERVER_TOKEN` when set, else a token the CLI signs itself for the first active admin
with the secret key it shares with the server (the key and the database the CLI can read already give it
everything the token does: nothing is opened that was closed). The signed token is kept in
`<data dir>/cli_token` (mode 0600, next to `secret_key`) and signed again when the server refuses it.

Only the standard library's `http.client` here (httpx alone costs ~0.3 s of CPU to import), and SQLAlchemy
only to sign a new token.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import signal
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

from sajang.config import Settings
from sajang.errors import SajangError

ANNOUNCE_FILE = "serve.json"
TOKEN_FILE = "cli_token"
TOKEN_REUSE_S = 11 * 3600  # a staff token lasts 12 h (sajang.security.STAFF_TOKEN_TTL_S): renewed before
CONNECT_TIMEOUT_S = 2.0  # loopback: a server that does not accept within this is not there
ANSWER_TIMEOUT_S = 300.0  # an answer with a chat model takes seconds; a busy server queues requests


class ServerUnavailable(Exception):
    """No server answered before the request was sent: the caller may run the message itself."""


# --- the announcement (written by `sajang serve`) --------------------------------------------------------


def local_url(host: str, port: int) -> str:
    """The URL a client on this machine reaches a server listening on `host` with."""
    if host in ("", "0.0.0.0", "::", "[::]"):
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


@contextlib.contextmanager
def announced(settings: Settings, host: str, port: int) -> Iterator[None]:
    """`<data dir>/serve.json` while the server runs (removed at exit unless another server replaced it)."""
    path = settings.ensure_data_dir() / ANNOUNCE_FILE
    pid = os.getpid()
    temporary = path.with_name(f".{ANNOUNCE_FILE}.{pid}")
    temporary.write_text(json.dumps({"url": local_url(host, port), "pid": pid, "database": database_digest(settings)}),
                         encoding="utf-8")
    temporary.replace(path)  # atomic: a client never reads half a file

    def withdraw() -> None:
        with contextlib.suppress(OSError, ValueError):
            if json.loads(path.read_text(encoding="utf-8")).get("pid") == pid:
                path.unlink()

    # uvicorn ends a SIGTERM by raising the signal again with the handler it found at start: this one
    # withdraws the file, then lets the signal do what it did before (by default, end the process)
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        withdraw()
        if callable(previous):
            previous(signum, frame)
            return
        signal.signal(signum, previous or signal.SIG_DFL)
        signal.raise_signal(signum)

    with contextlib.suppress(ValueError):  # not the main thread: no handler, the `finally` only
        signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        withdraw()


def database_digest(settings: Settings) -> str:
    """Which database the settings name (a digest: the URL may hold a password)."""
    return hashlib.sha256(settings.resolved_database_url.encode()).hexdigest()[:16]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True


def server_url(settings: Settings) -> str | None:
    """`SAJANG_SERVER_URL`, else the URL a live `sajang serve` of this data dir and database announced, else
    None (a server of the same data dir on another database would answer from the wrong shop)."""
    if settings.server_url:
        return settings.server_url.rstrip("/")
    try:
        found = json.loads((settings.data_dir / ANNOUNCE_FILE).read_text(encoding="utf-8"))
        url, pid, database = str(found["url"]), int(found["pid"]), found.get("database")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return url if database == database_digest(settings) and _alive(pid) else None


# --- the token -------------------------------------------------------------------------------------------


def _signed_admin_token(settings: Settings) -> str:
    """A staff token for the first active admin, as `POST /api/v1/auth/token` would give them."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from sajang.db.engine import get_engine
    from sajang.security import StaffClaims, issue_staff_token, password_fingerprint

    try:
        with get_engine(settings.resolved_database_url, migrate=False).connect() as conn:
            row = conn.execute(text("SELECT id, username, role, password_hash FROM users "
                                    "WHERE role = 'admin' AND is_active = :active ORDER BY id LIMIT 1"),
                               {"active": True}).first()
    except SQLAlchemyError as exc:  # no such database or table here: this CLI cannot sign for that server
        raise ServerUnavailable(f"cannot read the admin user to sign a token: {type(exc).__name__}") from None
    if row is None:
        raise ServerUnavailable("no active admin user to sign a token for (sajang user add NAME --role admin)")
    return issue_staff_token(settings, StaffClaims(int(row.id), str(row.username), str(row.role),
                                                   password_fingerprint(str(row.password_hash))))


def _kept_token(path: Path) -> str | None:
    try:
        if time.time() - path.stat().st_mtime < TOKEN_REUSE_S:
            return path.read_text(encoding="ascii").strip() or None
    except OSError:
        pass
    return None


def _keep_token(path: Path, token: str) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path.with_name(f".{TOKEN_FILE}.{os.getpid()}"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(token + "\n")
        path.with_name(f".{TOKEN_FILE}.{os.getpid()}").replace(path)


# --- the client ------------------------------------------------------------------------------------------


class ServerClient:
    """`ask` on the server at `url`; the first request that cannot connect raises `ServerUnavailable`."""

    def __init__(self, settings: Settings, url: str) -> None:
        self.settings = settings
        self.url = url
        self._token_path = settings.data_dir / TOKEN_FILE
        self._token: str | None = None

    def _current_token(self, renew: bool) -> str:
        if self.settings.server_token is not None:
            return self.settings.server_token.get_secret_value()
        if not renew:
            self._token = self._token or _kept_token(self._token_path)
        if renew or self._token is None:
            self._token = _signed_admin_token(self.settings)
            _keep_token(self._token_path, self._token)
        return self._token

    def _post(self, path: str, body: dict[str, Any], token: str) -> tuple[int, Any]:
        """(status, JSON body). `ServerUnavailable` when the connection cannot be made; once it is, any
        failure is an error (the message may have been stored: running it again here would store it twice)."""
        parts = urllib.parse.urlsplit(self.url)
        kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = kind(parts.hostname or "", parts.port, timeout=CONNECT_TIMEOUT_S)
        try:
            try:
                conn.connect()
            except OSError as exc:
                raise ServerUnavailable(f"{self.url}: {exc}") from None
            if conn.sock is not None:
                conn.sock.settimeout(ANSWER_TIMEOUT_S)
            try:
                conn.request("POST", parts.path.rstrip("/") + path, json.dumps(body, ensure_ascii=False).encode(),
                             {"Content-Type": "application/json", "Accept": "application/json",
                              "Authorization": f"Bearer {token}"})
                response = conn.getresponse()
                raw = response.read()
            except (OSError, http.client.HTTPException) as exc:
                raise SajangError(f"the server at {self.url} did not answer: {exc!r}", code="server_error",
                                  status_code=502) from None
        finally:
            conn.close()
        try:
            return response.status, json.loads(raw)
        except ValueError:
            return response.status, {}

    def ask(self, text: str, customer_id: str | None = None, thread_id: str | None = None,
            locale: str | None = None) -> dict[str, Any]:
        """The `sajang ask --json` object, answered by the server."""
        body = {"text": text, "customer_id": customer_id, "thread_id": thread_id, "locale": locale}
        status, out = self._post("/api/v1/admin/ask", body, self._current_token(renew=False))
        if status == 401 and self.settings.server_token is None:  # the kept token outlived its user's password
            status, out = self._post("/api/v1/admin/ask", body, self._current_token(renew=True))
        if status in (401, 403):  # refused before anything was done: not a server for this CLI
            raise ServerUnavailable(f"{self.url} refused the CLI's token ({status}): {out}")
        if status == 200 and isinstance(out, dict):
            return out
        message = out.get("message") if isinstance(out, dict) else None
        raise SajangError(str(message or f"the server at {self.url} answered {status}"),
                          code=str(out.get("code") or "server_error") if isinstance(out, dict) else "server_error",
                          status_code=status)
