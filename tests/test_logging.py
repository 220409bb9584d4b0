"""Structured logs: JSON lines with the request id from the header, one access line each, no session id."""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from asgi_correlation_id.context import correlation_id

from interviewai.adapters.queue.taskiq_queue import TaskiqJobQueue
from interviewai.observability import logging as log_context
from interviewai.observability.logging import configure_logging, scrub, session_tag
from interviewai.settings import Settings
from live_server import free_port, server_process
from test_redis_worker import REDIS_URL, broker_queue  # noqa: F401

QUESTION_ROUTE = "/api/v1/interview/{session_id}/question"
JSON_KEYS = {"time", "level", "logger", "message", "request_id", "route", "session"}


def test_json_lines_with_request_ids_and_no_session_id(tmp_path: Path, model_dir: Path) -> None:
    # Edge on a port nobody listens on: the question request logs its outbound failure before piper speaks.
    edge_url = f"ws://127.0.0.1:{free_port()}"
    data_dir = tmp_path / "data"
    with (
        server_process(
            data_dir,
            model_dir,
            LOG_FORMAT="json",
            TTS_ENGINES="edge,piper",
            EDGE_TTS_URL=edge_url,
            LOOKAHEAD="false",
        ) as base,
        httpx.Client(base_url=base, timeout=60) as client,
    ):
        started = client.post("/api/v1/interview/start", headers={"X-Request-ID": "req-start-1"})
        assert started.headers["x-request-id"] == "req-start-1"
        session_id = started.json()["session_id"]
        asked = client.get(
            f"/api/v1/interview/{session_id}/question", headers={"X-Request-ID": "req-question-1"}
        )
        assert asked.status_code == 200 and asked.headers["x-request-id"] == "req-question-1"
        generated = client.get(f"/api/v1/interview/{session_id}/status").headers["x-request-id"]
        # A value that could break a log line is replaced by a fresh id.
        replaced = client.get("/api/v1/health", headers={"X-Request-ID": "two\twords"})
        assert replaced.headers["x-request-id"] not in ("two\twords", "")
        missing = client.get("/api/v1/interview/session_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/status")
        assert missing.status_code == 404
    log = next(data_dir.parent.glob("server-*.log")).read_text()

    assert session_id not in log, "a session id is a bearer secret"
    assert "session_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" not in log
    lines = [json.loads(line) for line in log.splitlines() if line.strip()]
    for line in lines:
        assert set(line) >= JSON_KEYS, line
    assert not [line for line in lines if line["logger"] == "uvicorn.access"]
    access = [line for line in lines if line["logger"] == "interviewai.access"]

    def only(request_id: str) -> dict[str, Any]:
        found = [line for line in access if line["request_id"] == request_id]
        assert len(found) == 1, (request_id, found)
        line: dict[str, Any] = found[0]
        return line

    start_line = only("req-start-1")
    assert (start_line["route"], start_line["method"], start_line["status"]) == (
        "/api/v1/interview/start",
        "POST",
        200,
    )
    assert start_line["duration_ms"] >= 0
    question_line = only("req-question-1")
    assert question_line["route"] == QUESTION_ROUTE and question_line["status"] == 200
    assert question_line["session"] == session_tag(session_id)
    assert only(generated)["route"] == "/api/v1/interview/{session_id}/status"
    # The outbound call that failed during the question is logged as part of that request.
    edge = [line for line in lines if line["logger"] == "interviewai.services.speech"]
    assert edge and all(line["request_id"] == "req-question-1" for line in edge), edge
    assert edge[0]["route"] == QUESTION_ROUTE and edge[0]["session"] == session_tag(session_id)
    assert edge[0]["level"] == "WARNING" and "edge" in edge[0]["message"]
    assert len(access) == len({line["request_id"] for line in access}), "one access line per request"


def test_session_ids_are_scrubbed_from_every_line(capsys: pytest.CaptureFixture[str]) -> None:
    session_id = "session_" + "x1" * 16
    root = logging.getLogger()
    level = root.level
    configure_logging("text", "INFO")
    try:
        try:
            raise LookupError(f"no session {session_id}")
        except LookupError:
            logging.getLogger("interviewai.test").exception("while serving %s", session_id)
    finally:
        for handler in [h for h in root.handlers if h.get_name() == "interviewai"]:
            root.removeHandler(handler)
        root.setLevel(level)
    printed = capsys.readouterr().err
    assert session_id not in printed
    assert printed.count(f"session~{session_tag(session_id)}") == 2  # the message and the traceback
    assert session_tag(session_id) != session_tag(session_id + "y")
    assert scrub("no id here") == "no id here"


@dataclass(frozen=True)
class LogProbe:
    name: ClassVar[str] = "log_probe"
    session_id: str


@pytest.mark.redis
async def test_the_request_id_follows_a_job_through_the_broker(broker_queue: str) -> None:
    session_id = "session_" + "q" * 32
    seen: list[dict[str, str]] = []
    done = asyncio.Event()
    queue = TaskiqJobQueue.redis(REDIS_URL, queue_name=broker_queue)

    async def job(probe: LogProbe) -> None:
        seen.append({"request_id": correlation_id.get() or "", **log_context.log_context()})
        done.set()

    queue.register(LogProbe, job)
    await queue.start()
    try:
        # The receiver runs in a context of its own, as in a worker process: only the labels carry the id.
        receiving = asyncio.get_running_loop().create_task(queue.receive(1), context=contextvars.Context())

        async def request() -> None:
            correlation_id.set("req-job-1")
            log_context.bind(route=QUESTION_ROUTE, session_id=session_id)
            await queue.enqueue(LogProbe(session_id))

        await asyncio.get_running_loop().create_task(request(), context=contextvars.Context())
        await asyncio.wait_for(done.wait(), 30)
        receiving.cancel()
        await asyncio.gather(receiving, return_exceptions=True)
    finally:
        await queue.aclose()
    assert seen == [
        {
            "request_id": "req-job-1",
            "route": QUESTION_ROUTE,
            "session": session_tag(session_id),
        }
    ]


def test_log_level_drops_the_lines_below_it(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    level = root.level
    settings = Settings(_env_file=None, log_level="warning", log_format="json")
    assert settings.resolved_log_level == "WARNING"
    assert Settings(_env_file=None, debug=True).resolved_log_level == "DEBUG"
    assert Settings(_env_file=None, log_level="").resolved_log_level == "INFO"
    configure_logging(settings.log_format, settings.resolved_log_level)
    try:
        probe = logging.getLogger("interviewai.test.level")
        probe.info("an info line")
        probe.warning("a warning line")
        probe.error("an error line")
    finally:
        for handler in [h for h in root.handlers if h.get_name() == "interviewai"]:
            root.removeHandler(handler)
        root.setLevel(level)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert [(line["level"], line["message"]) for line in lines] == [
        ("WARNING", "a warning line"),
        ("ERROR", "an error line"),
    ]
