"""Redis job broker: an API process only queues clips, `interviewai worker` renders them, and a worker killed
mid-job loses nothing (the job is taken over and the recorded D-ID clip is resumed, not paid for again)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from interviewai.simulators.did import DidSimulator
from live_server import REPO, server_process

pytestmark = pytest.mark.redis

REDIS_URL = "redis://127.0.0.1:6379/0"
START_REDIS = 'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no'
TWO_QUESTIONS = (
    '[{"id": 1, "type": "introduction", "text": "Tell me about yourself."},'
    ' {"id": 2, "type": "closing", "text": "Any questions for us?"}]'
)


@pytest.fixture
def broker_queue() -> Iterator[str]:
    """A stream of its own for this test (parallel runs never share jobs), deleted afterwards."""
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as error:
        client.close()
        message = f"Redis is not reachable at 127.0.0.1:6379 ({error}); start it with: {START_REDIS}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    name = f"interviewai:test:{uuid.uuid4().hex}"
    try:
        yield name
    finally:
        client.delete(name)
        client.close()


class ThreadedDid:
    """The D-ID simulator on an event loop of its own, so the test may block while processes work."""

    def __init__(self, **options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.sim: DidSimulator = self._call(self._create, options)
        self._call(self.sim.start)

    async def _create(self, options: dict[str, Any]) -> DidSimulator:
        return DidSimulator(**options)

    def _call(self, function: Callable[..., Any], *args: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(function(*args), self._loop)
        return future.result(timeout=30)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._call(self.sim.stop)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()


@pytest.fixture
def did_factory() -> Iterator[Callable[..., DidSimulator]]:
    started: list[ThreadedDid] = []

    def start(**options: Any) -> DidSimulator:
        threaded = ThreadedDid(retry_after_s=0.2, **options)
        started.append(threaded)
        return threaded.sim

    yield start
    for threaded in started:
        threaded.close()


def _environment(tmp_path: Path, did: DidSimulator, queue: str, **extra: str) -> dict[str, str]:
    bank = tmp_path / "two.json"
    bank.write_text(TWO_QUESTIONS)
    return {
        "BROKER_URL": REDIS_URL,
        "BROKER_QUEUE": queue,
        "DID_API_URL": did.url,
        "DID_API_KEY": did.api_key,
        "TTS_ENGINES": "piper",
        "DID_POLL_INITIAL_S": "0.02",
        "DID_POLL_MAX_S": "0.1",
        "QUESTION_BANK": str(bank),
        # Only the questions the test asks for: clip counts stay exact.
        "LOOKAHEAD": "false",
        **extra,
    }


@contextlib.contextmanager
def worker_process(
    data_dir: Path, model_dir: Path, log: Path, **env: str
) -> Iterator[subprocess.Popen[bytes]]:
    """`interviewai worker` with the API's environment; stopped with SIGINT (unless the test killed it)."""
    environment = {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "MODEL_DIR": str(model_dir),
        "DID_API_KEY": "",
        **env,
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "interviewai.cli", "worker", "--concurrency", "4"],
            cwd=REPO,
            env=environment,
            stdout=output,
            stderr=output,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                assert process.wait(timeout=20) == 0, log.read_text()
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise AssertionError(f"the worker did not stop on SIGINT:\n{log.read_text()}") from None


def _eventually(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"{what} not reached in {seconds:g} s"
        time.sleep(0.05)


def _question(base: str, session_id: str, wait: float) -> dict[str, Any]:
    response = httpx.get(
        f"{base}/api/v1/interview/{session_id}/question", params={"wait": wait}, timeout=wait + 10
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _clip_ids(data_dir: Path) -> int:
    """How many clips have a D-ID clip id recorded in the media table."""
    with contextlib.closing(sqlite3.connect(data_dir / "interviewai.db", timeout=5)) as db:
        (count,) = db.execute(
            "SELECT count(*) FROM media WHERE kind = 'clip' AND provider_ref IS NOT NULL"
        ).fetchone()
    return int(count)


def _start(base: str) -> str:
    response = httpx.post(f"{base}/api/v1/interview/start", timeout=10)
    assert response.status_code == 200, response.text
    session_id: str = response.json()["session_id"]
    return session_id


def test_api_only_queues_and_the_worker_renders_the_clip(
    tmp_path: Path, model_dir: Path, broker_queue: str, did_factory: Callable[..., DidSimulator]
) -> None:
    did = did_factory(queue_delay_s=0.05, render_factor=0.05)
    env = _environment(tmp_path, did, broker_queue)
    data_dir = tmp_path / "data"
    with server_process(data_dir, model_dir, **env) as base:
        session_id = _start(base)
        assert _question(base, session_id, 0)["video_status"] == "pending"
        waited = _question(base, session_id, 1.5)
        assert waited["video_status"] == "pending", "no worker runs, so nobody renders the clip"
        assert waited["audio_base64"], "the question is spoken meanwhile"
        assert did.clips_created == 0, "the API process only queues clips"

        with worker_process(data_dir, model_dir, tmp_path / "worker.log", **env):
            ready = _question(base, session_id, 30)
            assert ready["video_status"] == "ready", ready["fallback_reason"]
        assert did.clips_created == 1
        later = _question(base, session_id, 0)
        assert later["video_status"] == "ready"
        assert later["video_url"] == ready["video_url"]
        assert httpx.get(later["video_url"], timeout=10).status_code == 200
    assert did.clips_created == 1


def test_a_worker_killed_mid_job_loses_nothing_and_the_clip_is_resumed(
    tmp_path: Path, model_dir: Path, broker_queue: str, did_factory: Callable[..., DidSimulator]
) -> None:
    did = did_factory(queue_delay_s=3.0, render_factor=0.05)
    # A short generation deadline keeps the dead worker's claim from blocking the next one for long
    # (a claim goes stale 30 s after the deadline).
    # The killed job is redelivered once silent 3 s (JOB_REDELIVER_AFTER_S; 30 by default).
    env = _environment(
        tmp_path, did, broker_queue, AVATAR_GENERATION_TIMEOUT_S="5", JOB_REDELIVER_AFTER_S="3"
    )
    data_dir = tmp_path / "data"
    with server_process(data_dir, model_dir, **env) as base:
        session_id = _start(base)
        assert _question(base, session_id, 0)["video_status"] == "pending"
        with worker_process(data_dir, model_dir, tmp_path / "first-worker.log", **env) as first:
            # Killed once the clip id is recorded (D-ID counts the clip a moment before that).
            _eventually(lambda: _clip_ids(data_dir) == 1, 30, "the first worker recording its clip id")
            assert did.clips_created == 1
            first.kill()
            first.wait()
        assert _question(base, session_id, 0)["video_status"] == "pending"

        second_log = tmp_path / "second-worker.log"
        with worker_process(data_dir, model_dir, second_log, **env):
            _eventually(
                lambda: _question(base, session_id, 0)["video_status"] == "ready",
                60,
                "the second worker finishing the clip",
            )
            # Asking again queues fresh render jobs, which may finish the clip first; the killed job comes
            # back all the same, and finds its clip made.
            _eventually(lambda: "taking over job" in second_log.read_text(), 30, "the killed job redelivered")
        assert did.clips_created == 1, "the recorded clip was resumed, not created again"
        assert _question(base, session_id, 0)["video_status"] == "ready"
