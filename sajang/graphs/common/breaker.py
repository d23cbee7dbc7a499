"""A circuit breaker for the chat model: after `failures` failed turns in a row the model is skipped (the
offline pipeline answers at once instead of every customer waiting for a dead server's timeout) for
`cooldown_s`; then one turn probes it again (half-open) and its outcome closes or reopens the circuit.

One breaker per (model, server) per process; `chat_model_status` is what the admin dashboard shows.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from sajang.config import Settings
from sajang.metrics import MODEL_FAILURES

BreakerState = Literal["closed", "open", "half_open"]


@dataclass
class CircuitBreaker:
    """Counts consecutive failures; `now` arguments are wall-clock seconds (time.time()) so that callers
    and tests can say when something happened."""

    failures: int = 3
    cooldown_s: float = 60.0
    state: BreakerState = "closed"
    consecutive_failures: int = 0
    opened_at: float | None = None
    last_error: str | None = None
    last_failure_at: float | None = None
    calls: int = 0  # turns that asked the model
    fallbacks: int = 0  # turns the offline pipeline answered because the model failed
    skipped: int = 0  # turns that did not ask the model because the circuit was open
    _probing: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def allow(self, now: float | None = None) -> bool:
        """May this turn ask the model? Open: no, until the cool-down has passed; then exactly one turn
        probes (half-open) while the others keep answering offline."""
        now = time.time() if now is None else now
        with self._lock:
            if self.state == "open" and self.opened_at is not None and now - self.opened_at >= self.cooldown_s:
                self.state, self._probing = "half_open", False
            if self.state == "closed" or (self.state == "half_open" and not self._probing):
                self._probing = self.state == "half_open"
                self.calls += 1
                return True
            self.skipped += 1
            return False

    def success(self) -> None:
        with self._lock:
            self.state, self.consecutive_failures, self.opened_at, self._probing = "closed", 0, None, False

    def failure(self, error: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self._lock:
            self.consecutive_failures += 1
            self.fallbacks += 1
            MODEL_FAILURES.inc()
            self.last_error, self.last_failure_at = error[:300], now
            if self.state == "half_open" or self.consecutive_failures >= self.failures:
                self.state, self.opened_at, self._probing = "open", now, False

    def status(self, now: float | None = None) -> dict[str, Any]:
        now = time.time() if now is None else now
        with self._lock:
            retry_in = None
            if self.state == "open" and self.opened_at is not None:
                retry_in = round(max(0.0, self.cooldown_s - (now - self.opened_at)), 1)
            return {"state": self.state, "consecutive_failures": self.consecutive_failures,
                    "retry_in_s": retry_in, "last_error": self.last_error, "last_failure_at": self.last_failure_at,
                    "calls": self.calls, "fallbacks": self.fallbacks, "skipped": self.skipped}


_breakers: dict[tuple[str | None, str | None], CircuitBreaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(settings: Settings) -> CircuitBreaker:
    """The process's breaker of the configured chat model (thresholds from the settings it was made with)."""
    key = (settings.chat_model, settings.openai_base_url)
    with _breakers_lock:
        breaker = _breakers.get(key)
        if breaker is None:
            breaker = _breakers[key] = CircuitBreaker(failures=max(1, settings.llm_breaker_failures),
                                                      cooldown_s=max(0.0, settings.llm_breaker_cooldown_s))
    return breaker


def chat_model_status(settings: Settings) -> dict[str, Any]:
    """`{enabled, model, state, consecutive_failures, retry_in_s, last_error, calls, fallbacks, skipped}`:
    `state` is `offline` without a chat model, else the breaker's closed / open / half_open."""
    if not settings.llm_enabled:
        return {"enabled": False, "model": None, "state": "offline"}
    return {"enabled": True, "model": settings.chat_model, **breaker_for(settings).status()}


def reset_breakers() -> None:
    """Forget every breaker (tests; a changed model configuration)."""
    with _breakers_lock:
        _breakers.clear()
