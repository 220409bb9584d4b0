"""Video through the app against the D-ID simulator: re-hosted clips, fallback per question, modes, cache."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from websockets.asyncio.client import connect

from conftest import RunningApp, SettingsFactory
from interviewai.adapters.blobs.files import FileBlobStore
from interviewai.app import create_app
from interviewai.simulators.did import DidSimulator
from live_server import serve_app

TWO_QUESTIONS = (
    '[{"id": 1, "type": "introduction", "text": "Tell me about yourself."},'
    ' {"id": 2, "type": "closing", "text": "Any questions for us?"}]'
)


OpenApp = Callable[..., Awaitable[RunningApp]]


@pytest.fixture
async def did() -> AsyncIterator[DidSimulator]:
    async with DidSimulator(queue_delay_s=0.05, render_factor=0.05, retry_after_s=0.2) as sim:
        yield sim


@pytest.fixture
async def open_app(
    make_settings: SettingsFactory, did: DidSimulator, tmp_path: Path
) -> AsyncIterator[OpenApp]:
    """Opens the app in video mode against the simulator; every app opened is closed at the end."""
    stack: list[Any] = []
    bank = tmp_path / "two.json"
    bank.write_text(TWO_QUESTIONS)

    async def open_one(**overrides: Any) -> RunningApp:
        values: dict[str, Any] = {
            "did_api_url": did.url,
            "did_api_key": did.api_key,
            "did_poll_initial_s": 0.02,
            "did_poll_max_s": 0.1,
            "avatar_generation_timeout_s": 10,
            "avatar_probe_interval_s": 0.2,
            "did_rate_limit_pause_s": 0.2,
        }
        if overrides.pop("short_bank", False):
            values["question_bank"] = bank
        values.update(overrides)
        app = create_app(make_settings(**values))
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        stack.append((lifespan, client))
        return RunningApp(app, client)

    yield open_one
    for lifespan, client in reversed(stack):
        await client.aclose()
        await lifespan.__aexit__(None, None, None)


def _mp4_duration(data: bytes, *, with_sound: bool = True) -> float:
    with av.open(io.BytesIO(data), mode="r") as container:
        assert container.streams.video, "the clip has a picture"
        assert bool(container.streams.audio) == with_sound
        return float(container.duration or 0) / 1_000_000


async def _eventually(check: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_video_happy_path_rehosts_the_clip_of_our_own_audio(
    open_app: OpenApp, did: DidSimulator
) -> None:
    app = await open_app()
    session_id = await app.start()
    question = await app.question(session_id)
    assert question["avatar_mode"] == "video"
    assert question["video_status"] == "ready"
    assert question["fallback_reason"] is None
    video_path = httpx.URL(question["video_url"]).path
    assert video_path.startswith("/api/v1/media/video/")
    served = await app.client.get(video_path)
    assert served.status_code == 200
    assert served.headers["content-type"] == "video/mp4"
    assert abs(_mp4_duration(served.content) - question["audio_duration"]) <= 0.2
    ranged = await app.client.get(video_path, headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206 and ranged.content == served.content[:100]

    uploads = did.api_requests("POST", "/audios")
    assert len(uploads) == 1
    assert next(iter(uploads[0].files.values())).data == base64.b64decode(question["audio_base64"]), (
        "the clip speaks our MP3"
    )
    (clip_request,) = did.api_requests("POST", "/clips")
    assert clip_request.json is not None
    assert clip_request.json["script"]["type"] == "audio"
    assert clip_request.json["presenter_id"] == "v2_public_Amber@0zSz8kflCN"

    await _eventually(lambda: app.container.avatar.assets.idle_blob is not None)
    info = (await app.client.get("/api/v1/interview/info")).json()
    assert info["avatar_mode"] == "video"
    idle = await app.client.get(httpx.URL(info["idle_video_url"]).path)
    assert idle.status_code == 200 and idle.headers["content-type"] == "video/mp4"
    assert _mp4_duration(idle.content, with_sound=False) > 0
    image = await app.client.get(httpx.URL(info["avatar_image_url"]).path)
    assert image.headers["content-type"] == "image/png"


async def test_provider_voice_mode_sends_text(open_app: OpenApp, did: DidSimulator) -> None:
    app = await open_app(did_use_own_audio=False, short_bank=True)
    question = await app.question(await app.start())
    assert question["video_status"] == "ready"
    (clip_request,) = did.api_requests("POST", "/clips")
    assert clip_request.json is not None
    assert clip_request.json["script"]["type"] == "text"
    assert clip_request.json["script"]["input"] == question["question_text"]
    assert clip_request.json["script"]["provider"]["voice_id"] == "en-US-JennyNeural"
    assert not did.api_requests("POST", "/audios")


@pytest.mark.parametrize(
    ("fault", "category"),
    [
        ("rate_limit429", "rate_limit"),
        ("rate_limit429-bare", "rate_limit"),
        ("moderation451", "invalid_request"),
        ("rejected", "invalid_request"),
        ("server500", "server"),
        ("gateway502", "server"),
        ("stuck", "timeout"),
        ("error", "server"),
        ("malformed", "server"),
        ("expired", ""),
        ("timeout", "timeout"),
    ],
)
async def test_each_transient_failure_falls_back_for_that_question_only(
    open_app: OpenApp, did: DidSimulator, fault: str, category: str
) -> None:
    app = await open_app(short_bank=True, avatar_generation_timeout_s=1.5)
    did.set_fault(fault)
    session_id = await app.start()
    first = await app.question(session_id)
    assert first["avatar_mode"] == "audio_only"
    assert first["video_status"] == "failed"
    assert first["video_url"] is None
    assert first["fallback_reason"].startswith("d-id: ")
    assert category in first["fallback_reason"]
    assert first["audio_base64"] and first["word_timings"]
    assert app.container.avatar.video_on, "a transient failure does not switch video off"

    did.set_fault("none")
    # A rate limit pauses new clips for the provider's Retry-After; other failures pause nothing.
    await _eventually(lambda: time.time() >= app.container.avatar.paused_until)
    second = await app.answer(session_id, first["question_id"])
    assert second["video_status"] == "ready" and second["avatar_mode"] == "video"
    done = await app.answer(session_id, second["question_id"])
    assert done["type"] == "complete"


@pytest.mark.parametrize(
    ("fault", "category"),
    [("auth401", "auth"), ("auth401-gateway", "auth"), ("forbidden403", "auth"), ("no_credits402", "quota")],
)
async def test_permanent_failure_switches_to_audio_only_until_a_probe_succeeds(
    open_app: OpenApp, did: DidSimulator, fault: str, category: str
) -> None:
    app = await open_app(short_bank=True)
    did.set_fault(fault)
    session_id = await app.start()
    first = await app.question(session_id)
    assert first["avatar_mode"] == "audio_only" and first["video_status"] == "failed"
    assert category in first["fallback_reason"]
    status = (await app.client.get("/api/v1/avatar/status")).json()
    assert status["configured"] is True
    assert status["mode"] == "audio_only"
    assert status["last_failure"]["category"] == category
    assert category in status["message"]

    clips_before = len(did.api_requests("POST", "/clips"))
    second = await app.answer(session_id, first["question_id"])
    assert second["avatar_mode"] == "audio_only"
    assert len(did.api_requests("POST", "/clips")) == clips_before, "no clip is attempted while switched off"

    did.set_fault("none")
    await _eventually(lambda: app.container.avatar.video_on)
    status = (await app.client.get("/api/v1/avatar/status")).json()
    assert status["mode"] == "video" and status["reachable"] is True
    assert status["credits"]["remaining"] <= status["credits"]["total"]
    other = await app.start()
    assert (await app.question(other))["video_status"] == "ready"


async def test_audio_only_mode_never_calls_d_id(open_app: OpenApp, did: DidSimulator) -> None:
    app = await open_app(avatar_mode="audio_only", short_bank=True, lookahead=True)
    session_id = await app.start()
    first = await app.question(session_id)
    assert first["video_status"] == "disabled" and first["fallback_reason"] is None
    await app.answer(session_id, first["question_id"])
    assert (await app.client.get("/api/v1/avatar/status")).json()["mode"] == "audio_only"
    await asyncio.sleep(0.3)
    assert did.requests == []


async def test_one_clip_per_question_across_sessions_restarts_and_concurrency(
    open_app: OpenApp, did: DidSimulator
) -> None:
    app = await open_app(short_bank=True)
    sessions = [await app.start() for _ in range(20)]
    questions = await asyncio.gather(*(app.question(s) for s in sessions))
    assert {q["video_status"] for q in questions} == {"ready"}
    assert len({q["video_url"] for q in questions}) == 1
    assert did.clips_created == 1
    assert app.container.speech_media.syntheses == 1

    restarted = await open_app(short_bank=True)
    again = await restarted.question(await restarted.start())
    assert again["video_url"] == questions[0]["video_url"]
    assert did.clips_created == 1, "served from the media index after a restart"


async def test_wait_zero_answers_at_once_and_a_later_ask_gets_the_video(
    open_app: OpenApp, did: DidSimulator
) -> None:
    did.set_latency(queue_delay_s=1.0)
    app = await open_app(short_bank=True)
    session_id = await app.start()
    started = time.monotonic()
    pending = await app.question(session_id, wait=0)
    assert time.monotonic() - started < 1.0
    assert pending["video_status"] == "pending"
    assert pending["avatar_mode"] == "audio_only" and pending["video_url"] is None
    assert pending["audio_base64"] and pending["word_timings"]
    assert pending["fallback_reason"].startswith("pending")
    ready = await app.question(session_id)
    assert ready["video_status"] == "ready" and ready["avatar_mode"] == "video"
    assert did.clips_created == 1


async def test_lookahead_renders_question_two_before_the_first_answer(
    open_app: OpenApp, did: DidSimulator
) -> None:
    app = await open_app(short_bank=True, lookahead=True)
    await app.start()
    await _eventually(lambda: did.clips_created == 2)
    status = (await app.client.get("/api/v1/metrics")).json()
    assert status["clips_created"] == 2, "both clips were asked for by look-ahead, before any answer"


async def test_a_missing_clip_file_is_fetched_again_without_a_new_clip(
    open_app: OpenApp, did: DidSimulator
) -> None:
    app = await open_app(short_bank=True)
    first = await app.question(await app.start())
    name = "video/" + first["video_url"].rsplit("/", 1)[1]
    blobs = app.container.blobs
    assert isinstance(blobs, FileBlobStore), "this test deletes a file on disk"
    blobs.path_for(name).unlink()
    second = await app.question(await app.start())
    assert second["video_status"] == "ready"
    served = await app.client.get(httpx.URL(second["video_url"]).path)
    assert served.status_code == 200 and _mp4_duration(served.content) > 0
    assert did.clips_created == 1, "the finished clip is downloaded again, not paid for again"


async def test_seed_mode_renders_on_every_request(open_app: OpenApp, did: DidSimulator) -> None:
    app = await open_app(short_bank=True, media_cache=False, lookahead=False)
    for _ in range(2):
        question = await app.question(await app.start())
        assert question["video_status"] == "ready"
    assert did.clips_created == 2
    assert app.container.speech_media.syntheses == 2


async def test_a_live_socket_is_told_when_a_pending_clip_lands(
    make_settings: SettingsFactory, did: DidSimulator, tmp_path: Path
) -> None:
    bank = tmp_path / "two.json"
    bank.write_text(TWO_QUESTIONS)
    did.set_latency(queue_delay_s=0.8)
    settings = make_settings(
        did_api_url=did.url,
        did_api_key=did.api_key,
        did_poll_initial_s=0.02,
        did_poll_max_s=0.1,
        question_bank=bank,
    )
    async with serve_app(settings) as live, connect(live.url("wait=0"), open_timeout=30) as socket_:
        info = json.loads(await socket_.recv())
        assert info["type"] == "session_info"
        await socket_.send(json.dumps({"type": "start"}))
        question = json.loads(await asyncio.wait_for(socket_.recv(), 30))
        assert question["type"] == "question"
        assert question["data"]["video_status"] == "pending"
        ready = json.loads(await asyncio.wait_for(socket_.recv(), 30))
        assert ready["type"] == "video_ready"
        assert ready["data"]["question_id"] == question["data"]["question_id"]
        async with httpx.AsyncClient() as client:
            served = await client.get(ready["data"]["video_url"])
        assert served.status_code == 200 and served.headers["content-type"] == "video/mp4"


async def test_a_rate_limit_pauses_new_clips_for_the_retry_after(
    open_app: OpenApp, did: DidSimulator
) -> None:
    app = await open_app(short_bank=True, did_rate_limit_pause_s=30)
    did.set_fault("rate_limit429-bare")
    session_id = await app.start()
    first = await app.question(session_id)
    assert "rate_limit" in first["fallback_reason"]
    did.set_fault("none")
    created = did.clips_created
    second = await app.answer(session_id, first["question_id"])
    assert second["video_status"] == "failed"
    assert "paused" in second["fallback_reason"]
    assert did.clips_created == created, "no clip is asked for while the provider said to wait"
