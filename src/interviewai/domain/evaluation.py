"""Feedback on answers: criterion scores with verbatim evidence, per-answer evaluations and their records."""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass

from interviewai.domain.questions import Question, Rubric

MIN_CRITERION_SCORE = 1
MAX_CRITERION_SCORE = 5
# Quotes per criterion, and the length of one: what the report shows, whichever evaluator judged.
MAX_EVIDENCE = 2
MAX_QUOTE_CHARS = 240


class EvaluationStatus(str, enum.Enum):
    """Where an answer's evaluation stands: queued or running, judged, or given up after its retry."""

    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"


class EvaluationFailed(Exception):
    """An evaluator could not judge an answer (the service retries once, then records the reason)."""


@dataclass(frozen=True)
class CriterionScore:
    """One rubric criterion judged on one answer: 1-5, the quotes that justify it, one comment."""

    name: str
    label: str
    score: int
    evidence: tuple[str, ...] = ()
    comment: str = ""
    weight: float = 1.0

    def __post_init__(self) -> None:
        if not MIN_CRITERION_SCORE <= self.score <= MAX_CRITERION_SCORE:
            raise ValueError(f"criterion {self.name!r}: score {self.score} is outside 1-5")


@dataclass(frozen=True)
class Evaluation:
    """What an evaluator concluded about one answer."""

    evaluator: str
    evaluator_version: str
    score: int
    """0-100."""
    criteria: tuple[CriterionScore, ...]
    strengths: tuple[str, ...] = ()
    improvements: tuple[str, ...] = ()
    fallback_reason: str | None = None
    """Set when the configured engine could not judge and another one did (e.g. llm -> rubric)."""

    def __post_init__(self) -> None:
        if not 0 <= self.score <= 100:
            raise ValueError(f"score {self.score} is outside 0-100")


@dataclass(frozen=True)
class AnswerToJudge:
    """The input of an evaluator: the question as the bank defines it and the candidate's text."""

    question: Question
    answer_text: str
    rubric: Rubric | None = None
    """The question's own rubric, else its type's (QuestionBank.rubric_for); None: the engine's defaults."""


def answer_digest(answer_text: str) -> str:
    """Names the exact text an evaluation was made of, so a result for an older text is never stored."""
    return hashlib.sha256(answer_text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class EvaluationRecord:
    """The stored state of one answer's evaluation (one row per session question)."""

    session_id: str
    position: int
    question_id: int
    status: EvaluationStatus
    answer_sha: str
    attempts: int = 0
    evaluation: Evaluation | None = None
    error: str | None = None
    updated_at: float = 0.0


def is_verbatim(quote: str, text: str) -> bool:
    """A quote counts as evidence only when it is an exact, non-blank substring of the answer."""
    return bool(quote.strip()) and quote in text
