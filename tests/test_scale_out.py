"""Scaled-out mode with real processes: two API instances and a worker on one PostgreSQL database, one Redis
stream and one S3-compatible bucket, rendering with the D-ID simulator.

Three candidates' interviews alternate between the instances request by request; the worker is killed with
SIGKILL while clips are in D-ID's queue and another one takes its jobs over. Every interview completes, every
question gets its video, and D-ID is paid once per distinct question. An identical answer sent to both
instances at the same moment advances the session once (an identical re-send is idempotent).

Needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379: skips saying how to start them when they are
unreachable, fails instead when CI=true.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from interviewai.simulators.did import DidSimulator
from live_server import server_process
from moto_s3 import ACCESS_KEY_ID, SECRET_ACCESS_KEY, MotoServer, moto_server, offline_aws_environment  # noqa: F401
from test_redis_worker import REDIS_URL, broker_queue, did_factory, worker_process  # noqa: F401
from test_store_contract import scratch_postgres_database

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

QUESTIONS = (
    '[{"id": 1, "type": "introduction", "text": "Tell me about yourself."},'
    ' {"id": 2, "type": "technical", "text": "Describe a system you scaled out."},'
    ' {"id": 3, "type": "closing", "text": "Any questions for us?"}]'
)
CANDIDATES = 3
# The dead worker's jobs come back after 30 s idle in the stream; its media claims go stale after
# AVATAR_GENERATION_TIMEOUT_S + 30 s. Everything else takes seconds.
READY_WITHIN_S = 75.0


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL database (skips or, with CI=true, fails when the server is unreachable)."""
    loop = asyncio.new_event_loop()
    database = scratch_postgres_database()
    try:
        url = loop.run_until_complete(database.__aenter__())
        try:
            yield url
        finally:
            loop.run_until_complete(database.__aexit__(None, None, None))
    finally:
        loop.close()


def _media_rows(postgres_url: str) -> tuple[int, int, int]:
    """From the shared media table: (clip rows with a D-ID clip id, those of them still pending,
    speech rows still pending)."""

    async def query() -> tuple[int, int, int]:
        connection = await asyncpg.connect(postgres_url.replace("+asyncpg", ""), timeout=5)
        try:
            row = await connection.fetchrow(
                "SELECT"
                " count(*) FILTER (WHERE kind = 'clip' AND provider_ref IS NOT NULL) AS recorded,"
                " count(*) FILTER (WHERE kind = 'clip' AND provider_ref IS NOT NULL AND state = 'pending')"
                " AS pending_clips,"
                " count(*) FILTER (WHERE kind = 'speech' AND state = 'pending') AS pending_speech"
                " FROM media"
            )
        finally:
            await connection.close()
        assert row is not None
        return int(row["recorded"]), int(row["pending_clips"]), int(row["pending_speech"])

    return asyncio.run(query())


def _eventually(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"{what} not reached in {seconds:g} s"
        time.sleep(0.1)


class Candidate:
    """One interview whose every request goes to the other instance than the one before."""

    def __init__(self, instances: list[str], first: int) -> None:
        self._instances = instances
        self._turn = first
        self.session_id = ""

    def next_base(self) -> str:
        base = self._instances[self._turn % len(self._instances)]
        self._turn += 1
        return base

    def start(self) -> None:
        response = httpx.post(f"{self.next_base()}/api/v1/interview/start", timeout=10)
        assert response.status_code == 200, response.text
        self.session_id = response.json()["session_id"]

    def question(self) -> dict[str, Any]:
        response = httpx.get(
            f"{self.next_base()}/api/v1/interview/{self.session_id}/question", params={"wait": 0}, timeout=20
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def question_with_video(self) -> dict[str, Any]:
        """The current question asked with ?wait=0, then polled (on alternating instances) until its clip is
        ready."""
        deadline = time.monotonic() + READY_WITHIN_S
        while True:
            body = self.question()
            assert body["type"] == "question", body
            if body["video_status"] == "ready":
                return body
            assert body["video_status"] == "pending", body.get("fallback_reason")
            assert time.monotonic() < deadline, f"question {body['question_id']} has no video"
            time.sleep(0.25)

    def status(self) -> dict[str, Any]:
        response = httpx.get(f"{self.next_base()}/api/v1/interview/{self.session_id}/status", timeout=10)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def answer(self, question_id: int) -> dict[str, Any]:
        response = httpx.post(
            f"{self.next_base()}/api/v1/interview/{self.session_id}/answer",
            params={"wait": 0},
            json={"question_id": question_id, "answer_text": f"Answer {question_id} from {self.session_id}."},
            timeout=20,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@contextlib.contextmanager
def _api_instances(tmp_path: Path, model_dir: Path, count: int, **env: str) -> Iterator[list[str]]:
    """`python main.py` instances, started at the same moment (they race to migrate the empty database)."""
    servers = [server_process(tmp_path / f"api-{index}", model_dir, **env) for index in range(count)]
    with contextlib.ExitStack() as stack, ThreadPoolExecutor(count) as pool:
        entered = [pool.submit(server.__enter__) for server in servers]
        bases: list[str] = []
        failures: list[BaseException] = []
        for server, future in zip(servers, entered, strict=True):
            try:
                bases.append(future.result())
            except BaseException as error:  # noqa: BLE001 - the instances that did start are stopped first
                failures.append(error)
            else:
                stack.push(server.__exit__)
        if failures:
            raise failures[0]
        yield bases


def _same_answer_on_both(bases: list[str], session_id: str, question_id: int) -> list[httpx.Response]:
    async def both() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=20) as client:
            return list(
                await asyncio.gather(
                    *(
                        client.post(
                            f"{base}/api/v1/interview/{session_id}/answer",
                            params={"wait": 0},
                            json={"question_id": question_id, "answer_text": "The same answer, sent twice."},
                        )
                        for base in bases
                    )
                )
            )

    return asyncio.run(both())


def test_two_instances_and_a_replaced_worker_finish_every_interview_with_one_clip_per_question(
    tmp_path: Path,
    model_dir: Path,
    postgres_url: str,
    broker_queue: str,
    did_factory: Callable[..., DidSimulator],
    moto_server: MotoServer,
) -> None:
    # Clips wait ~2.5 s in D-ID's queue: the window in which the worker is killed.
    did = did_factory(queue_delay_s=2.5, render_factor=0.05)
    bank = tmp_path / "three.json"
    bank.write_text(QUESTIONS)
    env = {
        "DATABASE_URL": postgres_url,
        "BROKER_URL": REDIS_URL,
        "BROKER_QUEUE": broker_queue,
        "BLOB_STORE": "s3",
        "S3_ENDPOINT_URL": moto_server.url,
        "S3_BUCKET": f"media-{uuid.uuid4().hex[:12]}",
        "S3_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "S3_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "DID_API_URL": did.url,
        "DID_API_KEY": did.api_key,
        "TTS_ENGINES": "piper",
        "DID_POLL_INITIAL_S": "0.02",
        "DID_POLL_MAX_S": "0.1",
        "QUESTION_BANK": str(bank),
        "LOOKAHEAD": "true",
        # A dead worker's media claim goes stale this + 30 s after it was taken.
        "AVATAR_GENERATION_TIMEOUT_S": "5",
        # The killed worker's job is redelivered once it has been silent this long (30 s by default).
        "JOB_REDELIVER_AFTER_S": "3",
    }
    with _api_instances(tmp_path, model_dir, 2, **env) as bases:
        candidates = [Candidate(bases, first=index) for index in range(CANDIDATES)]
        with worker_process(tmp_path / "worker-1", model_dir, tmp_path / "worker-1.log", **env) as first:
            for candidate in candidates:
                candidate.start()
            for candidate in candidates:
                assert candidate.question()["video_status"] == "pending"

            # Killed while a clip sits in D-ID's queue, once every clip D-ID has counted has its id recorded
            # (a clip created but not yet recorded would rightly be paid for again) and no speech is being
            # synthesized (a dead worker's speech claim holds every request for that question until it goes
            # stale, SPEECH_STALE_AFTER_S = 60 s).
            def clip_in_progress() -> bool:
                created = did.clips_created
                recorded, pending_clips, pending_speech = _media_rows(postgres_url)
                return pending_clips >= 1 and pending_speech == 0 and recorded == created == did.clips_created

            _eventually(clip_in_progress, 90, "a clip job in progress at D-ID")
            first.send_signal(signal.SIGKILL)
            first.wait()
        assert did.clips_created <= 3

        killed_at = time.monotonic()
        with worker_process(tmp_path / "worker-2", model_dir, tmp_path / "worker-2.log", **env):
            # Round by round: every candidate's current question until it has video, then its answer.
            for round_ in range(1, 4):
                for candidate in candidates:
                    asked = candidate.question_with_video()
                    assert asked["question_id"] == round_
                    # Media are shared: the clip is served by the other instance as well.
                    video_path = httpx.URL(asked["video_url"]).path
                    for base in bases:
                        served = httpx.get(f"{base}{video_path}", timeout=10)
                        assert served.status_code == 200, served.text
                        assert served.headers["content-type"] == "video/mp4"
                    if candidate is candidates[0]:
                        # The same answer on both instances at the same moment advances the session once.
                        before = candidate.status()["answers_recorded"]
                        both = _same_answer_on_both(bases, candidate.session_id, round_)
                        assert [r.status_code for r in both] == [200, 200], [r.text for r in both]
                        assert both[0].json()["type"] == both[1].json()["type"]
                        if round_ < 3:
                            assert (
                                both[0].json()["question_id"] == both[1].json()["question_id"] == round_ + 1
                            )
                        assert candidate.status()["answers_recorded"] == before + 1
                    else:
                        after = candidate.answer(round_)
                        assert after["type"] == ("complete" if round_ == 3 else "question")
            # The questions asked again queue fresh render jobs, which may finish the clip before the killed
            # job comes back; either way the killed job is redelivered, and then finds its clip made.
            worker_log = tmp_path / "worker-2.log"
            _eventually(lambda: "taking over job" in worker_log.read_text(), 30, "the killed job redelivered")
            takeover_s = time.monotonic() - killed_at

        for candidate in candidates:
            status = candidate.status()
            assert status["is_complete"], status
            assert status["answers_recorded"] == 3, status
    assert did.clips_created == 3, (
        f"one clip per distinct question across both instances and both workers (takeover {takeover_s:.1f} s)"
    )
