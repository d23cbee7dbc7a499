"""Prometheus metrics of the app, all named `sajang_*`; `/metrics` serves them (sajang/app/observability.py).

Defined here, at the foundation, because every layer counts something: the services count turns,
handoffs and rate-limit refusals, the chat-model breaker counts model failures, the app measures the
queue on each scrape. With several worker processes (`sajang serve --workers N`) each child writes its
values into `PROMETHEUS_MULTIPROC_DIR` and a scrape of any of them sums all (prometheus_client's
multiprocess mode: the variable must be set before this module is imported).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Histogram

from sajang import tracing

TURNS = Counter("sajang_turns", "Customer messages answered or handed off", ["mode", "outcome"])
HANDOFFS = Counter("sajang_handoffs", "Turns that handed the conversation to a person", ["reason"])
ANSWER_LATENCY = Histogram(
    "sajang_answer_latency_seconds", "Time from a customer's message to the bot's answer or handoff",
    ["mode"],  # ask (one answer) | stream (server-sent events)
    # the offline path answers in tens of ms, a chat model in seconds, its deadline is 20 s
    buckets=(0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0),
)
MODEL_FAILURES = Counter("sajang_model_failures", "Chat-model turns that failed (the offline pipeline answered)")
RATE_LIMITED = Counter("sajang_rate_limit_rejections", "Requests refused by a rate limit (429)", ["limit"])


@contextmanager
def answer_turn(mode: str) -> Iterator[dict[str, object]]:
    """Measure one customer turn: the caller puts `handoff` / `handoff_reason` into the yielded dict.
    A turn that raises (bad input, a refused attachment) is not a turn and is not counted. With
    `SAJANG_TRACING=otel`, also a `sajang.turn` span (sajang/tracing.py)."""
    started = time.perf_counter()
    outcome: dict[str, object] = {}
    with tracing.detached_span("sajang.turn", {"sajang.mode": mode}) as span:
        yield outcome
        handoff = bool(outcome.get("handoff"))
        if span is not None:
            span.set_attribute("sajang.handoff", handoff)
            if handoff:
                span.set_attribute("sajang.handoff_reason", str(outcome.get("handoff_reason") or "unknown"))
    ANSWER_LATENCY.labels(mode).observe(time.perf_counter() - started)
    TURNS.labels(mode, "handoff" if handoff else "answered").inc()
    if handoff:
        HANDOFFS.labels(str(outcome.get("handoff_reason") or "unknown")).inc()

