"""The OpenTelemetry SDK pipeline: a tracer provider, its OTLP/HTTP export, and spans for the database,
Redis and outbound HTTP (httpx, aiohttp: D-ID, Edge's WebSocket, S3, OpenAI-compatible APIs).

Only imported when OTEL_EXPORTER_OTLP_ENDPOINT is set. The provider exists from ``create_app`` on (FastAPI
takes it as an argument); what costs a thread and connections, the batch processor and its exporter, lives
only while ``exporting()`` is entered, i.e. for the lifespan. A session id is a bearer secret: every span
goes through ``scrub`` (the rule of the log lines) before it is queued for export.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import unquote

import yarl
from fastapi.telemetry import TelemetryConfig
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Status
from opentelemetry.util.types import Attributes
from sqlalchemy.ext.asyncio import AsyncEngine

from interviewai import __version__
from interviewai.observability import tracing
from interviewai.observability.logging import scrub
from interviewai.settings import Settings

logger = logging.getLogger(__name__)

# One export request; the exporter retries within it, then drops the batch (a collector being down never
# slows a request: spans wait in the processor's bounded queue, exported from its own thread).
EXPORT_TIMEOUT_S = 5.0
# Shutdown flushes what is queued, for at most this long.
SHUTDOWN_DEADLINE_S = 5.0
TRACES_PATH = "/v1/traces"


def traces_endpoint(base: str) -> str:
    """OTEL_EXPORTER_OTLP_ENDPOINT is the collector's base URL; the spec puts traces under /v1/traces."""
    return base.rstrip("/") + TRACES_PATH


def parse_headers(text: str) -> dict[str, str]:
    """OTEL_EXPORTER_OTLP_HEADERS' format: ``key=value,key2=value2``, values percent-encoded."""
    headers: dict[str, str] = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if sep and key.strip():
            headers[key.strip().lower()] = unquote(value.strip())
    return headers


class Tracing:
    """The provider of every span of this process, and the export pipeline the lifespan runs."""

    def __init__(self, settings: Settings) -> None:
        resource = Resource.create({SERVICE_NAME: settings.otel_service_name, SERVICE_VERSION: __version__})
        self.provider = TracerProvider(resource=resource, shutdown_on_exit=False)
        self._gate = ScrubbingGate()
        self.provider.add_span_processor(self._gate)
        self.endpoint = traces_endpoint(settings.otel_exporter_otlp_endpoint)
        self._headers = parse_headers(settings.otel_exporter_otlp_headers.get_secret_value())
        self._instrumented: list[BaseInstrumentor] = []

    def fastapi_telemetry(self) -> TelemetryConfig:
        """FastAPI's telemetry options: request and WebSocket spans on this provider; no metrics, logs or
        per-dependency spans."""
        # Prometheus has the metrics and stderr the logs: FastAPI adds request and WebSocket spans only.
        # Its per-dependency "operation" spans would outnumber the ones that say where the time went.
        return {
            "tracer_provider": self.provider,
            "tracing": True,
            "metrics": False,
            "logs": False,
            "operation_spans": False,
            "auto_configure": False,
        }

    @contextlib.asynccontextmanager
    async def exporting(self) -> AsyncIterator[None]:
        """Runs the OTLP export pipeline and the library instrumentations while the block runs (the
        lifespan's); on exit flushes queued spans within SHUTDOWN_DEADLINE_S, off the loop, and undoes the
        patches."""
        exporter = OTLPSpanExporter(endpoint=self.endpoint, headers=self._headers, timeout=EXPORT_TIMEOUT_S)
        processor = BatchSpanProcessor(exporter)
        self._gate.delegate = processor
        # Process-wide patches (the libraries have no per-client hook we could hand a provider to).
        self._instrument(HTTPXClientInstrumentor())
        # Edge's WebSocket URL carries its client token and a DRM value in the query: spans get the path.
        self._instrument(AioHttpClientInstrumentor(), url_filter=_without_query)
        self._instrument(RedisInstrumentor())
        tracing.activate(self.provider.get_tracer("interviewai", __version__))
        logger.info("tracing: spans go to %s", self.endpoint)
        try:
            yield
        finally:
            tracing.activate(None)
            for instrumentor in reversed(self._instrumented):
                instrumentor.uninstrument()
            self._instrumented.clear()
            self._gate.delegate = None
            await asyncio.to_thread(_flush_and_stop, processor)

    def instrument_engine(self, engine: AsyncEngine) -> None:
        """Spans for this engine's statements (SQL text with placeholders; parameters are never recorded)."""
        # 0.66b1 declares SQLAlchemy < 2.1; its cursor-event hooks are the same in 2.1 (tests/test_tracing.py
        # sees the statements), so the declared range is not enforced.
        self._instrument(SQLAlchemyInstrumentor(), engine=engine.sync_engine, skip_dep_check=True)

    def _instrument(self, instrumentor: BaseInstrumentor, **options: Any) -> None:
        # An instrumentor is a process-wide singleton: a second pipeline in the process (two apps in one
        # test) leaves the first one's patch in place rather than stacking another.
        if instrumentor.is_instrumented_by_opentelemetry:
            return
        instrumentor.instrument(tracer_provider=self.provider, **options)
        if instrumentor.is_instrumented_by_opentelemetry:  # else it logged why (a library out of range)
            self._instrumented.append(instrumentor)


def _without_query(url: yarl.URL) -> str:
    return str(url.with_query(None).with_fragment(None))


def _flush_and_stop(processor: BatchSpanProcessor) -> None:
    if not processor.force_flush(int(SHUTDOWN_DEADLINE_S * 1000)):
        logger.warning("tracing: spans still queued after %g s were dropped", SHUTDOWN_DEADLINE_S)
    processor.shutdown()  # type: ignore[no-untyped-call]


class ScrubbingGate(SpanProcessor):
    """Hands finished spans, session ids scrubbed, to the export pipeline while one runs; drops them else."""

    def __init__(self) -> None:
        self.delegate: SpanProcessor | None = None

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Passes the starting span to the pipeline when one runs."""
        delegate = self.delegate
        if delegate is not None:
            delegate.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        """Passes the finished span, session ids scrubbed, to the pipeline when one runs; drops it
        otherwise."""
        delegate = self.delegate
        if delegate is not None:
            delegate.on_end(scrubbed(span))

    def shutdown(self) -> None:
        """Detaches the pipeline; the gate drops spans from now on (the pipeline is shut down by
        `exporting`)."""
        self.delegate = None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flushes the pipeline within `timeout_millis`; True when there is none to flush."""
        delegate = self.delegate
        return delegate.force_flush(timeout_millis) if delegate is not None else True


def scrubbed(span: ReadableSpan) -> ReadableSpan:
    """`span` with session ids replaced by their tags in its name, attributes, events and status."""
    status = span.status
    description = status.description
    return ReadableSpan(
        name=scrub(span.name),
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=_scrub_attributes(span.attributes),
        events=[Event(e.name, _scrub_attributes(e.attributes), e.timestamp) for e in span.events],
        links=span.links,
        kind=span.kind,
        status=Status(status.status_code, scrub(description) if description else None),
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


def _scrub_attributes(attributes: Attributes) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for key, value in (attributes or {}).items():
        if isinstance(value, str):
            cleaned[key] = scrub(value)
        elif isinstance(value, tuple | list) and any(isinstance(item, str) for item in value):
            cleaned[key] = tuple(scrub(item) if isinstance(item, str) else item for item in value)
        else:
            cleaned[key] = value
    return cleaned
