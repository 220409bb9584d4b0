"""Provider health agreed by every instance: local breaker trips are published, others' are applied."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

from interviewai.domain.errors import ProviderError
from interviewai.domain.ports import HealthBoard
from interviewai.services.speech import BreakerState, SpeechService
from interviewai.services.video import FailureNote

logger = logging.getLogger(__name__)


class VideoSwitch(Protocol):
    """The part of the avatar service whose on/off and rate-limit state instances share."""

    @property
    def disabled_by(self) -> FailureNote | None:
        """Why video is off; None while it is on."""

    @property
    def paused_until(self) -> float:
        """Until when (epoch seconds) no clip is asked for because the provider rate-limited us; a past time
        when it did not."""

    def pause_until(self, until: float) -> None:
        """Asks for no clip until `until` (epoch seconds); an earlier time than the current pause changes
        nothing."""

    def switch_off(self, note: FailureNote) -> None:
        """Video off for the reason in `note` (another instance saw a permanent failure)."""

    def switch_on(self) -> None:
        """Video on again (the failure is gone from the board)."""


AVATAR = "avatar:d-id"
AVATAR_PAUSE = "avatar-rate-limit:d-id"
# How long a published "video off" lasts without being refreshed; the instance that saw it refreshes it.
AVATAR_DOWN_TTL_S = 300.0
# A published time this close to ours is the same news, not a new trip.
SAME_NEWS_S = 0.5


class SharedHealth:
    """One `sync()` pushes what this instance learned, then pulls what the others did.

    The board is the source of truth: an entry that disappears (the probe of some instance succeeded)
    closes the local breaker too, so instances never re-open each other in turns.
    """

    def __init__(
        self,
        board: HealthBoard,
        speech: SpeechService,
        avatar: VideoSwitch,
        *,
        wall_clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._board = board
        self._speech = speech
        self._avatar = avatar
        self._wall = wall_clock
        self._mono = monotonic
        self._published: dict[str, float] = {}

    async def sync(self) -> None:
        """One round: publishes this instance's breaker trips and video state, then applies the other
        instances'. A board that fails is logged and the round skipped; it never raises."""
        try:
            await self._push()
            await self._pull()
        except ProviderError as error:
            # Without the board each instance still has its own breakers; only the sharing pauses.
            logger.warning("provider health not shared this round: %s", error)

    async def _push(self) -> None:
        for name, breaker in self._speech.breakers.items():
            key = f"speech:{name}"
            retry_at = breaker.retry_at
            if retry_at is not None:
                until = self._wall() + (retry_at - self._mono())
                if abs(self._published.get(key, -1.0) - until) > SAME_NEWS_S:
                    await self._board.mark_down(key, until, f"{name} failed")
                    self._published[key] = until
            elif breaker.state is BreakerState.CLOSED and key in self._published:
                await self._board.mark_up(key)
                del self._published[key]
        note = self._avatar.disabled_by
        if note is not None and AVATAR not in self._published:
            until = self._wall() + AVATAR_DOWN_TTL_S
            await self._board.mark_down(AVATAR, until, f"{note.category}: {note.message}")
            self._published[AVATAR] = until
        elif note is None and AVATAR in self._published:
            await self._board.mark_up(AVATAR)
            del self._published[AVATAR]
        await self._push_pause()

    async def _push_pause(self) -> None:
        paused_until = self._avatar.paused_until
        if (
            paused_until > self._wall()
            and abs(self._published.get(AVATAR_PAUSE, -1.0) - paused_until) > SAME_NEWS_S
        ):
            await self._board.mark_down(AVATAR_PAUSE, paused_until, "rate limited")
            self._published[AVATAR_PAUSE] = paused_until

    async def _pull(self) -> None:
        board = await self._board.snapshot()
        now_wall, now_mono = self._wall(), self._mono()
        for name, breaker in self._speech.breakers.items():
            key = f"speech:{name}"
            entry = board.get(key)
            if entry is not None and entry[0] > now_wall:
                if breaker.state is BreakerState.CLOSED:
                    breaker.open_until(now_mono + (entry[0] - now_wall))
                    self._published[key] = entry[0]
            elif breaker.state is not BreakerState.CLOSED and key in self._published:
                breaker.record_success()
                del self._published[key]
        pause = board.get(AVATAR_PAUSE)
        if pause is not None and pause[0] > now_wall:
            self._avatar.pause_until(pause[0])
            self._published[AVATAR_PAUSE] = max(self._published.get(AVATAR_PAUSE, 0.0), pause[0])
        entry = board.get(AVATAR)
        if entry is not None and entry[0] > now_wall:
            if self._avatar.disabled_by is None:
                category, _, message = entry[1].partition(": ")
                self._avatar.switch_off(FailureNote(category, message, now_wall))
                self._published[AVATAR] = entry[0]
        elif self._avatar.disabled_by is not None and AVATAR in self._published:
            self._avatar.switch_on()
            del self._published[AVATAR]
