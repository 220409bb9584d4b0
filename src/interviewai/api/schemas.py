"""Request and response models of the public API (the seed's field names and types, plus additions)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from interviewai.api.speech_schemas import SpeechMetricsModel, SpeechSummaryModel, TranscriptWordModel
from interviewai.domain.plans import MAX_JOB_DESCRIPTION_CHARS, MAX_QUESTIONS, MIN_QUESTIONS, PlanRequest
from interviewai.domain.questions import Seniority

MAX_ANSWER_CHARS = 10_000


def _integral_number(value: object) -> object:
    """JSON Schema counts `3.0` as the integer 3 and some clients send ids that way; NaN, infinities and
    fractions stay floats, which the strict int field then refuses (422 `validation_error`)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class StartOptions(BaseModel):
    """Options of a new interview (and of a plan preview); an empty body means today's default bank.

    Unknown fields are refused (422 naming them) so a misspelt option never silently does nothing.
    """

    model_config = ConfigDict(extra="forbid")

    role: str | None = Field(
        None, min_length=1, max_length=64, description="A role id from GET /api/v1/roles, e.g. `backend`."
    )
    seniority: Literal["junior", "mid", "senior", "any"] | None = Field(
        None, description="Keep questions pitched at this level (`any`: no filter)."
    )
    num_questions: int | None = Field(
        None, strict=True, ge=MIN_QUESTIONS, le=MAX_QUESTIONS, description="How many questions (3-20)."
    )
    job_description: str | None = Field(
        None,
        description=f"A pasted job ad to tailor to (at most {MAX_JOB_DESCRIPTION_CHARS} characters; "
        "longer is 413 `payload_too_large`).",
    )
    bank_id: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="A custom bank from /api/v1/banks instead of the library.",
    )
    seed: int | None = Field(
        None,
        strict=True,
        ge=0,
        le=2**31 - 1,
        description="Makes the plan reproducible; one is chosen if omitted.",
    )

    feedback: Literal["end", "each"] = Field(
        "end", description="When feedback is pushed: at the end (default), or after each answer (practice)."
    )
    follow_ups: bool = Field(
        False, strict=True, description="Ask at most one follow-up after an answer with a clear gap."
    )

    def plan_request(self) -> PlanRequest:
        """These options as the plan service takes them (`seniority` "any" is no filter)."""
        return PlanRequest(
            role=self.role,
            seniority=Seniority(self.seniority) if self.seniority not in (None, "any") else None,
            num_questions=self.num_questions,
            job_description=self.job_description,
            bank_id=self.bank_id,
            seed=self.seed,
        )


# The seed's name for the start body.
StartRequest = StartOptions


class AnswerRequest(BaseModel):
    """A typed answer to the current question; fields other than these are ignored."""

    model_config = ConfigDict(extra="ignore")

    question_id: Annotated[int, BeforeValidator(_integral_number)] = Field(
        strict=True, ge=1, description="The id of the question being answered."
    )
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
    """A word of the question as written and when the audio speaks it (seconds from the start)."""

    word: str
    start: float
    end: float


class VisemeModel(BaseModel):
    """A mouth shape (Oculus viseme) and when it shows (seconds from the start of the audio)."""

    viseme: str
    start: float
    end: float


class StartResponse(BaseModel):
    """A new session. `seed`, `role` and `notes` describe its plan: null, null and empty for the default
    questions in their fixed order."""

    session_id: str
    state: str
    total_questions: int
    avatar_mode: str
    avatar_image_url: str
    idle_video_url: str | None
    # Plans (additions): null for the default bank's fixed order.
    seed: int | None = None
    role: str | None = None
    notes: list[str] = []


class PlannedQuestionModel(BaseModel):
    """A question of a plan and why it was chosen."""

    question_id: int
    question_text: str
    question_type: str
    why: str


class PlanResponse(BaseModel):
    """The plan a start with the same options (and seed) makes."""

    questions: list[PlannedQuestionModel]
    total_questions: int
    seed: int | None
    role: str | None
    skills: list[str]
    bank_id: str | None
    bank_version: int | None
    notes: list[str]


class RoleModel(BaseModel):
    """A role a plan can target, with how many questions serve it and the levels they are pitched at."""

    id: str
    name: str
    question_count: int
    seniorities: list[str]


class RolesResponse(BaseModel):
    """The roles of the question library."""

    roles: list[RoleModel]


class BankModel(BaseModel):
    """A custom question bank at its current version (times in ISO 8601, UTC)."""

    bank_id: str
    version: int
    name: str
    format: str
    question_count: int
    question_types: list[str]
    roles: list[str]
    created_at: str
    updated_at: str
    content: str | None = None
    """The document as uploaded (GET /banks/{bank_id} only)."""


class BanksResponse(BaseModel):
    """Every custom question bank, each at its current version."""

    banks: list[BankModel]


class QuestionResponse(BaseModel):
    """The question to answer now, spoken: the audio inline (base64) and by URL with its word timings and
    visemes, the presenter's clip when `video_status` is `ready`, and the question's place in the interview
    (`current_question` counts from 1)."""

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
    parent_question_id: int | None = Field(
        None, description='For a follow-up (question_type "follow_up"): the question it follows up.'
    )


class FollowUpSummary(BaseModel):
    """The follow-up asked after a question, and its answer (null while unanswered)."""

    question_id: int
    question_text: str
    answer_text: str | None


class QuestionSummary(BaseModel):
    """One question of a session and its answer (null while unanswered), with what was heard when the answer
    was spoken."""

    question_id: int
    question_text: str
    question_type: str
    answer_text: str | None
    word_count: int
    seconds_to_answer: float | None
    # Spoken answers (additions): "speech" or "text" once answered; words and metrics when spoken.
    answer_source: Literal["speech", "text"] | None = None
    transcript_words: list[TranscriptWordModel] | None = None
    speech_metrics: SpeechMetricsModel | None = None
    answer_audio_url: str | None = None
    follow_up: FollowUpSummary | None = None


class SessionSummary(BaseModel):
    """Every question of a session in order, with its answers; times in ISO 8601, UTC."""

    session_id: str
    state: str
    created_at: str
    completed_at: str | None
    questions_answered: int
    total_questions: int
    questions: list[QuestionSummary]
    speech_summary: SpeechSummaryModel | None = None
    report_url: str | None = Field(None, description="The feedback report of this session (absolute URL).")


class CompletionResponse(BaseModel):
    """The interview is over (the last question was answered): the session's summary."""

    type: Literal["complete"] = "complete"
    message: str
    questions_answered: int
    session_summary: SessionSummary


# What GET question and POST answer return: the next question or the completion, told apart by `type`.
InterviewStep = Annotated[QuestionResponse | CompletionResponse, Field(discriminator="type")]


class StatusResponse(BaseModel):
    """Where a session stands: its state, the current question's number and how many answers are recorded."""

    session_id: str
    state: str
    current_question: int
    total_questions: int
    is_complete: bool
    answers_recorded: int


class EndResponse(BaseModel):
    """The session is ended, with its summary."""

    message: str
    session_id: str
    summary: SessionSummary


class HealthResponse(BaseModel):
    """The process is up (liveness): nothing else is asked; `GET /health/ready` asks the dependencies."""

    status: Literal["healthy"] = "healthy"
    service: str
    version: str


class Credits(BaseModel):
    """The video provider's credits: what is left of the plan's total."""

    remaining: float
    total: float


class FailureModel(BaseModel):
    """The video provider's last failure: its category, message and time (ISO 8601, UTC)."""

    category: str
    message: str
    at: str


class AvatarStatusResponse(BaseModel):
    """Whether questions come with video now, and what the video provider last said. `reachable` is null when
    video is not configured; `credits` is null then, or when the provider did not answer."""

    configured: bool
    mode: str
    presenter_id: str
    credits: Credits | None = None
    reachable: bool | None = None
    last_failure: FailureModel | None = None
    message: str | None = None


class InterviewInfoResponse(BaseModel):
    """What an interview with no options is: its questions' count and types, the expected duration, the
    presenter, and the roles a plan can target."""

    total_questions: int
    question_types: list[str]
    estimated_duration_minutes: int
    avatar_mode: str
    avatar_image_url: str
    idle_video_url: str | None
    presenter_id: str
    roles: list[RoleModel] = []


class VoiceModel(BaseModel):
    """A voice a question can be spoken with. `source`: `live` (the engine listed it now), `snapshot` (a
    packaged list, as the engine could not be asked; `available` is false) or `bundled` (the offline
    voice)."""

    name: str
    short_name: str
    gender: str
    locale: str
    engine: str
    available: bool
    source: str


class VoicesResponse(BaseModel):
    """The voices of the configured speech engines."""

    voices: list[VoiceModel]


class ErrorResponse(BaseModel):
    """Every error's body: a stable `code` and a `detail` (a message, or for `validation_error` the list of
    problems)."""

    detail: object
    code: str


class MetricsResponse(BaseModel):
    """Counters of this process since it started (each API instance reports its own)."""

    syntheses: int
    clips_created: int
    video_on: bool
    speech_engines: list[dict[str, object]]


class ReadyResponse(BaseModel):
    """`checks` names each dependency that was asked (store, blobs, and broker, redis when configured)."""

    status: Literal["ready"] = "ready"
    checks: dict[str, str]
