"""`interviewai worker`: runs the media jobs that API instances queue on the Redis broker.

The worker builds the same container as the API, so the same services register the same handlers under the
same job names (``render_clip``, ``prepare_session_media``). It keeps the container's background tasks: the
avatar probe is what switches this process's video back on after a permanent provider failure, and the
session sweep and presenter-asset fetch are idempotent across processes (guarded by the database).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from interviewai.settings import Settings, SettingsError

logger = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 16


def run_worker(settings: Settings, *, concurrency: int = DEFAULT_CONCURRENCY) -> int:
    """Run jobs, at most `concurrency` at once, until SIGINT or SIGTERM; returns the exit status."""
    if not settings.broker_url:
        raise SettingsError(
            "Invalid configuration: BROKER_URL: interviewai worker needs a Redis broker (redis://...);"
            " without one the API runs its jobs itself"
        )
    if concurrency < 1:
        raise SettingsError("Invalid configuration: --concurrency: must be at least 1")
    asyncio.run(serve_jobs(settings, concurrency=concurrency))
    return 0


async def serve_jobs(settings: Settings, *, concurrency: int, stop: asyncio.Event | None = None) -> None:
    """Receive jobs until `stop` is set or the process gets SIGINT or SIGTERM.

    Jobs still running then are cancelled; they stay unacknowledged, so another worker runs them again.
    """
    from interviewai.container import build_container

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with build_container(settings) as container:
            receiving = loop.create_task(container.jobs.receive(concurrency), name="receive-jobs")
            stopping = loop.create_task(stop.wait(), name="wait-for-stop")
            logger.info("worker ready: at most %d jobs at once from %s", concurrency, settings.broker_queue)
            try:
                await asyncio.wait({receiving, stopping}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (receiving, stopping):
                    task.cancel()
                for task in (receiving, stopping):
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            logger.info("worker stopped")
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
