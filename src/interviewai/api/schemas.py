"""Request and response models of the public API (the seed's field names and types, plus additions)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_ANSWER_CHARS = 10_000


class StartRequest(BaseModel):
    """Optional options for a new interview; an empty body means all defaults."""

    model_config = ConfigDict(extra="ignore")


class AnswerRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    question_id: int = Field(strict=True, ge=1, description="The id of the question being answered.")
    answer_text: str = Field(
        strict=True,
        min_length=1,
        max_length=MAX_ANSWER_CHARS,
        description="The candidate's answer (1 to 10,000 characters, not only whitespace).",
    )

    @field_validator("answer_text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("answer_text must contain some text, not only whitespace")
        if not value.isascii():
            # Python's JSON parser lets lone surrogates through; they cannot be stored or sent back.
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("answer_text must be valid Unicode (it holds a lone surrogate)") from None
        return value


class WordTimingModel(BaseModel):
    word: str
    start: float
    end: float


class VisemeModel(BaseModel):
    viseme: str
    start: float
    end: float


class StartResponse(BaseModel):
    session_id: str
    state: str
    total_questions: int
    avatar_mode: str
    avatar_image_url: str
    idle_video_url: str | None


class QuestionResponse(BaseModel):
    type: Literal["question"] = "question"
    question_id: int
    question_text: str
    question_type: str
    avatar_mode: str
    video_url: str | None
    idle_video_url: str | None
    audio_base64: str
    audio_duration: float
    word_timings: list[WordTimingModel]
    visemes: list[VisemeModel]
    audio_url: str
    avatar_image_url: str
    current_question: int
    total_questions: int
    latency_ms: int
    voice: str
    video_status: Literal["ready", "pending", "failed", "disabled"]
    fallback_reason: str | None = None


class QuestionSummary(BaseModel):
    question_id: int
    question_text: str
    question_type: str
    answer_text: str | None
    word_count: int
    seconds_to_answer: float | None


class SessionSummary(BaseModel):
    session_id: str
    state: str
    created_at: str
    completed_at: str | None
    questions_answered: int
    total_questions: int
    questions: list[QuestionSummary]


class CompletionResponse(BaseModel):
    type: Literal["complete"] = "complete"
    message: str
    questions_answered: int
    session_summary: SessionSummary


class StatusResponse(BaseModel):
    session_id: str
    state: str
    current_question: int
    total_questions: int
    is_complete: bool
    answers_recorded: int


class EndResponse(BaseModel):
    message: str
    session_id: str
    summary: SessionSummary


class HealthResponse(BaseModel):
    status: Literal["healthy"] = "healthy"
    service: str
    version: str


class Credits(BaseModel):
    remaining: float
    total: float


class FailureModel(BaseModel):
    category: str
    message: str
    at: str


class AvatarStatusResponse(BaseModel):
    configured: bool
    mode: str
    presenter_id: str
    credits: Credits | None = None
    reachable: bool | None = None
    last_failure: FailureModel | None = None
    message: str | None = None


class InterviewInfoResponse(BaseModel):
    total_questions: int
    question_types: list[str]
    estimated_duration_minutes: int
    avatar_mode: str
    avatar_image_url: str
    idle_video_url: str | None
    presenter_id: str


class VoiceModel(BaseModel):
    name: str
    short_name: str
    gender: str
    locale: str
    engine: str
    available: bool
    source: str


class VoicesResponse(BaseModel):
    voices: list[VoiceModel]


class ErrorResponse(BaseModel):
    detail: object
    code: str


class MetricsResponse(BaseModel):
    """Counters of this process since it started (each API instance reports its own)."""

    syntheses: int
    clips_created: int
    video_on: bool
    speech_engines: list[dict[str, object]]
