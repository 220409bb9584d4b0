"""Prometheus /metrics after a real interview: names, labels and the counts that moved."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect

from conftest import SettingsFactory
from interviewai.adapters.recognition.whisper import WhisperRecognizer
from interviewai.app import create_app
from interviewai.domain.ports import SpeechRecognizer
from interviewai.observability import metrics
from interviewai.simulators.did import DidSimulator
from live_server import REPO, free_port, serve_app, stop_process
from spoken_audio import encode
from stt_fixtures import BrokenRecognizer, SpeakPcm, answer_voice, speak, whisper
from test_redis_worker import REDIS_URL, broker_queue  # noqa: F401  (a fixture, requested by name)

__all__ = ["answer_voice", "speak", "whisper"]

TWO_QUESTIONS = (
    '[{"id": 1, "type": "introduction", "text": "Tell me about yourself."},'
    ' {"id": 2, "type": "behavioral", "text": "Describe a hard problem you solved."}]'
)
QUESTION_ROUTE = "/api/v1/interview/{session_id}/question"
ANSWER_ROUTE = "/api/v1/interview/{session_id}/answer"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


async def scrape(client: httpx.AsyncClient, headers: Mapping[str, str] | None = None) -> Samples:
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


async def test_a_video_interview_moves_every_figure(make_settings: SettingsFactory, tmp_path: Path) -> None:
    bank = tmp_path / "two.json"
    bank.write_text(TWO_QUESTIONS)
    async with DidSimulator(queue_delay_s=0.2, render_factor=0.05) as did:
        settings = make_settings(
            question_bank=bank,
            did_api_url=did.url,
            did_api_key=did.api_key,
            did_poll_initial_s=0.02,
            did_poll_max_s=0.1,
            avatar_generation_timeout_s=20,
            # Edge on a port nobody listens on: it fails over to the offline voice and its breaker opens.
            tts_engines="edge,piper",
            edge_tts_url=f"ws://127.0.0.1:{free_port()}",
            tts_breaker_cooldown_s=600,
        )
        async with serve_app(settings) as live, httpx.AsyncClient(base_url=live.http, timeout=60) as client:
            before = await scrape(client)
            session = (await client.post("/api/v1/interview/start")).json()["session_id"]
            first = (await client.get(f"/api/v1/interview/{session}/question")).json()
            assert first["video_status"] == "ready", first
            second = (
                await client.post(
                    f"/api/v1/interview/{session}/answer", json={"question_id": 1, "answer_text": "I build."}
                )
            ).json()
            assert second["question_id"] == 2 and second["video_status"] == "ready", second
            done = await client.post(
                f"/api/v1/interview/{session}/answer", json={"question_id": 2, "answer_text": "A hard one."}
            )
            assert done.json()["type"] == "complete"
            # A second candidate's first question is all cache.
            other = (await client.post("/api/v1/interview/start")).json()["session_id"]
            assert (await client.get(f"/api/v1/interview/{other}/question")).json()["video_status"] == "ready"
            assert (await client.get("/api/v1/interview/session_unknown/status")).status_code == 404
            assert (await client.get("/no/such/page")).status_code == 404

            async with connect(live.url(f"session_id={other}"), open_timeout=30) as socket_:
                await socket_.recv()  # session_info: the socket is being served
                during = await scrape(client)
            # The server's side ends after the client's close returns: on a busy machine, some ticks later.
            after = await scrape(client)
            sockets_before = value(before, "interviewai_websockets_open")
            for _ in range(100):
                if value(after, "interviewai_websockets_open") == sockets_before:
                    break
                await asyncio.sleep(0.05)
                after = await scrape(client)

    duration = "interviewai_http_request_duration_seconds_count"
    assert moved(before, after, duration, route=QUESTION_ROUTE, method="GET", status="200") == 2
    assert moved(before, after, duration, route=ANSWER_ROUTE, method="POST", status="200") == 2
    assert moved(before, after, duration, route="/api/v1/interview/start", method="POST", status="200") == 2
    status_route = "/api/v1/interview/{session_id}/status"
    assert moved(before, after, duration, route=status_route, method="GET", status="404") == 1
    assert moved(before, after, duration, route="unmatched", method="GET", status="404") == 1
    # No raw path (with its session id) ever becomes a label.
    assert not any(session in str(labels) for _name, labels in after)

    delivery = "interviewai_question_delivery_seconds_count"
    assert moved(before, after, delivery, avatar_mode="video", cache_hit="false") == 2
    assert moved(before, after, delivery, avatar_mode="video", cache_hit="true") == 1

    synthesis = "interviewai_speech_synthesis_seconds_count"
    assert moved(before, after, synthesis, engine="edge", outcome="error") == 1
    assert moved(before, after, synthesis, engine="piper", outcome="ok") == 2
    failures = "interviewai_provider_failures_total"
    assert moved(before, after, failures, provider="edge", category="connectivity") == 1
    assert value(after, "interviewai_breaker_state", engine="edge") == 2
    assert value(after, "interviewai_breaker_state", engine="piper") == 0
    assert value(after, "interviewai_video_on") == 1

    assert moved(before, after, "interviewai_clip_render_seconds_count", engine="d-id", outcome="ok") == 2
    assert moved(before, after, "interviewai_clip_queue_seconds_count", engine="d-id") == 2
    # The simulator keeps every clip queued 0.2 s: the queue histogram saw none of them under 0.1 s.
    assert moved(before, after, "interviewai_clip_queue_seconds_bucket", engine="d-id", le="0.1") == 0

    lookups = "interviewai_cache_lookups_total"
    assert moved(before, after, lookups, kind="speech", result="miss") == 2
    assert moved(before, after, lookups, kind="speech", result="hit") >= 1
    assert moved(before, after, lookups, kind="clip", result="miss") == 2
    assert moved(before, after, lookups, kind="clip", result="hit") == 1

    assert moved(before, after, "interviewai_sessions_total", event="started") == 2
    assert moved(before, after, "interviewai_sessions_total", event="completed") == 1
    assert moved(before, after, "interviewai_jobs_total", job="render_clip", outcome="ok") == 2
    assert value(after, "interviewai_jobs_running", job="render_clip") == 0
    assert value(after, "interviewai_jobs_queued") == 0

    assert value(during, "interviewai_websockets_open") == value(before, "interviewai_websockets_open") + 1
    assert value(after, "interviewai_websockets_open") == value(before, "interviewai_websockets_open")


async def test_metrics_token_and_the_json_figures(make_settings: SettingsFactory) -> None:
    app = create_app(make_settings(metrics_token="scrape-me-please-0123"))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        refused = await client.get("/metrics")
        assert refused.status_code == 401
        assert refused.json()["code"] == "unauthorized"
        assert (await client.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 401
        samples = await scrape(client, {"Authorization": "Bearer scrape-me-please-0123"})
        assert ("interviewai_video_on", frozenset()) in samples
        # Today's JSON figures stay where they were.
        figures = (await client.get("/api/v1/metrics")).json()
        assert {"syntheses", "clips_created", "video_on", "speech_engines"} <= set(figures)


async def test_expired_and_ended_sessions_are_counted(make_settings: SettingsFactory) -> None:
    app = create_app(make_settings(session_timeout_s=0.05))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        before = await scrape(client)
        ended = (await client.post("/api/v1/interview/start")).json()["session_id"]
        assert (await client.delete(f"/api/v1/interview/{ended}")).status_code == 200
        await client.post("/api/v1/interview/start")
        await asyncio.sleep(0.1)  # both sessions are now idle past their timeout
        expired = await app.state.container.interviews.expire_idle_sessions()
        after = await scrape(client)
    assert expired >= 1
    assert moved(before, after, "interviewai_sessions_total", event="ended") == 1
    assert moved(before, after, "interviewai_sessions_total", event="expired") == expired


@pytest.mark.parametrize("path", ["/metrics"])
def test_metrics_route_is_in_the_openapi(path: str, make_settings: SettingsFactory) -> None:
    schema = create_app(make_settings()).openapi()
    assert schema["paths"][path]["get"]["operationId"] == "getPrometheusMetrics"


def test_several_uvicorn_workers_report_their_sum(tmp_path: Path, model_dir: Path) -> None:
    """Two worker processes behind one port, one multiprocess directory: any scrape counts every request."""
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    port = free_port()
    environment = {
        **os.environ,
        "DATA_DIR": str(tmp_path / "data"),
        "MODEL_DIR": str(model_dir),
        "TTS_ENGINES": "piper",
        "DID_API_KEY": "",
        "LOOKAHEAD": "false",
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
    }
    command = [sys.executable, "-m", "uvicorn", "main:app", "--host", "127.0.0.1", "--port", str(port)]
    log = tmp_path / "uvicorn.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, "--workers", "2"], cwd=REPO, env=environment, stdout=output, stderr=output
        )
    base = f"http://127.0.0.1:{port}"
    try:
        # Each worker's lifespan publishes its gauges once: two pids there mean both are starting.
        _wait_for(lambda: len(_pids(multiproc, "gauge")) == 2, process, log)
        requests = 0
        # New connections until both workers have served some (the kernel picks the worker); refused
        # connections (the socket listens once a worker's server is up) reach no worker and count for none.
        while len(_pids(multiproc, "histogram")) < 2 or requests < 10:
            try:
                with httpx.Client(base_url=base, timeout=30) as fresh:
                    assert fresh.get("/api/v1/health").status_code == 200
                requests += 1
            except httpx.ConnectError:
                time.sleep(0.05)
            assert process.poll() is None, log.read_text()
            assert requests < 500, "one worker served every request"
        for _ in range(4):
            with httpx.Client(base_url=base, timeout=10) as fresh:
                samples = parse(fresh.get("/metrics").text)
            served = value(
                samples,
                "interviewai_http_request_duration_seconds_count",
                route="/api/v1/health",
                method="GET",
                status="200",
            )
            assert served == requests  # whichever worker answered the scrape
            assert value(samples, "interviewai_video_on") == 0
    finally:
        stop_process(process, timeout_s=30)


def _pids(multiproc: Path, kind: str) -> set[str]:
    return {path.stem.rsplit("_", 1)[-1] for path in multiproc.glob(f"{kind}_*.db")}


def _wait_for(condition: Callable[[], bool], process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"uvicorn exited early:\n{log.read_text()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"the workers did not start in 120 s:\n{log.read_text()}")
        time.sleep(0.2)


def test_a_worker_process_can_serve_its_own_metrics() -> None:
    port = free_port()
    server = metrics.serve_exposition(port)
    try:
        metrics.count_cache("speech", hit=True)
        response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
        samples = parse(response.text)
        assert value(samples, "interviewai_cache_lookups_total", kind="speech", result="hit") >= 1
    finally:
        server.shutdown()
        server.server_close()


def test_the_dashboard_uses_only_exported_names() -> None:
    dashboard = json.loads((REPO / "docs" / "grafana-dashboard.json").read_text())
    used = {
        re.sub(r"_(bucket|count|sum)$", "", name)
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"interviewai_[a-z_]+", target["expr"])
    }
    exported = {
        family.name + ("_total" if family.type == "counter" else "")
        for family in REGISTRY.collect()
        if family.name.startswith("interviewai_")
    }
    assert used <= exported, used - exported
    assert exported <= used, f"not on the dashboard: {exported - used}"


async def test_a_spoken_answer_times_recognition_and_counts_the_failed_engine(
    make_settings: SettingsFactory, whisper: WhisperRecognizer, speak: SpeakPcm
) -> None:
    """The remote recogniser down, the local one answers: both timed by engine, the failure counted."""
    recognizers: dict[str, SpeechRecognizer] = {"openai": BrokenRecognizer("openai"), "whisper": whisper}
    app = create_app(
        make_settings(stt_engines="openai,whisper", stt_api_url=f"http://127.0.0.1:{free_port()}"),
        recognizers=recognizers,
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        before = await scrape(client)
        session = (await client.post("/api/v1/interview/start")).json()["session_id"]
        question = (await client.get(f"/api/v1/interview/{session}/question")).json()
        answered = await client.post(
            f"/api/v1/interview/{session}/answer",
            data={"question_id": str(question["question_id"])},
            files={"audio": ("answer.wav", encode(speak("I build backend services."), "wav"), "audio/wav")},
        )
        assert answered.status_code == 200, answered.text
        after = await scrape(client)
    recognition = "interviewai_speech_recognition_seconds_count"
    assert moved(before, after, recognition, engine="openai", outcome="error") == 1
    assert moved(before, after, recognition, engine="whisper", outcome="ok") == 1
    assert moved(before, after, recognition, engine="whisper", outcome="error") == 0
    failures = "interviewai_provider_failures_total"
    assert moved(before, after, failures, provider="openai", category="connectivity") == 1


# A PromQL selector's or grouping's label names: `{name="..."}`, `{name=~"..."}`, `by (a, b)`.
_SELECTOR = re.compile(r"(interviewai_[a-z_]+)\{([^}]*)\}")
_MATCHER_LABEL = re.compile(r"([a-z_]+)\s*(?:=~|!~|!=|=)")
_GROUPING = re.compile(r"by \(([^)]*)\)")
_SAMPLE_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


async def test_every_dashboard_expression_names_what_a_live_scrape_exports(
    make_settings: SettingsFactory,
) -> None:
    """Each metric of each panel is a sample name /metrics exports, and each label it selects or groups by
    is one that metric has (``le`` on histograms)."""
    app = create_app(make_settings())
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        response = await client.get("/metrics")
    assert response.status_code == 200
    labels_of: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(response.text):
        if not family.name.startswith("interviewai_"):
            continue
        collector = REGISTRY._names_to_collectors[family.name]  # the label names, even before any sample
        names = set(getattr(collector, "_labelnames", ()))
        for suffix in _SAMPLE_SUFFIXES[family.type]:
            labels_of[family.name + suffix] = names | ({"le"} if suffix == "_bucket" else set())
    dashboard = json.loads((REPO / "docs" / "grafana-dashboard.json").read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    assert len(expressions) >= 15
    for expression in expressions:
        used = re.findall(r"interviewai_[a-z_]+", expression)
        assert used, expression
        unknown = [name for name in used if name not in labels_of]
        assert not unknown, f"{expression}: {unknown} is not on /metrics"
        for name, matchers in _SELECTOR.findall(expression):
            selected = set(_MATCHER_LABEL.findall(matchers))
            assert selected <= labels_of[name], f"{expression}: {name} has no {selected - labels_of[name]}"
        grouped = {label.strip() for group in _GROUPING.findall(expression) for label in group.split(",")}
        available = set().union(*(labels_of[name] for name in used))
        assert grouped - {""} <= available, f"{expression}: grouped by {grouped - available}"


@pytest.mark.redis
async def test_jobs_queued_is_the_redis_backlog_nobody_has_taken(
    make_settings: SettingsFactory, broker_queue: str
) -> None:
    """With the Redis broker and no worker running, the clip the API queued shows on the gauge."""
    async with DidSimulator() as did:
        settings = make_settings(
            broker_url=REDIS_URL, broker_queue=broker_queue, did_api_url=did.url, did_api_key=did.api_key
        )
        app = create_app(settings)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
        ):
            assert value(await scrape(client), "interviewai_jobs_queued") == 0
            session = (await client.post("/api/v1/interview/start")).json()["session_id"]
            asked = (await client.get(f"/api/v1/interview/{session}/question", params={"wait": 0})).json()
            assert asked["video_status"] == "pending", "the API only queues the clip"
            assert value(await scrape(client), "interviewai_jobs_queued") == 1
