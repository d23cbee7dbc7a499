"""Probes, metrics and logs of a serving process.

- `GET /api/v1/health`: liveness (main.py; answers as soon as the port is open);
- `GET /api/v1/ready`: readiness, 503 with the failing checks until the warm-up (database, vector store,
  embedding model, Kiwi) is done and while the database, the vector store or (with `REDIS_URL`) Redis
  does not answer;
- `GET /metrics`: Prometheus text, every name `sajang_*` (sajang/metrics.py) plus the queue length read
  from the database on each scrape;
- a request id per request: the caller's `X-Request-ID` when it is a sane token (a proxy's), else a new one;
  sent back in the response header and put on every log line written while the request runs;
- `SAJANG_LOG_FORMAT=json`: one JSON object per log line (time, level, logger, message, request_id and an
  access line per request with method, path, status and milliseconds);
- `SAJANG_TRACING=otel`: an OpenTelemetry span per request (sajang/tracing.py).
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import secrets
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sajang import tracing
from sajang.config import Settings
from sajang.services.health import WarmUp, queue_lengths, readiness

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("sajang_request_id", default=None)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")  # what we accept from a proxy, else we make one
access_log = logging.getLogger("sajang.access")
log = logging.getLogger("sajang.app")


# --- logs ------------------------------------------------------------------------------------------


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line; extra fields given with `extra={...}` are kept (the access line's)."""

    # uvicorn's `color_message` repeats the message with terminal colour codes
    _STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
        "message", "asctime", "request_id", "color_message"}

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            out["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in self._STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def configure_logging(settings: Settings) -> None:
    """Root logging for `sajang serve`: text or JSON on stderr, uvicorn's loggers through the same handler
    (its own access log is off: ours has the request id and the duration)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestIdFilter())
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    for noisy in ("httpx", "chromadb", "httpcore"):  # a line per HTTP call to Chroma or the model server
        logging.getLogger(noisy).setLevel(logging.WARNING)


class RequestContext:
    """Pure ASGI middleware (streams pass through): the request id, its response header, the access line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID.match(given) else secrets.token_hex(8)
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            if tracing.enabled():
                await self._traced(scope, receive, send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        finally:
            path = scope.get("path", "")
            if path not in ("/metrics", "/api/v1/health", "/api/v1/ready"):  # probes every few seconds
                access_log.info("%s %s %s", scope.get("method"), path, status, extra={
                    "method": scope.get("method"), "path": path, "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1)})
            request_id_var.reset(token)

    async def _traced(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The request in an OpenTelemetry span named by its route's template (`POST
        /api/v1/chat/sessions/{thread_id}/messages`: no ids in span names), with its status."""
        method = scope.get("method", "")
        status: list[int] = []

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        with tracing.span(method, {"http.request.method": method}, server=True) as span:
            try:
                await self.app(scope, receive, send_status)
            finally:
                route = route_template(scope)
                if span is not None and route:
                    span.update_name(f"{method} {route}")
                    span.set_attribute("http.route", route)
                if span is not None and status:
                    span.set_attribute("http.response.status_code", status[0])


def route_template(scope: Scope) -> str | None:
    """The matched route's path with its parameters as `{name}` (`/api/v1/chat/sessions/{thread_id}/messages`),
    from the request path and the path parameters (no ids in span names); None when no route matched."""
    if scope.get("route") is None:
        return None
    names = {str(v): k for k, v in (scope.get("path_params") or {}).items()}
    path = str(scope.get("path", ""))
    return "/".join(f"{{{names[part]}}}" if part in names else part for part in path.split("/"))


# --- metrics ---------------------------------------------------------------------------------------


class _QueueCollector(Collector):
    """The handoff queue's length, read from the database at scrape time (the same for every process)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def collect(self) -> Any:
        gauge = GaugeMetricFamily("sajang_queue_length", "Conversations waiting for or held by a person",
                                  labels=["status"])
        try:
            for status, n in queue_lengths(self.settings).items():
                gauge.add_metric([status], n)
        except Exception:  # a scrape never fails because the database is away: readiness says so
            log.warning("queue length unavailable", exc_info=True)
        yield gauge


def metrics_text(settings: Settings) -> bytes:
    """Everything this process (or, with several workers, all of them) counted, then the queue."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        counted = generate_latest(registry)
    else:
        counted = generate_latest(REGISTRY)
    queue = CollectorRegistry()
    queue.register(_QueueCollector(settings))
    return counted + generate_latest(queue)


# --- wiring ----------------------------------------------------------------------------------------


def install_observability(app: FastAPI, settings: Settings) -> None:
    """The probe and metrics routes and the request-id middleware. Nothing is warmed up here: a server
    that calls `serve_background_work` warms up at start (an app in a test process does not)."""
    app.state.warm_up = None
    app.state.on_start = []

    @app.get("/api/v1/ready", include_in_schema=False)
    def ready() -> JSONResponse:
        result = readiness(settings, app.state.warm_up)
        return JSONResponse(result.as_dict(), status_code=200 if result.ready else 503,
                            headers={"Cache-Control": "no-store"})

    @app.head("/api/v1/ready", include_in_schema=False)
    def ready_probe() -> Response:
        return Response(status_code=200 if readiness(settings, app.state.warm_up).ready else 503)

    @app.get("/metrics", include_in_schema=False)
    def metrics(_request: Request) -> Response:
        return Response(metrics_text(settings), media_type=CONTENT_TYPE_LATEST)

    previous = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(inner: Any) -> AsyncIterator[Any]:
        for job in app.state.on_start:
            job()
        async with previous(inner) as state:
            yield state

    app.router.lifespan_context = lifespan
    app.add_middleware(RequestContext)


def serve_background_work(app: FastAPI, settings: Settings, jobs: list[Callable[[], None]] | None = None) -> None:
    """What a serving process starts with the server: the warm-up readiness waits for, then `jobs`
    (the scheduled purge of personal data …)."""
    warm_up = WarmUp(settings)

    def start() -> None:
        app.state.warm_up = warm_up
        warm_up.start()
        for job in jobs or []:
            job()

    app.state.on_start.append(start)
