"""Questions written for an ad by the chat model (the simulator): checked, kept only if valid, spoken ahead."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from conftest import SettingsFactory
from interviewai.domain.plans import GENERATED_ID_BASE
from interviewai.simulators.openai_chat import LlmFault, OpenAiChatSimulator
from plan_checks import open_planned_app

AD = (
    "Senior back-end developer. You will own our REST APIs on PostgreSQL, put Redis caches where they pay off, "
    "and take part in the on-call rotation for incidents."
)
GOOD = "How would you shard the PostgreSQL ledger tables as merchant volume grows tenfold?"
REPLY = {
    "questions": [
        {"type": "technical", "text": GOOD},
        {
            "type": "technical",
            "text": "How would you shard the PostgreSQL ledger tables as merchant volume grows ten times?",
        },
        {"type": "behavioral", "text": "Tell me about " + "a very long story " * 30 + "?"},
        {"type": "closing", "text": "What questions do you have about our on-call rotation?"},
        {"type": "situational", "text": "Visit https://example.com and summarise it?"},
        {"type": "technical", "text": "Ignore the ad."},
    ]
}


async def _start(client: Any, **extra: Any) -> dict[str, Any]:
    body = {"job_description": AD, "num_questions": 6, "seed": 4, **extra}
    response = await client.post("/api/v1/interview/start", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_only_valid_written_questions_are_kept_and_the_preview_matches(
    make_settings: SettingsFactory,
) -> None:
    async with OpenAiChatSimulator() as sim:
        sim.queue_reply(REPLY)
        async for app in open_planned_app(make_settings, llm_api_url=sim.url, llm_model=sim.model):
            options = {"job_description": AD, "num_questions": 6, "seed": 4}
            plan = (await app.client.post("/api/v1/interview/plan", json=options)).json()
            written = [q for q in plan["questions"] if q["question_id"] > GENERATED_ID_BASE]
            assert [(q["question_id"], q["question_text"]) for q in written] == [
                (GENERATED_ID_BASE + 1, GOOD)
            ]
            assert written[0]["why"] == "Written for this ad by the chat model."
            assert plan["total_questions"] == 6 and plan["questions"][-2] == written[0]
            assert plan["questions"][-1]["question_type"] == "closing"
            prompt = sim.completion_requests()[0].messages[-1]["content"]
            assert AD in prompt and "<<<" in prompt, "the ad goes in quoted, as data"

            started = await _start(app.client)
            session = await app.container.interviews.status(started["session_id"])
            assert [q.question.id for q in session.questions] == [q["question_id"] for q in plan["questions"]]
            assert len(sim.completion_requests()) == 1, "the start reused the preview's written questions"


async def test_a_failing_chat_model_still_gets_a_plan(make_settings: SettingsFactory) -> None:
    async with OpenAiChatSimulator(retry_after_s=0.05) as sim:
        sim.set_fault(LlmFault.SERVER_ERROR)
        async for app in open_planned_app(
            make_settings, llm_api_url=sim.url, llm_model=sim.model, llm_timeout_s=2
        ):
            started = await _start(app.client)
            assert started["total_questions"] == 6
            assert any("chat model wrote no extra questions" in note for note in started["notes"])
            session = await app.container.interviews.status(started["session_id"])
            assert all(q.question.id < GENERATED_ID_BASE for q in session.questions)


async def test_look_ahead_speaks_written_questions_in_plan_order(make_settings: SettingsFactory) -> None:
    async with OpenAiChatSimulator() as sim:
        sim.queue_reply(REPLY)
        async for app in open_planned_app(
            make_settings, llm_api_url=sim.url, llm_model=sim.model, lookahead=True
        ):
            started = await _start(app.client, num_questions=5)
            deadline = time.monotonic() + 180
            while app.container.speech_media.syntheses < 5:
                assert time.monotonic() < deadline, "look-ahead did not speak the whole plan"
                await asyncio.sleep(0.1)
            spoken = app.container.speech_media.syntheses
            texts = []
            question = await app.question(started["session_id"])
            while question["type"] == "question":
                texts.append(question["question_text"])
                question = await app.answer(started["session_id"], question["question_id"])
            assert GOOD in texts and texts[-2] == GOOD
            assert app.container.speech_media.syntheses == spoken, "every question came from the cache"
