"""JobQueue on taskiq: the in-memory broker runs jobs in this process (a Redis broker swaps in later)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from taskiq import AsyncBroker, InMemoryBroker

from interviewai.domain.ports import JobHandler

logger = logging.getLogger(__name__)


class OwnedInMemoryBroker(InMemoryBroker):
    """InMemoryBroker whose running jobs are cancelled at shutdown instead of being left behind."""

    async def shutdown(self) -> None:
        running = list(self._running_tasks)
        for task in running:
            task.cancel()
        if running:
            await asyncio.wait(running, timeout=5)
        await super().shutdown()


class TaskiqJobQueue:
    def __init__(self, broker: AsyncBroker) -> None:
        self._broker = broker

    @classmethod
    def in_process(cls, max_running: int = 200) -> TaskiqJobQueue:
        return cls(OwnedInMemoryBroker(max_async_tasks=max_running, propagate_exceptions=False))

    def register(self, name: str, handler: JobHandler) -> None:
        async def logged(**arguments: Any) -> None:
            try:
                await handler(**arguments)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("job %s(%s) failed", name, arguments)

        self._broker.register_task(logged, task_name=name)

    async def enqueue(self, name: str, **arguments: str | int | float | bool) -> None:
        task = self._broker.find_task(name)
        if task is None:
            raise LookupError(f"no job named {name!r} is registered")
        await task.kiq(**arguments)

    async def start(self) -> None:
        await self._broker.startup()

    async def aclose(self) -> None:
        await self._broker.shutdown()
