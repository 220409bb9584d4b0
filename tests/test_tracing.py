"""OpenTelemetry traces, received by a real OTLP/HTTP receiver on loopback: requests, the database, speech,
outbound HTTP and WebSocket calls, jobs linked to the request that queued them; and nothing when off."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import edge_tts.constants
import httpx
import pytest
from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan
from pydantic import ValidationError
from websockets.asyncio.client import connect

from conftest import SettingsFactory
from edge_fixtures import piper  # noqa: F401  (a fixture, requested by name)
from interviewai.adapters.recognition.whisper import WhisperRecognizer
from interviewai.app import create_app
from interviewai.observability import tracing
from interviewai.observability.jobs import job_labels
from interviewai.simulators.did import DidSimulator
from interviewai.simulators.edge_tts import EdgeTtsSimulator
from live_server import REPO, serve_app
from spoken_audio import encode
from stt_fixtures import BrokenRecognizer, SpeakPcm, answer_voice, speak, whisper
from test_feedback_api import report_when_ready
from test_redis_worker import REDIS_URL, broker_queue  # noqa: F401  (a fixture, requested by name)

TWO_QUESTIONS = (
    '[{"id": 1, "type": "introduction", "text": "Tell me about yourself."},'
    ' {"id": 2, "type": "behavioral", "text": "Describe a hard problem you solved."}]'
)
SERVER = ProtoSpan.SpanKind.SPAN_KIND_SERVER
CLIENT = ProtoSpan.SpanKind.SPAN_KIND_CLIENT
PRODUCER = ProtoSpan.SpanKind.SPAN_KIND_PRODUCER
CONSUMER = ProtoSpan.SpanKind.SPAN_KIND_CONSUMER
__all__ = ["answer_voice", "speak", "whisper"]
EDGE_URL = "wss://" + edge_tts.constants.BASE_URL + "/edge/v1"


@dataclass(frozen=True)
class ReceivedSpan:
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_id: str
    attributes: dict[str, Any]
    service: str


def _value(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which == "array_value":
        return tuple(_value(item) for item in value.array_value.values)
    return getattr(value, which) if which else None


class OtlpReceiver:
    """An OTLP/HTTP trace receiver (POST /v1/traces, protobuf), keeping every span it was sent."""

    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self.requests = 0
        self.headers: list[dict[str, str]] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def _traces(self, request: web.Request) -> web.Response:
        body = await request.read()
        if request.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        assert request.content_type == "application/x-protobuf", request.content_type
        export = ExportTraceServiceRequest.FromString(body)
        self.requests += 1
        self.headers.append({key.lower(): value for key, value in request.headers.items()})
        for resource_spans in export.resource_spans:
            resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self.spans.append(
                        ReceivedSpan(
                            name=span.name,
                            kind=span.kind,
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_id=span.parent_span_id.hex(),
                            attributes={a.key: _value(a.value) for a in span.attributes},
                            service=str(resource.get("service.name")),
                        )
                    )
        reply = ExportTraceServiceResponse().SerializeToString()
        return web.Response(body=reply, content_type="application/x-protobuf")

    async def __aenter__(self) -> OtlpReceiver:
        app = web.Application()
        app.router.add_post("/v1/traces", self._traces)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    def named(self, name: str, kind: int | None = None) -> list[ReceivedSpan]:
        return [s for s in self.spans if s.name == name and (kind is None or s.kind == kind)]

    def one(self, name: str, kind: int | None = None) -> ReceivedSpan:
        found = self.named(name, kind)
        assert len(found) == 1, (name, found, sorted({s.name for s in self.spans}))
        return found[0]

    def ancestors(self, span: ReceivedSpan) -> list[ReceivedSpan]:
        """Parent, grandparent, ... as far as the received spans go (all within one trace)."""
        by_id = {s.span_id: s for s in self.spans}
        chain: list[ReceivedSpan] = []
        current = span
        while current.parent_id and current.parent_id in by_id:
            current = by_id[current.parent_id]
            assert current.trace_id == span.trace_id
            chain.append(current)
        return chain

    def under(self, parent: ReceivedSpan, spans: Iterable[ReceivedSpan]) -> list[ReceivedSpan]:
        return [s for s in spans if parent in self.ancestors(s)]


def _peer_port(span: ReceivedSpan) -> int | None:
    """The port a client span called (old or stable HTTP semantic conventions)."""
    for key in ("server.port", "net.peer.port"):
        if isinstance(span.attributes.get(key), int):
            port: int = span.attributes[key]
            return port
    url = span.attributes.get("url.full") or span.attributes.get("http.url")
    return httpx.URL(url).port if isinstance(url, str) else None


async def test_an_interview_is_traced_across_requests_providers_and_jobs(
    make_settings: SettingsFactory, tmp_path: Path, piper: Any
) -> None:
    bank = tmp_path / "two.json"
    bank.write_text(TWO_QUESTIONS)
    async with (
        OtlpReceiver() as receiver,
        EdgeTtsSimulator(piper) as edge,
        DidSimulator(queue_delay_s=0.2, render_factor=0.05) as did,
    ):
        settings = make_settings(
            question_bank=bank,
            tts_engines="edge,piper",
            edge_tts_url=edge.url,
            did_api_url=did.url,
            did_api_key=did.api_key,
            did_poll_initial_s=0.02,
            did_poll_max_s=0.1,
            avatar_generation_timeout_s=20,
            otel_exporter_otlp_endpoint=receiver.url,
            otel_service_name="interviewai-under-test",
            otel_exporter_otlp_headers="X-Collector-Key=k%3D1,x-tenant=interviews",
        )
        async with serve_app(settings) as live, httpx.AsyncClient(base_url=live.http, timeout=60) as client:
            session = (await client.post("/api/v1/interview/start")).json()["session_id"]
            first = (await client.get(f"/api/v1/interview/{session}/question")).json()
            assert first["video_status"] == "ready", first
            answered = await client.post(
                f"/api/v1/interview/{session}/answer",
                json={"question_id": 1, "answer_text": "I build backends in Python and run them on AWS."},
            )
            assert answered.status_code == 200, answered.text
            assert (await report_when_ready(client, session))["status"] == "ready"
            async with connect(live.url(f"session_id={session}"), open_timeout=30) as socket_:
                assert json.loads(await socket_.recv())["type"] == "session_info"
                await socket_.send(json.dumps({"type": "status", "data": {}}))
                assert json.loads(await socket_.recv())["type"] == "status"
        # The lifespan is over: its shutdown flushed every span to the receiver.

    spans = receiver.spans
    assert spans and {s.service for s in spans} == {"interviewai-under-test"}
    assert all(h["x-collector-key"] == "k=1" and h["x-tenant"] == "interviews" for h in receiver.headers)

    # Requests, named by their route template, never by a path holding the session id.
    start = receiver.one("POST /api/v1/interview/start", SERVER)
    question = receiver.one("GET /api/v1/interview/{session_id}/question", SERVER)
    answer = receiver.one("POST /api/v1/interview/{session_id}/answer", SERVER)
    assert answer.attributes["http.response.status_code"] == 200
    for span in spans:
        assert session not in span.name
        assert not any(isinstance(v, str) and session in v for v in span.attributes.values()), span

    # The database, inside the request that used it.
    statements = [s for s in spans if s.attributes.get("db.system", s.attributes.get("db.system.name"))]
    assert receiver.under(start, statements), "no database span under the start request"

    # Speech on Edge, and Edge's WebSocket call under it; the clip, and its D-ID HTTP calls under it.
    synthesis = [s for s in receiver.named("speech.synthesize") if s.attributes["engine"] == "edge"]
    assert synthesis and receiver.under(question, synthesis)
    # edge-tts asks for Microsoft's URL (the adapter's connector dials the simulator): path only, no token.
    edge_calls = [s for s in spans if s.kind == CLIENT and s.attributes.get("http.url") == EDGE_URL]
    assert edge_calls and all(any(a in synthesis for a in receiver.ancestors(c)) for c in edge_calls)
    assert {c.attributes.get("http.status_code") for c in edge_calls} == {101}, "not the WebSocket upgrade"
    renders = receiver.named("avatar.render")
    assert renders
    did_calls = [s for s in spans if s.kind == CLIENT and _peer_port(s) == httpx.URL(did.url).port]
    assert receiver.under(renders[0], did_calls), "no D-ID call under the render span"

    # The evaluation job: queued inside the answer request, run as its consumer, the evaluation inside it.
    job = receiver.one("evaluate_answer process", CONSUMER)
    publish = receiver.one("evaluate_answer publish", PRODUCER)
    assert job.parent_id == publish.span_id and job.trace_id == answer.trace_id
    assert answer in receiver.ancestors(job)
    evaluation = receiver.one("answer.evaluate")
    assert job in receiver.ancestors(evaluation) and evaluation.attributes["engine"] == "rubric"

    # The WebSocket connection, and a span for the message it handled.
    connection = receiver.one("WS /api/v1/interview/session", SERVER)
    message = receiver.one("websocket.message")
    assert message.attributes["message_type"] == "status" and connection in receiver.ancestors(message)


def test_the_endpoint_must_be_an_http_url(make_settings: SettingsFactory) -> None:
    assert make_settings(otel_exporter_otlp_endpoint=" http://collector:4318/ ").tracing_enabled
    assert not make_settings().tracing_enabled
    for wrong in ("localhost:4318", "grpc://collector:4317", "http://"):
        with pytest.raises(ValidationError, match="OTLP/HTTP"):
            make_settings(otel_exporter_otlp_endpoint=wrong)


def test_off_adds_nothing_to_jobs_and_spans_are_free() -> None:
    assert tracing.span("anything") is tracing.span("anything else")
    with tracing.span("anything"), tracing.enqueue_span("job"):
        assert tracing.trace_labels() == {}
        assert "traceparent" not in job_labels()


# Runs in a fresh interpreter: the rest of the suite loads the SDK into this one.
OFF_PROGRAM = """
import asyncio, json, sys
import edge_tts.constants
import httpx
from interviewai.app import create_app
from interviewai.settings import Settings

async def main():
    settings = Settings(_env_file=None, **json.loads(sys.argv[1]))
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            session = (await client.post("/api/v1/interview/start")).json()["session_id"]
            question = (await client.get(f"/api/v1/interview/{session}/question")).json()
            answer = await client.post(
                f"/api/v1/interview/{session}/answer",
                json={"question_id": question["question_id"], "answer_text": "An answer."},
            )
            assert answer.status_code == 200, answer.text
    loaded = sorted(name for name in sys.modules if name.startswith(("opentelemetry.sdk", "opentelemetry.exporter",
        "opentelemetry.instrumentation", "interviewai.observability.tracing_sdk")))
    print(json.dumps(loaded))

asyncio.run(main())
"""


def test_off_never_loads_the_sdk(tmp_path: Path, model_dir: Path) -> None:
    settings = {
        "data_dir": str(tmp_path / "data"),
        "model_dir": str(model_dir),
        "tts_engines": "piper",
        "lookahead": False,
        "plans_embed_at_start": False,
        "stt_preload": False,
        "otel_exporter_otlp_endpoint": "",
        "did_api_key": "",
    }
    result = subprocess.run(
        [sys.executable, "-c", OFF_PROGRAM, json.dumps(settings)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


@pytest.mark.redis
async def test_a_clip_rendered_by_a_worker_joins_the_trace_of_the_request_that_queued_it(
    make_settings: SettingsFactory, tmp_path: Path, model_dir: Path, broker_queue: str
) -> None:
    bank = tmp_path / "two.json"
    bank.write_text(TWO_QUESTIONS)
    async with OtlpReceiver() as receiver, DidSimulator(queue_delay_s=0.05, render_factor=0.05) as did:
        common = {
            "BROKER_URL": REDIS_URL,
            "BROKER_QUEUE": broker_queue,
            "DID_API_URL": did.url,
            "DID_API_KEY": did.api_key,
            "DID_POLL_INITIAL_S": "0.02",
            "DID_POLL_MAX_S": "0.1",
            "QUESTION_BANK": str(bank),
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
        }
        settings = make_settings(
            **{name.lower(): value for name, value in common.items()}, otel_service_name="api"
        )
        worker_env = {
            **os.environ,
            **common,
            "DATA_DIR": str(settings.data_dir),
            "MODEL_DIR": str(model_dir),
            "TTS_ENGINES": "piper",
            "LOOKAHEAD": "false",
            "OTEL_SERVICE_NAME": "worker",
        }
        async with serve_app(settings) as live, httpx.AsyncClient(base_url=live.http, timeout=60) as client:
            session = (await client.post("/api/v1/interview/start")).json()["session_id"]
            asked = (await client.get(f"/api/v1/interview/{session}/question", params={"wait": 0})).json()
            assert asked["video_status"] == "pending", "the API only queues the clip"
            worker = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "interviewai.cli", "worker", "--concurrency", "2",
                cwd=REPO, env=worker_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )  # fmt: skip
            try:
                ready = await client.get(f"/api/v1/interview/{session}/question", params={"wait": 30})
                assert ready.json()["video_status"] == "ready", ready.text
            finally:
                # SIGINT: the worker stops and flushes its spans to the receiver (this loop keeps serving it).
                worker.send_signal(signal.SIGINT)
                _, errors = await asyncio.wait_for(worker.communicate(), timeout=30)
            assert worker.returncode == 0, errors.decode()

    publish = receiver.one("render_clip publish", PRODUCER)
    asked_twice = receiver.named("GET /api/v1/interview/{session_id}/question", SERVER)
    (question,) = [q for q in asked_twice if q in receiver.ancestors(publish)]
    job = receiver.one("render_clip process", CONSUMER)
    assert (publish.service, job.service) == ("api", "worker")
    assert question in receiver.ancestors(publish)
    assert job.parent_id == publish.span_id and job.trace_id == question.trace_id
    # The enqueue was a Redis command of the request; the render and its D-ID calls ran in the worker.
    redis_commands = [s for s in receiver.spans if s.attributes.get("db.system") == "redis"]
    assert any(s.service == "api" for s in receiver.under(publish, redis_commands))
    (render,) = receiver.under(job, receiver.named("avatar.render"))
    did_calls = [s for s in receiver.under(render, receiver.spans) if s.kind == CLIENT]
    assert did_calls and {s.service for s in did_calls} == {"worker"}


async def test_a_spoken_answer_is_recognised_inside_its_request(
    make_settings: SettingsFactory, whisper: WhisperRecognizer, speak: SpeakPcm
) -> None:
    """One span per recognition attempt, by engine, both under the answer request (the remote one down)."""
    async with OtlpReceiver() as receiver:
        settings = make_settings(
            stt_engines="openai,whisper",
            stt_api_url="http://127.0.0.1:9",
            otel_exporter_otlp_endpoint=receiver.url,
        )
        app = create_app(settings, recognizers={"openai": BrokenRecognizer("openai"), "whisper": whisper})
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
        ):
            session = (await client.post("/api/v1/interview/start")).json()["session_id"]
            question = (await client.get(f"/api/v1/interview/{session}/question")).json()
            answered = await client.post(
                f"/api/v1/interview/{session}/answer",
                data={"question_id": str(question["question_id"])},
                files={
                    "audio": ("answer.wav", encode(speak("I build backend services."), "wav"), "audio/wav")
                },
            )
            assert answered.status_code == 200, answered.text
    answer = receiver.one("POST /api/v1/interview/{session_id}/answer", SERVER)
    recognitions = receiver.under(answer, receiver.named("speech.recognize"))
    assert sorted(s.attributes["engine"] for s in recognitions) == ["openai", "whisper"]
