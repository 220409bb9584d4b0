"""Response models of the feedback report (`GET /interview/{session_id}/report`) and the `feedback` push."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class CriterionModel(BaseModel):
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
    question_id: int
    question_text: str
    answer_text: str | None


class QuestionFeedback(BaseModel):
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
    score: int = Field(ge=0, le=100)
    band: str
    summary: str


class ReportResponse(BaseModel):
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
