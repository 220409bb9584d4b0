"""Spoken answers over HTTP: a whole interview by voice, every bad recording refused, recordings kept."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from conftest import RunningApp, SettingsFactory
from interviewai.adapters.recognition.whisper import WhisperRecognizer
from interviewai.app import create_app
from interviewai.domain.ports import SpeechRecognizer
from interviewai.domain.recognition import SAMPLE_RATE
from spoken_audio import FORMATS, encode, word_error_rate
from stt_fixtures import BrokenRecognizer, CountingRecognizer, SpeakPcm, answer_voice, speak, whisper

__all__ = ["answer_voice", "speak", "whisper"]
ANSWERS = [
    "My name is Sam and I build backend services for online shops.",
    "My main strength is that I stay calm when things break.",
    "I asked both of them to write down the problems they expected.",
    "We moved the search feature to a new database in two weeks.",
    "I deployed a change without a review and it broke the login page.",
    "I would measure first, then add the missing indexes.",
    "A queue lets one part of a system hand work to another.",
    "I paired with him on his first few tasks.",
    "Your product helps small businesses, and that matters to me.",
    "Thank you, I would like to know how the team plans its work.",
]
AppFactory = Callable[..., Any]


@pytest.fixture
def counting(whisper: WhisperRecognizer) -> CountingRecognizer:
    return CountingRecognizer(whisper)


@pytest.fixture
async def open_app(make_settings: SettingsFactory) -> AsyncIterator[AppFactory]:
    """Start apps with given recognisers and settings; every one is stopped at the end of the test."""
    stacks: list[Any] = []

    async def start(recognizers: dict[str, SpeechRecognizer], **overrides: Any) -> RunningApp:
        app: FastAPI = create_app(make_settings(**overrides), recognizers=recognizers)
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        stacks.append((lifespan, client))
        return RunningApp(app, client)

    yield start
    for lifespan, client in reversed(stacks):
        await client.aclose()
        await lifespan.__aexit__(None, None, None)


async def post_audio(
    client: httpx.AsyncClient, session_id: str, question_id: Any, data: bytes, name: str, media_type: str
) -> httpx.Response:
    return await client.post(
        f"/api/v1/interview/{session_id}/answer",
        data={"question_id": str(question_id)},
        files={"audio": (name, data, media_type)},
    )


def upload(pcm: bytes, fmt: str) -> tuple[bytes, str, str]:
    _, _, extension, media_type = FORMATS[fmt]
    return encode(pcm, fmt), f"answer.{extension}", media_type


async def test_a_whole_interview_by_voice(
    open_app: AppFactory, counting: CountingRecognizer, speak: SpeakPcm
) -> None:
    app = await open_app({"whisper": counting})
    session_id = await app.start()
    question = await app.question(session_id)
    formats = sorted(FORMATS)
    uploads: dict[int, bytes] = {}
    for number, text in enumerate(ANSWERS):
        data, name, media_type = upload(speak(text), formats[number % len(formats)])
        response = await post_audio(app.client, session_id, question["question_id"], data, name, media_type)
        assert response.status_code == 200, response.text
        body = response.json()
        assert word_error_rate(text, body["answer_transcript"]) <= 0.5, (text, body["answer_transcript"])
        assert body["answer_source"] == "speech" and body["answer_audio_url"].startswith("http://testserver/")
        uploads[question["question_id"]] = data
        question = body
    assert question["type"] == "complete"
    summary = question["session_summary"]
    assert summary["questions_answered"] == len(ANSWERS)
    # Short answers in a synthetic voice: the bound is on the interview as a whole (see bench/stt.py).
    heard = " ".join(q["answer_text"] for q in summary["questions"])
    assert word_error_rate(" ".join(ANSWERS), heard) <= 0.15, heard
    for asked, text in zip(summary["questions"], ANSWERS, strict=True):
        assert asked["answer_source"] == "speech"
        words = asked["transcript_words"]
        duration = len(speak(text)) / 2 / SAMPLE_RATE
        assert [w["start"] for w in words] == sorted(w["start"] for w in words)
        assert all(0 <= w["start"] <= w["end"] <= duration + 0.01 for w in words)
        metrics = asked["speech_metrics"]
        assert metrics["duration_s"] == pytest.approx(duration, abs=0.15)
        # The voice speaks at about 150-200 words a minute, with the half-second pauses left out.
        assert metrics["speaking_s"] <= duration - 0.5
        assert metrics["words_per_minute"] == pytest.approx(len(words) / metrics["speaking_s"] * 60, abs=0.2)
        assert 100 <= metrics["words_per_minute"] <= 260
        kept = await app.client.get(asked["answer_audio_url"])
        sent = uploads[asked["question_id"]]
        assert kept.status_code == 200 and kept.content == sent
        # Served like the other media (ETag, one byte range), but private: it is the candidate's voice.
        assert kept.headers["cache-control"] == "private, max-age=3600"
        part = await app.client.get(asked["answer_audio_url"], headers={"Range": "bytes=4-11"})
        assert part.status_code == 206 and part.content == sent[4:12]
        assert part.headers["content-range"] == f"bytes 4-11/{len(sent)}"
        cached = await app.client.get(
            asked["answer_audio_url"], headers={"If-None-Match": kept.headers["etag"]}
        )
        assert cached.status_code == 304
    speech = summary["speech_summary"]
    assert speech["spoken_answers"] == len(ANSWERS)
    assert speech["average_words_per_minute"] == pytest.approx(
        sum(q["speech_metrics"]["words_per_minute"] for q in summary["questions"]) / len(ANSWERS), abs=0.1
    )
    # Ending the session deletes its recordings.
    ended = await app.client.delete(f"/api/v1/interview/{session_id}")
    assert ended.status_code == 200
    assert all(q["answer_audio_url"] is None for q in ended.json()["summary"]["questions"])
    gone = await app.client.get(f"/api/v1/interview/{session_id}/answers/1/audio")
    assert gone.status_code == 404
    assert await app.container.blobs.names(f"answers/{session_id}/") == []


async def test_the_same_recording_twice_is_idempotent(
    open_app: AppFactory, counting: CountingRecognizer, speak: SpeakPcm
) -> None:
    app = await open_app({"whisper": counting})
    session_id = await app.start()
    data, name, media_type = upload(speak(ANSWERS[0]), "webm")
    first = await post_audio(app.client, session_id, 1, data, name, media_type)
    calls = len(counting.calls)
    again = await post_audio(app.client, session_id, 1, data, name, media_type)
    assert first.status_code == again.status_code == 200
    assert again.json()["question_id"] == first.json()["question_id"] == 2
    assert again.json()["answer_transcript"] == first.json()["answer_transcript"]
    assert len(counting.calls) == calls  # not recognised again
    status = (await app.client.get(f"/api/v1/interview/{session_id}/status")).json()
    assert status["answers_recorded"] == 1


async def test_typed_answers_are_unchanged_and_say_text(
    open_app: AppFactory, counting: CountingRecognizer
) -> None:
    app = await open_app({"whisper": counting})
    session_id = await app.start()
    body = await app.answer(session_id, 1)
    assert body["question_id"] == 2 and "answer_transcript" not in body
    summary = (await app.client.delete(f"/api/v1/interview/{session_id}")).json()["summary"]
    assert summary["questions"][0]["answer_source"] == "text"
    assert summary["questions"][0]["transcript_words"] is None and summary["speech_summary"] is None
    assert summary["questions"][1]["answer_source"] is None
    assert counting.calls == []


async def assert_untouched(app: RunningApp, session_id: str) -> None:
    status = (await app.client.get(f"/api/v1/interview/{session_id}/status")).json()
    assert status["answers_recorded"] == 0 and status["current_question"] == 1
    assert await app.container.blobs.names(f"answers/{session_id}/") == []


async def test_bad_recordings_get_their_codes_and_leave_the_session_as_it_was(
    open_app: AppFactory, counting: CountingRecognizer, speak: SpeakPcm
) -> None:
    app = await open_app({"whisper": counting}, max_answer_audio_s=4.0, max_answer_audio_bytes=400_000)
    session_id = await app.start()
    wav, _, _ = upload(speak(ANSWERS[0]), "wav")
    long_text = " ".join(ANSWERS[:3])
    cases = [
        (b"plain text, not audio", "answer.txt", "text/plain", 415, "unsupported_audio"),
        (b"\x89PNG\r\n\x1a\n" + bytes(300), "me.png", "image/png", 415, "unsupported_audio"),
        (bytes(range(256)) * 8, "answer.wav", "audio/wav", 422, "unreadable_audio"),
        (wav[:40], "answer.wav", "audio/wav", 422, "unreadable_audio"),
        (encode(b"\x00\x00" * SAMPLE_RATE * 2, "wav"), "quiet.wav", "audio/wav", 422, "no_speech"),
        (encode(speak(long_text), "ogg"), "long.ogg", "audio/ogg", 413, "audio_too_long"),
    ]
    for data, name, media_type, status, code in cases:
        response = await post_audio(app.client, session_id, 1, data, name, media_type)
        assert (response.status_code, response.json()["code"]) == (status, code), (name, response.text)
        assert response.json()["detail"]
    await assert_untouched(app, session_id)
    # Larger than MAX_ANSWER_AUDIO_BYTES: refused on its Content-Length, before the body is read.
    big = await post_audio(app.client, session_id, 1, bytes(500_000), "big.wav", "audio/wav")
    assert (big.status_code, big.json()["code"]) == (413, "payload_too_large")
    # Form problems.
    wrong = await post_audio(app.client, session_id, 3, wav, "a.wav", "audio/wav")
    assert (wrong.status_code, wrong.json()["code"]) == (409, "wrong_question")
    no_id = await post_audio(app.client, session_id, "one", wav, "a.wav", "audio/wav")
    assert (no_id.status_code, no_id.json()["code"]) == (422, "validation_error")
    no_file = await app.client.post(
        f"/api/v1/interview/{session_id}/answer", data={"question_id": "1"}, files={"other": ("x", b"x")}
    )
    assert (no_file.status_code, no_file.json()["code"]) == (422, "validation_error")
    unknown = await post_audio(app.client, "session_nope", 1, wav, "a.wav", "audio/wav")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "session_not_found")
    await assert_untouched(app, session_id)
    assert counting.calls == []  # nothing refused ever reached the recogniser (silence is found before)


async def test_every_recogniser_down_is_503(open_app: AppFactory, speak: SpeakPcm) -> None:
    broken = BrokenRecognizer("whisper")
    app = await open_app({"whisper": broken})
    session_id = await app.start()
    data, name, media_type = upload(speak(ANSWERS[0]), "mp3")
    response = await post_audio(app.client, session_id, 1, data, name, media_type)
    assert (response.status_code, response.json()["code"]) == (503, "provider_unavailable")
    assert response.headers["retry-after"]
    assert broken.calls == 1
    await assert_untouched(app, session_id)


async def test_openapi_documents_the_multipart_answer(
    open_app: AppFactory, counting: CountingRecognizer
) -> None:
    app = await open_app({"whisper": counting})
    schema = (await app.client.get("/openapi.json")).json()
    body = schema["paths"]["/api/v1/interview/{session_id}/answer"]["post"]["requestBody"]["content"]
    assert set(body) >= {"application/json", "multipart/form-data"}
    assert body["multipart/form-data"]["schema"]["required"] == ["question_id", "audio"]
