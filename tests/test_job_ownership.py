"""Owned background work (defect 7): jobs and the broker's keeper run in named tasks, say when they die,
and are gone after shutdown."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import httpx
import pytest
import redis.asyncio as aioredis

from conftest import SettingsFactory
from interviewai.adapters.queue.taskiq_queue import TaskiqJobQueue
from interviewai.app import create_app
from test_redis_worker import REDIS_URL, broker_queue

__all__ = ["broker_queue"]  # fixture
UNNAMED = re.compile(r"Task-\d+")
WAIT_S = 30.0


async def eventually(check: Callable[[], bool], timeout_s: float = WAIT_S) -> None:
    give_up = asyncio.get_running_loop().time() + timeout_s
    while not check():
        if asyncio.get_running_loop().time() > give_up:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


@dataclass(frozen=True)
class Stuck:
    name: ClassVar[str] = "stuck"
    n: int


@dataclass(frozen=True)
class Broken:
    name: ClassVar[str] = "broken"
    n: int


@dataclass(frozen=True)
class Slow:
    name: ClassVar[str] = "slow"
    n: int


def task_names(before: set[asyncio.Task[object]]) -> list[str]:
    return sorted(task.get_name() for task in asyncio.all_tasks() - before)


async def test_in_process_jobs_are_named_logged_when_they_die_and_cancelled_at_shutdown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue = TaskiqJobQueue.in_process()
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def stuck(job: Stuck) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def broken(job: Broken) -> None:
        raise RuntimeError("the job broke")

    queue.register(Stuck, stuck)
    queue.register(Broken, broken)
    await queue.start()
    before = set(asyncio.all_tasks())
    with caplog.at_level(logging.INFO, logger="interviewai.adapters.queue.taskiq_queue"):
        try:
            await queue.enqueue(Stuck(1))
            await queue.enqueue(Broken(2))
            await asyncio.wait_for(started.wait(), WAIT_S)
            assert any(name.startswith("job:stuck:") for name in task_names(before))
            await eventually(lambda: any("job broken" in r.getMessage() for r in caplog.records))
        finally:
            await queue.aclose()
    died = next(r for r in caplog.records if "job broken" in r.getMessage())
    assert died.levelno == logging.ERROR and died.exc_info is not None
    assert "the job broke" in str(died.exc_info[1])
    assert cancelled.is_set(), "the running job was cancelled at shutdown"
    assert not [n for n in task_names(before) if n.startswith("job:")], "no job task outlives the queue"
    # Being cancelled at shutdown is not dying: one line, no traceback (taskiq logs one for any exception).
    assert any(
        "job stuck" in r.getMessage() and "cancelled at shutdown" in r.getMessage() for r in caplog.records
    )
    assert not [r for r in caplog.records if r.exc_info and "stuck" in r.getMessage()]


async def test_every_task_the_app_runs_is_named_and_none_outlives_its_lifespan(
    make_settings: SettingsFactory,
) -> None:
    app = create_app(make_settings(lookahead=True))
    before = set(asyncio.all_tasks())
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        response = await client.post("/api/v1/interview/start")  # queues the look-ahead job
        assert response.status_code == 200, response.text
        await eventually(lambda: any(name.startswith("job:") for name in task_names(before)))
        running = task_names(before)
        assert not [name for name in running if UNNAMED.fullmatch(name)], running
    assert task_names(before) == [], "every task is cancelled at shutdown"


@pytest.mark.redis
async def test_the_brokers_keeper_is_named_survives_redis_errors_and_stops_with_the_worker(
    broker_queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    queue = TaskiqJobQueue.redis(REDIS_URL, queue_name=broker_queue, redeliver_after_s=0.6)
    running, release = asyncio.Event(), asyncio.Event()

    async def slow(job: Slow) -> None:
        running.set()
        await release.wait()

    queue.register(Slow, slow)
    await queue.start()
    before = set(asyncio.all_tasks())
    receiving = asyncio.get_running_loop().create_task(queue.receive(1), name="test-receiver")
    client = aioredis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        await queue.enqueue(Slow(1))
        await asyncio.wait_for(running.wait(), WAIT_S)
        assert "keep-jobs-in-hand" in task_names(before)
        # The stream goes away under a running job: refreshing its claim fails with a Redis error
        # (NOGROUP), which the keeper reports and outlives.
        with caplog.at_level(logging.WARNING, logger="interviewai.adapters.queue.taskiq_queue"):
            await client.delete(broker_queue)
            await eventually(lambda: any("could not refresh" in r.getMessage() for r in caplog.records))
            await asyncio.sleep(0.5)  # another round or two of the keeper
        assert "keep-jobs-in-hand" in task_names(before), "the keeper outlived the error"
        assert not any("died" in r.getMessage() for r in caplog.records)
    finally:
        release.set()
        receiving.cancel()
        await asyncio.gather(receiving, return_exceptions=True)
        await queue.aclose()
        await client.aclose()
    assert "keep-jobs-in-hand" not in task_names(before), "the keeper stops with the broker"
