"""Publishes the figures that are states rather than events (breakers, video on/off, job backlog)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from interviewai.observability import metrics
from interviewai.services.speech import EngineHealth


class HealthSource(Protocol):
    """What the gauges read the speech engines' breaker states from (SpeechService)."""

    def health(self) -> list[EngineHealth]:
        """Each speech engine's health now, breaker state included."""
        ...


class VideoSource(Protocol):
    """What the gauges read whether video is on from (VideoService)."""

    @property
    def video_on(self) -> bool:
        """True while talking-presenter video is on, False while audio-only."""
        ...


class GaugePublisher:
    """Sets the state gauges from the services; run at every scrape and periodically (for other processes)."""

    def __init__(
        self,
        speech: HealthSource,
        avatar: VideoSource,
        backlog: Callable[[], Awaitable[int | None]],
    ) -> None:
        self._speech = speech
        self._avatar = avatar
        self._backlog = backlog

    async def publish(self) -> None:
        """Set the breaker, video and job-backlog gauges from the services now; a backlog of None (unknown)
        leaves its gauge as it was."""
        self.publish_health(self._speech.health(), self._avatar.video_on)
        queued = await self._backlog()
        if queued is not None:
            metrics.set_jobs_queued(queued)

    @staticmethod
    def publish_health(engines: Sequence[EngineHealth], video_on: bool) -> None:
        """Set the breaker gauge of each engine and the video gauge; for callers that already hold the
        figures."""
        for engine in engines:
            metrics.set_breaker_state(engine.engine, engine.breaker.value)
        metrics.set_video_on(video_on)
