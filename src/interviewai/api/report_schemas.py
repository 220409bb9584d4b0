"""Response models of the feedback report (`GET /interview/{session_id}/report`) and the `feedback` push."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class CriterionModel(BaseModel):
    """One rubric criterion of an answer: its score (1-5), the quotes it rests on, and what would raise it."""

    name: str
    label: str
    score: int = Field(ge=1, le=5)
    evidence: list[str] = Field(description="Verbatim quotes from the answer that justify the score.")
    comment: str


class DeliveryModel(BaseModel):
    """How spoken answers were delivered, from the recogniser's word timings."""

    spoken_answers: int = Field(ge=0, description="1 for one answer; the count of spoken answers overall.")
    words: int = Field(ge=0)
    speaking_s: float = Field(ge=0, description="From the first word's start to the last word's end.")
    words_per_minute: float = Field(ge=0, description="Pace over the speaking time.")
    pace: Literal["slow", "steady", "fast"] = Field(description="slow under 110 wpm, fast over 170.")
    filler_words: int = Field(ge=0, description="um, uh, like, you know, ...")
    fillers_per_100_words: float = Field(ge=0)
    long_pauses: int = Field(ge=0, description="Silences between two words longer than long_pause_s.")
    longest_pause_s: float = Field(ge=0)
    long_pause_s: float = Field(gt=0)


class FollowUpModel(BaseModel):
    """The follow-up asked after a question, and its answer (null while unanswered)."""

    question_id: int
    question_text: str
    answer_text: str | None


class QuestionFeedback(BaseModel):
    """One answer's feedback: pending until judged, then a 0-100 score with the criteria, strengths and
    improvements; `failed` with its `reason` when no engine could judge it."""

    question_id: int
    question_text: str
    question_type: str
    answer_text: str
    status: Literal["pending", "ready", "failed"]
    score: int | None = Field(None, ge=0, le=100)
    criteria: list[CriterionModel]
    strengths: list[str]
    improvements: list[str]
    evaluator: str | None = Field(None, description="The engine that judged this answer, and its version.")
    evaluator_version: str | None = None
    reason: str | None = Field(
        None, description="Why the evaluation failed, or why another engine judged it (a fallback)."
    )
    follow_up: FollowUpModel | None = None
    delivery: DeliveryModel | None = Field(
        None, description="Pace, filler words and pauses of a spoken answer; null for a typed one."
    )


class OverallModel(BaseModel):
    """The interview's score (0-100), its band (strong, good, fair, needs work) and a one-line summary."""

    score: int = Field(ge=0, le=100)
    band: str
    summary: str


class ReportResponse(BaseModel):
    """The feedback report of a session: `pending` while answers are being judged, `ready` once every one is."""

    session_id: str
    state: str
    status: Literal["pending", "ready"]
    evaluator: str
    overall: OverallModel | None = Field(None, description="Null until at least one answer is judged.")
    strengths: list[str]
    improvements: list[str]
    questions: list[QuestionFeedback]
    questions_answered: int
    total_questions: int
    html_url: str
    delivery: DeliveryModel | None = Field(
        None, description="Every spoken answer together; null when no answer was spoken."
    )


class ReportReady(BaseModel):
    """WebSocket `report_ready`: every answer of the finished interview is judged."""

    session_id: str
    report_url: str
    html_url: str
    overall: OverallModel | None
