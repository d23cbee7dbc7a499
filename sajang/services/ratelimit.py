"""Request-rate limits: an in-process token bucket per key (chat session, client IP, login name …).

One bucket per key holds up to `capacity` tokens and refills continuously at `capacity / period_s`;
a request takes one token or is refused with 429 and the seconds to wait.

The buckets live in this process. Several `sajang serve` processes behind a proxy each keep their own,
so the effective limit multiplies by the number of processes: use the proxy's rate limiting (or a
shared store such as Redis) for a global limit.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from sajang.errors import SajangError
from sajang.metrics import RATE_LIMITED

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


def check(name: str, key: str, capacity: int, period_s: float = 60.0, what: str = "requests") -> None:
    """Take one token of `name`/`key` or raise `RateLimited`."""
    wait = limiter(name, capacity, period_s).try_take(key)
    if wait > 0:
        RATE_LIMITED.labels(name).inc()
        raise RateLimited(f"too many {what}: try again in {max(1, math.ceil(wait))} s", wait)


def reset_all() -> None:
    """Forget every bucket (tests)."""
    with _registry_lock:
        _limiters.clear()
