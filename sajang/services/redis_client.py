"""A small Redis client (RESP2 over a socket, standard library only) for what the replicas share: the
rate-limit buckets (`ratelimit.py`).

redis-py is not a dependency of the project; the few commands used here (`EVALSHA`/`EVAL`, `PING`,
`AUTH`, `SELECT`) need no more than this. URLs: `redis://[[user]:password@]host[:port][/db]` and
`rediss://…` (TLS). Connections are pooled per client and thread-safe; any socket or protocol error
closes the connection and is raised as `RedisUnavailable`, a reply error (`-ERR …`) as `RedisReplyError`.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Sequence
from urllib.parse import unquote, urlsplit

RESP = bytes | int | list["RESP"] | None


class RedisUnavailable(Exception):
    """The server could not be reached or the connection broke."""


class RedisReplyError(Exception):
    """The server answered with an error (`-ERR …`, `-NOSCRIPT …`)."""


def _encode(args: Sequence[str | bytes | int | float]) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        raw = arg if isinstance(arg, bytes) else str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(raw), raw))
    return b"".join(out)


class _Connection:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.file = sock.makefile("rb")

    def close(self) -> None:
        try:
            self.file.close()
        finally:
            self.sock.close()

    def call(self, *args: str | bytes | int | float) -> RESP:
        self.sock.sendall(_encode(args))
        return self._read()

    def _read(self) -> RESP:
        line = self.file.readline()
        if not line.endswith(b"\r\n"):
            raise RedisUnavailable("connection closed by the server")
        kind, body = line[:1], line[1:-2]
        if kind == b"+":
            return body
        if kind == b"-":
            raise RedisReplyError(body.decode(errors="replace"))
        if kind == b":":
            return int(body)
        if kind == b"$":
            n = int(body)
            if n < 0:
                return None
            data = self.file.read(n + 2)
            if len(data) != n + 2:
                raise RedisUnavailable("connection closed by the server")
            return data[:-2]
        if kind == b"*":
            n = int(body)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise RedisUnavailable(f"unexpected reply from the server: {line[:40]!r}")


class RedisClient:
    """Commands on one Redis server, over a small pool of connections."""

    def __init__(self, url: str, timeout_s: float = 0.5, max_idle: int = 8) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss"):
            raise ValueError(f"REDIS_URL must start with redis:// or rediss:// (got {parts.scheme or 'no'} scheme)")
        if not parts.hostname:
            raise ValueError("REDIS_URL has no host")
        self.host = parts.hostname
        self.port = parts.port or 6379
        self.tls = parts.scheme == "rediss"
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        db = parts.path.strip("/") or "0"
        if not db.isdigit():
            raise ValueError(f"REDIS_URL's database must be a number (got {db!r})")
        self.db = int(db)
        self.timeout_s = timeout_s
        self.max_idle = max_idle
        self._idle: list[_Connection] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never the password
        return f"RedisClient({'rediss' if self.tls else 'redis'}://{self.host}:{self.port}/{self.db})"

    def _connect(self) -> _Connection:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout_s)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.tls:
                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)
        except OSError as exc:
            raise RedisUnavailable(f"{self!r}: {exc}") from exc
        conn = _Connection(sock)
        try:
            if self.password is not None:
                conn.call("AUTH", *([self.username] if self.username else []), self.password)
            if self.db:
                conn.call("SELECT", self.db)
        except RedisReplyError:
            conn.close()
            raise
        except (OSError, ValueError, RedisUnavailable) as exc:  # a server that accepts but never answers
            conn.close()
            raise RedisUnavailable(f"{self!r}: {exc}") from exc
        return conn

    def execute(self, *args: str | bytes | int | float) -> RESP:
        """One command; its reply (bytes, int, list or None)."""
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self._connect()
        try:
            reply = conn.call(*args)
        except RedisReplyError:
            self._release(conn)  # the connection is fine: the command was refused
            raise
        except (OSError, ValueError, RedisUnavailable) as exc:
            conn.close()
            raise RedisUnavailable(f"{self!r}: {exc}") from exc
        self._release(conn)
        return reply

    def _release(self, conn: _Connection) -> None:
        with self._lock:
            if len(self._idle) < self.max_idle:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
