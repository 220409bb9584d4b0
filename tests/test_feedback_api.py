"""Feedback over HTTP: answers evaluated in the background, the report in JSON and HTML, start options."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx

from conftest import RunningApp, SettingsFactory
from interviewai.adapters.queue.taskiq_queue import TaskiqJobQueue
from interviewai.adapters.store.database import create_engine, migrate
from interviewai.adapters.store.evaluations import SqlEvaluationStore
from interviewai.adapters.store.sql import SqlSessionStore
from interviewai.app import create_app
from interviewai.domain.evaluation import AnswerToJudge, CriterionScore, Evaluation, EvaluationFailed
from interviewai.domain.questions import Question, QuestionType
from interviewai.domain.session import InterviewSession
from interviewai.services.evaluation import EvaluationService

STRONG = (
    "I'm a backend engineer with six years of experience, most recently at a logistics start-up where I own "
    "the routing API, a Python service on PostgreSQL that handles two million requests a day. Last year I "
    "led its move to Kubernetes, which cut our deploy time from forty minutes to six. I'm applying because "
    "your team builds developer-facing APIs at a larger scale, and that is the next step I want."
)
TWO_QUESTIONS = (
    '[{"id": 1, "type": "introduction", "text": "Tell me about yourself."},'
    ' {"id": 2, "type": "closing", "text": "What would you like to ask us?"}]'
)
HOSTILE = 'I said <script>alert("x")</script> & <b>bold</b> things.'


async def report_when_ready(
    client: httpx.AsyncClient, session_id: str, deadline_s: float = 60
) -> dict[str, Any]:
    """Poll the report until no answer is pending (the evaluation runs in the background)."""
    give_up = time.monotonic() + deadline_s
    while True:
        response = await client.get(f"/api/v1/interview/{session_id}/report")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] == "ready" or time.monotonic() > give_up:
            return body
        await asyncio.sleep(0.05)


async def answer(client: httpx.AsyncClient, session_id: str, question_id: int, text: str) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/interview/{session_id}/answer", json={"question_id": question_id, "answer_text": text}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_an_answer_is_evaluated_in_the_background_and_reported(running: RunningApp) -> None:
    client = running.client
    session_id = await running.start()
    empty = await report_when_ready(client, session_id)
    assert empty["status"] == "ready" and empty["questions"] == [] and empty["overall"] is None

    await answer(client, session_id, 1, STRONG)
    report = await report_when_ready(client, session_id)
    assert report["status"] == "ready" and report["evaluator"] == "rubric"
    assert report["state"] == "in_progress", "the report works before the end"
    (question,) = report["questions"]
    assert question["question_id"] == 1 and question["answer_text"] == STRONG
    assert question["status"] == "ready" and question["evaluator"] == "rubric"
    assert question["evaluator_version"].startswith("1+")
    assert 0 <= question["score"] <= 100
    assert {c["name"] for c in question["criteria"]} == {"background", "motivation", "highlight", "structure"}
    assert all(quote in STRONG for c in question["criteria"] for quote in c["evidence"])
    assert report["overall"]["score"] == question["score"]
    assert report["overall"]["band"] in {"strong", "good", "fair", "needs work"}
    assert report["html_url"].endswith(f"/api/v1/interview/{session_id}/report?format=html")


async def test_the_report_of_an_unknown_session_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/interview/session_nope/report")
    assert response.status_code == 404
    assert response.json()["code"] == "session_not_found"


async def test_the_completion_summary_links_the_report(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    bank = tmp_path / "bank.json"
    bank.write_text(TWO_QUESTIONS)
    app = create_app(make_settings(question_bank=bank))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            session_id = (await client.post("/api/v1/interview/start")).json()["session_id"]
            await answer(client, session_id, 1, "An answer to question one.")
            body = await answer(client, session_id, 2, "An answer to question two?")
            assert body["type"] == "complete"
            report_url = f"http://testserver/api/v1/interview/{session_id}/report"
            assert body["session_summary"]["report_url"] == report_url
            report = await report_when_ready(client, session_id)
            assert report["state"] == "completed" and len(report["questions"]) == 2
            assert all(q["status"] == "ready" for q in report["questions"])
            ended = (await client.delete(f"/api/v1/interview/{session_id}")).json()
            assert ended["summary"]["report_url"] == report_url


async def test_the_html_report_escapes_the_answer_and_marks_the_evidence(running: RunningApp) -> None:
    client = running.client
    session_id = await running.start()
    await answer(client, session_id, 1, STRONG + " " + HOSTILE)
    await report_when_ready(client, session_id)
    by_query = await client.get(f"/api/v1/interview/{session_id}/report", params={"format": "html"})
    by_accept = await client.get(
        f"/api/v1/interview/{session_id}/report", headers={"Accept": "text/html,application/xhtml+xml,*/*"}
    )
    for response in (by_query, by_accept):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        page = response.text
        assert "<script>alert" not in page and "<b>bold</b>" not in page
        assert "&lt;script&gt;alert(" in page
        assert '<meta name="viewport"' in page and "@media print" in page
        assert "<mark>" in page, "evidence is highlighted in the answer"
        assert "script-src" not in response.headers["content-security-policy"], "no script may run"
    as_json = await client.get(
        f"/api/v1/interview/{session_id}/report", headers={"Accept": "application/json"}
    )
    assert as_json.headers["content-type"].startswith("application/json")


async def test_unknown_start_options_are_422_naming_the_field(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/interview/start", json={"feedback": "each", "colour": "blue"})
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert any(problem["loc"][-1] == "colour" for problem in response.json()["detail"])
    bad_mode = await client.post("/api/v1/interview/start", json={"feedback": "sometimes"})
    assert bad_mode.status_code == 422
    assert bad_mode.json()["detail"][0]["loc"][-1] == "feedback"
    fine = await client.post("/api/v1/interview/start", json={"feedback": "each", "follow_ups": True})
    assert fine.status_code == 200


class FlakyEvaluator:
    """Fails on the first question's answers every time; judges the others with a fixed result."""

    name = "flaky"
    version = "0"

    def __init__(self) -> None:
        self.calls: list[int] = []

    async def evaluate(self, answer: AnswerToJudge) -> Evaluation:
        self.calls.append(answer.question.id)
        if answer.question.id == 1:
            raise EvaluationFailed("the judge is out to lunch")
        criterion = CriterionScore("clarity", "Clarity", 4, (answer.answer_text[:10],), "Clear.")
        return Evaluation("flaky", "0", 70, (criterion,), ("Clear.",), ())


async def test_an_evaluation_that_fails_twice_is_reported_failed_and_the_rest_still_is(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'feedback.db'}")
    await migrate(engine)
    jobs = TaskiqJobQueue.in_process()
    await jobs.start()
    try:
        sessions = SqlSessionStore(engine)
        evaluator = FlakyEvaluator()
        service = EvaluationService(SqlEvaluationStore(engine), sessions, evaluator, jobs)
        questions = (
            Question(1, "Tell me about yourself.", QuestionType.INTRODUCTION),
            Question(2, "What would you ask us?", QuestionType.CLOSING),
        )
        session = InterviewSession.start("session_flaky", questions, _now())
        await sessions.create(session)
        for question_id in (1, 2):
            session = await sessions.save(
                session.answer(question_id, f"Answer {question_id}.", _now()).session
            )
            await service.answer_recorded(session, session.questions[question_id - 1])
        give_up = time.monotonic() + 30
        while (report := await service.report("session_flaky")).status == "pending":
            assert time.monotonic() < give_up, "the evaluations never finished"
            await asyncio.sleep(0.02)
        first, second = report.questions
        assert first.status.value == "failed" and first.reason == "the judge is out to lunch"
        assert evaluator.calls.count(1) == 2, "one retry, then the failure is recorded"
        assert second.status.value == "ready" and second.score == 70
        assert report.overall is not None and report.overall.score == 70
    finally:
        await jobs.aclose()
        await engine.dispose()


def _now() -> datetime:
    return datetime.now(timezone.utc)
