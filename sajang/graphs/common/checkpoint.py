"""Checkpointers for every graph of Sajang (inquiry, review, segmentation).

- PostgreSQL (`DATABASE_URL` is PostgreSQL): `PostgresSaver` on a psycopg `ConnectionPool`, in the same
  database as the business tables, `setup()` run when a migration is missing, under an advisory lock (two processes
  starting at once on a fresh database must not race on the migration table).
- Otherwise: `SqliteSaver` on `checkpoints.sqlite` in the data dir (WAL, so readers never block).

One saver per (database URL, data dir) per process; pools are closed at exit.
"""

from __future__ import annotations

import atexit
import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from sajang.config import Settings

CHECKPOINT_FILE = "checkpoints.sqlite"
_SETUP_LOCK_ID = 7426004  # pg_advisory_lock key for the checkpoint migrations
_SETUP_POLL_S = 0.1
_POLLS_A_WARNING = 300  # one warning every 30 s of waiting

log = logging.getLogger(__name__)
_savers: dict[tuple[str, str, bool], BaseCheckpointSaver] = {}
_pools: list[Any] = []
_lock = threading.Lock()


def psycopg_conninfo(url: str) -> str:
    """SQLAlchemy-style URL → libpq URL (psycopg does not know the `+psycopg` driver suffix)."""
    for prefix in ("postgresql+psycopg://", "postgresql+psycopg2://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix):]
    return url


def _no_wal_flush_wait(conn: Any) -> None:
    """Pool `configure` hook: this session's commits do not wait for the WAL flush (set on the session,
    so options the database URL carries, e.g. a search_path, stay as they are)."""
    conn.execute("SET synchronous_commit = off")


def _migrations_current(conn: Any, count: int) -> bool:
    """Whether the checkpoint tables are at the saver's newest migration (the usual start: nothing to do)."""
    row = conn.execute("SELECT to_regclass('checkpoint_migrations') IS NOT NULL AS present").fetchone()
    if not row["present"]:
        return False
    newest = conn.execute("SELECT max(v) AS v FROM checkpoint_migrations").fetchone()["v"]
    return newest is not None and newest >= count - 1


def _take_setup_lock(conn: Any) -> None:
    """Take the migrations' advisory lock by polling, never by a blocking pg_advisory_lock: the holder's
    migrations run CREATE INDEX CONCURRENTLY, which waits for every open statement — a second process
    blocked in pg_advisory_lock is one, and PostgreSQL reports the pair as a deadlock (seen in CI, two
    replicas starting on one fresh database)."""
    polls = 0
    while not conn.execute("SELECT pg_try_advisory_lock(%s) AS taken", (_SETUP_LOCK_ID,)).fetchone()["taken"]:
        time.sleep(_SETUP_POLL_S)
        polls += 1
        if polls % _POLLS_A_WARNING == 0:  # say why start-up waits (another process sets up, or holds the key)
            log.warning("waiting %.0f s for the checkpoint migrations' lock (advisory key %d)",
                        polls * _SETUP_POLL_S, _SETUP_LOCK_ID)


def _postgres_saver(settings: Settings, max_size: int, relaxed: bool) -> BaseCheckpointSaver:
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg import Connection
    from psycopg.rows import dict_row
    from psycopg_pool import ConnectionPool

    conninfo = psycopg_conninfo(settings.resolved_database_url)
    # autocommit + dict_row + no server-side prepares: what PostgresSaver expects from its connections.
    kwargs = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
    with Connection.connect(conninfo, **kwargs) as conn:  # type: ignore[arg-type]
        if not _migrations_current(conn, len(PostgresSaver.MIGRATIONS)):
            _take_setup_lock(conn)
            try:
                PostgresSaver(conn).setup()  # type: ignore[arg-type]
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK_ID,))
    # min_size=1 and a short max_idle: many databases per process (tests, several shops) must not pin
    # connections; PostgreSQL's connection limit is shared with everything else on the server
    # relaxed: checkpoints of chat turns commit without waiting for the WAL flush (~3.6 ms each here);
    # a database-server crash may lose the last ones, and the conversation then continues from the
    # checkpoint before (the customer repeats the message)
    pool = ConnectionPool(conninfo, min_size=1, max_size=max_size, kwargs=kwargs, open=True, max_idle=60,
                          name="sajang-checkpoints-relaxed" if relaxed else "sajang-checkpoints",
                          configure=_no_wal_flush_wait if relaxed else None)
    _pools.append(pool)
    return PostgresSaver(pool)


def checkpoint_path(settings: Settings) -> Path:
    return settings.ensure_data_dir() / CHECKPOINT_FILE


def _sqlite_saver(settings: Settings) -> BaseCheckpointSaver:
    from langgraph.checkpoint.sqlite import SqliteSaver

    conn = sqlite3.connect(str(checkpoint_path(settings)), check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    saver = SqliteSaver(conn)
    saver.setup()
    return saver


def get_checkpointer(settings: Settings, *, max_pool_size: int = 10, relaxed: bool = False) -> BaseCheckpointSaver:
    """The process-wide checkpointer for these settings (created and set up on first use).

    `relaxed=True` (PostgreSQL): its commits do not wait for the disk — for the checkpoints of customer
    messages; resumes by a person (agent replies, approvals) use the durable one. SQLite has one saver
    (in WAL mode with synchronous=NORMAL it never waits for the disk on commit).
    """
    relaxed = relaxed and settings.is_postgres
    key = (settings.resolved_database_url, str(Path(settings.data_dir).resolve()), relaxed)
    with _lock:
        saver = _savers.get(key)
        if saver is None:
            saver = _postgres_saver(settings, max_pool_size, relaxed) if settings.is_postgres \
                else _sqlite_saver(settings)
            _savers[key] = saver
    return saver


def close_checkpointers() -> None:
    """Close pools and connections (tests and benchmarks call it; also run at exit)."""
    with _lock:
        for saver in _savers.values():
            conn = getattr(saver, "conn", None)
            if isinstance(conn, sqlite3.Connection):
                conn.close()
        _savers.clear()
        for pool in _pools:
            pool.close()
        _pools.clear()


atexit.register(close_checkpointers)
