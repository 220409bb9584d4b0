"""Plans over HTTP: the empty start unchanged, previews equal to starts, roles, bad options, look-ahead."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from conftest import RunningApp, SettingsFactory
from plan_checks import open_planned_app

BACKEND_AD = (
    "Senior back-end developer. You will own our REST APIs on PostgreSQL, put Redis caches where they pay off, "
    "and take part in the on-call rotation for incidents."
)


@pytest.fixture
async def planned(make_settings: SettingsFactory) -> AsyncIterator[RunningApp]:
    async for running in open_planned_app(make_settings):
        yield running


async def _walk(app: RunningApp, session_id: str) -> list[dict[str, Any]]:
    """Every question of a session in order, answering each (without waiting for speech)."""
    seen = []
    question = await app.question(session_id)
    while question["type"] == "question":
        seen.append(question)
        question = await app.answer(session_id, question["question_id"])
    return seen


async def test_an_empty_start_is_exactly_the_default_bank(planned: RunningApp) -> None:
    bodies: tuple[dict[str, Any], ...] = ({}, {"content": b""}, {"json": {}})
    for body in bodies:
        started = await planned.client.post("/api/v1/interview/start", **body)
        assert started.status_code == 200, started.text
        assert started.json()["total_questions"] == 10 and started.json()["seed"] is None
        session = await planned.container.interviews.status(started.json()["session_id"])
        assert [q.question.id for q in session.questions] == list(range(1, 11))
        assert [q.question for q in session.questions] == list(planned.container.interviews.bank.questions)


async def test_the_preview_is_the_plan_a_start_makes(planned: RunningApp) -> None:
    options = {"job_description": BACKEND_AD, "num_questions": 5, "seniority": "senior", "seed": 7}
    preview = await planned.client.post("/api/v1/interview/plan", json=options)
    assert preview.status_code == 200, preview.text
    plan = preview.json()
    assert plan["total_questions"] == 5 and plan["seed"] == 7 and plan["role"] == "backend"
    assert "postgresql" in plan["skills"] and plan["notes"]
    assert all(q["why"] for q in plan["questions"])
    again = await planned.client.post("/api/v1/interview/plan", json=options)
    assert again.json() == plan
    started = (await planned.client.post("/api/v1/interview/start", json=options)).json()
    assert started["total_questions"] == 5 and started["seed"] == 7 and started["role"] == "backend"
    asked = await _walk(planned, started["session_id"])
    assert [(q["question_id"], q["question_text"], q["question_type"]) for q in asked] == [
        (q["question_id"], q["question_text"], q["question_type"]) for q in plan["questions"]
    ]
    # The session keeps its own copy: the why and the whole question, not just id and text.
    session = await planned.container.interviews.status(started["session_id"])
    assert [q.why for q in session.questions] == [q["why"] for q in plan["questions"]]
    library_ids = {q.id: q for q in planned.container.plans.catalog.questions}
    assert all(q.question == library_ids[q.question.id] for q in session.questions)


async def test_a_preview_without_a_seed_returns_one_that_replays_it(planned: RunningApp) -> None:
    first = (await planned.client.post("/api/v1/interview/plan", json={"role": "frontend"})).json()
    replay = {"role": "frontend", "seed": first["seed"]}
    assert (await planned.client.post("/api/v1/interview/plan", json=replay)).json() == first


async def test_roles_and_info_list_the_library_roles(planned: RunningApp) -> None:
    roles = (await planned.client.get("/api/v1/roles")).json()["roles"]
    assert [r["id"] for r in roles] == ["backend", "frontend", "product-management"]
    backend = roles[0]
    assert backend == {
        "id": "backend",
        "name": "Backend engineer",
        "question_count": 11,
        "seniorities": ["junior", "mid", "senior"],
    }
    info = (await planned.client.get("/api/v1/interview/info")).json()
    assert info["total_questions"] == 10 and info["roles"] == roles


@pytest.mark.parametrize(
    ("body", "status", "code", "mentions"),
    [
        ({"num_questions": 2}, 422, "validation_error", "num_questions"),
        ({"num_questions": 21}, 422, "validation_error", "num_questions"),
        ({"num_questions": "5"}, 422, "validation_error", "num_questions"),
        ({"seniority": "guru"}, 422, "validation_error", "'junior', 'mid', 'senior' or 'any'"),
        ({"role": "astronaut"}, 422, "validation_error", "allowed: backend, frontend, product-management"),
        ({"bank_id": "nope"}, 422, "validation_error", "bank_id"),
        ({"rol": "backend"}, 422, "validation_error", "rol"),
        ({"job_description": "x" * 10_001}, 413, "payload_too_large", "10000"),
    ],
)
async def test_bad_options_are_clear_4xx(
    planned: RunningApp, body: dict[str, Any], status: int, code: str, mentions: str
) -> None:
    for path in ("/api/v1/interview/start", "/api/v1/interview/plan"):
        response = await planned.client.post(path, json=body)
        assert response.status_code == status, response.text
        assert response.json()["code"] == code and mentions in response.text


async def test_look_ahead_speaks_a_tailored_plan_in_order(make_settings: SettingsFactory) -> None:
    async for app in open_planned_app(make_settings, lookahead=True):
        options = {"job_description": BACKEND_AD, "num_questions": 3, "seed": 3}
        started = (await app.client.post("/api/v1/interview/start", json=options)).json()
        deadline = time.monotonic() + 120
        while app.container.speech_media.syntheses < 3:
            assert time.monotonic() < deadline, "look-ahead did not speak the plan"
            await asyncio.sleep(0.1)
        spoken = app.container.speech_media.syntheses
        asked = await _walk(app, started["session_id"])
        assert len(asked) == 3 and app.container.speech_media.syntheses == spoken, "all came from the cache"
