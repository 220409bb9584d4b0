"""JobQueue on taskiq: the in-memory broker runs jobs in this process; the Redis stream broker hands them to
`interviewai worker` processes.

Redis mode delivers at least once. A worker acknowledges a job only after it has run (``WHEN_EXECUTED``),
so a job whose worker died stays in the stream's pending list; another worker takes it over with
XAUTOCLAIM once it has been idle for ``redeliver_after_s``. A live worker keeps its jobs from looking idle
by re-claiming them for itself every third of that time, so a long clip is never handed to a second
worker while its first one is still alive. Running a job twice is harmless anyway: the media table's
single-flight claim lets one producer pay for a clip, and the recorded clip id is resumed by the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncGenerator, Iterable
from typing import Annotated, Any

from taskiq import AckableMessage, AsyncBroker, BrokerMessage, Context, InMemoryBroker, TaskiqDepends
from taskiq.acks import AcknowledgeType
from taskiq.exceptions import UnknownTaskError

from interviewai.deadlines import deadline
from interviewai.domain.jobs import JOBS, Job
from interviewai.domain.ports import JobHandler, JobT
from interviewai.observability import metrics
from interviewai.observability.jobs import job_context, job_labels
from interviewai.observability.tracing import enqueue_span

logger = logging.getLogger(__name__)

DEFAULT_QUEUE = "interviewai:jobs"
# Approximate trimming keeps the stream bounded; it must stay far above the jobs that can be pending at once,
# because a trimmed entry that was never acknowledged is lost.
DEFAULT_MAXLEN = 100_000
DEFAULT_REDELIVER_AFTER_S = 30.0
_RECONNECT_S = 1.0
# The default of JOB_ENQUEUE_TIMEOUT_S.
ENQUEUE_DEADLINE_S = 5.0
_SHUTDOWN_GRACE_S = 5.0


class OwnedInMemoryBroker(InMemoryBroker):
    """InMemoryBroker whose jobs are owned: each runs in a task named `job:<name>:<id>`, and the ones still
    running are cancelled at shutdown instead of being left behind (a job that fails is logged by
    `TaskiqJobQueue.register`'s wrapper)."""

    async def kick(self, message: BrokerMessage) -> None:
        """Start the job in a task named `job:<name>:<id>` that the broker keeps until it ends;
        UnknownTaskError for an unregistered name."""
        # InMemoryBroker.kick, with the task named after its job (taskiq's are "Task-<n>").
        if self.find_task(message.task_name) is None:
            raise UnknownTaskError(task_name=message.task_name)
        task = asyncio.create_task(
            self.receiver.callback(message=message.message),
            name=f"job:{message.task_name}:{message.task_id[:8]}",
        )
        self._running_tasks.add(task)
        task.add_done_callback(self._running_tasks.discard)

    async def shutdown(self) -> None:
        """Cancel the jobs still running, wait up to _SHUTDOWN_GRACE_S for them (logging any that stay), then
        shut the broker down."""
        running = list(self._running_tasks)
        for task in running:
            task.cancel()
        if running:
            _, stuck = await asyncio.wait(running, timeout=_SHUTDOWN_GRACE_S)
            for task in stuck:
                logger.error(
                    "job task %s did not stop within %g s of shutdown", task.get_name(), _SHUTDOWN_GRACE_S
                )
        await super().shutdown()


RESULT_TTL_S = 3600


def _stream_broker(url: str, queue_name: str, maxlen: int, redeliver_after_s: float) -> AsyncBroker:  # noqa: C901 - the broker's class is built here around redis, imported late; its methods count as this function's
    # Imported here: an embedded server never loads redis.
    from redis.asyncio import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import RedisError
    from redis.exceptions import TimeoutError as RedisTimeoutError
    from taskiq_redis import RedisAsyncResultBackend, RedisStreamBroker

    class ClaimKeepingStreamBroker(RedisStreamBroker):
        """RedisStreamBroker that takes over abandoned jobs even when no new job arrives, and keeps its own
        jobs from looking abandoned while they run.

        taskiq-redis 1.2's ``listen`` runs XAUTOCLAIM only after a read that returned new messages, so a
        worker started after another one died would not pick up the dead one's job until new work
        arrived; and its claim lock has no timeout by default. This ``listen`` claims on every round.
        """

        def __init__(self) -> None:
            idle_ms = max(1, int(redeliver_after_s * 1000))
            super().__init__(
                url,
                queue_name=queue_name,
                consumer_group_name=queue_name,
                maxlen=maxlen,
                approximate=True,
                idle_timeout=idle_ms,
                xread_block=min(2000, idle_ms),
                xread_count=1,
            )
            self._in_hand: set[str] = set()
            self._keeper: asyncio.Task[None] | None = None
            self._claim_cursor = "0-0"

        async def listen(self) -> AsyncGenerator[AckableMessage, None]:
            if self._keeper is None:
                self._keeper = asyncio.get_running_loop().create_task(
                    self._keep_in_hand(), name="keep-jobs-in-hand"
                )
                self._keeper.add_done_callback(_log_death)
            while True:
                try:
                    async with Redis(connection_pool=self.connection_pool) as redis:
                        while True:
                            for message_id, data in await self._read_new(redis):
                                yield self._ackable(message_id, data)
                            for message_id, data in await self._claim_abandoned(redis):
                                logger.warning("taking over job %s from a worker that went quiet", message_id)
                                yield self._ackable(message_id, data)
                except (RedisConnectionError, RedisTimeoutError) as error:
                    logger.warning("lost the job broker (%s); retrying in %g s", error, _RECONNECT_S)
                    await asyncio.sleep(_RECONNECT_S)

        async def _read_new(self, redis: Redis) -> list[tuple[str, bytes]]:
            fetched: Any = await redis.xreadgroup(
                self.consumer_group_name,
                self.consumer_name,
                {self.queue_name: ">"},
                block=self.block,
                count=self.count,
                noack=False,
            )
            return [
                (_text(i), fields[b"data"]) for _stream, entries in fetched or [] for i, fields in entries
            ]

        async def _claim_abandoned(self, redis: Redis) -> list[tuple[str, bytes]]:
            reply: Any = await redis.xautoclaim(
                self.queue_name,
                self.consumer_group_name,
                self.consumer_name,
                min_idle_time=self.idle_timeout,
                start_id=self._claim_cursor,
                count=self.unacknowledged_batch_size,
            )
            self._claim_cursor = _text(reply[0])
            # Entries trimmed away while pending come back empty (or in reply[2]): nothing left to run.
            return [(_text(i), fields[b"data"]) for i, fields in reply[1] if fields and b"data" in fields]

        def _ackable(self, message_id: str, data: bytes) -> AckableMessage:
            self._in_hand.add(message_id)

            async def ack() -> None:
                self._in_hand.discard(message_id)
                async with Redis(connection_pool=self.connection_pool) as redis:
                    await redis.xack(self.queue_name, self.consumer_group_name, message_id)

            return AckableMessage(data=data, ack=ack)

        async def _keep_in_hand(self) -> None:
            while True:
                await asyncio.sleep(self.idle_timeout / 3000)
                if not self._in_hand:
                    continue
                try:
                    async with Redis(connection_pool=self.connection_pool) as redis:
                        await redis.xclaim(
                            self.queue_name,
                            self.consumer_group_name,
                            self.consumer_name,
                            min_idle_time=0,
                            message_ids=list(self._in_hand),
                            justid=True,
                        )
                except RedisError as error:
                    # Any Redis failure (down, or the stream deleted under us): try again next round; a
                    # keeper that died would let other workers take over jobs still running here.
                    logger.warning("could not refresh running jobs: %s", error)

        async def shutdown(self) -> None:
            keeper, self._keeper = self._keeper, None
            if keeper is not None:
                keeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await keeper
            await super().shutdown()

    # Job outcomes live in the media table; the result backend only keeps taskiq's own records of
    # each run for an hour (inspection, `wait_result` in tools), then Redis expires them.
    return ClaimKeepingStreamBroker().with_result_backend(
        RedisAsyncResultBackend(url, result_ex_time=RESULT_TTL_S)
    )


def _log_death(task: asyncio.Task[None]) -> None:
    """An owned task that ends other than by cancellation says so (it should run until shutdown)."""
    if not task.cancelled() and task.exception() is not None:
        logger.error("background task %s died", task.get_name(), exc_info=task.exception())


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _fields(job: Job) -> dict[str, Any]:
    assert dataclasses.is_dataclass(job) and not isinstance(job, type), f"{job!r} is not a job dataclass"
    return {field.name: getattr(job, field.name) for field in dataclasses.fields(job)}


class TaskiqJobQueue:
    """JobQueue on taskiq: in-process by default, or a Redis stream read by `interviewai worker` processes."""

    def __init__(
        self, broker: AsyncBroker, *, distributed: bool = False, enqueue_timeout_s: float = ENQUEUE_DEADLINE_S
    ) -> None:
        self._broker = broker
        self._distributed = distributed
        self._enqueue_timeout_s = enqueue_timeout_s
        # Jobs queued here and not yet started (in-process broker; a Redis stream reports its own backlog).
        self._waiting = 0

    @classmethod
    def in_process(
        cls, max_running: int = 200, *, enqueue_timeout_s: float = ENQUEUE_DEADLINE_S
    ) -> TaskiqJobQueue:
        """A queue whose jobs run in this process, at most `max_running` at once."""
        return cls(
            OwnedInMemoryBroker(max_async_tasks=max_running, propagate_exceptions=False),
            enqueue_timeout_s=enqueue_timeout_s,
        )

    @classmethod
    def redis(
        cls,
        url: str,
        *,
        queue_name: str = DEFAULT_QUEUE,
        maxlen: int = DEFAULT_MAXLEN,
        redeliver_after_s: float = DEFAULT_REDELIVER_AFTER_S,
        enqueue_timeout_s: float = ENQUEUE_DEADLINE_S,
    ) -> TaskiqJobQueue:
        """Jobs go to the Redis stream `queue_name` (consumer group of the same name); this process only
        enqueues unless it calls `receive`. Results are kept an hour in Redis; outcomes that matter are in
        the media table."""
        return cls(
            _stream_broker(url, queue_name, maxlen, redeliver_after_s),
            distributed=True,
            enqueue_timeout_s=enqueue_timeout_s,
        )

    @property
    def distributed(self) -> bool:
        """Jobs run in worker processes, not here."""
        return self._distributed

    def register(self, job_type: type[JobT], handler: JobHandler[JobT]) -> None:
        """Register `handler` as the taskiq task `job_type.name`; each run gets the job rebuilt from the
        message's keyword arguments, is logged, measured and carries the queuing request's log context."""
        name = job_type.name
        if JOBS.get(name, job_type) is not job_type:
            raise ValueError(f"{job_type.__name__} takes the name {name!r} of {JOBS[name].__name__}")
        if self._broker.find_task(name) is not None:
            # taskiq would silently keep the last one: two services cannot own one job.
            raise ValueError(f"job {name!r} has a handler already")

        # The job runs as part of the request that queued it: its labels carry the request id (and trace).
        async def logged(context: Annotated[Context, TaskiqDepends()], **arguments: Any) -> None:
            if not self._distributed:
                self._waiting = max(0, self._waiting - 1)
            try:
                with job_context(name, context.message.labels), metrics.job_running(name):
                    await handler(job_type(**arguments))
            except asyncio.CancelledError:
                if self._distributed:
                    raise
                # Shutdown (the in-process broker cancels its jobs). taskiq's receiver would log any
                # BaseException as a failure with its traceback; this is not one, and nothing waits for the
                # task's result, so it ends here with one line.
                logger.info("job %s(%s) cancelled at shutdown", name, arguments)
            except Exception:
                logger.exception("job %s(%s) failed", name, arguments)

        self._broker.register_task(logged, task_name=name)

    async def enqueue(self, job: Job) -> None:
        """Send the job to the broker within JOB_ENQUEUE_TIMEOUT_S; LookupError for a job with no handler,
        TimeoutError when the broker does not take it in time."""
        name = job.name
        task = self._broker.find_task(name)
        if task is None:
            raise LookupError(f"no job named {name!r} is registered")
        if not self._distributed:
            self._waiting += 1
        try:
            # A broker that hangs must not hang the request that queues: it fails after a short deadline.
            async with deadline(self._enqueue_timeout_s):
                with enqueue_span(name):
                    # The fields travel as the task's keyword arguments: the wire of the releases before
                    # jobs were dataclasses, so a message either one queued runs on the other.
                    await task.kicker().with_labels(**job_labels()).kiq(**_fields(job))
        except BaseException as error:
            if not self._distributed:
                self._waiting -= 1
            if isinstance(error, asyncio.TimeoutError):
                raise TimeoutError(
                    f"queueing job {name} took over {self._enqueue_timeout_s:g} s (JOB_ENQUEUE_TIMEOUT_S)"
                ) from None
            raise

    def ensure_handlers(self, job_types: Iterable[type[Job]]) -> None:
        """Raise LookupError naming each of `job_types` that has no handler here (a wiring mistake that would
        otherwise surface only when such a job is queued, or, on a worker, left pending in the stream)."""
        missing = sorted(t.name for t in job_types if self._broker.find_task(t.name) is None)
        if missing:
            raise LookupError(f"no handler registered for the job(s) {', '.join(missing)}")

    async def ping(self) -> None:
        """The broker answers (Redis PING); the in-process broker always does."""
        pool = getattr(self._broker, "connection_pool", None)
        if pool is None:
            return
        from redis.asyncio import Redis

        async with Redis(connection_pool=pool) as redis:
            await redis.ping()

    async def backlog(self) -> int | None:
        """Jobs queued and not yet started: the stream's lag for its consumer group with Redis (None if the
        broker cannot say), the in-process count otherwise."""
        if not self._distributed:
            return self._waiting
        pool = getattr(self._broker, "connection_pool", None)
        queue_name = getattr(self._broker, "queue_name", None)
        if pool is None or not isinstance(queue_name, str):
            return None
        from redis.asyncio import Redis
        from redis.exceptions import RedisError

        try:
            async with Redis(connection_pool=pool) as redis:
                groups: Any = await redis.xinfo_groups(queue_name)
        except RedisError:
            return None
        lags = [group.get("lag") for group in groups if isinstance(group, dict)]
        known = [int(lag) for lag in lags if isinstance(lag, int)]
        return max(known) if known else None

    async def start(self) -> None:
        """Start the broker (connects to Redis when distributed)."""
        await self._broker.startup()

    async def receive(self, max_running: int) -> None:
        """Run queued jobs here, at most `max_running` at once, until cancelled (worker processes only).

        A job is acknowledged after it ran; one cancelled by shutdown stays pending and is redelivered.
        """
        if not self._distributed:
            raise RuntimeError("the in-process queue runs its jobs already; receive() is for a broker")
        from taskiq.api import run_receiver_task

        await run_receiver_task(
            self._broker,
            max_async_tasks=max_running,
            max_prefetch=0,
            run_startup=False,
            ack_time=AcknowledgeType.WHEN_EXECUTED,
        )

    async def aclose(self) -> None:
        """Shut the broker down; in-process jobs still running are cancelled."""
        await self._broker.shutdown()
