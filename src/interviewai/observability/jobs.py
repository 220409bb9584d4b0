"""What follows a request into the background jobs it queues: its log context (taskiq labels)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from interviewai.observability import logging as log_context


def job_labels() -> dict[str, str]:
    """Labels for a job queued now: the request id, route and session tag of the current request."""
    return log_context.log_context()


@contextlib.contextmanager
def job_context(labels: Mapping[str, Any]) -> Iterator[None]:
    """Run a job's handler as part of the request that queued it (in this process or a worker)."""
    with log_context.restored_context(labels):
        yield
