"""Typed jobs (domain/jobs.py): each is found by its name, keeps the wire of the releases before it (a message
they queued still runs), and has exactly one handler in a built container."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import pytest
import redis.asyncio as aioredis

from interviewai.adapters.queue.taskiq_queue import TaskiqJobQueue
from interviewai.domain.jobs import JOBS, EvaluateAnswer, PrepareSession, RenderClip
from test_redis_worker import REDIS_URL, broker_queue

__all__ = ["broker_queue"]  # fixture
WAIT_S = 30.0
CLIP = RenderClip("Tell me about yourself.", "clip/abc", "audio/def")
# A render job exactly as the release before typed jobs wrote it to the Redis stream (captured from it).
PREVIOUS_RELEASE_MESSAGE = (
    b'{"task_id": "9c9aa9c0b5e74df6b676be9d17e6d2cd", "task_name": "render_clip", "labels": {},'
    b' "labels_types": {}, "args": [], "kwargs": {"text": "Tell me about yourself.", "key": "clip/abc",'
    b' "audio_key": "audio/def"}}'
)


def test_every_job_is_listed_under_its_wire_name_with_its_wire_fields() -> None:
    listed = (PrepareSession, EvaluateAnswer, RenderClip)
    assert {job.name: job for job in listed} == JOBS
    # These names and fields are what queued messages carry: changing one strands jobs in flight.
    assert {job.name: [f.name for f in fields(job)] for job in listed} == {
        "prepare_session_media": ["session_id"],
        "evaluate_answer": ["session_id", "position", "answer_sha"],
        "render_clip": ["text", "key", "audio_key"],
    }


async def test_the_in_process_queue_hands_each_handler_its_own_job() -> None:
    queue = TaskiqJobQueue.in_process()
    clips: asyncio.Queue[RenderClip] = asyncio.Queue()
    evaluations: asyncio.Queue[EvaluateAnswer] = asyncio.Queue()
    queue.register(RenderClip, clips.put)
    queue.register(EvaluateAnswer, evaluations.put)
    await queue.start()
    try:
        await queue.enqueue(CLIP)
        await queue.enqueue(EvaluateAnswer("session_x", 3, "sha"))
        assert await asyncio.wait_for(clips.get(), WAIT_S) == CLIP
        assert await asyncio.wait_for(evaluations.get(), WAIT_S) == EvaluateAnswer("session_x", 3, "sha")
    finally:
        await queue.aclose()


def test_a_job_has_one_type_and_one_handler() -> None:
    queue = TaskiqJobQueue.in_process()

    @dataclass(frozen=True)
    class Impostor:
        name: ClassVar[str] = "render_clip"
        text: str

    async def handler(job: RenderClip) -> None:
        return None

    async def impostor_handler(job: Impostor) -> None:
        return None

    with pytest.raises(LookupError, match="evaluate_answer, prepare_session_media, render_clip"):
        queue.ensure_handlers(JOBS.values())
    queue.register(RenderClip, handler)
    with pytest.raises(ValueError, match="has a handler already"):
        queue.register(RenderClip, handler)
    with pytest.raises(ValueError, match="Impostor takes the name 'render_clip' of RenderClip"):
        queue.register(Impostor, impostor_handler)
    with pytest.raises(LookupError, match=r"job\(s\) evaluate_answer, prepare_session_media$"):
        queue.ensure_handlers(JOBS.values())


@pytest.mark.redis
async def test_a_job_queued_by_the_previous_release_runs_and_a_new_one_is_written_the_same_way(
    broker_queue: str,
) -> None:
    queue = TaskiqJobQueue.redis(REDIS_URL, queue_name=broker_queue)
    ran: asyncio.Queue[RenderClip] = asyncio.Queue()
    queue.register(RenderClip, ran.put)
    await queue.start()  # creates the consumer group, which reads what is added from now on
    client = aioredis.Redis.from_url(REDIS_URL, socket_timeout=2)
    receiving = asyncio.get_running_loop().create_task(queue.receive(1), name="test-receiver")
    try:
        await client.xadd(broker_queue, {b"data": PREVIOUS_RELEASE_MESSAGE})
        assert await asyncio.wait_for(ran.get(), WAIT_S) == CLIP
        await queue.enqueue(CLIP)
        assert await asyncio.wait_for(ran.get(), WAIT_S) == CLIP
        entries: Any = await client.xrange(broker_queue)
    finally:
        receiving.cancel()
        await asyncio.gather(receiving, return_exceptions=True)
        await queue.aclose()
        await client.aclose()
    old, new = (json.loads(fields_[b"data"]) for _, fields_ in entries)
    assert new["task_name"] == old["task_name"] == "render_clip"
    assert new["kwargs"] == old["kwargs"] and new["args"] == old["args"] == []
