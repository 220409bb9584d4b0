"""The OpenAI-compatible engine against the local simulator: real replies, every fault, and failover to the
offline model inside the same request."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from conftest import SettingsFactory
from interviewai.adapters.audio.decoding import wav_bytes
from interviewai.adapters.recognition.openai import OpenAiRecognizer
from interviewai.adapters.recognition.whisper import WhisperRecognizer
from interviewai.app import create_app
from interviewai.domain.errors import ProviderCategory, ProviderError
from interviewai.domain.recognition import PcmAudio
from interviewai.simulators.stt_openai import OpenAiSttSimulator
from spoken_audio import encode, word_error_rate
from stt_fixtures import CountingRecognizer, SpeakPcm, answer_voice, speak, whisper

__all__ = ["answer_voice", "speak", "whisper"]
TEXT = "We finished two days early, and nobody outside the team noticed the change."


@pytest.fixture
async def simulator(whisper: WhisperRecognizer) -> AsyncIterator[OpenAiSttSimulator]:
    async with OpenAiSttSimulator(whisper, delay_s=5.0) as sim:
        yield sim


def client_for(sim: OpenAiSttSimulator, key: str | None = None, timeout_s: float = 60.0) -> OpenAiRecognizer:
    return OpenAiRecognizer(sim.url, key or sim.api_key, "whisper-1", as_wav=wav_bytes, timeout_s=timeout_s)


async def test_the_engine_hears_through_the_simulator(simulator: OpenAiSttSimulator, speak: SpeakPcm) -> None:
    engine = client_for(simulator)
    try:
        audio = PcmAudio(speak(TEXT))
        heard = await engine.transcribe(audio, prompt="Tell me about a deadline.")
    finally:
        await engine.aclose()
    assert heard.engine == "openai" and heard.model == "whisper-1"
    assert word_error_rate(TEXT, heard.text) <= 0.2
    assert heard.words and all(0 <= w.start <= w.end <= audio.duration_s for w in heard.words)
    assert all(0 < w.confidence <= 1 for w in heard.words)
    sent = simulator.requests[-1]
    assert sent.status == 200 and sent.file_bytes == len(wav_bytes(audio))
    assert sent.fields["response_format"] == ["verbose_json"]
    assert sent.fields["timestamp_granularities[]"] == ["word"]
    assert sent.fields["model"] == ["whisper-1"] and sent.fields["language"] == ["en"]
    assert sent.fields["prompt"] == ["Tell me about a deadline."]


@pytest.mark.parametrize(
    ("fault", "category"),
    [
        ("server-error", ProviderCategory.SERVER),
        ("rate-limit", ProviderCategory.RATE_LIMIT),
        ("garbage", ProviderCategory.UNKNOWN),
        ("auth", ProviderCategory.AUTH),
        ("refuse", ProviderCategory.CONNECTIVITY),
        ("delay", ProviderCategory.TIMEOUT),
    ],
)
async def test_every_fault_is_a_provider_error(
    simulator: OpenAiSttSimulator, speak: SpeakPcm, fault: str, category: ProviderCategory
) -> None:
    await simulator.set_fault(fault)
    engine = client_for(simulator, timeout_s=1.0 if fault == "delay" else 60.0)
    try:
        with pytest.raises(ProviderError) as raised:
            await engine.transcribe(PcmAudio(speak(TEXT)))
    finally:
        await engine.aclose()
    assert raised.value.category is category
    if fault == "rate-limit":
        assert raised.value.retry_after_s == 2.0


async def test_a_wrong_key_is_an_auth_error(simulator: OpenAiSttSimulator, speak: SpeakPcm) -> None:
    engine = client_for(simulator, key="sk-wrong")
    try:
        with pytest.raises(ProviderError) as raised:
            await engine.transcribe(PcmAudio(speak(TEXT)))
    finally:
        await engine.aclose()
    assert raised.value.category is ProviderCategory.AUTH and not raised.value.retryable


async def test_failover_to_the_local_model_inside_the_same_request(
    simulator: OpenAiSttSimulator, whisper: WhisperRecognizer, make_settings: SettingsFactory, speak: SpeakPcm
) -> None:
    local = CountingRecognizer(whisper)
    settings = make_settings(stt_api_url=simulator.url, stt_api_key=simulator.api_key)
    assert settings.stt_engine_order == ["openai", "whisper"]
    app = create_app(settings, recognizers={"whisper": local})
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            session_id = (await client.post("/api/v1/interview/start")).json()["session_id"]
            data = encode(speak(TEXT), "ogg")

            async def answer(question_id: int) -> httpx.Response:
                return await client.post(
                    f"/api/v1/interview/{session_id}/answer",
                    data={"question_id": str(question_id)},
                    files={"audio": ("a.ogg", data, "audio/ogg")},
                )

            first = await answer(1)  # the endpoint answers
            assert first.status_code == 200 and local.calls == []
            await simulator.set_fault("server-error")
            second = await answer(2)  # the endpoint fails: the local model hears it in the same request
            assert second.status_code == 200, second.text
            assert word_error_rate(TEXT, second.json()["answer_transcript"]) <= 0.2
            assert len(local.calls) == 1 and simulator.requests[-1].status == 500
            count = len(simulator.requests)
            third = await answer(3)  # its breaker is open now: not asked at all
            assert third.status_code == 200 and len(simulator.requests) == count and len(local.calls) == 2
            summary = (await client.delete(f"/api/v1/interview/{session_id}")).json()["summary"]
    assert [q["answer_source"] for q in summary["questions"][:3]] == ["speech"] * 3
