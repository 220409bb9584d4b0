"""Interview questions, roles, skills and rubrics, and the validated bank they come from."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


class QuestionType(str, enum.Enum):
    """What kind of question it is, which picks its default rubric and its place in a plan."""

    INTRODUCTION = "introduction"
    BEHAVIORAL = "behavioral"
    SITUATIONAL = "situational"
    TECHNICAL = "technical"
    CLOSING = "closing"


class Seniority(str, enum.Enum):
    """The level a question is written for; a question may suit several."""

    JUNIOR = "junior"
    MID = "mid"
    SENIOR = "senior"


# `seniority: any` in a bank means every level.
ANY_SENIORITY: frozenset[Seniority] = frozenset(Seniority)
MAX_QUESTION_CHARS = 1000
# Bank ids are 1..MAX_BANK_QUESTION_ID; ids above it are reserved for questions made during a session.
MAX_BANK_QUESTION_ID = 999_999


@dataclass(frozen=True)
class Criterion:
    """One scored aspect of an answer, described at its two ends (1 and 5)."""

    name: str
    label: str
    score_1: str
    score_5: str
    description: str = ""
    weight: float = 1.0
    signals: tuple[str, ...] = ()
    """Phrases that suggest the criterion is met (hints for the offline evaluator)."""


@dataclass(frozen=True)
class Rubric:
    """The criteria an answer is scored on; the overall score weighs each by its `weight`."""

    criteria: tuple[Criterion, ...]

    @property
    def total_weight(self) -> float:
        """Sum of the criteria's weights, the divisor of a weighted score."""
        return sum(c.weight for c in self.criteria)

    def criterion(self, name: str) -> Criterion | None:
        """The criterion named `name`, None when the rubric has none by that name."""
        return next((c for c in self.criteria if c.name == name), None)


@dataclass(frozen=True)
class Role:
    """A role questions can be written for; `aliases` are other names a job description may use for it."""

    id: str
    name: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Skill:
    """A skill a job description can ask for; `aliases` are other phrasings of it, `roles` the role ids it
    belongs to."""

    id: str
    name: str
    aliases: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Question:
    """One interview question of a bank. `id` is 1..MAX_BANK_QUESTION_ID in a bank, above GENERATED_ID_BASE
    when written during a session; `key_points` are what a good answer covers (given to the evaluator)."""

    id: int
    text: str
    type: QuestionType
    roles: tuple[str, ...] = ()
    """Role ids the question is written for; empty means a general question for any role."""
    skills: tuple[str, ...] = ()
    seniority: frozenset[Seniority] = ANY_SENIORITY
    key_points: tuple[str, ...] = ()
    rubric: Rubric | None = None
    """Replaces the type's rubric for this question when set."""

    @property
    def is_general(self) -> bool:
        """True when the question is written for no particular role, so it suits any."""
        return not self.roles

    def suits(self, seniority: Seniority | None) -> bool:
        """True when the question is written for `seniority`; None (no level asked for) suits every
        question."""
        return seniority is None or seniority in self.seniority


@dataclass(frozen=True)
class BankProblem:
    """One thing wrong with a bank document: where (line, field path) and what."""

    field: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        return f"{where}{self.field}: {self.message}" if self.field else f"{where}{self.message}"


class InvalidQuestionBank(ValueError):
    """The bank document is not usable; `problems` lists every problem found, in document order."""

    def __init__(self, message: str, problems: tuple[BankProblem, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems


def _empty_rubrics() -> Mapping[QuestionType, Rubric]:
    return MappingProxyType({})


@dataclass(frozen=True)
class QuestionBank:
    """A validated question bank: its questions in order, its roles and skills, and rubrics per question
    type."""

    questions: tuple[Question, ...]
    name: str = ""
    roles: tuple[Role, ...] = ()
    skills: tuple[Skill, ...] = ()
    rubrics: Mapping[QuestionType, Rubric] = field(default_factory=_empty_rubrics)
    """Per-type rubrics: the bank's own over the packaged defaults."""

    def __len__(self) -> int:
        return len(self.questions)

    @property
    def question_types(self) -> list[str]:
        """Distinct types in the order they first appear."""
        return list(dict.fromkeys(q.type.value for q in self.questions))

    def question(self, question_id: int) -> Question | None:
        """The question with id `question_id`, None when the bank has none."""
        return next((q for q in self.questions if q.id == question_id), None)

    def role(self, role_id: str) -> Role | None:
        """The role with id `role_id`, None when the bank has none."""
        return next((r for r in self.roles if r.id == role_id), None)

    def skill(self, skill_id: str) -> Skill | None:
        """The skill with id `skill_id`, None when the bank has none."""
        return next((s for s in self.skills if s.id == skill_id), None)

    def rubric_for(self, question: Question) -> Rubric | None:
        """The question's own rubric, else its type's (the bank's, else the packaged default)."""
        return question.rubric or self.rubrics.get(question.type)
