"""Owned background tasks: named, kept in a registry, cancelled with a deadline at shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

logger = logging.getLogger(__name__)


class BackgroundTasks:
    """The registry of the app's long-running tasks: each has a unique name, a task that dies is logged, and
    `aclose` cancels what is left. Use on the event loop only."""

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[Any]] = {}

    def spawn(self, name: str, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Start `coroutine` as the task `name` on the running loop; RuntimeError (the coroutine closed) while
        a task of that name still runs."""
        if name in self._tasks and not self._tasks[name].done():
            coroutine.close()
            raise RuntimeError(f"background task {name!r} is already running")
        task = asyncio.get_running_loop().create_task(coroutine, name=name)
        self._tasks[name] = task
        task.add_done_callback(self._forget)
        return task

    def every(self, name: str, interval_s: float, job: Callable[[], Awaitable[object]]) -> asyncio.Task[Any]:
        """Run `job` every `interval_s` seconds; a failing run is logged and the loop goes on."""

        async def loop() -> None:
            while True:
                await asyncio.sleep(interval_s)
                try:
                    await job()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    logger.exception("periodic task %s failed", name)

        return self.spawn(name, loop())

    @property
    def names(self) -> list[str]:
        """Names of the tasks still running, sorted."""
        return sorted(self._tasks)

    async def aclose(self, timeout_s: float = 5.0) -> None:
        """Cancel every task and wait up to `timeout_s` seconds for them to finish; a task still running after
        that is let go."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s)
        self._tasks.clear()

    def _forget(self, task: asyncio.Task[Any]) -> None:
        if self._tasks.get(task.get_name()) is task:
            del self._tasks[task.get_name()]
        if not task.cancelled() and task.exception() is not None:
            logger.error("background task %s died", task.get_name(), exc_info=task.exception())
