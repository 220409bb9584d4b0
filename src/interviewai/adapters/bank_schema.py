"""The bank document's schema (format 2): field types and limits, checked per item by pydantic."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr, field_validator

from interviewai.domain.questions import (
    MAX_BANK_QUESTION_ID,
    MAX_QUESTION_CHARS,
    QuestionType,
    Seniority,
)

SLUG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
Slug = Annotated[StrictStr, Field(pattern=SLUG_PATTERN, max_length=64)]
Phrase = Annotated[StrictStr, Field(min_length=1, max_length=200)]
# Criterion names are identifiers evaluators key scores by (`key_points`, `star_result`).
CriterionName = Annotated[StrictStr, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Signal = Annotated[StrictStr, Field(min_length=1, max_length=40)]
Prose = Annotated[StrictStr, Field(min_length=1, max_length=2000)]
SENIORITY_CHOICES = "junior, mid, senior, any"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CriterionDoc(_Strict):
    """One rubric criterion as written in a bank: a name evaluators key scores by, a label, and the answer at
    score 1 and at 5."""

    name: CriterionName
    label: Phrase
    description: Annotated[StrictStr, Field(max_length=2000)] = ""
    score_1: Prose
    score_5: Prose
    weight: Annotated[StrictFloat | StrictInt, Field(gt=0, le=100)] = 1.0
    signals: Annotated[list[Signal], Field(max_length=50)] = []


RubricDoc = Annotated[list[CriterionDoc], Field(min_length=1, max_length=20)]


class RoleDoc(_Strict):
    """A role as written in a bank: a slug id, a display name and other names a job description may use."""

    id: Slug
    name: Phrase
    aliases: list[Phrase] = []


class SkillDoc(_Strict):
    """A skill as written in a bank: a slug id, a display name, other phrasings and the role ids it belongs
    to."""

    id: Slug
    name: Phrase
    aliases: list[Phrase] = []
    roles: list[Slug] = []


class QuestionDoc(_Strict):
    """A question as written in a bank; `seniority` (a level, a list of levels or "any") is read by the bank
    parser."""

    id: Annotated[StrictInt, Field(ge=1, le=MAX_BANK_QUESTION_ID)]
    type: QuestionType
    text: StrictStr
    roles: list[Slug] = []
    skills: list[Slug] = []
    seniority: Any = "any"
    key_points: list[Prose] = []
    rubric: RubricDoc | None = None

    @field_validator("text")
    @classmethod
    def _one_question_text(cls, text: str) -> str:
        text = " ".join(text.split())
        if not text:
            raise ValueError("must be a non-empty string")
        if len(text) > MAX_QUESTION_CHARS:
            raise ValueError(f"is longer than {MAX_QUESTION_CHARS} characters")
        return text

    @field_validator("seniority")
    @classmethod
    def _seniority(cls, value: Any) -> Any:
        levels = {s.value for s in Seniority}
        if value == "any" or (isinstance(value, str) and value in levels):
            return value
        if isinstance(value, list) and value and all(isinstance(v, str) and v in levels for v in value):
            return value
        raise ValueError(f"must be one of {SENIORITY_CHOICES}, or a list of junior, mid, senior")


class BankHeaderDoc(_Strict):
    """The document's top level; each list is validated item by item so every problem is reported."""

    format: Annotated[StrictInt, Field(ge=1, le=2)] = 2
    name: Annotated[StrictStr, Field(max_length=200)] = ""
    roles: list[Any] = []
    skills: list[Any] = []
    rubrics: dict[QuestionType, Any] = {}
    questions: list[Any]


class RubricsFileDoc(_Strict):
    """`resources/rubrics.yaml`: the packaged per-type rubrics."""

    rubrics: dict[QuestionType, Any]
