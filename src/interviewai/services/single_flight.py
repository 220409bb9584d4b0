"""Single-flight production of media: one producer per content key across requests and processes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from interviewai.domain.media_index import MediaEntry, MediaState
from interviewai.domain.ports import MediaIndex

logger = logging.getLogger(__name__)

Producer = Callable[[MediaEntry], Awaitable[MediaEntry]]
Validator = Callable[[MediaEntry], Awaitable[bool]]

_FIRST_POLL_S = 0.05
_MAX_POLL_S = 1.0


def new_owner_id() -> str:
    """`host:pid:random`: who holds a claim, and enough to tell later whether that process is still alive."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_is_gone(owner: str, me: str) -> bool:
    """True when `owner` is known to be dead: on this host, its pid is gone (or a zombie), or it is our pid
    under another id (an earlier process that had our pid, as a restarted container's pid 1 does).
    Owners on other hosts, and ids of another shape, are never judged: their claims go stale instead."""
    host, _, rest = owner.partition(":")
    pid_text, _, _ = rest.partition(":")
    my_host = me.partition(":")[0]
    if host != my_host or not pid_text.isdigit() or owner == me:
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, under another user
    return _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    # A killed child its parent has not reaped yet still answers signal 0; Linux says "Z" in /proc.
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return any(line.startswith("State:") and "Z" in line.split()[1:2] for line in status.splitlines())


class FlightTimeout(Exception):
    """Nobody finished the key before the caller's deadline (the producer keeps going)."""


class SingleFlight:
    """The media index row is the lock; in-process waiters are woken at once, others poll the row."""

    def __init__(self, index: MediaIndex, owner_id: str, clock: Callable[[], float] = time.time) -> None:
        self._index = index
        self._owner = owner_id
        self._clock = clock
        self._done: dict[str, asyncio.Event] = {}

    @property
    def owner(self) -> str:
        """The claim id of this process (`new_owner_id`); a producer releases its claims under it."""
        return self._owner

    async def run(
        self,
        key: str,
        kind: str,
        produce: Producer,
        *,
        is_valid: Validator,
        stale_after_s: float,
        timeout_s: float,
    ) -> MediaEntry | None:
        """The ready entry for `key`, producing it here if nobody else is.

        Returns None when the key's claim was released without a result (the producer stored the media
        under another key), so the caller should look again. Raises FlightTimeout past `timeout_s`; a key
        whose last producer failed is claimed and produced again.
        """
        deadline = time.monotonic() + timeout_s
        poll = _FIRST_POLL_S
        saw_pending = False
        while True:
            entry = await self._index.get(key)
            if entry is not None and entry.state is MediaState.READY:
                if await is_valid(entry):
                    return entry
                logger.warning("media %s is missing or damaged; producing it again", key)
                await self._index.invalidate(key, "blob missing or damaged", self._clock())
                continue
            if entry is None and saw_pending:
                return None
            claim = await self._index.claim(key, kind, self._owner, self._clock(), stale_after_s)
            if claim.owned:
                return await self._produce(key, claim.entry, produce, stale_after_s)
            if claim.entry.state is MediaState.READY:
                continue
            gone = claim.entry.owner
            if claim.entry.state is MediaState.PENDING and gone and owner_is_gone(gone, self._owner):
                # Its owner died (kill -9, a crash): waiting out the staleness would only stall the candidate.
                if await self._index.take_over(key, gone, self._owner, self._clock()):
                    logger.info("taking over %s %s: its owner %s is gone", kind, key, gone)
                    taken = await self._index.get(key)
                    if taken is not None:
                        return await self._produce(key, taken, produce, stale_after_s)
                continue
            saw_pending = True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FlightTimeout(f"{kind} {key} not ready within {timeout_s:.1f} s")
            await self._wait_for_news(key, min(poll, remaining))
            poll = min(poll * 1.5, _MAX_POLL_S)

    async def wait_settled(
        self, key: str, timeout_s: float, since: float, is_valid: Validator
    ) -> MediaEntry | None:
        """Wait up to `timeout_s` for `key` to be ready (and valid), or to fail at or after `since`,
        without producing it. Returns the entry as it stands then (possibly pending, or None)."""
        deadline = time.monotonic() + timeout_s
        poll = _FIRST_POLL_S
        while True:
            entry = await self._index.get(key)
            if entry is not None and (
                (entry.state is MediaState.READY and await is_valid(entry))
                or (entry.state is MediaState.FAILED and entry.updated_at >= since)
            ):
                return entry
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return entry
            await self._wait_for_news(key, min(poll, remaining))
            poll = min(poll * 1.5, _MAX_POLL_S)

    async def _produce(
        self, key: str, claimed: MediaEntry, produce: Producer, stale_after_s: float
    ) -> MediaEntry:
        try:
            async with self._heartbeat(key, stale_after_s / 3):
                return await produce(claimed)
        except asyncio.CancelledError:
            # Let a later request take over at once instead of waiting for the claim to go stale.
            with contextlib.suppress(Exception):
                await asyncio.shield(self._index.mark_failed(key, self._owner, "cancelled", self._clock()))
            raise
        except Exception as error:
            await self._index.mark_failed(key, self._owner, str(error) or type(error).__name__, self._clock())
            raise
        finally:
            self._notify(key)

    @contextlib.asynccontextmanager
    async def _heartbeat(self, key: str, interval_s: float) -> AsyncIterator[None]:
        async def beat() -> None:
            while True:
                await asyncio.sleep(interval_s)
                if not await self._index.heartbeat(key, self._owner, self._clock()):
                    logger.warning("lost the claim on %s", key)
                    return

        task = asyncio.get_running_loop().create_task(beat(), name=f"heartbeat:{key[:12]}")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _wait_for_news(self, key: str, timeout_s: float) -> None:
        event = self._done.setdefault(key, asyncio.Event())
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(event.wait(), timeout_s)

    def _notify(self, key: str) -> None:
        event = self._done.pop(key, None)
        if event is not None:
            event.set()
