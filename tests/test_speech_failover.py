"""SpeechService: Edge (through the simulator) fails over to the offline voice, behind a circuit breaker."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from edge_fixtures import QUESTION, FailingSynthesizer, FakeClock, decode_mp3, piper, simulator
from fakes import FakeSynthesizer
from interviewai.adapters.speech.piper import PiperSynthesizer
from interviewai.domain.errors import ProviderCategory, ProviderError
from interviewai.domain.speech import VoiceSettings
from interviewai.providers import build_speech_service
from interviewai.services.speech import BreakerState, CircuitBreaker, SpeechService
from interviewai.settings import Settings, SettingsError
from interviewai.simulators.edge_tts import EdgeTtsSimulator

__all__ = ["piper", "simulator"]  # fixtures

EDGE_TIMEOUT_S = 1.5
COOLDOWN_S = 60.0
# Room for one offline synthesis of QUESTION on a busy 2-core VM (it takes ~0.1-0.3 s when idle).
OFFLINE_MARGIN_S = 2.5


def _settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "_env_file": None,
        "data_dir": tmp_path,
        "tts_engines": "edge,piper",
        "edge_tts_timeout_s": EDGE_TIMEOUT_S,
        "tts_breaker_cooldown_s": COOLDOWN_S,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def service(
    simulator: EdgeTtsSimulator, piper: PiperSynthesizer, tmp_path: Path, clock: FakeClock
) -> SpeechService:
    return build_speech_service(_settings(tmp_path, edge_tts_url=simulator.url), piper, clock=clock)


async def test_edge_speaks_when_it_works(service: SpeechService, simulator: EdgeTtsSimulator) -> None:
    audio = await service.speak(QUESTION)

    assert (audio.engine, audio.voice) == ("edge", "en-US-JennyNeural")
    assert len(decode_mp3(audio.mp3)) > 0
    assert len(simulator.synthesis_requests()) == 1
    edge, offline = service.health()
    assert (edge.engine, edge.successes, edge.failures, edge.breaker) == ("edge", 1, 0, BreakerState.CLOSED)
    assert (offline.engine, offline.attempts) == ("piper", 0)


@pytest.mark.parametrize("fault", ["refuse", "drop", "no-audio", "delay", "forbidden"])
async def test_each_fault_is_spoken_by_the_offline_voice_within_the_timeout(
    service: SpeechService, simulator: EdgeTtsSimulator, fault: str
) -> None:
    await simulator.set_fault(fault, delay_s=30)
    started = time.perf_counter()
    audio = await service.speak(QUESTION)  # no exception reaches the caller
    elapsed = time.perf_counter() - started

    assert (audio.engine, audio.voice) == ("piper", "en_US-joe-medium")
    assert [w.word for w in audio.word_timings] == QUESTION.split()
    assert elapsed < EDGE_TIMEOUT_S + OFFLINE_MARGIN_S
    edge = service.health()[0]
    assert edge.failures == 1 and edge.breaker is BreakerState.OPEN
    assert edge.last_failure is not None and edge.last_failure.category in {
        ProviderCategory.CONNECTIVITY,
        ProviderCategory.NO_AUDIO,
        ProviderCategory.TIMEOUT,
        ProviderCategory.AUTH,
    }


async def test_breaker_skips_edge_then_probes_after_the_cool_down(
    service: SpeechService, simulator: EdgeTtsSimulator, clock: FakeClock
) -> None:
    await simulator.set_fault("no-audio")
    assert (await service.speak(QUESTION)).engine == "piper"
    assert len(simulator.synthesis_requests()) == 1

    await simulator.set_fault("none")  # Edge is back, but the breaker doesn't know yet
    clock.advance(COOLDOWN_S - 1)
    assert (await service.speak(QUESTION)).engine == "piper"
    assert len(simulator.synthesis_requests()) == 1  # Edge was not asked
    assert service.health()[0].skipped == 1

    clock.advance(1)  # cool-down over: the next request probes Edge
    assert service.breaker("edge").state is BreakerState.HALF_OPEN
    assert (await service.speak(QUESTION)).engine == "edge"
    assert len(simulator.synthesis_requests()) == 2
    assert service.breaker("edge").state is BreakerState.CLOSED


async def test_failed_probe_opens_the_breaker_for_another_cool_down(
    service: SpeechService, simulator: EdgeTtsSimulator, clock: FakeClock
) -> None:
    await simulator.set_fault("refuse")
    await service.speak(QUESTION)
    clock.advance(COOLDOWN_S)
    started = time.perf_counter()
    assert (await service.speak(QUESTION)).engine == "piper"  # the probe failed, fast (refused)
    assert time.perf_counter() - started < OFFLINE_MARGIN_S
    assert service.breaker("edge").state is BreakerState.OPEN
    assert service.health()[0].failures == 2

    await simulator.set_fault("none")
    clock.advance(COOLDOWN_S - 1)
    assert (await service.speak(QUESTION)).engine == "piper"
    assert simulator.synthesis_requests() == []


async def test_an_open_breaker_saves_the_timeout(service: SpeechService, simulator: EdgeTtsSimulator) -> None:
    await simulator.set_fault("delay", delay_s=30)
    first = time.perf_counter()
    await service.speak(QUESTION)
    first_s = time.perf_counter() - first
    second = time.perf_counter()
    await service.speak(QUESTION)
    second_s = time.perf_counter() - second
    assert first_s >= EDGE_TIMEOUT_S  # paid the Edge deadline once
    assert second_s < EDGE_TIMEOUT_S  # then Edge was skipped


async def test_cancelled_probe_lets_the_next_request_probe(
    service: SpeechService, simulator: EdgeTtsSimulator, clock: FakeClock
) -> None:
    await simulator.set_fault("no-audio")
    await service.speak(QUESTION)
    await simulator.set_fault("delay", delay_s=30)
    clock.advance(COOLDOWN_S)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):  # the caller goes away while the probe waits on Edge
            await service.speak(QUESTION)
    assert service.breaker("edge").state is BreakerState.HALF_OPEN  # due a probe, not stuck

    await simulator.set_fault("none")
    assert (await service.speak(QUESTION)).engine == "edge"


async def test_concurrent_requests_send_one_probe(
    service: SpeechService, simulator: EdgeTtsSimulator, clock: FakeClock
) -> None:
    await simulator.set_fault("no-audio")
    await service.speak(QUESTION)
    await simulator.set_fault("none")
    clock.advance(COOLDOWN_S)
    simulator.clear_requests()

    results = await asyncio.gather(*(service.speak(QUESTION) for _ in range(3)))
    assert sorted(a.engine for a in results) == ["edge", "piper", "piper"]
    assert len(simulator.synthesis_requests()) == 1


async def test_voices_list_edge_first_and_say_whether_usable(
    service: SpeechService, simulator: EdgeTtsSimulator
) -> None:
    voices = await service.list_voices()
    assert voices[0].engine == "edge" and voices[-1].engine == "piper"
    assert all(v.available for v in voices)
    assert {v.name for v in voices if v.engine == "piper"} == {"en_US-joe-medium"}

    await simulator.set_fault("forbidden")
    await service.speak(QUESTION)  # opens Edge's breaker
    voices = await service.list_voices()  # the live list is cached, but Edge can't speak now
    assert not any(v.available for v in voices if v.engine == "edge")
    assert all(v.available for v in voices if v.engine == "piper")


async def test_voices_fall_back_to_the_snapshot(
    simulator: EdgeTtsSimulator, piper: PiperSynthesizer, tmp_path: Path
) -> None:
    await simulator.set_fault("refuse")
    service = build_speech_service(_settings(tmp_path, edge_tts_url=simulator.url), piper)
    voices = await service.list_voices()
    edge_voices = [v for v in voices if v.engine == "edge"]
    assert edge_voices and {v.source for v in edge_voices} == {"snapshot"}
    assert not any(v.available for v in edge_voices)


async def test_engine_order_comes_from_settings(
    simulator: EdgeTtsSimulator, piper: PiperSynthesizer, tmp_path: Path
) -> None:
    offline_first = build_speech_service(
        _settings(tmp_path, edge_tts_url=simulator.url, tts_engines="piper,edge"), piper
    )
    assert offline_first.engine_order == ["piper", "edge"]
    assert (await offline_first.speak(QUESTION)).engine == "piper"
    assert simulator.requests == []
    only_offline = build_speech_service(_settings(tmp_path, tts_engines="piper"), piper)
    assert only_offline.engine_order == ["piper"]
    assert offline_first.engine_version("edge").startswith("edge-tts 7.")


async def test_cache_candidates_follow_the_breaker(
    service: SpeechService, simulator: EdgeTtsSimulator
) -> None:
    edge, offline = service.identity("edge"), service.identity("piper")
    assert edge.settings.voice == "en-US-JennyNeural" and edge.engine_version.startswith("edge-tts")
    assert service.cache_candidates() == [edge]  # Edge healthy: only its audio counts
    audio, identity = await service.speak_with_identity(QUESTION)
    assert (audio.engine, identity) == ("edge", edge)

    await simulator.set_fault("refuse")
    audio, identity = await service.speak_with_identity(QUESTION)
    assert (audio.engine, identity) == ("piper", offline)
    assert service.cache_candidates() == [edge, offline]  # outage: Edge's cache first, then offline


async def test_settings_reach_each_engine(
    simulator: EdgeTtsSimulator, piper: PiperSynthesizer, tmp_path: Path
) -> None:
    settings = _settings(
        tmp_path, edge_tts_url=simulator.url, tts_voice="en-US-AriaNeural", tts_rate="+10%", tts_pitch="-2Hz"
    )
    service = build_speech_service(settings, piper)
    audio = await service.speak("How do you handle conflict?")
    (request,) = simulator.synthesis_requests()
    assert (request.rate, request.volume, request.pitch) == ("+10%", "+0%", "-2Hz")
    assert request.voice is not None and "AriaNeural" in request.voice
    assert audio.voice == "en-US-AriaNeural"
    assert service.voice_settings("piper") == VoiceSettings("en_US-joe-medium", "+10%", "+0%", "-2Hz")


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [({"tts_voice": "Jenny"}, "TTS_VOICE"), ({"edge_tts_url": "http://127.0.0.1:1"}, "EDGE_TTS_URL")],
)
def test_bad_edge_settings_stop_the_start(
    piper: PiperSynthesizer, tmp_path: Path, overrides: dict[str, str], variable: str
) -> None:
    with pytest.raises(SettingsError, match=variable):
        build_speech_service(_settings(tmp_path, **overrides), piper)


# -- engine-independent policy, with fakes ----------------------------------------------------------


async def test_last_engine_is_tried_even_with_an_open_breaker(piper: PiperSynthesizer) -> None:
    clock = FakeClock()
    broken = FailingSynthesizer()
    service = SpeechService(
        [(broken, VoiceSettings("x")), (piper, VoiceSettings("en_US-joe-medium"))], cooldown_s=60, clock=clock
    )
    service.breaker("piper").record_failure()
    assert (await service.speak("Hello.")).engine == "piper"
    assert service.breaker("piper").state is BreakerState.CLOSED


async def test_every_engine_failing_is_one_provider_error() -> None:
    first, second = FailingSynthesizer("a"), FailingSynthesizer("b", ProviderCategory.TIMEOUT)
    service = SpeechService([(first, VoiceSettings("x")), (second, VoiceSettings("y"))], cooldown_s=60)
    with pytest.raises(ProviderError) as raised:
        await service.speak("Hello.")
    assert raised.value.provider == "speech" and raised.value.category is ProviderCategory.TIMEOUT
    assert "a: server" in raised.value.message and "b: timeout" in raised.value.message
    assert (first.calls, second.calls) == (1, 1)
    with pytest.raises(ValueError, match="empty"):
        await service.speak("   ")


def _state(breaker: CircuitBreaker) -> BreakerState:
    return breaker.state


def test_circuit_breaker_states() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(10.0, clock)
    # `state` is read through a function: mypy would keep it narrowed across the calls that change it.
    assert breaker.allow() and _state(breaker) is BreakerState.CLOSED
    breaker.record_failure()
    assert _state(breaker) is BreakerState.OPEN and not breaker.allow()
    assert breaker.retry_at == clock.now + 10.0
    clock.advance(10.0)
    assert _state(breaker) is BreakerState.HALF_OPEN
    assert breaker.allow()  # the probe
    assert not breaker.allow()  # only one
    breaker.release_probe()
    assert breaker.allow()  # the next caller probes instead
    breaker.record_success()
    assert _state(breaker) is BreakerState.CLOSED and breaker.retry_at is None


@pytest.mark.parametrize("bug", [TypeError("unsupported operand"), KeyError("boundary")])
async def test_a_bug_in_an_adapter_fails_over_without_tripping_its_breaker(bug: Exception) -> None:
    broken, healthy = FakeSynthesizer("broken"), FakeSynthesizer("healthy")
    broken.fail_with = bug
    service = SpeechService([(broken, VoiceSettings("a")), (healthy, VoiceSettings("b"))], cooldown_s=60)
    audio = await service.speak("Hello there.")
    assert audio.engine == "healthy"
    assert service.breaker("broken").state is BreakerState.CLOSED, "a bug is not an outage"
    assert service.health()[0].failures == 0
    broken.fail_with = ProviderError("broken", ProviderCategory.CONNECTIVITY, "refused", retryable=True)
    await service.speak("Hello again.")
    assert service.breaker("broken").state is BreakerState.OPEN, "a provider failure still opens it"
