"""Spans around the application's own work, and the trace context that follows a request into its jobs.

Tracing is on when OTEL_EXPORTER_OTLP_ENDPOINT is set; then the lifespan runs the SDK pipeline of
``tracing_sdk`` (the container builds it) and hands this module its tracer. Everything here may be called when tracing is off: a span
is then one shared null context, jobs get no trace labels, and the OpenTelemetry SDK is never imported (the
API package is loaded anyway: FastAPI's own telemetry imports it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any

from fastapi.telemetry import TelemetryConfig
from opentelemetry.trace import SpanKind, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

AttributeValue = str | int | float | bool
# FastAPI's request and WebSocket spans stay off, whatever global provider some other code configured.
TELEMETRY_OFF: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False, "auto_configure": False}
_NO_SPAN: AbstractContextManager[Any] = contextlib.nullcontext()
# W3C trace context, explicitly: job labels must not depend on an OTEL_PROPAGATORS some process has set.
_PROPAGATOR = TraceContextTextMapPropagator()
# Process-wide like OpenTelemetry's own context: set by the running pipeline, None while none runs.
_tracer: Tracer | None = None


def activate(tracer: Tracer | None) -> None:
    """Called by the SDK pipeline when it starts (its tracer) and when it stops (None)."""
    global _tracer
    _tracer = tracer


def span(name: str, **attributes: AttributeValue) -> AbstractContextManager[Any]:
    """A span around a piece of work (``with span("speech.synthesize", engine="piper"):``); free when off.

    An exception leaving it is recorded on the span and marks it as an error, then goes on up.
    """
    tracer = _tracer
    if tracer is None:
        return _NO_SPAN
    return tracer.start_as_current_span(name, attributes=attributes)


def enqueue_span(job: str) -> AbstractContextManager[Any]:
    """The producer span of queuing `job`; the labels taken inside it make the job its child."""
    tracer = _tracer
    if tracer is None:
        return _NO_SPAN
    return tracer.start_as_current_span(
        f"{job} publish", kind=SpanKind.PRODUCER, attributes=_messaging(job, "send")
    )


def trace_labels() -> dict[str, str]:
    """The current trace context as job labels (``traceparent``, maybe ``tracestate``); empty when off."""
    if _tracer is None:
        return {}
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier


def job_span(job: str, labels: Mapping[str, Any]) -> AbstractContextManager[Any]:
    """The consumer span of running `job`, a child of the span that queued it (from its labels)."""
    tracer = _tracer
    if tracer is None:
        return _NO_SPAN
    carrier = {key: value for key, value in labels.items() if isinstance(value, str)}
    return tracer.start_as_current_span(
        f"{job} process",
        context=_PROPAGATOR.extract(carrier),
        kind=SpanKind.CONSUMER,
        attributes=_messaging(job, "process"),
    )


def _messaging(job: str, operation: str) -> dict[str, AttributeValue]:
    return {"messaging.system": "taskiq", "messaging.operation.type": operation, "interviewai.job": job}
