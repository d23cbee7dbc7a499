"""Opt-in tracing, `SAJANG_TRACING` (sajang/config.py): `off` (the default: nothing leaves the process),
`langsmith` or `otel`.

- `langsmith`: LangChain's and LangGraph's runs (every graph node, every model call) go to LangSmith:
  `LANGSMITH_API_KEY`, `LANGSMITH_ENDPOINT` for a self-hosted server, `LANGSMITH_PROJECT`. This setting
  is the one switch: `configure_tracing` sets `LANGSMITH_TRACING` (and the older `LANGCHAIN_TRACING_V2`)
  to `true` for `langsmith` and to `false` otherwise, whatever the environment said;
- `otel`: OpenTelemetry spans, one per HTTP request (`sajang.app.observability.RequestContext`, the route's
  template as its name) and one per customer turn (`sajang.turn`, from `sajang.metrics.answer_turn`, with
  the mode and whether it handed off), exported by OTLP in batches. The standard `OTEL_*` variables apply:
  `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (default http://localhost:4318),
  `OTEL_EXPORTER_OTLP_PROTOCOL` (`http/protobuf`, the default, or `grpc`), `OTEL_EXPORTER_OTLP_HEADERS`,
  `OTEL_SERVICE_NAME` (default `sajang`). The SDK and the exporter are imported only when on; the HTTP
  exporter is the `otel` extra (`pip install 'sajang[otel]'`). Without them: a warning, no tracing.

The OpenTelemetry provider is this module's own, not the process-wide one: libraries' instrumentation
(Chroma has some) stays off.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

log = logging.getLogger("sajang.tracing")

TracingMode = Literal["off", "langsmith", "otel"]

_provider: Any = None  # the OpenTelemetry TracerProvider while `otel` is on
_tracer: Any = None


def configure_tracing(mode: str) -> None:
    """Switch tracing to `mode` for this process (idempotent)."""
    global _provider, _tracer
    langsmith = mode == "langsmith"
    for var in ("LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2"):
        os.environ[var] = "true" if langsmith else "false"
    utils = sys.modules.get("langsmith.utils")
    if utils is not None:  # langsmith caches what it read from the environment
        utils.get_env_var.cache_clear()
    if langsmith and not (os.environ.get("LANGSMITH_API_KEY") or os.environ.get("LANGCHAIN_API_KEY")):
        log.warning("SAJANG_TRACING=langsmith without LANGSMITH_API_KEY: LangSmith will refuse the runs")
    if mode == "otel":
        if _provider is None:
            _provider = _otel_provider()
            _tracer = _provider.get_tracer("sajang") if _provider is not None else None
    elif _provider is not None:  # switched off: the spans made so far are sent, the exporter stopped
        _tracer = None
        atexit.unregister(_provider.shutdown)
        _provider.shutdown()
        _provider = None


def _otel_provider() -> Any:
    protocol = (os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
                or "http/protobuf")
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        if protocol == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[assignment]
                OTLPSpanExporter,
            )
    except ImportError as exc:
        log.warning("SAJANG_TRACING=otel needs the OpenTelemetry SDK and its OTLP %s exporter (pip install "
                    "'sajang[otel]'): %s; tracing stays off", protocol, exc)
        return None
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME") or "sajang"})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    atexit.register(provider.shutdown)  # the last batch is sent on exit
    return provider


def enabled() -> bool:
    """OpenTelemetry spans are being made."""
    return _tracer is not None


def flush(timeout_s: float = 10.0) -> bool:
    """Send the spans waiting in the batch now (tests; a CLI command about to exit)."""
    return bool(_provider.force_flush(int(timeout_s * 1000))) if _provider is not None else True


@contextmanager
def span(name: str, attributes: dict[str, Any] | None = None, server: bool = False) -> Iterator[Any]:
    """A span around the block, current inside it (children join it), or None when `otel` is off. An
    exception is recorded on it and re-raised."""
    tracer = _tracer
    if tracer is None:
        yield None
        return
    from opentelemetry.trace import SpanKind

    kind = SpanKind.SERVER if server else SpanKind.INTERNAL
    with tracer.start_as_current_span(name, kind=kind, attributes=attributes) as current:
        yield current


@contextmanager
def detached_span(name: str, attributes: dict[str, Any] | None = None) -> Iterator[Any]:
    """A span around the block, child of the current one but not made current itself: safe around a
    generator that a server resumes in other threads (a streamed answer). None when `otel` is off."""
    tracer = _tracer
    if tracer is None:
        yield None
        return
    from opentelemetry.trace import Status, StatusCode

    current = tracer.start_span(name, attributes=attributes)
    try:
        yield current
    except BaseException as exc:
        current.record_exception(exc)
        current.set_status(Status(StatusCode.ERROR, type(exc).__name__))
        raise
    finally:
        current.end()
