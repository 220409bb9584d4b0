"""Spoken answers streamed over the WebSocket: partial transcripts, the tail only at the end, and errors
that leave the socket open and the session as it was."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from conftest import SettingsFactory
from interviewai.adapters.recognition.whisper import WhisperRecognizer
from interviewai.api.answers_audio import SpokenCompletionResponse, SpokenQuestionResponse
from interviewai.domain.recognition import SAMPLE_RATE
from interviewai.services.transcription import TranscriptionSettings
from live_server import Live, serve_app
from spoken_audio import encode, word_error_rate
from stt_fixtures import CountingRecognizer, SpeakPcm, answer_voice, speak, whisper
from test_spoken_answers_http import ANSWERS
from ws_pacing import paced_send

__all__ = ["answer_voice", "speak", "whisper"]
TIMEOUT_S = 120.0
LIVE = TranscriptionSettings(max_audio_s=40.0, max_audio_bytes=1)  # the live answers' defaults
LONG_ANSWER = [
    "I split the work into small steps that we could release one at a time.",
    "First we copied the data every night, then we sent a small part of the traffic to the new system.",
    "When the results matched for three days in a row, we moved everyone over.",
]


@pytest.fixture
def counting(whisper: WhisperRecognizer) -> CountingRecognizer:
    return CountingRecognizer(whisper)


@pytest.fixture
async def live(make_settings: SettingsFactory, counting: CountingRecognizer) -> AsyncIterator[Live]:
    async with serve_app(
        make_settings(max_answer_audio_s=40.0), recognizers={"whisper": counting}
    ) as running:
        yield running


async def receive(socket_: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(socket_.recv(), TIMEOUT_S))
    return message


async def send(socket_: ClientConnection, kind: str, data: dict[str, Any] | None = None) -> None:
    """One text message, paced below the server's per-socket rate (MESSAGE_RATE) as a client must be:
    the error test sends a dozen control messages in well under a second, and the one over the rate
    would get `rate_limited` instead of what the test waits for."""
    await paced_send(socket_, json.dumps({"type": kind, "data": data or {}}))


async def until(socket_: ClientConnection, *kinds: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Messages up to the first of `kinds`: (that one, the ones before it). An `error` that is not
    among `kinds` fails at once (otherwise the wait for a reply that will never come hangs)."""
    before: list[dict[str, Any]] = []
    while True:
        message = await receive(socket_)
        if message["type"] in kinds:
            return message, before
        assert message["type"] != "error", f"got {message} while waiting for {kinds}"
        before.append(message)


async def stream(
    socket_: ClientConnection, question_id: int, data: bytes, fmt: str, chunk: int = 4000
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    await send(socket_, "answer_audio_start", {"question_id": question_id, "format": fmt})
    started, _ = await until(socket_, "answer_audio_started", "error")
    assert started["type"] == "answer_audio_started", started
    for start in range(0, len(data), chunk):
        await socket_.send(data[start : start + chunk])
        await asyncio.sleep(0.002)
    await send(socket_, "answer_audio_end")
    return await until(socket_, "question", "complete", "error")


async def test_a_whole_interview_spoken_over_the_socket(
    live: Live, counting: CountingRecognizer, speak: SpeakPcm
) -> None:
    async with connect(live.url(), max_size=8 * 1024 * 1024, open_timeout=30) as socket_:
        info = await receive(socket_)
        session_id = info["data"]["session_id"]
        await send(socket_, "start")
        question, _ = await until(socket_, "question")
        formats = ["webm", "ogg", "wav", "pcm16"]
        heard_all = []
        for number, text in enumerate(ANSWERS):
            fmt = formats[number % len(formats)]
            pcm = speak(text)
            data = pcm if fmt == "pcm16" else encode(pcm, fmt)
            after, before = await stream(socket_, question["data"]["question_id"], data, fmt)
            finals = [m for m in before if m["type"] == "transcript" and m["data"]["final"]]
            assert len(finals) == 1, before
            final = finals[0]["data"]
            assert final["question_id"] == question["data"]["question_id"]
            assert final["speech_metrics"]["duration_s"] == pytest.approx(
                len(pcm) / 2 / SAMPLE_RATE, abs=0.15
            )
            words = final["transcript_words"]
            assert [w["start"] for w in words] == sorted(w["start"] for w in words)
            heard_all.append(final["text"])
            # The next step carries what was heard, exactly as the HTTP answer's response does.
            model = SpokenCompletionResponse if after["type"] == "complete" else SpokenQuestionResponse
            assert set(after["data"]) == set(model.model_fields), set(after["data"]) ^ set(model.model_fields)
            assert after["data"]["answer_transcript"] == final["text"]
            assert after["data"]["answer_source"] == "speech"
            assert after["data"]["answer_audio_url"] == final["answer_audio_url"] is not None
            assert after["data"]["transcript_words"] == words
            question = after
        assert question["type"] == "complete"
        assert word_error_rate(" ".join(ANSWERS), " ".join(heard_all)) <= 0.15
        summary = question["data"]["session_summary"]
        assert [q["answer_source"] for q in summary["questions"]] == ["speech"] * len(ANSWERS)
        assert summary["speech_summary"]["spoken_answers"] == len(ANSWERS)
        assert all(q["answer_audio_url"] for q in summary["questions"])
        assert question["data"]["answer_audio_url"] == summary["questions"][-1]["answer_audio_url"]
        async with httpx.AsyncClient() as http:
            kept = await http.get(question["data"]["answer_audio_url"])
        assert kept.status_code == 200 and kept.content == data  # the last answer, as it was streamed
        assert session_id == summary["session_id"]


async def test_a_long_answer_is_heard_while_it_is_spoken_and_not_again_at_the_end(
    live: Live, counting: CountingRecognizer, speak: SpeakPcm
) -> None:
    pcm = b"".join(speak(text) for text in LONG_ANSWER)  # sentences with a second of silence between them
    duration = len(pcm) / 2 / SAMPLE_RATE
    async with connect(live.url(), max_size=8 * 1024 * 1024, open_timeout=30) as socket_:
        await receive(socket_)
        await send(socket_, "start")
        await until(socket_, "question")
        await send(socket_, "answer_audio_start", {"question_id": 1, "format": "webm"})
        await until(socket_, "answer_audio_started")
        data = encode(pcm, "webm")
        # Sent at twice real time, so the audio is recognised while the rest still arrives.
        chunk = len(data) // int(duration * 4)
        for start in range(0, len(data), chunk):
            await socket_.send(data[start : start + chunk])
            await asyncio.sleep(0.125)
        passes_before_end = len(counting.calls)
        ended_at = time.monotonic()
        await send(socket_, "answer_audio_end")
        after, before = await until(socket_, "question", "error")
    assert after["type"] == "question" and after["data"]["question_id"] == 2
    partials = [m["data"]["text"] for m in before if m["type"] == "transcript" and not m["data"]["final"]]
    final = next(m["data"] for m in before if m["type"] == "transcript" and m["data"]["final"])
    # Partials come as the audio arrives, not once per sentence: more of them than there are sentences.
    assert passes_before_end > len(LONG_ANSWER) and len(partials) > len(LONG_ANSWER), partials
    assert len(partials[0].split()) < len(partials[-1].split())
    assert word_error_rate(" ".join(LONG_ANSWER), partials[-1]) <= 0.3, partials[-1]
    assert word_error_rate(" ".join(LONG_ANSWER), final["text"]) <= 0.2, final["text"]
    # What was heard while the answer arrived is not heard again: after the end at most the audio after
    # the last pause is recognised, once, and none of it when the last pass had heard everything.
    late = [s for s, at in zip(counting.calls, counting.called_at, strict=True) if at >= ended_at]
    assert len(late) <= 1 and sum(late) <= LIVE.max_chunk_s + LIVE.partial_every_s + 0.5, late
    assert max(counting.calls) <= LIVE.max_chunk_s + LIVE.partial_every_s + 0.5, counting.calls


async def test_audio_errors_keep_the_socket_open_and_the_session_untouched(
    make_settings: SettingsFactory, counting: CountingRecognizer, speak: SpeakPcm
) -> None:
    settings = make_settings(max_answer_audio_s=4.0)
    async with (
        serve_app(settings, recognizers={"whisper": counting}) as live,
        connect(live.url(), max_size=8 * 1024 * 1024, open_timeout=30) as socket_,
    ):
        await receive(socket_)
        await send(socket_, "start")
        await until(socket_, "question")

        async def error_after(*messages: Any) -> dict[str, Any]:
            for message in messages:
                await (socket_.send(message) if isinstance(message, bytes) else send(socket_, *message))
            reply, _ = await until(socket_, "error")
            data: dict[str, Any] = reply["data"]
            return data

        assert (await error_after(("answer_audio_end",)))["code"] == "no_audio_answer"
        assert (await error_after(b"\x00\x01" * 1000))["code"] == "no_audio_answer"
        assert (await error_after(("answer_audio_start", {"question_id": 4, "format": "wav"})))[
            "code"
        ] == "wrong_question"
        assert (await error_after(("answer_audio_start", {"question_id": 1, "format": "flac"})))[
            "code"
        ] == "validation_error"
        await send(socket_, "answer_audio_start", {"question_id": 1, "format": "pcm16"})
        await until(socket_, "answer_audio_started")
        again = await error_after(("answer_audio_start", {"question_id": 1, "format": "pcm16"}))
        assert again["code"] == "audio_answer_open"
        # Too long: refused while it streams, before the end is sent.
        long_pcm = speak(" ".join(LONG_ANSWER[:2]))
        refused = await error_after(*[long_pcm[i : i + 8000] for i in range(0, len(long_pcm), 8000)])
        assert refused["code"] == "audio_too_long"
        await send(socket_, "answer_audio_end")  # ends the refused answer quietly
        # Silence: no speech.
        await send(socket_, "answer_audio_start", {"question_id": 1, "format": "pcm16"})
        await until(socket_, "answer_audio_started")
        assert (await error_after(b"\x00\x00" * SAMPLE_RATE, ("answer_audio_end",)))["code"] == "no_speech"
        # A WebM stream that is not WebM.
        await send(socket_, "answer_audio_start", {"question_id": 1, "format": "webm"})
        await until(socket_, "answer_audio_started")
        unreadable = await error_after(b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 20, ("answer_audio_end",))
        assert unreadable["code"] == "unreadable_audio"
        # The socket still works, and nothing was recorded.
        await send(socket_, "status")
        status, _ = await until(socket_, "status")
        assert status["data"]["answers_recorded"] == 0 and status["data"]["current_question"] == 1
        assert await live.container.blobs.names("answers/") == []
        # And a good answer still goes through.
        after, _ = await stream(socket_, 1, speak("I would measure it first."), "pcm16")
        assert after["type"] == "question" and after["data"]["question_id"] == 2
