"""The recogniser and the voice that speaks the test answers, loaded once per test session (import by name)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from interviewai.adapters.recognition.whisper import WhisperRecognizer
from interviewai.adapters.speech.piper import PiperSynthesizer
from interviewai.domain.errors import ProviderCategory, ProviderError
from interviewai.domain.recognition import PcmAudio, Transcript
from spoken_audio import speak_pcm

SpeakPcm = Callable[[str], bytes]


@pytest.fixture(scope="session")
def whisper(model_dir: Path) -> Iterator[WhisperRecognizer]:
    """The default engine (tiny.en from its package), shared by every test that recognises speech."""
    recognizer = WhisperRecognizer.load(model_dir=model_dir, parallelism=1, timeout_s=120.0)
    yield recognizer
    recognizer.close()


@pytest.fixture(scope="session")
def answer_voice(model_dir: Path) -> Iterator[PiperSynthesizer]:
    """The packaged piper voice, loaded once per test session, that speaks the candidates' answers."""
    voice = PiperSynthesizer.load(model_dir, parallelism=1)
    yield voice
    voice.close()


@pytest.fixture(scope="session")
def speak(answer_voice: PiperSynthesizer) -> SpeakPcm:
    """Known text as 16 kHz PCM with half a second of silence around it (each text synthesized once)."""
    spoken: dict[str, bytes] = {}

    def speak_text(text: str) -> bytes:
        if text not in spoken:
            spoken[text] = speak_pcm(answer_voice, text, pause_s=0.5)
        return spoken[text]

    return speak_text


class CountingRecognizer:
    """A real recogniser that counts what it is asked (to see that work is not done twice)."""

    def __init__(self, inner: WhisperRecognizer) -> None:
        self.inner = inner
        self.calls: list[float] = []  # the seconds of audio of each call
        self.called_at: list[float] = []  # time.monotonic() of each call

    @property
    def engine(self) -> str:
        """The wrapped recogniser's engine."""
        return self.inner.engine

    @property
    def model(self) -> str:
        """The wrapped recogniser's model."""
        return self.inner.model

    async def transcribe(self, audio: PcmAudio, prompt: str = "") -> Transcript:
        """Record the call's audio length and time, then recognise with the wrapped recogniser."""
        self.calls.append(audio.duration_s)
        self.called_at.append(time.monotonic())
        return await self.inner.transcribe(audio, prompt)


class BrokenRecognizer:
    """An engine that is down: every call fails the way an adapter reports it."""

    def __init__(self, engine: str = "openai") -> None:
        self._engine = engine
        self.calls = 0

    @property
    def engine(self) -> str:
        """The engine name this fake was given."""
        return self._engine

    @property
    def model(self) -> str:
        """Always "down"."""
        return "down"

    async def transcribe(self, audio: PcmAudio, prompt: str = "") -> Transcript:
        """Always raises ProviderError (connectivity, retryable), counting the call in `calls`."""
        self.calls += 1
        raise ProviderError(self._engine, ProviderCategory.CONNECTIVITY, "connection refused", retryable=True)
