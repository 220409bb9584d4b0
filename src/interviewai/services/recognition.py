"""Recognising a spoken answer: engines tried in ``STT_ENGINES`` order, each behind a circuit breaker.

The policy is the one speech synthesis uses (services/speech.py): no retry of the same engine (the next
engine is the retry), every failure opens that engine's breaker for ``STT_BREAKER_COOLDOWN_S`` and one
request probes it after the cool-down, and the last engine is always tried. So with the OpenAI-compatible
endpoint first and the offline model second, an outage costs one request its failed attempt and later
answers go straight to the local model until the probe finds the endpoint back. When every engine fails
the caller gets one ``ProviderError`` (provider ``"recognition"``): the API answers 503
``provider_unavailable``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from interviewai.domain.errors import ProviderError
from interviewai.domain.ports import SpeechRecognizer
from interviewai.domain.recognition import PcmAudio, Transcript
from interviewai.observability import metrics
from interviewai.observability.tracing import span
from interviewai.services.speech import CircuitBreaker, EngineHealth, EngineSlot, first_that_answers

logger = logging.getLogger(__name__)


@dataclass(kw_only=True)
class _Recognizer(EngineSlot):
    recognizer: SpeechRecognizer


class RecognitionService:
    """Transcribes with the first engine that can, failing over and remembering who failed."""

    def __init__(
        self,
        engines: Sequence[SpeechRecognizer],
        *,
        cooldown_s: float,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if not engines:
            raise ValueError("RecognitionService needs at least one engine")
        self._engines = [
            _Recognizer(recognizer=e, breaker=CircuitBreaker(cooldown_s, clock)) for e in engines
        ]
        self._wall_clock = wall_clock

    @property
    def engine_order(self) -> list[str]:
        """Engine names in the order they are tried (`STT_ENGINES`)."""
        return [slot.recognizer.engine for slot in self._engines]

    def breaker(self, engine: str) -> CircuitBreaker:
        """The breaker guarding `engine` (StopIteration if it isn't configured)."""
        return next(s.breaker for s in self._engines if s.recognizer.engine == engine)

    async def transcribe(self, audio: PcmAudio, prompt: str = "") -> Transcript:
        """The first engine's transcript that comes back; ProviderError when every engine failed."""
        return await first_that_answers(
            self._engines, lambda slot: self._attempt(slot, audio, prompt), "recognition",
            lambda s: s.recognizer.engine,
        )  # fmt: skip

    def health(self) -> list[EngineHealth]:
        """Each engine's counters and breaker state, in order, for the status endpoints."""
        return [s.health(s.recognizer.engine, s.recognizer.model) for s in self._engines]

    async def _attempt(self, slot: _Recognizer, audio: PcmAudio, prompt: str) -> Transcript | ProviderError:
        async def transcribe() -> Transcript:
            with (
                metrics.recognition_timer(slot.recognizer.engine),
                span("speech.recognize", engine=slot.recognizer.engine),
            ):
                return await slot.recognizer.transcribe(audio, prompt)

        return await slot.attempt(slot.recognizer.engine, transcribe, self._wall_clock)
