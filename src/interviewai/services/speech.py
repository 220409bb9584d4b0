"""Speaking a question: engines tried in the configured order, each behind a circuit breaker.

Failover policy:

* Engines are tried in ``TTS_ENGINES`` order (default Edge, then the offline piper voice). The first
  that returns audio speaks; ``SpokenAudio.engine``/``voice`` say which one did.
* No retry of the same engine. Edge's transient failures (refused, timeout, cut off, no audio) tend to
  repeat at once, a retry would double the candidate's wait before the offline voice takes over, and
  a no-audio reply may be throttling that a retry makes worse. The next engine *is* the retry.
* Every failure, transient or permanent, opens that engine's breaker: the engine is skipped for
  ``TTS_BREAKER_COOLDOWN_S`` so later requests don't each pay its timeout. After the cool-down one
  request is let through as a probe (half-open); its success closes the breaker, its failure opens it
  for another cool-down. Concurrent requests skip the engine while the probe is in flight.
* The last engine in the order is the last resort and is tried even when its breaker is open:
  skipping it could only turn a possible answer into a certain error.
* When every engine fails the caller gets one ``ProviderError`` (provider ``"speech"``) naming them all.
* An engine that raises anything but a ``ProviderError`` has a bug of ours: logged with its stack, the
  next engine is tried and the breaker is left alone; it counts as category ``internal`` (a logged 500
  when it was the last engine), never as the provider's failure.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from interviewai.deadlines import deadline
from interviewai.domain.errors import ProviderCategory, ProviderError
from interviewai.domain.media import VoiceIdentity
from interviewai.domain.ports import SpeechSynthesizer
from interviewai.domain.speech import SpokenAudio, VoiceInfo, VoiceSettings
from interviewai.observability import metrics
from interviewai.observability.tracing import span

logger = logging.getLogger(__name__)
# One attempt of one engine, however it fails to end (Edge has its own shorter EDGE_TTS_TIMEOUT_S);
# the default of TTS_ATTEMPT_TIMEOUT_S.
ATTEMPT_DEADLINE_S = 90.0
T = TypeVar("T")


class BreakerState(enum.Enum):
    """Closed: the engine is used. Open: it is skipped. Half-open: one probe is let through."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Closed → (failure) open → (cool-down over, one caller admitted) half-open → closed or open.

    ``clock`` is any monotonic seconds source; tests pass a fake one instead of sleeping.
    """

    def __init__(self, cooldown_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._opened_at = 0.0

    @property
    def state(self) -> BreakerState:
        """The state as of now (an open breaker whose cool-down is over reads as half-open)."""
        if self._state is BreakerState.OPEN and self._cooled_down():
            return BreakerState.HALF_OPEN
        return self._state

    @property
    def retry_at(self) -> float | None:
        """When (on ``clock``) an open breaker admits its probe; None unless open."""
        return self._opened_at + self._cooldown_s if self._state is BreakerState.OPEN else None

    def allow(self) -> bool:
        """May a request use the engine now? Admits exactly one probe once the cool-down is over."""
        if self._state is BreakerState.CLOSED:
            return True
        if self._state is BreakerState.OPEN and self._cooled_down():
            self._state = BreakerState.HALF_OPEN
            return True
        return False

    def record_success(self) -> None:
        """Closes the breaker: the engine answered (the probe's success too)."""
        self._state = BreakerState.CLOSED

    def record_failure(self) -> None:
        """Opens the breaker for a cool-down from now (the probe's failure too)."""
        self._state = BreakerState.OPEN
        self._opened_at = self._clock()

    def open_until(self, retry_at: float) -> None:
        """Open now and admit the next probe at ``retry_at`` (on ``clock``): another instance saw the failure."""
        self._state = BreakerState.OPEN
        self._opened_at = retry_at - self._cooldown_s

    def release_probe(self) -> None:
        """The probe ended without a verdict (cancelled): let the next request probe instead."""
        if self._state is BreakerState.HALF_OPEN:
            self._state = BreakerState.OPEN
            self._opened_at = self._clock() - self._cooldown_s

    def _cooled_down(self) -> bool:
        return self._clock() - self._opened_at >= self._cooldown_s


@dataclass(frozen=True)
class FailureRecord:
    """The last failure of an engine, for status endpoints."""

    category: ProviderCategory
    message: str
    retryable: bool
    at: float  # wall-clock seconds since the epoch


@dataclass(frozen=True)
class EngineHealth:
    """Counters and breaker state of one engine."""

    engine: str
    voice: str
    breaker: BreakerState
    attempts: int
    successes: int
    failures: int
    skipped: int
    consecutive_failures: int
    last_failure: FailureRecord | None
    last_success_at: float | None


@dataclass(kw_only=True)
class EngineSlot:
    """One engine's breaker and counters (speech synthesis and recognition keep the same ones)."""

    breaker: CircuitBreaker
    attempts: int = 0
    successes: int = 0
    failures: int = 0
    skipped: int = 0
    consecutive_failures: int = 0
    last_failure: FailureRecord | None = None
    last_success_at: float | None = None

    def health(self, engine: str, voice: str) -> EngineHealth:
        """The counters and breaker state as of now, under the given engine and voice names."""
        return EngineHealth(
            engine=engine,
            voice=voice,
            breaker=self.breaker.state,
            attempts=self.attempts,
            successes=self.successes,
            failures=self.failures,
            skipped=self.skipped,
            consecutive_failures=self.consecutive_failures,
            last_failure=self.last_failure,
            last_success_at=self.last_success_at,
        )

    async def attempt(
        self, engine: str, call: Callable[[], Awaitable[T]], wall_clock: Callable[[], float]
    ) -> T | ProviderError:
        """Run `call` once: a success closes the breaker, a provider failure opens it and is returned.

        An exception that is not a ProviderError (TypeError, KeyError...) is a bug of ours in the adapter,
        not the provider failing: it is logged with its stack and the next engine is tried, but it neither
        opens the breaker nor counts as the provider's failure (a breaker would hide the bug as an outage).
        """
        self.attempts += 1
        try:
            result = await call()
        except ProviderError as error:
            failure = error
        except asyncio.CancelledError:
            self.breaker.release_probe()
            raise
        except Exception as error:
            logger.exception("%s raised a non-provider error (a bug, not an outage)", engine)
            self.breaker.release_probe()
            bug = ProviderError(engine, ProviderCategory.INTERNAL, repr(error), retryable=False)
            bug.__cause__ = error  # the stack travels with it to the 500 that logs it, if nobody answers
            return bug
        else:
            self.breaker.record_success()
            self.successes += 1
            self.consecutive_failures = 0
            self.last_success_at = wall_clock()
            return result
        self.breaker.record_failure()
        metrics.count_provider_failure(failure)
        self.failures += 1
        self.consecutive_failures += 1
        self.last_failure = FailureRecord(failure.category, failure.message, failure.retryable, wall_clock())
        logger.warning("%s failed (%s); trying the next engine", engine, failure)
        return failure


SlotT = TypeVar("SlotT", bound=EngineSlot)


async def first_that_answers(
    slots: Sequence[SlotT],
    attempt: Callable[[SlotT], Awaitable[T | ProviderError]],
    provider: str,
    name: Callable[[SlotT], str],
) -> T:
    """Try the slots in order, skipping those whose breaker is open (but never the last one); the first
    answer wins, and when every one failed the caller gets one ProviderError from `provider`."""
    errors: list[ProviderError] = []
    last = len(slots) - 1
    for index, slot in enumerate(slots):
        if not slot.breaker.allow() and index != last:
            slot.skipped += 1
            continue
        result = await attempt(slot)
        if not isinstance(result, ProviderError):
            if errors:
                logger.info("%s answered after %s", name(slot), "; ".join(map(str, errors)))
            return result
        errors.append(result)
    raise ProviderError(
        provider,
        errors[-1].category,
        "every engine failed: " + "; ".join(str(e) for e in errors),
        retryable=any(e.retryable for e in errors),
    ) from errors[-1]


@dataclass(kw_only=True)
class _Engine(EngineSlot):
    synthesizer: SpeechSynthesizer
    settings: VoiceSettings


class SpeechService:
    """Speaks text with the first engine that can, failing over and remembering who failed."""

    def __init__(
        self,
        engines: Sequence[tuple[SpeechSynthesizer, VoiceSettings]],
        *,
        cooldown_s: float,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        voice_list_timeout_s: float = 10.0,
        attempt_timeout_s: float = ATTEMPT_DEADLINE_S,
    ) -> None:
        """``engines`` in the order to try them, each with the settings it speaks with (the caller owns
        them)."""
        if not engines:
            raise ValueError("SpeechService needs at least one engine")
        self._engines = [
            _Engine(synthesizer=s, settings=v, breaker=CircuitBreaker(cooldown_s, clock)) for s, v in engines
        ]
        self._wall_clock = wall_clock
        self._voice_list_timeout_s = voice_list_timeout_s
        self._attempt_timeout_s = attempt_timeout_s

    @property
    def engine_order(self) -> list[str]:
        """Engine names in the order they are tried (`TTS_ENGINES`)."""
        return [e.synthesizer.engine for e in self._engines]

    @property
    def breakers(self) -> dict[str, CircuitBreaker]:
        """Every engine's breaker by engine name (shared-health sync reads and sets them)."""
        return {slot.synthesizer.engine: slot.breaker for slot in self._engines}

    def breaker(self, engine: str) -> CircuitBreaker:
        """The breaker guarding ``engine`` (KeyError if it isn't configured)."""
        return self._slot(engine).breaker

    def voice_settings(self, engine: str) -> VoiceSettings:
        """What ``engine`` is asked to say things with (media keys include it)."""
        return self._slot(engine).settings

    def engine_version(self, engine: str) -> str:
        """The version string of ``engine`` (media keys include it; ``SpokenAudio.engine`` names it)."""
        return self._slot(engine).synthesizer.engine_version

    def identity(self, engine: str) -> VoiceIdentity:
        """What makes ``engine``'s output for a text unique: engine, version and voice settings."""
        slot = self._slot(engine)
        return VoiceIdentity(slot.synthesizer.engine, slot.synthesizer.engine_version, slot.settings)

    def cache_candidates(self) -> list[VoiceIdentity]:
        """Voices whose cached audio may be served now, best first: engines in order up to the first
        one that isn't skipped (its breaker is not open). So with Edge healthy only Edge's cache counts
        (a question the offline voice spoke during an outage is spoken again by Edge); during an outage
        Edge's cache is still preferred, then the offline voice's."""
        candidates: list[VoiceIdentity] = []
        for slot in self._engines:
            candidates.append(self.identity(slot.synthesizer.engine))
            if slot.breaker.state is not BreakerState.OPEN:
                break
        return candidates

    async def speak_with_identity(self, text: str) -> tuple[SpokenAudio, VoiceIdentity]:
        """``speak``, plus the identity of the engine that spoke (for content-addressed media keys)."""
        audio = await self.speak(text)
        return audio, self.identity(audio.engine)

    async def speak(self, text: str) -> SpokenAudio:
        """Speak ``text`` with the first engine that can (see the module docstring for the policy).

        Raises ValueError for empty text and ProviderError when every engine failed.
        """
        if not text.strip():
            raise ValueError("nothing to speak: the text is empty")
        return await first_that_answers(
            self._engines, lambda slot: self._attempt(slot, text), "speech", lambda s: s.synthesizer.engine
        )

    async def list_voices(self) -> list[VoiceInfo]:
        """All engines' voices in engine order; a voice is ``available`` only while its breaker is closed
        (or due a probe)."""
        voices: list[VoiceInfo] = []
        for slot in self._engines:
            try:
                async with deadline(self._voice_list_timeout_s):
                    listed = await slot.synthesizer.list_voices()
            except (ProviderError, asyncio.TimeoutError) as error:
                logger.warning("no voice list from %s: %s", slot.synthesizer.engine, error)
                continue
            usable = slot.breaker.state is not BreakerState.OPEN
            voices.extend(replace(v, available=v.available and usable) for v in listed)
        return voices

    def health(self) -> list[EngineHealth]:
        """Counters and breaker state per engine, in engine order."""
        return [e.health(e.synthesizer.engine, e.settings.voice) for e in self._engines]

    async def _attempt(self, slot: _Engine, text: str) -> SpokenAudio | ProviderError:
        engine = slot.synthesizer.engine

        async def bounded() -> SpokenAudio:
            # One attempt of one engine never outlives this, whatever the engine does inside.
            try:
                async with deadline(self._attempt_timeout_s):
                    with metrics.synthesis_timer(engine), span("speech.synthesize", engine=engine):
                        return await slot.synthesizer.synthesize(text, slot.settings)
            except asyncio.TimeoutError:
                raise ProviderError(
                    engine,
                    ProviderCategory.TIMEOUT,
                    f"no speech within {self._attempt_timeout_s:g} s (TTS_ATTEMPT_TIMEOUT_S)",
                    retryable=True,
                ) from None

        return await slot.attempt(engine, bounded, self._wall_clock)

    def _slot(self, engine: str) -> _Engine:
        for slot in self._engines:
            if slot.synthesizer.engine == engine:
                return slot
        raise KeyError(engine)
