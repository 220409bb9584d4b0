"""Follow-up questions and practice mode over HTTP, and the follow-up state machine."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime, timezone

import httpx
import pytest

from conftest import RunningApp, SettingsFactory
from interviewai.app import create_app
from interviewai.domain.errors import WrongQuestion
from interviewai.domain.follow_ups import FOLLOW_UP_PHRASES, Gap, follow_up_for
from interviewai.domain.questions import Question, QuestionType
from interviewai.domain.session import FOLLOW_UP_ID_OFFSET, InterviewSession

SHORT = "I did some coding."
FULL = (
    "I'm a backend engineer with six years of experience, most recently at a logistics start-up where I own "
    "the routing API, a Python service on PostgreSQL that handles two million requests a day. I'm applying "
    "because your team builds developer-facing APIs at a larger scale, and that is the next step I want."
)


@pytest.fixture
async def looking_ahead(make_settings: SettingsFactory) -> AsyncIterator[RunningApp]:
    app = create_app(make_settings(lookahead=True))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield RunningApp(app, client)


async def test_a_follow_up_is_served_from_the_cache_with_no_synthesis(looking_ahead: RunningApp) -> None:
    client = looking_ahead.client
    started = await client.post("/api/v1/interview/start", json={"follow_ups": True})
    session_id = started.json()["session_id"]
    media = looking_ahead.container.speech_media
    # Look-ahead speaks the ten questions and the three follow-up phrasings in the background.
    give_up = time.monotonic() + 240
    while media.syntheses < 10 + len(FOLLOW_UP_PHRASES):
        assert time.monotonic() < give_up, f"look-ahead stopped at {media.syntheses} syntheses"
        await asyncio.sleep(0.2)
    await asyncio.sleep(0.3)
    spoken = media.syntheses

    first = (await client.get(f"/api/v1/interview/{session_id}/question")).json()
    assert first["question_id"] == 1 and first["parent_question_id"] is None
    follow_up = (
        await client.post(
            f"/api/v1/interview/{session_id}/answer", json={"question_id": 1, "answer_text": SHORT}
        )
    ).json()
    assert follow_up["question_type"] == "follow_up"
    assert follow_up["question_id"] == FOLLOW_UP_ID_OFFSET + 1
    assert follow_up["parent_question_id"] == 1
    assert follow_up["question_text"] == FOLLOW_UP_PHRASES[Gap.TOO_SHORT]
    assert follow_up["current_question"] == 1 and follow_up["audio_base64"]
    assert media.syntheses == spoken, "the follow-up's speech came from the cache"

    resent = (
        await client.post(
            f"/api/v1/interview/{session_id}/answer", json={"question_id": 1, "answer_text": SHORT}
        )
    ).json()
    assert resent["question_id"] == follow_up["question_id"], "re-sending the answer is idempotent"
    status = (await client.get(f"/api/v1/interview/{session_id}/status")).json()
    assert status["answers_recorded"] == 1 and status["current_question"] == 1

    second = (
        await client.post(
            f"/api/v1/interview/{session_id}/answer",
            json={"question_id": follow_up["question_id"], "answer_text": FULL},
        )
    ).json()
    assert second["question_id"] == 2 and second["question_type"] == "behavioral"
    summary_question = None
    report = (await client.get(f"/api/v1/interview/{session_id}/report")).json()
    (summary_question,) = report["questions"]
    assert summary_question["follow_up"] == {
        "question_id": FOLLOW_UP_ID_OFFSET + 1,
        "question_text": FOLLOW_UP_PHRASES[Gap.TOO_SHORT],
        "answer_text": FULL,
    }


async def test_without_the_option_nobody_gets_a_follow_up(running: RunningApp) -> None:
    client = running.client
    session_id = await running.start()
    response = await client.post(
        f"/api/v1/interview/{session_id}/answer", json={"question_id": 1, "answer_text": SHORT}
    )
    assert response.json()["question_id"] == 2


async def test_a_full_answer_gets_no_follow_up(running: RunningApp) -> None:
    client = running.client
    session_id = (await client.post("/api/v1/interview/start", json={"follow_ups": True})).json()[
        "session_id"
    ]
    response = await client.post(
        f"/api/v1/interview/{session_id}/answer", json={"question_id": 1, "answer_text": FULL}
    )
    assert response.json()["question_id"] == 2


# --- the state machine -----------------------------------------------------------------------------


def _session(follow_ups: bool = True) -> InterviewSession:
    questions = (
        Question(1, "Tell me about yourself.", QuestionType.INTRODUCTION),
        Question(2, "Any questions?", QuestionType.CLOSING),
    )
    return InterviewSession.start("session_x", questions, datetime.now(timezone.utc), follow_ups=follow_ups)


def test_the_follow_up_comes_before_the_next_question_and_only_once() -> None:
    now = datetime.now(timezone.utc)
    asked = follow_up_for(Gap.TOO_SHORT)
    session = _session().answer(1, "Short.", now, follow_up=asked).session
    current = session.current
    assert current is not None and current.awaits_follow_up and current.current_id == 1_000_001
    with pytest.raises(WrongQuestion):
        session.answer(2, "Skipping ahead.", now)
    session = session.answer(1_000_001, "Longer now.", now, follow_up=asked).session
    assert session.current is not None and session.current.question.id == 2
    first = session.questions[0]
    assert first.follow_up is not None and first.follow_up.answer_text == "Longer now."
    assert first.judged_text == "Short.\n\nLonger now."
    # The last question's follow-up keeps the interview open until it is answered.
    session = session.answer(2, "No.", now, follow_up=asked).session
    assert not session.is_complete
    session = session.answer(1_000_002, "Well, one: how is on-call shared?", now).session
    assert session.is_complete


def test_follow_ups_off_ignores_a_proposed_follow_up() -> None:
    now = datetime.now(timezone.utc)
    session = (
        _session(follow_ups=False).answer(1, "Short.", now, follow_up=follow_up_for(Gap.TOO_SHORT)).session
    )
    assert session.questions[0].follow_up is None
    assert session.current is not None and session.current.question.id == 2
