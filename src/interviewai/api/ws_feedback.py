"""Feedback pushed over the interview WebSocket: `feedback` per evaluated answer, `report_ready` at the end."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from interviewai.api.deps import UrlBuilder
from interviewai.api.presenters import report_url
from interviewai.api.report_presenter import question_feedback
from interviewai.api.report_schemas import OverallModel, ReportReady
from interviewai.domain.errors import DomainError
from interviewai.domain.evaluation import EvaluationStatus
from interviewai.domain.session import SessionState
from interviewai.services.evaluation import EvaluationService

# How often a socket re-reads the evaluations when none landed in this process (workers store them).
POLL_S = 1.0

Send = Callable[[str, dict[str, Any]], Awaitable[bool]]


async def push_feedback(
    send: Send, evaluations: EvaluationService, session_id: str, urls: UrlBuilder, *, each_answer: bool
) -> None:
    """Until the report is ready after the last answer: in practice mode (`each_answer`) send each answer's
    feedback as it lands; then send `report_ready` once and return. Ends quietly when the socket or the
    session goes."""
    sent: set[tuple[int, str, str, str]] = set()
    while True:
        try:
            report = await evaluations.report(session_id)
        except DomainError:
            return
        if each_answer:
            for question in report.questions:
                if question.status is EvaluationStatus.PENDING:
                    continue
                follow_up_answer = question.follow_up.answer_text or "" if question.follow_up else ""
                key = (question.position, question.answer_text, follow_up_answer, question.status.value)
                if key in sent:
                    continue
                sent.add(key)
                if not await send("feedback", question_feedback(question).model_dump(mode="json")):
                    return
        if report.session_state is SessionState.COMPLETED and report.status is EvaluationStatus.READY:
            url = report_url(session_id, urls)
            overall = report.overall
            ready = ReportReady(
                session_id=session_id,
                report_url=url,
                html_url=url + "?format=html",
                overall=OverallModel(score=overall.score, band=overall.band, summary=overall.summary)
                if overall
                else None,
            )
            await send("report_ready", ready.model_dump(mode="json"))
            return
        await evaluations.wait_for_change(session_id, POLL_S)
