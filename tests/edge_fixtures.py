"""Fixtures and fakes shared by the Edge engine, failover and simulator tests (imported explicitly)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import numpy as np
import pytest

import audio_checks
from interviewai.adapters.speech.edge import EdgeSynthesizer, word_phonemizer
from interviewai.adapters.speech.piper import PiperSynthesizer
from interviewai.domain.errors import ProviderCategory, ProviderError
from interviewai.domain.speech import SpokenAudio, VoiceInfo, VoiceSettings
from interviewai.simulators.edge_tts import EdgeTtsSimulator

JENNY = VoiceSettings(voice="en-US-JennyNeural")
QUESTION = "Tell me about yourself, and your background with AWS."


@pytest.fixture(scope="module")
def piper(model_dir: Path) -> Iterator[PiperSynthesizer]:
    """The offline voice, loaded once per test module (the simulator speaks with it too)."""
    voice = PiperSynthesizer.load(model_dir, parallelism=2)
    yield voice
    voice.close()


@pytest.fixture
async def simulator(piper: PiperSynthesizer) -> AsyncIterator[EdgeTtsSimulator]:
    """The Edge simulator speaking with piper, its fault delay 30 s; stopped after the test."""
    async with EdgeTtsSimulator(piper, delay_s=30.0) as sim:
        yield sim


def edge_for(
    sim: EdgeTtsSimulator, piper: PiperSynthesizer, *, timeout_s: float = 10.0, clock: FakeClock | None = None
) -> EdgeSynthesizer:
    """An EdgeSynthesizer against the simulator, its visemes from piper's phonemes; `clock` replaces the
    monotonic clock."""
    return EdgeSynthesizer(
        phonemize_word=word_phonemizer(piper),
        endpoint_url=sim.url,
        timeout_s=timeout_s,
        clock=clock or time.monotonic,
    )


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        """The clock's reading in seconds."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock `seconds` forward."""
        self.now += seconds


class FailingSynthesizer:
    """A SpeechSynthesizer that always fails with the given category (a fake, not a mock)."""

    def __init__(self, engine: str = "broken", category: ProviderCategory = ProviderCategory.SERVER) -> None:
        self._engine = engine
        self._category = category
        self.calls = 0

    @property
    def engine(self) -> str:
        """The engine name this fake was given."""
        return self._engine

    @property
    def engine_version(self) -> str:
        """Always "0"."""
        return "0"

    async def synthesize(self, text: str, settings: VoiceSettings) -> SpokenAudio:
        """Always raises ProviderError of the configured category (retryable), counting the call in
        `calls`."""
        self.calls += 1
        raise ProviderError(self._engine, self._category, "always fails", retryable=True)

    async def list_voices(self) -> list[VoiceInfo]:
        """No voices."""
        return []


def decode_mp3(mp3: bytes, sample_rate: int = 22050) -> np.ndarray:
    """Mono float samples of an MP3 (fails if it is not one)."""
    return audio_checks.decode_mp3(mp3, sample_rate).samples
