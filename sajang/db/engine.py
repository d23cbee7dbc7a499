"""Engines, sessions and automatic migrations. Takes plain URLs: `db` imports nothing of ours."""

from __future__ import annotations

import fcntl
import hashlib
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, inspect
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

_engines: dict[str, Engine] = {}
_migrated: set[str] = set()
_lock = threading.Lock()


def normalize_url(url: str) -> str:
    """`postgresql://` and `postgres://` mean psycopg 3 here (SQLAlchemy would pick psycopg2)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


# A pooled connection used less than this long ago is handed out without a liveness round trip (as
# HikariCP's aliveBypassWindowMs does): SQLAlchemy's pre-ping cost one per checkout, four per chat message.
PING_AFTER_IDLE_S = 2.0


def _stamp_use(_dbapi_conn, record) -> None:  # type: ignore[no-untyped-def]
    record.info["used_at"] = time.monotonic()


def _outside_transaction(dbapi_conn, sql: str) -> None:  # type: ignore[no-untyped-def]
    """Run one statement on a psycopg connection in autocommit: no transaction, one round trip."""
    autocommit = dbapi_conn.autocommit
    dbapi_conn.autocommit = True
    with dbapi_conn.cursor() as cur:
        cur.execute(sql)
    dbapi_conn.autocommit = autocommit


def _ping_if_idle(dbapi_conn, record, _proxy) -> None:  # type: ignore[no-untyped-def]
    """Checkout: ping a connection that sat idle (the server may have restarted or dropped it); a dead
    one is replaced (SQLAlchemy retries the checkout on `DisconnectionError`). A connection that dies
    within `PING_AFTER_IDLE_S` of its last use fails the statement running on it; SQLAlchemy then
    invalidates the whole pool, so only the requests in flight on such connections see the error."""
    if time.monotonic() - record.info.get("used_at", 0.0) < PING_AFTER_IDLE_S:
        return
    try:
        _outside_transaction(dbapi_conn, "SELECT 1")
    except Exception as exc:
        raise DisconnectionError(f"stale pooled connection: {exc}") from exc


def _postgres_engine(url: str | URL, pool_size: int, max_overflow: int) -> Engine:
    engine = create_engine(url, pool_size=pool_size, max_overflow=max_overflow)
    event.listen(engine, "connect", _stamp_use)
    event.listen(engine, "checkin", _stamp_use)
    event.listen(engine, "checkout", _ping_if_idle)
    return engine


def get_engine(url: str, *, migrate: bool = True) -> Engine:
    """One engine per URL for the process; the schema is brought to head on first use."""
    url = normalize_url(url)
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            if url.startswith("sqlite"):
                path = url.split("///", 1)[-1]
                if path and path != ":memory:":
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
                engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
                event.listen(engine, "connect", _sqlite_pragmas)
            else:
                engine = _postgres_engine(url, pool_size=5, max_overflow=15)
            _engines[url] = engine
        if migrate and url not in _migrated:
            if not at_head(engine):
                upgrade(engine)
            _migrated.add(url)
    return engine


_REVISION = re.compile(r'^revision(?:: *[^=\n]+)? = "([^"\n]+)"$', re.MULTILINE)
_DOWN_REVISION = re.compile(r'^down_revision(?:: *[^=\n]+)? = (?:"([^"\n]+)"|None)$', re.MULTILINE)


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    """The migrations' one head, read from the scripts' text; None when a script does not say its revisions
    plainly (a merge, several heads): then Alembic decides."""
    revisions: set[str] = set()
    downs: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        revision, down = _REVISION.search(text), _DOWN_REVISION.search(text)
        if revision is None or down is None:
            return None
        revisions.add(revision.group(1))
        if down.group(1):
            downs.add(down.group(1))
    heads = revisions - downs
    return heads.pop() if len(heads) == 1 else None


def at_head(engine: Engine) -> bool:
    """The database is at the migrations' head (one query, no Alembic import: ~0.2 s of CPU less for every
    process's first use, each CLI command included); False when unsure, and `upgrade` runs."""
    head = head_revision()
    if head is None:
        return False
    try:
        with engine.connect() as conn:
            versions = [row[0] for row in conn.exec_driver_sql("SELECT version_num FROM alembic_version")]
    except SQLAlchemyError:  # no table yet: a new database
        return False
    return versions == [head]


def alembic_config(engine: Engine):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run Alembic migrations up to `revision` (idempotent; serialised on PostgreSQL by an advisory lock)."""
    from alembic import command

    cfg = alembic_config(engine)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT pg_advisory_lock(7426001)")
            try:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
                conn.commit()
            finally:
                conn.exec_driver_sql("SELECT pg_advisory_unlock(7426001)")
                conn.commit()
    else:
        command.upgrade(cfg, revision)


def is_empty(engine: Engine) -> bool:
    """True when the store has no customers and no manual yet (the demo seeds only then)."""
    from sqlalchemy import func, select

    from .models import Customer, ManualArticle

    if not inspect(engine).has_table("customers"):
        return True
    with Session(engine) as s:
        return not (s.scalar(select(func.count()).select_from(Customer)) or s.scalar(
            select(func.count()).select_from(ManualArticle)
        ))


_factories: dict[int, sessionmaker[Session]] = {}


def session_factory(engine: Engine) -> sessionmaker[Session]:
    factory = _factories.get(id(engine))
    if factory is None:
        factory = _factories[id(engine)] = sessionmaker(engine, expire_on_commit=False)
    return factory


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A transaction: commits on success, rolls back on any error."""
    session = session_factory(engine)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


_sqlite_writers: dict[str, threading.RLock] = {}


@contextmanager
def one_writer(engine: Engine) -> Iterator[None]:
    """Around a transaction that writes. SQLite takes one writer at a time and lets the others retry, sleeping
    up to 100 ms between tries: under load the threads of one process starved each other past the busy timeout
    ("database is locked", an HTTP 500 at 60 messages/s with two workers). Here they queue on one lock of the
    process instead, each writer next as soon as the one before commits; only the writers of other processes
    still meet SQLite's busy wait. PostgreSQL locks rows, not the database: nothing to do."""
    if engine.dialect.name != "sqlite":
        yield
        return
    key = str(engine.url)
    with _lock:
        lock = _sqlite_writers.get(key)
        if lock is None:
            lock = _sqlite_writers[key] = threading.RLock()
    with lock:
        yield


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """`engine.begin()` for a transaction that writes, its turn taken first (`one_writer`)."""
    with one_writer(engine), engine.begin() as conn:
        yield conn


def _commits_without_wal_wait(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    _outside_transaction(dbapi_conn, "SET synchronous_commit = off")  # a session setting


_relaxed: dict[Engine, Engine] = {}


def relaxed_commit_engine(engine: Engine) -> Engine:
    """PostgreSQL: a second pool on the same database whose commits do not wait for the WAL flush
    (`synchronous_commit = off`, set once per connection instead of a `SET LOCAL` per transaction).
    Durable against a crash of our process, not of the database server's last ~0.6 s; SQLite in WAL
    mode with `synchronous=NORMAL` already behaves so, and gets `engine` back. Connections per process and
    database: 5 + 15 overflow here, 5 + 10 in this pool (chat writes take one for a statement or two)."""
    if engine.dialect.name != "postgresql":
        return engine
    with _lock:
        relaxed = _relaxed.get(engine)
        if relaxed is None:
            relaxed = _relaxed[engine] = _postgres_engine(engine.url, pool_size=5, max_overflow=10)
            event.listen(relaxed, "connect", _commits_without_wal_wait)
    return relaxed


_mutex_pools: dict[Engine, Engine] = {}


def _mutex_key(name: str) -> int:
    """A stable signed 64-bit key for `name` (PostgreSQL advisory locks take a bigint)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


@contextmanager
def named_mutex(engine: Engine, name: str) -> Iterator[None]:
    """Hold a lock named `name` against every process on this database while the block runs.

    PostgreSQL: a session advisory lock on a connection of a pool of its own (those waiting for the lock
    hold connections of that pool, never those the holder needs to do its work); SQLite: an exclusive
    `flock` on a file next to the database. Both are released by the operating system or the server when
    the process dies (`kill -9` leaves no lock behind). An in-memory SQLite database is one process."""
    if engine.dialect.name == "postgresql":
        with _lock:
            pool = _mutex_pools.get(engine)
            if pool is None:
                pool = _mutex_pools[engine] = _postgres_engine(engine.url, pool_size=2, max_overflow=30)
        key = _mutex_key(name)
        with pool.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("SELECT pg_advisory_lock(%s)", (key,))
            try:
                yield
            finally:
                conn.exec_driver_sql("SELECT pg_advisory_unlock(%s)", (key,))
        return
    path = engine.url.database
    if not path or path == ":memory:":
        yield
        return
    lock_dir = Path(f"{path}.locks")
    lock_dir.mkdir(exist_ok=True)
    # 256 files, not one per name: two names may share a file (they then wait for each other, briefly)
    with open(lock_dir / f"{_mutex_key(name) & 0xFF:02x}.lock", "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def dialect_name(bind: Engine | Connection | Session) -> str:
    return (bind.get_bind() if isinstance(bind, Session) else bind).dialect.name


def dialect_insert(bind: Engine | Connection | Session | str) -> Any:
    """`insert` of the bind's dialect (or of the dialect named), PostgreSQL or SQLite, for `ON CONFLICT`."""
    from sqlalchemy.dialects import postgresql, sqlite

    name = bind if isinstance(bind, str) else dialect_name(bind)
    return postgresql.insert if name == "postgresql" else sqlite.insert


@contextmanager
def autocommit_connection(engine: Engine) -> Iterator[Connection]:
    """A connection in autocommit mode, for reads and for writes that are one statement: no BEGIN /
    COMMIT round trips (on PostgreSQL two of the four a short transaction costs). Each statement commits,
    and sees what was committed when it ran, on its own (no snapshot across statements)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        yield conn


def dispose_all() -> None:
    with _lock:
        for engine in (*_engines.values(), *_relaxed.values(), *_mutex_pools.values()):
            engine.dispose()
        _engines.clear()
        _relaxed.clear()
        _mutex_pools.clear()
        _migrated.clear()
        _factories.clear()
