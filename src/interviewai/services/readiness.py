"""Readiness: do the things a request needs (store, blob store, broker, shared health) answer right now?"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from interviewai.deadlines import deadline

logger = logging.getLogger(__name__)

Check = Callable[[], Awaitable[object]]
# One dependency that takes longer than this to answer counts as down.
CHECK_DEADLINE_S = 3.0
OK = "ok"


class Readiness:
    """Named checks, run at once, each under a deadline; a check passes when it returns at all."""

    def __init__(self, checks: Mapping[str, Check], deadline_s: float = CHECK_DEADLINE_S) -> None:
        self._checks = dict(checks)
        self._deadline_s = deadline_s

    @property
    def names(self) -> list[str]:
        """The checks' names, sorted (the order of `report`)."""
        return sorted(self._checks)

    async def report(self) -> dict[str, str]:
        """name -> "ok", or "failed: <why>" for each check."""
        names = self.names
        outcomes = await asyncio.gather(*(self._run(self._checks[name]) for name in names))
        return dict(zip(names, outcomes, strict=True))

    async def _run(self, check: Check) -> str:
        try:
            async with deadline(self._deadline_s):
                await check()
        except (asyncio.TimeoutError, TimeoutError):
            return f"failed: no answer within {self._deadline_s:g} s"
        except Exception as error:  # noqa: BLE001 - readiness reports a dependency's failure rather than failing itself
            # Whatever a dependency raises, readiness reports it rather than failing itself.
            logger.warning("readiness check failed: %s", error)
            return f"failed: {getattr(error, 'message', None) or error or type(error).__name__}"
        return OK
