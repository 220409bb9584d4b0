"""A finished app is freed: nothing global keeps an app (and its voice and embedding models) alive; an app
given a container serves from it and leaves it to its owner."""

from __future__ import annotations

import dataclasses
import gc
import weakref
from datetime import timedelta

import httpx
from fastapi import FastAPI

from conftest import SettingsFactory
from fakes import MemorySessionStore, media_on_fakes
from interviewai.app import create_app
from interviewai.container import build_container
from interviewai.services.interview import InterviewService


async def _run_once(make_settings: SettingsFactory) -> weakref.ref[FastAPI]:
    app = create_app(make_settings())
    async with app.router.lifespan_context(app):
        pass
    return weakref.ref(app)


async def test_an_app_is_garbage_once_its_lifespan_has_ended(make_settings: SettingsFactory) -> None:
    # Each app holds a loaded voice and embedding model (~200 MB); a test suite creates hundreds of apps,
    # so a reference that outlives the app (a closure registered somewhere global) exhausts memory.
    gone = await _run_once(make_settings)
    gc.collect()
    assert gone() is None, [type(r).__name__ for r in gc.get_referrers(gone())]


async def test_an_app_given_a_container_serves_from_it_and_leaves_it_open(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings()
    async with build_container(settings) as container:
        app = create_app(container=container)
        async with app.router.lifespan_context(app), _client(app) as client:
            session_id = (await client.post("/api/v1/interview/start")).json()["session_id"]
            question = await client.get(f"/api/v1/interview/{session_id}/question")
            assert question.status_code == 200, question.text
        assert container.speech_media.syntheses == 1, "spoken by the container's own voice"
        # The app's lifespan is over; the container is its caller's, still open and serving.
        assert "expire-idle-sessions" in container.tasks.names
        session = await container.interviews.status(session_id)
        assert session.questions[0].served_at is not None

        # One service swapped for the same service on fakes: the routes reach exactly what they are given.
        fakes = media_on_fakes()
        store = MemorySessionStore()
        interviews = InterviewService(
            store, container.interviews.bank, fakes.media, fakes.avatar, fakes.jobs, timedelta(minutes=5),
            video_wait_s=0, lookahead=False,
        )  # fmt: skip
        faked = create_app(settings, container=dataclasses.replace(container, interviews=interviews))
        async with faked.router.lifespan_context(faked), _client(faked) as client:
            session_id = (await client.post("/api/v1/interview/start")).json()["session_id"]
            body = (await client.get(f"/api/v1/interview/{session_id}/question")).json()
        assert session_id in store.sessions
        assert fakes.first.spoken == [body["question_text"]]
        assert container.speech_media.syntheses == 1


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
