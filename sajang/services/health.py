"""Is this process ready to answer customers? What a load balancer's readiness probe and `/metrics` read.

`warm_up` loads, once, what the first customer would otherwise wait for (the database and its migrations,
the vector store and the search indexes, the embedding model, Kiwi); `readiness` checks the database,
the vector store and, when `REDIS_URL` is set, Redis again on every probe (any can go away after start-up)
and reports the model loaded.

Redis down makes a process not ready (issue #20), although its rate limits would fail open to the
in-process buckets (ratelimit.py) and it could go on answering. Mind it behind a load balancer: replicas
sharing one Redis all turn not ready together while it is away, and a balancer that routes only to ready
ones then sends customers nowhere; point such a balancer at `/api/v1/health` or give Redis its own alert.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache

from sqlalchemy import func, select, text

from sajang.config import Settings
from sajang.db.engine import session_scope
from sajang.db.models import Conversation
from sajang.graphs.common.context import engine_for
from sajang.knowledge.embeddings import load_model, model_loaded
from sajang.knowledge.normalize import normalize_for_shop
from sajang.knowledge.service import get_knowledge
from sajang.memory import trim_malloc
from sajang.services.redis_client import RedisClient, RedisReplyError, RedisUnavailable

log = logging.getLogger("sajang.health")


@dataclass
class Check:
    ok: bool
    detail: str = ""


@dataclass
class Readiness:
    ready: bool
    checks: dict[str, Check] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {"status": "ready" if self.ready else "not_ready",
                "checks": {name: {"ok": c.ok, "detail": c.detail} for name, c in self.checks.items()}}


class WarmUp:
    """The start-up work of one process, run once in a background thread (the port answers meanwhile:
    liveness says alive, readiness says 503 until this is done)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.done = threading.Event()
        self.error: str | None = None
        self.seconds: float | None = None

    def start(self) -> None:
        threading.Thread(target=self.run, name="sajang-warm-up", daemon=True).start()

    def run(self) -> None:
        started = time.perf_counter()
        try:
            engine_for(self.settings)  # migrations
            get_knowledge(self.settings).stats()  # opens the vector store, loads the lexical index
            load_model(self.settings)
            normalize_for_shop("배송비얼마예요", self.settings.data_dir, self.settings.chat_lexicon)  # Kiwi
            trim_malloc()  # what loading freed (Kiwi's model build, the imports) back to the system
        except Exception as exc:  # reported by readiness; the process keeps serving liveness
            log.exception("warm-up failed")
            self.error = f"{type(exc).__name__}: {exc}"[:300]
        self.seconds = round(time.perf_counter() - started, 3)
        log.info("warm-up done in %.1f s%s", self.seconds, f" ({self.error})" if self.error else "")
        self.done.set()


def _check_database(settings: Settings) -> Check:
    try:
        with engine_for(settings).connect() as conn:
            conn.execute(text("SELECT 1"))
        return Check(True, "postgresql" if settings.is_postgres else "sqlite")
    except Exception as exc:
        return Check(False, f"{type(exc).__name__}: {exc}"[:300])


def _check_vector_store(settings: Settings) -> Check:
    try:
        stats = get_knowledge(settings).stats()  # counts the collection: a round trip to a Chroma server
        return Check(True, f"{'chroma server' if settings.chroma_url else 'local chroma'}, {stats['vectors']} vectors")
    except Exception as exc:
        return Check(False, f"{type(exc).__name__}: {exc}"[:300])


@lru_cache(maxsize=8)
def _redis_client(url: str) -> RedisClient:
    """One small pool per URL for the probes (a connection kept between probes, not one per probe)."""
    return RedisClient(url, timeout_s=0.5, max_idle=1)


def _check_redis(url: str) -> Check:
    client = _redis_client(url)
    try:
        reply = client.execute("PING")
    except (RedisUnavailable, RedisReplyError, OSError) as exc:
        return Check(False, f"{type(exc).__name__}: {exc}"[:300])
    if reply != b"PONG":
        return Check(False, f"unexpected reply to PING: {reply!r}"[:300])
    return Check(True, repr(client))  # the host, port and db, never the password


def readiness(settings: Settings, warm_up: WarmUp | None) -> Readiness:
    """Ready = warmed up without error, the database answers, the vector store answers, Redis (when
    configured) answers, the model is loaded.
    Nothing is loaded here: until the warm-up is done the probe answers at once."""
    if warm_up is not None and not warm_up.done.is_set():
        return Readiness(False, {"warm_up": Check(False, "loading")})
    checks: dict[str, Check] = {}
    if warm_up is not None:
        checks["warm_up"] = Check(warm_up.error is None, warm_up.error or f"{warm_up.seconds} s")
    checks["database"] = _check_database(settings)
    checks["vector_store"] = _check_vector_store(settings)
    if settings.redis_url:
        checks["redis"] = _check_redis(settings.redis_url)
    loaded = model_loaded(settings)
    checks["embedding_model"] = Check(loaded, settings.embeddings if loaded else "not loaded")
    return Readiness(all(c.ok for c in checks.values()), checks)


def queue_lengths(settings: Settings) -> dict[str, int]:
    """Conversations waiting for a person (`new`) and claimed by one (`assigned`)."""
    counts = {"new": 0, "assigned": 0}
    with session_scope(engine_for(settings)) as s:
        for status, n in s.execute(select(Conversation.status, func.count()).where(
                Conversation.status.in_(tuple(counts))).group_by(Conversation.status)):
            counts[status] = int(n)
    return counts
