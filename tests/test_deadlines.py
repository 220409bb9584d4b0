"""Deadlines and ownership: a job queue that is down never fails `start`, and queueing has a deadline."""

from __future__ import annotations

import httpx

from conftest import SettingsFactory
from interviewai.adapters.queue.taskiq_queue import TaskiqJobQueue
from interviewai.app import create_app
from interviewai.services.interview import PREPARE_JOB


async def test_a_failed_look_ahead_enqueue_never_fails_start(make_settings: SettingsFactory) -> None:
    app = create_app(make_settings(lookahead=True))
    async with app.router.lifespan_context(app):
        container = app.state.container
        # The broker goes away after start-up (nothing listens on port 1): queueing the look-ahead fails.
        broken = TaskiqJobQueue.redis("redis://127.0.0.1:1/0")
        broken.register(PREPARE_JOB, container.interviews._prepare_session_media)
        container.interviews._jobs = broken
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.post("/api/v1/interview/start")
            assert response.status_code == 200, response.text
            session_id = response.json()["session_id"]
            status = await client.get(f"/api/v1/interview/{session_id}/status")
            assert status.status_code == 200
        await broken.aclose()
