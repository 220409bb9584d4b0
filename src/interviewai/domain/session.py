"""The interview session state machine: which question is current, answers, completion."""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from interviewai.domain.errors import SessionExpired, SessionFinished, WrongQuestion
from interviewai.domain.questions import Question
from interviewai.domain.recognition import SpokenAnswer


class SessionState(str, enum.Enum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    ENDED = "ended"
    EXPIRED = "expired"


def new_session_id() -> str:
    """An unguessable id: 192 random bits, URL-safe."""
    return "session_" + secrets.token_urlsafe(24)


@dataclass(frozen=True)
class AskedQuestion:
    """One question of a session, with when it was served and how it was answered."""

    position: int
    question: Question
    served_at: datetime | None = None
    answer_text: str | None = None
    answered_at: datetime | None = None
    why: str = ""
    """Why a plan chose this question (empty for the default bank's fixed order)."""
    # Set when the answer was given by voice: the words heard, speaking metrics and the recording.
    speech: SpokenAnswer | None = None

    @property
    def answer_source(self) -> str | None:
        """ "speech" or "text" once answered, None before."""
        if not self.is_answered:
            return None
        return "speech" if self.speech is not None else "text"

    @property
    def is_answered(self) -> bool:
        return self.answer_text is not None

    @property
    def answer_word_count(self) -> int:
        return len(self.answer_text.split()) if self.answer_text else 0

    @property
    def seconds_to_answer(self) -> float | None:
        if self.served_at is None or self.answered_at is None:
            return None
        return round((self.answered_at - self.served_at).total_seconds(), 3)


@dataclass(frozen=True)
class AnswerOutcome:
    session: InterviewSession
    changed: bool
    """False when the answer was an identical re-send and nothing was recorded."""


@dataclass(frozen=True)
class InterviewSession:
    id: str
    state: SessionState
    created_at: datetime
    updated_at: datetime
    questions: tuple[AskedQuestion, ...]
    completed_at: datetime | None = None
    version: int = 0
    bank_id: str | None = None
    """The custom bank the plan came from (None: the packaged default bank or library)."""
    bank_version: int | None = None

    @classmethod
    def start(
        cls,
        session_id: str,
        questions: tuple[Question, ...],
        now: datetime,
        *,
        why: tuple[str, ...] = (),
        bank_id: str | None = None,
        bank_version: int | None = None,
    ) -> InterviewSession:
        reasons = why or ("",) * len(questions)
        asked = tuple(
            AskedQuestion(position=i, question=q, why=w)
            for i, (q, w) in enumerate(zip(questions, reasons, strict=True), start=1)
        )
        return cls(
            id=session_id,
            state=SessionState.IN_PROGRESS,
            created_at=now,
            updated_at=now,
            questions=asked,
            bank_id=bank_id,
            bank_version=bank_version,
        )

    @property
    def total_questions(self) -> int:
        return len(self.questions)

    @property
    def answers_recorded(self) -> int:
        return sum(1 for q in self.questions if q.is_answered)

    @property
    def is_complete(self) -> bool:
        return self.state is SessionState.COMPLETED

    @property
    def current(self) -> AskedQuestion | None:
        """The first unanswered question while the interview runs; None once it is over."""
        if self.state is not SessionState.IN_PROGRESS:
            return None
        return next((q for q in self.questions if not q.is_answered), None)

    @property
    def last_answered(self) -> AskedQuestion | None:
        answered = [q for q in self.questions if q.is_answered]
        return answered[-1] if answered else None

    @property
    def current_question_number(self) -> int:
        """1-based number of the current question; the total once the interview is over."""
        current = self.current
        return current.position if current else self.answers_recorded

    def is_expired(self, now: datetime, timeout: timedelta) -> bool:
        return self.state is SessionState.EXPIRED or now - self.updated_at > timeout

    def ensure_active(self, now: datetime, timeout: timedelta) -> None:
        if self.is_expired(now, timeout):
            raise SessionExpired(
                f"Session {self.id} expired after {int(timeout.total_seconds() // 60)} minutes without activity."
            )

    def serve_current(self, now: datetime) -> InterviewSession:
        """Record when the current question was first served; later serves keep the first time."""
        current = self.current
        if current is None or current.served_at is not None:
            return self
        return self._with_question(replace(current, served_at=now), now)

    def answer(
        self, question_id: int, answer_text: str, now: datetime, speech: SpokenAnswer | None = None
    ) -> AnswerOutcome:
        last = self.last_answered
        resent = last is not None and last.question.id == question_id and last.answer_text == answer_text
        if resent and self.state is not SessionState.ENDED:
            return AnswerOutcome(session=self, changed=False)
        current = self.ensure_answerable(question_id)
        answered = replace(
            current,
            answer_text=answer_text,
            answered_at=now,
            served_at=current.served_at or now,
            speech=speech,
        )
        session = self._with_question(answered, now)
        if session.current is None:
            session = replace(session, state=SessionState.COMPLETED, completed_at=now)
        return AnswerOutcome(session=session, changed=True)

    def ensure_answerable(self, question_id: int) -> AskedQuestion:
        """The current question if it is `question_id`; SessionFinished or WrongQuestion otherwise."""
        if self.state is SessionState.COMPLETED:
            raise SessionFinished(f"Session {self.id} is complete; it takes no more answers.")
        if self.state is SessionState.ENDED:
            raise SessionFinished(f"Session {self.id} was ended; it takes no more answers.")
        current = self.current
        assert current is not None, "an in-progress session always has a current question"
        if current.question.id != question_id:
            raise WrongQuestion(
                f"Question {current.question.id} is the current question, but the answer names question "
                f"{question_id}. Fetch the current question and answer that one."
            )
        return current

    def end(self, now: datetime) -> InterviewSession:
        """End the interview early (or after completion); ending twice changes nothing."""
        if self.state is SessionState.ENDED:
            return self
        completed_at = self.completed_at or now
        return replace(self, state=SessionState.ENDED, completed_at=completed_at, updated_at=now)

    def _with_question(self, updated: AskedQuestion, now: datetime) -> InterviewSession:
        questions = tuple(updated if q.position == updated.position else q for q in self.questions)
        return replace(self, questions=questions, updated_at=now)
