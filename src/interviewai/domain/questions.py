"""Interview questions and the validated bank they come from."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


class QuestionType(str, enum.Enum):
    INTRODUCTION = "introduction"
    BEHAVIORAL = "behavioral"
    SITUATIONAL = "situational"
    TECHNICAL = "technical"
    CLOSING = "closing"


@dataclass(frozen=True)
class Question:
    id: int
    text: str
    type: QuestionType


class InvalidQuestionBank(ValueError):
    """The bank file does not describe a usable list of questions."""


MAX_QUESTION_CHARS = 1000


@dataclass(frozen=True)
class QuestionBank:
    questions: tuple[Question, ...]

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]]) -> QuestionBank:
        """Build a bank from plain records, naming the first record that is wrong."""
        questions: list[Question] = []
        seen_ids: set[int] = set()
        for position, record in enumerate(records, start=1):
            where = f"question #{position}"
            if not isinstance(record, Mapping):
                raise InvalidQuestionBank(f"{where}: expected a mapping with id, text and type")
            unknown = set(record) - {"id", "text", "type"}
            if unknown:
                raise InvalidQuestionBank(f"{where}: unknown field(s) {sorted(unknown)}")
            question_id = record.get("id")
            if not isinstance(question_id, int) or isinstance(question_id, bool) or question_id < 1:
                raise InvalidQuestionBank(f"{where}: 'id' must be a positive integer")
            if question_id in seen_ids:
                raise InvalidQuestionBank(f"{where}: id {question_id} is used twice")
            text = record.get("text")
            if not isinstance(text, str) or not text.strip():
                raise InvalidQuestionBank(f"{where}: 'text' must be a non-empty string")
            if len(text) > MAX_QUESTION_CHARS:
                raise InvalidQuestionBank(f"{where}: 'text' is longer than {MAX_QUESTION_CHARS} characters")
            raw_type = record.get("type")
            try:
                question_type = QuestionType(raw_type)
            except ValueError:
                allowed = ", ".join(t.value for t in QuestionType)
                raise InvalidQuestionBank(f"{where}: 'type' must be one of {allowed}") from None
            seen_ids.add(question_id)
            questions.append(Question(id=question_id, text=" ".join(text.split()), type=question_type))
        if not questions:
            raise InvalidQuestionBank("the bank has no questions")
        return cls(questions=tuple(questions))

    def __len__(self) -> int:
        return len(self.questions)

    @property
    def question_types(self) -> list[str]:
        """Distinct types in the order they first appear."""
        return list(dict.fromkeys(q.type.value for q in self.questions))
