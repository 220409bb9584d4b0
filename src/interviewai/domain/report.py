"""The interview report: per-question feedback from the stored evaluations, and the overall picture."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from interviewai.domain.evaluation import (
    CriterionScore,
    EvaluationRecord,
    EvaluationStatus,
    answer_digest,
)
from interviewai.domain.recognition import LONG_PAUSE_S
from interviewai.domain.session import AskedQuestion, FollowUp, InterviewSession, SessionState

MAX_OVERALL_POINTS = 3
# Band floors, highest first: the band is the first whose floor the score reaches.
BANDS: tuple[tuple[int, str], ...] = ((80, "strong"), (60, "good"), (40, "fair"), (0, "needs work"))


# Words per minute of speaking time: under SLOW a listener waits, over FAST they struggle to follow.
SLOW_WPM = 110.0
FAST_WPM = 170.0


def band_for(score: int) -> str:
    """The band name of a 0-100 score: "strong", "good", "fair" or "needs work"."""
    return next(name for floor, name in BANDS if score >= floor)


def pace_for(words_per_minute: float) -> str:
    """The pace of a speaking rate in words per minute: "slow" under SLOW_WPM, "fast" over FAST_WPM, else
    "steady"."""
    if words_per_minute < SLOW_WPM:
        return "slow"
    return "fast" if words_per_minute > FAST_WPM else "steady"


@dataclass(frozen=True)
class DeliveryFigures:
    """How spoken answers were delivered (one answer, or every spoken answer of the report together)."""

    spoken_answers: int
    words: int
    speaking_s: float
    words_per_minute: float
    pace: str
    """slow (under 110 wpm), steady, or fast (over 170 wpm)."""
    filler_words: int
    fillers_per_100_words: float
    long_pauses: int
    """Silences between two words longer than LONG_PAUSE_S."""
    longest_pause_s: float
    long_pause_s: float = LONG_PAUSE_S


def _figures(
    spoken: int, words: int, speaking_s: float, fillers: int, pauses: int, longest: float
) -> DeliveryFigures:
    wpm = round(words / speaking_s * 60, 1) if speaking_s > 0 else 0.0
    return DeliveryFigures(
        spoken_answers=spoken,
        words=words,
        speaking_s=round(speaking_s, 3),
        words_per_minute=wpm,
        pace=pace_for(wpm),
        filler_words=fillers,
        fillers_per_100_words=round(100 * fillers / words, 1) if words else 0.0,
        long_pauses=pauses,
        longest_pause_s=round(longest, 3),
    )


def delivery_of(asked: AskedQuestion) -> DeliveryFigures | None:
    """The delivery figures of a spoken answer (from its stored speech metrics); None for a typed one."""
    speech = asked.speech
    if speech is None:
        return None
    m = speech.metrics
    return _figures(1, len(speech.words), m.speaking_s, m.filler_words, m.long_pauses, m.longest_pause_s)


def deliveries_of(session: InterviewSession) -> dict[int, DeliveryFigures]:
    """Delivery figures by position, for the answered questions that were spoken."""
    found = ((q.position, delivery_of(q)) for q in session.questions if q.is_answered)
    return {position: figures for position, figures in found if figures is not None}


def overall_delivery(figures: list[DeliveryFigures]) -> DeliveryFigures | None:
    """Every spoken answer together: the pace over all speaking time, fillers and pauses summed."""
    if not figures:
        return None
    return _figures(
        sum(f.spoken_answers for f in figures),
        sum(f.words for f in figures),
        sum(f.speaking_s for f in figures),
        sum(f.filler_words for f in figures),
        sum(f.long_pauses for f in figures),
        max(f.longest_pause_s for f in figures),
    )


@dataclass(frozen=True)
class QuestionReport:
    """The feedback on one asked question: its answer, its evaluation (0-100 score, criteria, strengths,
    improvements) once ready, and how it was delivered when spoken."""

    position: int
    question_id: int
    question_text: str
    question_type: str
    answer_text: str
    status: EvaluationStatus
    score: int | None = None
    criteria: tuple[CriterionScore, ...] = ()
    strengths: tuple[str, ...] = ()
    improvements: tuple[str, ...] = ()
    evaluator: str | None = None
    evaluator_version: str | None = None
    reason: str | None = None
    """Why the evaluation failed, or why the configured engine was replaced by another for it."""
    follow_up: FollowUp | None = None
    follow_up_id: int | None = None
    delivery: DeliveryFigures | None = None


@dataclass(frozen=True)
class Overall:
    """The whole interview in one figure: the mean 0-100 score of the judged answers, its band and a
    one-sentence summary."""

    score: int
    band: str
    summary: str


@dataclass(frozen=True)
class InterviewReport:
    """The report of a session: overall figures once answers are judged, and one QuestionReport per
    question."""

    session_id: str
    session_state: SessionState
    status: EvaluationStatus
    """PENDING while any answer is still being evaluated, else READY."""
    evaluator: str
    overall: Overall | None
    strengths: tuple[str, ...]
    improvements: tuple[str, ...]
    questions: tuple[QuestionReport, ...]
    answered: int
    total_questions: int
    delivery: DeliveryFigures | None = None
    """All spoken answers together; None when no answer was spoken."""


def question_report(
    asked: AskedQuestion, record: EvaluationRecord | None, delivery: DeliveryFigures | None = None
) -> QuestionReport:
    """The QuestionReport of one asked question; an evaluation record made for an older answer text counts as
    pending."""
    text = asked.judged_text or ""
    base: dict[str, Any] = {
        "position": asked.position,
        "question_id": asked.question.id,
        "question_text": asked.question.text,
        "question_type": asked.question.type.value,
        "answer_text": asked.answer_text or "",
        "follow_up": asked.follow_up,
        "follow_up_id": asked.follow_up_id if asked.follow_up is not None else None,
        "delivery": delivery,
    }
    # A record made for an older text (the follow-up's answer came since) does not count yet.
    if (
        record is None
        or record.answer_sha != answer_digest(text)
        or record.status is EvaluationStatus.PENDING
    ):
        return QuestionReport(status=EvaluationStatus.PENDING, **base)
    if record.status is EvaluationStatus.FAILED or record.evaluation is None:
        return QuestionReport(status=EvaluationStatus.FAILED, reason=record.error, **base)
    evaluation = record.evaluation
    return QuestionReport(
        status=EvaluationStatus.READY,
        score=evaluation.score,
        criteria=evaluation.criteria,
        strengths=evaluation.strengths,
        improvements=evaluation.improvements,
        evaluator=evaluation.evaluator,
        evaluator_version=evaluation.evaluator_version,
        reason=evaluation.fallback_reason,
        **base,
    )


def build_report(
    session: InterviewSession,
    records: list[EvaluationRecord],
    evaluator: str,
    deliveries: dict[int, DeliveryFigures] | None = None,
) -> InterviewReport:
    """The report of every answered question so far (it works before the end, too)."""
    by_position = {r.position: r for r in records}
    deliveries = deliveries or {}
    questions = tuple(
        question_report(q, by_position.get(q.position), deliveries.get(q.position))
        for q in session.questions
        if q.is_answered
    )
    judged = [q for q in questions if q.status is EvaluationStatus.READY and q.score is not None]
    pending = any(q.status is EvaluationStatus.PENDING for q in questions)
    return InterviewReport(
        session_id=session.id,
        session_state=session.state,
        status=EvaluationStatus.PENDING if pending else EvaluationStatus.READY,
        evaluator=evaluator,
        overall=_overall(judged, len(questions)) if judged else None,
        strengths=_most_common(q.strengths for q in judged),
        improvements=_most_common(q.improvements for q in judged),
        questions=questions,
        answered=len(questions),
        total_questions=session.total_questions,
        delivery=overall_delivery([q.delivery for q in questions if q.delivery is not None]),
    )


def _overall(judged: list[QuestionReport], answered: int) -> Overall:
    score = round(sum(q.score or 0 for q in judged) / len(judged))
    band = band_for(score)
    means: dict[str, list[int]] = {}
    labels: dict[str, str] = {}
    for question in judged:
        for criterion in question.criteria:
            means.setdefault(criterion.name, []).append(criterion.score)
            labels[criterion.name] = criterion.label
    ranked = sorted(means, key=lambda name: sum(means[name]) / len(means[name]))
    judged_part = f"{len(judged)} of {answered} answers judged" if len(judged) < answered else ""
    parts = [f"Overall {score}/100 ({band}) over {answered} answered question{'s' if answered != 1 else ''}"]
    if judged_part:
        parts.append(judged_part)
    if len(ranked) >= 2:
        parts.append(
            f"strongest on {labels[ranked[-1]].lower()}, most room to grow on {labels[ranked[0]].lower()}"
        )
    return Overall(score=score, band=band, summary="; ".join(parts) + ".")


def _most_common(groups: Any) -> tuple[str, ...]:
    counts: Counter[str] = Counter()
    for group in groups:
        counts.update(dict.fromkeys(group, 1))
    return tuple(text for text, _ in counts.most_common(MAX_OVERALL_POINTS))
