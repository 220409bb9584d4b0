"""Interview plans: what a start asks for, which questions it gets, in what order, and why each."""

from __future__ import annotations

from dataclasses import dataclass

from interviewai.domain.errors import DomainError
from interviewai.domain.questions import MAX_BANK_QUESTION_ID, Question, Seniority

MIN_QUESTIONS = 3
MAX_QUESTIONS = 20
DEFAULT_QUESTIONS = 10
MAX_JOB_DESCRIPTION_CHARS = 10_000
MAX_GENERATED_QUESTIONS = 3
# Questions written during a session get ids above every bank id and every follow-up id (1000000 + N).
GENERATED_ID_BASE = 2 * (MAX_BANK_QUESTION_ID + 1)


@dataclass(frozen=True)
class PlanRequest:
    """The options of a start or a preview; all None means the default bank as it is."""

    role: str | None = None
    seniority: Seniority | None = None
    num_questions: int | None = None
    job_description: str | None = None
    bank_id: str | None = None
    seed: int | None = None

    @property
    def is_default(self) -> bool:
        """True when nothing was asked for, so the default bank is served in its fixed order."""
        return self == PlanRequest()


@dataclass(frozen=True)
class PlannedQuestion:
    """One question of a plan, with the plain sentence that says why it was chosen; `generated` when it was
    written for this plan instead of taken from the bank."""

    question: Question
    why: str
    generated: bool = False


@dataclass(frozen=True)
class Plan:
    """The questions a start gets, in order, and everything needed to explain or reproduce the choice."""

    questions: tuple[PlannedQuestion, ...]
    seed: int | None
    """None for the default bank's fixed order; otherwise the seed that reproduces this plan."""
    role: str | None = None
    skills: tuple[str, ...] = ()
    """Skill ids the plan was tailored to (from the job description)."""
    bank_id: str | None = None
    bank_version: int | None = None
    notes: tuple[str, ...] = ()
    """Plain sentences about how the request was read (e.g. a job description with nothing we know)."""


class InvalidPlanOption(DomainError):
    """An option names something that does not exist (a role, a bank) or is out of range."""

    code = "validation_error"

    def __init__(self, field: str, message: str, allowed: list[str] | None = None) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.allowed = allowed or []


class JobDescriptionTooLong(DomainError):
    """The job description is longer than MAX_JOB_DESCRIPTION_CHARS (HTTP 413)."""

    code = "payload_too_large"
