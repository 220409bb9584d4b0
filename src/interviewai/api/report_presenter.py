"""Turns an InterviewReport into its JSON model and its printable HTML page."""

from __future__ import annotations

from dataclasses import asdict
from functools import lru_cache

import jinja2

from interviewai.api.deps import UrlBuilder
from interviewai.api.presenters import report_url
from interviewai.api.report_schemas import (
    CriterionModel,
    DeliveryModel,
    FollowUpModel,
    OverallModel,
    QuestionFeedback,
    ReportResponse,
)
from interviewai.domain.evaluation import EvaluationStatus
from interviewai.domain.report import DeliveryFigures, InterviewReport, QuestionReport


def delivery_model(figures: DeliveryFigures | None) -> DeliveryModel | None:
    """The delivery figures as the report shows them; None for no spoken answer."""
    return DeliveryModel.model_validate(asdict(figures)) if figures is not None else None


def question_feedback(question: QuestionReport) -> QuestionFeedback:
    """One answer's feedback as the report and the `feedback` push carry it."""
    follow_up = question.follow_up
    return QuestionFeedback(
        question_id=question.question_id,
        question_text=question.question_text,
        question_type=question.question_type,
        answer_text=question.answer_text,
        status=question.status.value,
        score=question.score,
        criteria=[
            CriterionModel(
                name=c.name, label=c.label, score=c.score, evidence=list(c.evidence), comment=c.comment
            )
            for c in question.criteria
        ],
        strengths=list(question.strengths),
        improvements=list(question.improvements),
        evaluator=question.evaluator,
        evaluator_version=question.evaluator_version,
        reason=question.reason,
        follow_up=(
            FollowUpModel(
                question_id=question.follow_up_id or 0,
                question_text=follow_up.text,
                answer_text=follow_up.answer_text,
            )
            if follow_up is not None
            else None
        ),
        delivery=delivery_model(question.delivery),
    )


def report_response(report: InterviewReport, urls: UrlBuilder) -> ReportResponse:
    """The report's JSON, with absolute URLs (`html_url` is the printable page)."""
    overall = report.overall
    return ReportResponse(
        session_id=report.session_id,
        state=report.session_state.value,
        status="pending" if report.status is EvaluationStatus.PENDING else "ready",
        evaluator=report.evaluator,
        overall=OverallModel(score=overall.score, band=overall.band, summary=overall.summary)
        if overall
        else None,
        strengths=list(report.strengths),
        improvements=list(report.improvements),
        questions=[question_feedback(q) for q in report.questions],
        questions_answered=report.answered,
        total_questions=report.total_questions,
        html_url=report_url(report.session_id, urls) + "?format=html",
        delivery=delivery_model(report.delivery),
    )


def highlighted(text: str, quotes: list[str]) -> list[tuple[str, bool]]:
    """`text` cut into (segment, is_evidence) pieces, every occurrence of every quote marked."""
    marked = [False] * len(text)
    for quote in quotes:
        start = text.find(quote) if quote else -1
        while start >= 0:
            marked[start : start + len(quote)] = [True] * len(quote)
            start = text.find(quote, start + len(quote))
    pieces: list[tuple[str, bool]] = []
    for index, char in enumerate(text):
        if pieces and pieces[-1][1] == marked[index]:
            pieces[-1] = (pieces[-1][0] + char, marked[index])
        else:
            pieces.append((char, marked[index]))
    return pieces


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    # autoescape on for everything: answers and model output are the candidate's text, never markup.
    return jinja2.Environment(
        loader=jinja2.PackageLoader("interviewai", "resources"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def report_html(report: ReportResponse) -> str:
    """The printable report page; every text is escaped, and evidence quotes are highlighted in the answers."""
    template = _environment().get_template("report.html.j2")
    questions = [
        {
            "q": q,
            "answer": highlighted(q.answer_text, [e for c in q.criteria for e in c.evidence]),
            "follow_up_answer": highlighted(
                q.follow_up.answer_text or "", [e for c in q.criteria for e in c.evidence]
            )
            if q.follow_up
            else [],
        }
        for q in report.questions
    ]
    return template.render(report=report, questions=questions)
