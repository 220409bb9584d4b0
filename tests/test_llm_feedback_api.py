"""EVALUATOR=llm through the app: judged answers and fallbacks in the report, /metrics, written follow-ups."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from conftest import RunningApp, SettingsFactory
from interviewai.app import create_app
from interviewai.domain.follow_ups import FOLLOW_UP_PHRASES, Gap
from interviewai.domain.session import FOLLOW_UP_ID_OFFSET
from interviewai.simulators.openai_chat import (
    LlmFault,
    OpenAiChatSimulator,
    RecordedRequest,
    minimal_instance,
)
from llm_fixtures import SIM_KEY, llm_simulator
from test_feedback_api import STRONG, answer, report_when_ready
from test_metrics import moved, scrape

__all__ = ["llm_simulator"]

QUOTE = "Last year I led its move to Kubernetes, which cut our deploy time from forty minutes to six."
SHORT = "I did some coding."
WRITTEN = "Which project from that coding are you proudest of, and what did you build?"


class Script:
    """What the simulated model says: a judgement quoting QUOTE, and `follow_up` for follow-up requests."""

    def __init__(self) -> None:
        self.follow_up: str = WRITTEN

    def __call__(self, request: RecordedRequest) -> dict[str, Any]:
        name = request.body["response_format"]["json_schema"]["name"]
        schema = request.schema or {}
        if name == "follow_up_question":
            return {"question": self.follow_up}
        reply: dict[str, Any] = minimal_instance(schema)
        for item in reply["criteria"].values():
            item.update(score=4, evidence=[QUOTE], comment="Good.")
        return reply


@pytest.fixture
async def llm_app(
    make_settings: SettingsFactory, llm_simulator: OpenAiChatSimulator
) -> AsyncIterator[tuple[RunningApp, Script]]:
    script = Script()
    llm_simulator.reply = script
    settings = make_settings(
        evaluator="llm",
        llm_api_url=llm_simulator.url,
        llm_model=llm_simulator.model,
        llm_api_key=SIM_KEY,
        llm_evaluation_timeout_s=2.0,
        llm_follow_up_timeout_s=1.0,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield RunningApp(app, client), script


async def test_judged_and_fallen_back_answers_in_the_report_and_the_metrics(
    llm_app: tuple[RunningApp, Script], llm_simulator: OpenAiChatSimulator
) -> None:
    running, _ = llm_app
    client = running.client
    before = await scrape(client)
    session_id = await running.start()
    await answer(client, session_id, 1, STRONG)
    first = await report_when_ready(client, session_id)
    llm_simulator.set_fault(LlmFault.SERVER_ERROR)
    await answer(client, session_id, 2, STRONG)
    report = await report_when_ready(client, session_id)
    after = await scrape(client)

    assert first["evaluator"] == report["evaluator"] == "llm"
    judged, fallen = report["questions"]
    assert judged["evaluator"] == "llm" and judged["evaluator_version"] == f"1+{llm_simulator.model}"
    assert judged["score"] == 75 and judged["reason"] is None
    assert all(c["evidence"] == [QUOTE] for c in judged["criteria"])
    assert fallen["status"] == "ready" and fallen["evaluator"] == "rubric"
    assert fallen["reason"].startswith("llm: server: POST /chat/completions: HTTP 500")
    page = (await client.get(f"/api/v1/interview/{session_id}/report?format=html")).text
    assert "judged by rubric" in page and "llm: server: POST /chat/completions: HTTP 500" in page

    seconds = "interviewai_evaluation_seconds_count"
    assert moved(before, after, seconds, engine="llm", outcome="ok") == 1
    assert moved(before, after, seconds, engine="llm", outcome="fallback") == 1
    assert moved(before, after, "interviewai_evaluation_fallbacks_total", engine="llm", reason="server") == 1
    assert moved(before, after, "interviewai_provider_failures_total", provider="llm", category="server") == 1


async def test_a_written_follow_up_is_spoken_on_demand(
    llm_app: tuple[RunningApp, Script], llm_simulator: OpenAiChatSimulator
) -> None:
    running, _ = llm_app
    client = running.client
    started = await client.post("/api/v1/interview/start", json={"follow_ups": True})
    session_id = started.json()["session_id"]
    await running.question(session_id)
    media = running.container.speech_media
    spoken = media.syntheses
    follow_up = await answer(client, session_id, 1, SHORT)
    assert follow_up["question_type"] == "follow_up" and follow_up["parent_question_id"] == 1
    assert follow_up["question_id"] == FOLLOW_UP_ID_OFFSET + 1
    assert follow_up["question_text"] == WRITTEN
    assert media.syntheses == spoken + 1, "a written follow-up is synthesized when it is asked"
    asked = [r for r in llm_simulator.completion_requests() if _schema_name(r) == "follow_up_question"]
    (request,) = asked
    assert SHORT in request.messages[1]["content"] and SHORT not in request.messages[0]["content"]


@pytest.mark.parametrize(
    "written",
    [
        "Great answer, thank you.",  # not a question
        "Tell me about yourself, your background, and what brings you to this role?",  # the parent again
        "What " + "really " * 40 + "happened?",  # too long
        'Return {"score": 5} please?',  # markup
    ],
)
async def test_a_follow_up_that_fails_the_checks_is_a_fixed_phrasing(
    written: str, llm_app: tuple[RunningApp, Script]
) -> None:
    running, script = llm_app
    script.follow_up = written
    started = await running.client.post("/api/v1/interview/start", json={"follow_ups": True})
    follow_up = await answer(running.client, started.json()["session_id"], 1, SHORT)
    assert follow_up["question_text"] == FOLLOW_UP_PHRASES[Gap.TOO_SHORT]


async def test_a_late_follow_up_is_a_fixed_phrasing_and_a_full_answer_asks_nothing(
    llm_app: tuple[RunningApp, Script], llm_simulator: OpenAiChatSimulator
) -> None:
    running, _ = llm_app
    client = running.client
    started = await client.post("/api/v1/interview/start", json={"follow_ups": True})
    session_id = started.json()["session_id"]
    llm_simulator.set_fault(LlmFault.STALL, times=1)
    follow_up = await answer(client, session_id, 1, SHORT)
    assert follow_up["question_text"] == FOLLOW_UP_PHRASES[Gap.TOO_SHORT]
    await answer(client, session_id, FOLLOW_UP_ID_OFFSET + 1, STRONG)
    asked = len(llm_simulator.completion_requests())
    second = await answer(client, session_id, 2, STRONG_BEHAVIOURAL)
    assert second["question_type"] != "follow_up" and second["question_id"] == 3
    follow_ups = [
        r for r in llm_simulator.completion_requests()[asked:] if _schema_name(r) == "follow_up_question"
    ]
    assert follow_ups == [], "an answer without a gap costs no chat request before the next question"


STRONG_BEHAVIOURAL = (
    "At my last job a teammate wanted to move our order service from PostgreSQL to MongoDB because the schema "
    "kept changing. I disagreed, because we needed transactions across orders and payments. I built a small "
    "prototype of each over two days and set up a meeting with our lead to compare them. In the end we kept "
    "PostgreSQL with a JSONB column, and as a result schema migrations dropped from one a week to one a "
    "month. I learned to settle disagreements with data."
)


def _schema_name(request: RecordedRequest) -> str:
    name: str = request.body["response_format"]["json_schema"]["name"]
    return name


def test_the_llm_engine_needs_a_chat_model_and_a_shorter_deadline(make_settings: SettingsFactory) -> None:
    with pytest.raises(ValidationError, match="EVALUATOR=llm needs LLM_API_URL"):
        make_settings(evaluator="llm")
    with pytest.raises(ValidationError, match="LLM_EVALUATION_TIMEOUT_S must be shorter"):
        make_settings(
            evaluator="llm",
            llm_api_url="http://127.0.0.1:9/v1",
            llm_model="m",
            llm_evaluation_timeout_s=60,
            evaluation_timeout_s=60,
        )
    assert make_settings().evaluator == "rubric", "rubric stays the default"
