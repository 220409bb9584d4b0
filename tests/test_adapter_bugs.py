"""A bug of ours inside an adapter (TypeError, KeyError, AttributeError) stays itself: it never becomes a
ProviderError that opens a breaker, while a real fault of the same adapter still does."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import DateTime, bindparam, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from fakes import FakeSynthesizer
from interviewai.adapters.blobs import s3
from interviewai.adapters.recognition.openai import OpenAiRecognizer
from interviewai.adapters.recognition.whisper import WhisperRecognizer
from interviewai.adapters.speech.edge import EdgeSynthesizer
from interviewai.adapters.speech.piper import PiperSynthesizer
from interviewai.adapters.store.guard import GuardedEngine
from interviewai.domain.errors import ProviderCategory, ProviderError, StoreUnavailable
from interviewai.domain.recognition import PcmAudio, Transcript
from interviewai.domain.speech import VoiceSettings
from interviewai.services.recognition import RecognitionService
from interviewai.services.speech import BreakerState, SpeechService

SILENCE = PcmAudio(b"\x00\x00" * 16000)
EDGE_VOICE = VoiceSettings("en-US-JennyNeural")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens here once the socket is closed: connections are refused


class _MisreadStream:
    """An edge-tts request whose stream yields a chunk without the `type` our loop indexes."""

    def __init__(self) -> None:
        self.state: dict[str, Any] = {}

    async def stream(self) -> AsyncIterator[dict[str, Any]]:
        yield {"data": b"\xff\xf3"}


class MisreadingEdge(EdgeSynthesizer):
    def communicate(self, text: str, settings: VoiceSettings) -> Any:
        return _MisreadStream()


async def test_edge_a_bug_fails_over_without_its_breaker_a_refused_connection_opens_it() -> None:
    broken = MisreadingEdge(phonemize_word=lambda word: [word])  # its request never leaves the process
    with pytest.raises(KeyError):
        await broken.synthesize("Hello there.", EDGE_VOICE)
    offline = FakeSynthesizer("offline")
    service = SpeechService([(broken, EDGE_VOICE), (offline, VoiceSettings("joe"))], cooldown_s=60)
    assert (await service.speak("Hello there.")).engine == "offline"
    assert service.breaker("edge").state is BreakerState.CLOSED and service.health()[0].failures == 0

    refused = EdgeSynthesizer(
        phonemize_word=lambda word: [word], endpoint_url=f"ws://127.0.0.1:{_closed_port()}"
    )
    with pytest.raises(ProviderError) as raised:
        await refused.synthesize("Hello there.", EDGE_VOICE)
    assert raised.value.category is ProviderCategory.CONNECTIVITY
    service = SpeechService([(refused, EDGE_VOICE), (offline, VoiceSettings("joe"))], cooldown_s=60)
    assert (await service.speak("Hello again.")).engine == "offline"
    assert service.breaker("edge").state is BreakerState.OPEN


class MisreadingPiper(PiperSynthesizer):
    def _phonemize_word(self, spoken: str) -> str:
        raise KeyError(spoken)  # a lookup of ours that misses


async def test_piper_a_bug_is_internal_not_a_provider_failure(model_dir: Path) -> None:
    voice = MisreadingPiper.load(model_dir, warm_up=False)
    try:
        with pytest.raises(KeyError):
            await voice.synthesize("Hello there.", VoiceSettings("joe"))
        service = SpeechService([(voice, VoiceSettings("joe"))], cooldown_s=60)
        with pytest.raises(ProviderError) as raised:
            await service.speak("Hello there.")
    finally:
        voice.close()
    # The last engine had the bug: the caller gets category internal (a logged 500), not an outage (503).
    assert raised.value.category is ProviderCategory.INTERNAL
    assert service.breaker("piper").state is BreakerState.CLOSED


class _Word:
    word, start, end = " hello", 0.0, 0.4  # no `probability`: reading it is a bug of ours


class _Segment:
    text, words = " hello", [_Word()]


class _FakeModel:
    def __init__(self, failure: Exception | None = None) -> None:
        self.failure = failure

    def transcribe(self, samples: Any, **options: Any) -> tuple[list[_Segment], None]:
        if self.failure is not None:
            raise self.failure
        return [_Segment()], None


class LoadedWhisper(WhisperRecognizer):
    """The real adapter around a stand-in for the CTranslate2 model."""

    def __init__(self, model: _FakeModel, model_dir: Path) -> None:
        super().__init__("tiny.en", model_dir=model_dir)
        self._fake = model

    def _loaded(self) -> Any:
        return self._fake


async def test_whisper_a_bug_stays_itself_a_model_failure_is_a_provider_error(tmp_path: Path) -> None:
    misread = LoadedWhisper(_FakeModel(), tmp_path)
    failing = LoadedWhisper(_FakeModel(RuntimeError("CUDA failed: out of memory")), tmp_path)
    try:
        with pytest.raises(AttributeError):
            await misread.transcribe(SILENCE)
        with pytest.raises(ProviderError) as raised:
            await failing.transcribe(SILENCE)
    finally:
        misread.close()
        failing.close()
    assert raised.value.provider == "whisper" and raised.value.category is ProviderCategory.UNKNOWN


class OfflineRecognizer:
    """The last engine in these tests: it always hears the same words."""

    engine, model = "offline", "fake"

    async def transcribe(self, audio: PcmAudio, prompt: str = "") -> Transcript:
        return Transcript("heard offline", (), audio.duration_s, self.engine, self.model)


def _endpoint(status: int, body: dict[str, Any]) -> OpenAiRecognizer:
    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            status, content=json.dumps(body).encode(), headers={"content-type": "application/json"}
        )

    return OpenAiRecognizer(
        "http://stt.invalid/v1", "key", "whisper-1", as_wav=lambda audio: audio.samples,
        transport=httpx.MockTransport(reply),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("status", "body", "trips"),
    [
        (200, {"text": "hello", "words": [{"start": 0.0, "end": 0.4}]}, False),  # we index `word`: our bug
        (200, {"text": "hello", "words": [{"word": "hello", "start": None, "end": 0.4}]}, False),
        (500, {"error": {"message": "overloaded"}}, True),
        (200, {"segments": []}, True),  # no text at all: the endpoint's fault
    ],
)
async def test_openai_recognition_only_real_faults_open_its_breaker(
    status: int, body: dict[str, Any], trips: bool
) -> None:
    endpoint = _endpoint(status, body)
    service = RecognitionService([endpoint, OfflineRecognizer()], cooldown_s=60)
    try:
        assert (await service.transcribe(SILENCE)).text == "heard offline"
    finally:
        await endpoint.aclose()
    assert service.breaker("openai").state is (BreakerState.OPEN if trips else BreakerState.CLOSED)
    assert service.health()[0].failures == (1 if trips else 0)


def test_s3_translation_passes_a_bug_on_and_classifies_a_refused_connection() -> None:
    for bug in (TypeError("unhashable type: 'dict'"), KeyError("ETag"), AttributeError("read")):
        with pytest.raises(type(bug)):
            s3._translate(bug, "get audio/a.mp3")  # the one translation every S3 call goes through
    refused = s3._translate(ConnectionRefusedError(111, "refused"), "get audio/a.mp3")
    assert (refused.provider, refused.category, refused.retryable) == (
        "s3",
        ProviderCategory.CONNECTIVITY,
        True,
    )


async def test_the_store_guard_passes_a_bug_on_and_translates_a_database_that_fails(tmp_path: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    guarded = GuardedEngine(engine, deadline_s=5)

    async def misread_a_column() -> None:
        async with guarded.connect() as connection:
            row = (await connection.execute(text("SELECT 1 AS one"))).one()
            row._mapping["two"]  # the bug: NoSuchColumnError, a KeyError

    try:
        with pytest.raises(TypeError):  # SQLAlchemy's StatementError around a value we should not pass
            async with guarded.connect() as connection:
                await connection.execute(select(bindparam("at", type_=DateTime())), {"at": "not a datetime"})
        with pytest.raises(KeyError):
            await misread_a_column()
    finally:
        await engine.dispose()
    missing = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'no such dir' / 'store.db'}")
    try:
        with pytest.raises(StoreUnavailable):  # the database cannot be opened: a real outage
            async with GuardedEngine(missing, deadline_s=5).connect() as connection:
                await connection.execute(text("SELECT 1"))
    finally:
        await missing.dispose()
