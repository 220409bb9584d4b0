"""Through the whole app: Edge speaks when it can, the offline voice takes over without the client noticing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from conftest import SettingsFactory
from edge_fixtures import piper, simulator  # noqa: F401  (fixtures)
from interviewai.app import create_app
from interviewai.simulators.edge_tts import EdgeTtsSimulator


@pytest.fixture
async def edge_client(
    make_settings: SettingsFactory,
    simulator: EdgeTtsSimulator,
) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(
        tts_engines="edge,piper", edge_tts_url=simulator.url, edge_tts_timeout_s=3, tts_breaker_cooldown_s=600
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def _answer(client: httpx.AsyncClient, session_id: str, question_id: int) -> httpx.Response:
    return await client.post(
        f"/api/v1/interview/{session_id}/answer",
        json={"question_id": question_id, "answer_text": "An answer."},
    )


async def test_edge_speaks_then_failover_is_invisible(
    edge_client: httpx.AsyncClient,
    simulator: EdgeTtsSimulator,
) -> None:
    session_id = (await edge_client.post("/api/v1/interview/start")).json()["session_id"]
    first = (await edge_client.get(f"/api/v1/interview/{session_id}/question")).json()
    assert first["voice"] == "edge:en-US-JennyNeural"
    assert len(simulator.synthesis_requests()) == 1

    await simulator.set_fault("refuse")
    second = await _answer(edge_client, session_id, first["question_id"])
    assert second.status_code == 200
    body = second.json()
    assert body["type"] == "question" and body["question_id"] == 2
    assert body["voice"] == "piper:en_US-joe-medium"
    assert len(body["word_timings"]) == len(body["question_text"].split())

    # The breaker is open now: Edge is not even asked for the next question.
    await simulator.set_fault("none")
    before = len(simulator.synthesis_requests())
    third = (await _answer(edge_client, session_id, 2)).json()
    assert third["voice"].startswith("piper:")
    assert len(simulator.synthesis_requests()) == before

    voices = (await edge_client.get("/api/v1/voices")).json()["voices"]
    engines = [v["engine"] for v in voices]
    assert engines.index("edge") < engines.index("piper")
    jenny = next(v for v in voices if v["short_name"] == "en-US-JennyNeural")
    assert jenny["available"] is False, "Edge is marked unusable while its breaker is open"


async def test_cached_edge_question_costs_nothing_the_second_time(
    edge_client: httpx.AsyncClient,
    simulator: EdgeTtsSimulator,
) -> None:
    for _ in range(2):
        session_id = (await edge_client.post("/api/v1/interview/start")).json()["session_id"]
        question = (await edge_client.get(f"/api/v1/interview/{session_id}/question")).json()
        assert question["voice"] == "edge:en-US-JennyNeural"
    assert len(simulator.synthesis_requests()) == 1


async def test_when_every_engine_fails_the_client_gets_a_clear_503(
    make_settings: SettingsFactory,
    simulator: EdgeTtsSimulator,
) -> None:
    await simulator.set_fault("refuse")
    app = create_app(make_settings(tts_engines="edge", edge_tts_url=simulator.url, edge_tts_timeout_s=2))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            session_id = (await client.post("/api/v1/interview/start")).json()["session_id"]
            response = await client.get(f"/api/v1/interview/{session_id}/question")
            assert response.status_code == 503
            assert response.json()["code"] == "provider_unavailable"
            assert response.headers["retry-after"] == "5"
            status = (await client.get(f"/api/v1/interview/{session_id}/status")).json()
            assert status["current_question"] == 1, "the session is untouched"
