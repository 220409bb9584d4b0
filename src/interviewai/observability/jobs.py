"""What follows a request into the background jobs it queues: its log and trace context (taskiq labels)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from interviewai.observability import logging as log_context
from interviewai.observability import tracing


def job_labels() -> dict[str, str]:
    """Labels for a job queued now: the request id, route and session tag of the current request, and the
    current span (W3C ``traceparent``) when tracing is on."""
    return {**log_context.log_context(), **tracing.trace_labels()}


@contextlib.contextmanager
def job_context(job: str, labels: Mapping[str, Any]) -> Iterator[None]:
    """Run a job's handler as part of the request that queued it (in this process or a worker)."""
    with log_context.restored_context(labels), tracing.job_span(job, labels):
        yield
