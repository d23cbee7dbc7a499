"""Request-rate limits: a token bucket per key (chat session, client IP, login name …).

One bucket per key holds up to `capacity` tokens and refills continuously at `capacity / period_s`;
a request takes one token or is refused with 429 and the seconds to wait.

Where the buckets live (`configure`, called by `create_app` with the settings' `REDIS_URL`):

- no `REDIS_URL`: in this process. Several `sajang serve` processes (replicas, `--workers`) each keep
  their own, so the effective limit multiplies by the number of processes;
- `REDIS_URL`: in Redis, shared by every process with the same URL and `SAJANG_REDIS_PREFIX`. The same
  token bucket, taken in one Lua script (atomic: no two processes take the last token) on Redis's clock
  (the replicas' clocks may disagree); a bucket's key expires once it would be full again.

Redis down (or slower than its 0.5 s timeout): the limit **fails open to the in-process buckets**, with a
warning in the log (once per outage) and Redis tried again after `REDIS_RETRY_S`. Each process then limits
on its own, as without Redis: a limit `processes ×` looser for the outage, never none. Failing closed
would refuse every chat message, upload and login of the shop while a cache is down; the limits guard
against floods and guessing, which the per-process buckets still bound.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from dataclasses import dataclass

from sajang.errors import SajangError
from sajang.metrics import RATE_LIMITED
from sajang.services.redis_client import RedisClient, RedisReplyError, RedisUnavailable

log = logging.getLogger("sajang.ratelimit")

_MAX_KEYS = 50_000  # idle buckets are dropped beyond this, so random keys cannot exhaust memory
_now = time.monotonic  # the buckets' clock (tests freeze it)


class RateLimited(SajangError):
    code = "rate_limited"
    status_code = 429

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = max(1, math.ceil(retry_after))


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBucket:
    def __init__(self, capacity: int, period_s: float = 60.0) -> None:
        self.capacity = max(1, int(capacity))
        self.rate = self.capacity / period_s
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def try_take(self, key: str, cost: float = 1.0) -> float:
        """0 when allowed, else the seconds until the request would be allowed."""
        now = _now()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= _MAX_KEYS:
                    self._evict(now)
                bucket = self._buckets[key] = _Bucket(float(self.capacity), now)
            else:
                bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
                bucket.updated = now
            if bucket.tokens >= cost:
                bucket.tokens -= cost
                return 0.0
            return (cost - bucket.tokens) / self.rate

    def _evict(self, now: float) -> None:
        full = [k for k, b in self._buckets.items()
                if b.tokens + (now - b.updated) * self.rate >= self.capacity]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) >= _MAX_KEYS:  # all busy: drop the oldest half
            for key in sorted(self._buckets, key=lambda k: self._buckets[k].updated)[: _MAX_KEYS // 2]:
                del self._buckets[key]


_limiters: dict[tuple[str, int, float], TokenBucket] = {}
_registry_lock = threading.Lock()


def limiter(name: str, capacity: int, period_s: float = 60.0) -> TokenBucket:
    """The process-wide bucket set `name` (the API and the Gradio chat page share them)."""
    key = (name, capacity, period_s)
    with _registry_lock:
        found = _limiters.get(key)
        if found is None:
            found = _limiters[key] = TokenBucket(capacity, period_s)
        return found


# The token bucket of `TokenBucket.try_take` in Redis: KEYS[1] a hash {tokens, ts}; ARGV capacity, refill
# rate per second, cost. Returns the seconds to wait ("0" when taken) as a string (Lua numbers would be
# truncated to integers in the reply).
_TAKE_SCRIPT = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = capacity
else
  tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
end
local wait = 0
if tokens >= cost then
  tokens = tokens - cost
else
  wait = (cost - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'ts', string.format('%.6f', now))
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / rate * 1000) + 1000)
return string.format('%.6f', wait)
"""
_TAKE_SHA = hashlib.sha1(_TAKE_SCRIPT.encode()).hexdigest()
REDIS_RETRY_S = 5.0  # after a failure, Redis is left alone this long (no connect timeout per request)


class RedisBuckets:
    """The token buckets in Redis (see the module's docstring): one hash per bucket,
    `<prefix>:rl:<name>:<capacity>:<period>:<key>`."""

    def __init__(self, client: RedisClient, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self._down_until = 0.0
        self._down = False
        self._lock = threading.Lock()

    def key(self, name: str, key: str, capacity: int, period_s: float) -> str:
        return f"{self.prefix}:rl:{name}:{capacity}:{period_s:g}:{key}"

    def try_take(self, name: str, key: str, capacity: int, period_s: float = 60.0, cost: float = 1.0) -> float | None:
        """0 when allowed, else the seconds until it would be; None when Redis cannot answer (the caller
        falls back to the in-process bucket)."""
        if time.monotonic() < self._down_until:
            return None
        capacity = max(1, int(capacity))
        args = (1, self.key(name, key, capacity, period_s), capacity, repr(capacity / period_s), repr(cost))
        try:
            try:
                reply = self.client.execute("EVALSHA", _TAKE_SHA, *args)
            except RedisReplyError as exc:
                if not str(exc).startswith("NOSCRIPT"):
                    raise
                reply = self.client.execute("EVAL", _TAKE_SCRIPT, *args)
            wait = float(reply.decode() if isinstance(reply, bytes) else str(reply))
        except (RedisUnavailable, RedisReplyError, ValueError) as exc:
            with self._lock:
                self._down_until = time.monotonic() + REDIS_RETRY_S
                first, self._down = not self._down, True
            if first:
                log.warning("rate limits: Redis unavailable (%s); limiting in this process until it is back", exc)
            return None
        if self._down:
            with self._lock:
                back, self._down = self._down, False
            if back:
                log.warning("rate limits: Redis is back; the limits are shared again")
        return wait


_redis: RedisBuckets | None = None
_redis_config: tuple[str, str] | None = None


def configure(redis_url: str | None, prefix: str = "sajang") -> None:
    """Keep the buckets in Redis at `redis_url` (under `prefix`), or in this process when None."""
    global _redis, _redis_config
    with _registry_lock:
        if _redis_config == (redis_url or "", prefix):
            return
        if _redis is not None:
            _redis.client.close()
        _redis = RedisBuckets(RedisClient(redis_url), prefix) if redis_url else None
        _redis_config = (redis_url or "", prefix)


def backend() -> str:
    """`redis` or `process`: where the buckets live (Redis down still says `redis`)."""
    return "redis" if _redis is not None else "process"


def check(name: str, key: str, capacity: int, period_s: float = 60.0, what: str = "requests") -> None:
    """Take one token of `name`/`key` or raise `RateLimited`."""
    shared = _redis
    wait = shared.try_take(name, key, capacity, period_s) if shared is not None else None
    if wait is None:
        wait = limiter(name, capacity, period_s).try_take(key)
    if wait > 0:
        RATE_LIMITED.labels(name).inc()
        raise RateLimited(f"too many {what}: try again in {max(1, math.ceil(wait))} s", wait)


def reset_all() -> None:
    """Forget every in-process bucket (tests; Redis's buckets expire on their own)."""
    with _registry_lock:
        _limiters.clear()
