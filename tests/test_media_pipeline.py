"""Content-addressed media: cache hits across sessions and restarts, single-flight, look-ahead, repair."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from conftest import RunningApp, SettingsFactory
from interviewai.adapters.blobs.files import FileBlobStore
from interviewai.app import create_app


async def _open(make_settings: SettingsFactory, **overrides: object) -> AsyncIterator[RunningApp]:
    app = create_app(make_settings(**overrides))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield RunningApp(app, client)


@pytest.fixture
async def pipeline(make_settings: SettingsFactory) -> AsyncIterator[RunningApp]:
    async for running in _open(make_settings):
        yield running


async def test_a_question_is_spoken_once_across_sessions_and_restarts(make_settings: SettingsFactory) -> None:
    async for first in _open(make_settings):
        for _ in range(3):
            session_id = await first.start()
            question = (await first.client.get(f"/api/v1/interview/{session_id}/question")).json()
        assert first.container.speech_media.syntheses == 1
        audio_url = question["audio_url"]
    async for restarted in _open(make_settings):
        session_id = await restarted.start()
        again = (await restarted.client.get(f"/api/v1/interview/{session_id}/question")).json()
        assert restarted.container.speech_media.syntheses == 0, "served from the index after a restart"
        assert again["audio_url"] == audio_url
        assert again["latency_ms"] < 1000


async def test_twenty_concurrent_requests_cause_one_synthesis(pipeline: RunningApp) -> None:
    sessions = [await pipeline.start() for _ in range(20)]
    responses = await asyncio.gather(
        *(pipeline.client.get(f"/api/v1/interview/{s}/question") for s in sessions)
    )
    assert all(r.status_code == 200 for r in responses)
    assert len({r.json()["audio_base64"] for r in responses}) == 1
    assert pipeline.container.speech_media.syntheses == 1


async def test_lookahead_speaks_question_two_before_the_first_answer(make_settings: SettingsFactory) -> None:
    async for app in _open(make_settings, lookahead=True):
        session_id = await app.start()
        question_two = app.container.interviews.bank.questions[1].text
        deadline = time.monotonic() + 60
        while app.container.speech_media.syntheses < 2:
            assert time.monotonic() < deadline, "look-ahead did not speak question 2"
            await asyncio.sleep(0.05)
        status = (await app.client.get(f"/api/v1/interview/{session_id}/status")).json()
        assert status["answers_recorded"] == 0
        before = app.container.speech_media.syntheses
        answer = await app.client.post(
            f"/api/v1/interview/{session_id}/answer", json={"question_id": 1, "answer_text": "Hello."}
        )
        body = answer.json()
        assert body["question_text"] == question_two
        assert app.container.speech_media.syntheses <= before + 1  # question 2 itself came from the cache
        # Every question of the session ends up spoken, in order, without anyone asking.
        while app.container.speech_media.syntheses < 10:
            assert time.monotonic() < deadline, "look-ahead did not finish the session"
            await asyncio.sleep(0.1)


@pytest.mark.parametrize("damage", ["missing", "truncated"])
async def test_a_damaged_blob_is_regenerated_not_served(pipeline: RunningApp, damage: str) -> None:
    session_id = await pipeline.start()
    first = (await pipeline.client.get(f"/api/v1/interview/{session_id}/question")).json()
    name = "audio/" + first["audio_url"].rsplit("/", 1)[1]
    blobs = pipeline.container.blobs
    assert isinstance(blobs, FileBlobStore), "this test damages files on disk"
    path = blobs.path_for(name)
    if damage == "missing":
        path.unlink()
    else:
        path.write_bytes(path.read_bytes()[:100])
    other = await pipeline.start()
    second = (await pipeline.client.get(f"/api/v1/interview/{other}/question")).json()
    assert pipeline.container.speech_media.syntheses == 2
    served = await pipeline.client.get(httpx.URL(second["audio_url"]).path)
    assert served.status_code == 200
    assert len(served.content) > 1000
    assert served.content == base64.b64decode(second["audio_base64"])
