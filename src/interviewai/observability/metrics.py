"""Prometheus metrics: every name the service exports, and the small functions the code calls to move them.

Works in one process (the default registry) and with several processes on one machine (uvicorn
``--workers``, several ``interviewai worker`` processes): set ``PROMETHEUS_MULTIPROC_DIR`` to an empty,
writable directory before the processes start, and ``/metrics`` of any of them reports the sum over all
(prometheus-client's multiprocess mode; gauges say how they combine). Instances on other machines are
scraped one by one and summed by Prometheus (see the README).

Where they move: ``synthesis_timer``/``recognition_timer`` wrap each engine attempt (services/speech.py,
services/recognition.py), ``observe_evaluation`` each judged answer (services/evaluation.py), and
``count_provider_failure(error)`` a provider error that is swallowed (degraded) rather than raised;
``count_cache(kind, hit)`` for any new cache.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from interviewai.domain.errors import ProviderError

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Seconds; from a cached question (milliseconds) to a clip rendered while the candidate waits (minutes).
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)

HTTP_REQUEST_DURATION = Histogram(
    "interviewai_http_request_duration_seconds",
    "HTTP requests by route template, method and status code.",
    ["route", "method", "status"],
    buckets=_LATENCY_BUCKETS,
)
QUESTION_DELIVERY = Histogram(
    "interviewai_question_delivery_seconds",
    "How long a question took to deliver (speech plus waiting for its clip).",
    ["avatar_mode", "cache_hit"],
    buckets=_LATENCY_BUCKETS,
)
SYNTHESIS_DURATION = Histogram(
    "interviewai_speech_synthesis_seconds",
    "One speech synthesis attempt by engine and outcome (ok or error).",
    ["engine", "outcome"],
    buckets=_LATENCY_BUCKETS,
)
RECOGNITION_DURATION = Histogram(
    "interviewai_speech_recognition_seconds",
    "One speech recognition by engine and outcome (ok or error).",
    ["engine", "outcome"],
    buckets=_LATENCY_BUCKETS,
)
CLIP_RENDER_DURATION = Histogram(
    "interviewai_clip_render_seconds",
    "One presenter clip from asking the provider to having the file, by engine and outcome.",
    ["engine", "outcome"],
    buckets=_LATENCY_BUCKETS,
)
CLIP_QUEUE_DURATION = Histogram(
    "interviewai_clip_queue_seconds",
    "Time a clip spent queued at the provider before it started rendering.",
    ["engine"],
    buckets=_LATENCY_BUCKETS,
)
EVALUATION_DURATION = Histogram(
    "interviewai_evaluation_seconds",
    "One answer evaluation by the configured engine and outcome (ok, fallback or error).",
    ["engine", "outcome"],
    buckets=_LATENCY_BUCKETS,
)
EVALUATION_FALLBACKS = Counter(
    "interviewai_evaluation_fallbacks_total",
    "Answers the configured engine could not judge and another one did, by engine and reason (the llm "
    "engine's provider category, or invalid_reply).",
    ["engine", "reason"],
)
CACHE_LOOKUPS = Counter(
    "interviewai_cache_lookups_total",
    "Media cache lookups by kind (speech, clip) and result (hit, miss).",
    ["kind", "result"],
)
PROVIDER_FAILURES = Counter(
    "interviewai_provider_failures_total",
    "Failures of outside providers by provider and category.",
    ["provider", "category"],
)
SESSIONS = Counter(
    "interviewai_sessions_total",
    "Interview sessions by event: started, completed (every question answered), ended, expired.",
    ["event"],
)
JOBS = Counter(
    "interviewai_jobs_total",
    "Background jobs by name and outcome (ok, error, cancelled).",
    ["job", "outcome"],
)
# Gauges: in multiprocess mode "live" modes drop a process's values when it stops.
BREAKER_STATE = Gauge(
    "interviewai_breaker_state",
    "Circuit breaker of each speech engine: 0 closed, 1 half-open, 2 open (the worst over processes).",
    ["engine"],
    multiprocess_mode="livemax",
)
VIDEO_ON = Gauge(
    "interviewai_video_on",
    "1 while talking-presenter video is on, 0 while audio-only (the lowest over processes).",
    multiprocess_mode="livemin",
)
WEBSOCKETS_OPEN = Gauge(
    "interviewai_websockets_open",
    "WebSocket connections open now.",
    multiprocess_mode="livesum",
)
JOBS_RUNNING = Gauge(
    "interviewai_jobs_running",
    "Background jobs running now, by name.",
    ["job"],
    multiprocess_mode="livesum",
)
JOBS_QUEUED = Gauge(
    "interviewai_jobs_queued",
    "Background jobs queued and not yet started (for the Redis broker: the stream's backlog).",
    multiprocess_mode="livemax",
)

BREAKER_VALUES = {"closed": 0, "half_open": 1, "open": 2}


@contextlib.contextmanager
def _timed(histogram: Histogram, engine: str) -> Iterator[None]:
    started = time.perf_counter()
    outcome = "error"
    try:
        yield
        outcome = "ok"
    finally:
        histogram.labels(engine=engine, outcome=outcome).observe(time.perf_counter() - started)


def synthesis_timer(engine: str) -> contextlib.AbstractContextManager[None]:
    """Times one synthesis attempt; an exception leaving the block counts as ``outcome="error"``."""
    return _timed(SYNTHESIS_DURATION, engine)


def recognition_timer(engine: str) -> contextlib.AbstractContextManager[None]:
    """Times one speech recognition (``with recognition_timer("vosk"): text = await ...``)."""
    return _timed(RECOGNITION_DURATION, engine)


def observe_evaluation(engine: str, outcome: str, seconds: float) -> None:
    """One answer evaluation by the configured engine: ``ok``, ``fallback`` (another engine judged it) or
    ``error`` (nobody could; the job retries once)."""
    EVALUATION_DURATION.labels(engine=engine, outcome=outcome).observe(max(0.0, seconds))


def count_evaluation_fallback(engine: str, reason: str) -> None:
    """Count an answer the configured `engine` could not judge and another did; `reason` is the provider
    category or invalid_reply."""
    EVALUATION_FALLBACKS.labels(engine=engine, reason=reason).inc()


def clip_render_timer(engine: str) -> contextlib.AbstractContextManager[None]:
    """Times one clip from the provider request to the downloaded file."""
    return _timed(CLIP_RENDER_DURATION, engine)


def observe_clip_queue(engine: str, seconds: float) -> None:
    """Record how long a clip waited at the provider before rendering started, in seconds (negative counts as
    0)."""
    CLIP_QUEUE_DURATION.labels(engine=engine).observe(max(0.0, seconds))


def observe_question_delivery(avatar_mode: str, cache_hit: bool, seconds: float) -> None:
    """Record one question's delivery time in seconds (speech, plus waiting for its clip when video is on)."""
    QUESTION_DELIVERY.labels(avatar_mode=avatar_mode, cache_hit=_flag(cache_hit)).observe(seconds)


def observe_http_request(route: str, method: str, status: int, seconds: float) -> None:
    """Record one HTTP request by its route template (never the raw path), method and status code."""
    HTTP_REQUEST_DURATION.labels(route=route, method=method, status=str(status)).observe(seconds)


def count_cache(kind: str, hit: bool) -> None:
    """Count one media cache lookup of `kind` ("speech", "clip") as a hit or a miss."""
    CACHE_LOOKUPS.labels(kind=kind, result="hit" if hit else "miss").inc()


def count_provider_failure(error: ProviderError) -> None:
    """Count a provider error by provider and category (for errors handled without being raised)."""
    PROVIDER_FAILURES.labels(provider=error.provider, category=error.category.value).inc()


def count_session(event: str, amount: int = 1) -> None:
    """``started``, ``completed``, ``ended`` or ``expired``."""
    if amount:
        SESSIONS.labels(event=event).inc(amount)


def set_breaker_state(engine: str, state: str) -> None:
    """Set an engine's breaker gauge: "closed" 0, "half_open" 1, "open" 2 (an unknown state reads as
    closed)."""
    BREAKER_STATE.labels(engine=engine).set(BREAKER_VALUES.get(state, 0))


def set_video_on(on: bool) -> None:
    """Set the video gauge: 1 while talking-presenter video is on, 0 while audio-only."""
    VIDEO_ON.set(1 if on else 0)


def set_jobs_queued(count: int) -> None:
    """Set the job backlog gauge (jobs queued, not started); a negative count reads as 0."""
    JOBS_QUEUED.set(max(0, count))


@contextlib.contextmanager
def job_running(job: str) -> Iterator[None]:
    """Counts a job as running while the block runs, then by outcome."""
    JOBS_RUNNING.labels(job=job).inc()
    outcome = "error"
    try:
        yield
        outcome = "ok"
    except BaseException as error:
        if not isinstance(error, Exception):
            outcome = "cancelled"
        raise
    finally:
        JOBS_RUNNING.labels(job=job).dec()
        JOBS.labels(job=job, outcome=outcome).inc()


@contextlib.contextmanager
def websocket_open() -> Iterator[None]:
    """Counts one open WebSocket while the block runs."""
    WEBSOCKETS_OPEN.inc()
    try:
        yield
    finally:
        WEBSOCKETS_OPEN.dec()


def _flag(value: bool) -> str:
    return "true" if value else "false"


def multiprocess_dir() -> str | None:
    """The shared directory of multiprocess mode, when the process was started with one."""
    return os.environ.get(MULTIPROCESS_ENV) or None


def _registry() -> CollectorRegistry:
    """The running process's registry, or one that reads every process's files in multiprocess mode."""
    if multiprocess_dir() is None:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


def exposition() -> tuple[bytes, str]:
    """The text of ``/metrics`` and its content type: this process's figures, or every process's."""
    return generate_latest(_registry()), CONTENT_TYPE_LATEST


def serve_exposition(port: int, host: str = "127.0.0.1") -> WSGIServer:
    """Serve ``/metrics`` from a daemon thread (worker processes, which have no HTTP API of their own)."""
    from prometheus_client import start_http_server

    server, _thread = start_http_server(port, addr=host, registry=_registry())
    return server


def forget_this_process() -> None:
    """At shutdown in multiprocess mode: drop this process's live gauges (counters are kept)."""
    if multiprocess_dir() is not None:
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
