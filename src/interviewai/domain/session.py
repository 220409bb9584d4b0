"""The interview session state machine: which question is current, answers, completion."""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from interviewai.domain.errors import SessionExpired, SessionFinished, WrongQuestion
from interviewai.domain.questions import Question
from interviewai.domain.recognition import SpokenAnswer

FOLLOW_UP_ID_OFFSET = 1_000_000
"""A follow-up asked after question N has id OFFSET + N (docs/question-bank.md), never a bank id."""


class FeedbackMode(str, enum.Enum):
    """When the candidate hears how an answer went: at the end (default), or after each answer."""

    END = "end"
    EACH = "each"


class SessionState(str, enum.Enum):
    """Where a session is: running, every question answered, ended by the client, or expired for
    inactivity."""

    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    ENDED = "ended"
    EXPIRED = "expired"


def new_session_id() -> str:
    """An unguessable id: 192 random bits, URL-safe."""
    return "session_" + secrets.token_urlsafe(24)


@dataclass(frozen=True)
class FollowUp:
    """The one follow-up a question may get when its answer had a clear gap (`kind` names the gap)."""

    kind: str
    text: str
    served_at: datetime | None = None
    answer_text: str | None = None
    answered_at: datetime | None = None


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
    follow_up: FollowUp | None = None

    @property
    def answer_source(self) -> str | None:
        """How the answer came: "speech" or "text" once answered, None before."""
        if not self.is_answered:
            return None
        return "speech" if self.speech is not None else "text"

    @property
    def is_answered(self) -> bool:
        """True once the question itself (not its follow-up) has an answer."""
        return self.answer_text is not None

    @property
    def follow_up_id(self) -> int:
        """The id a follow-up of this question is answered under: FOLLOW_UP_ID_OFFSET + the question's id."""
        return FOLLOW_UP_ID_OFFSET + self.question.id

    @property
    def awaits_follow_up(self) -> bool:
        """Answered, and its follow-up has been asked but not answered yet."""
        return self.is_answered and self.follow_up is not None and self.follow_up.answer_text is None

    @property
    def is_done(self) -> bool:
        """True when answered and no follow-up is awaited: the interview moves past it."""
        return self.is_answered and not self.awaits_follow_up

    @property
    def current_id(self) -> int:
        """The id the candidate answers next for this question: its own, or its follow-up's."""
        return self.follow_up_id if self.awaits_follow_up else self.question.id

    @property
    def judged_text(self) -> str | None:
        """What an evaluator reads: the answer, and the follow-up's answer after a blank line."""
        if self.answer_text is None:
            return None
        if self.follow_up is not None and self.follow_up.answer_text is not None:
            return f"{self.answer_text}\n\n{self.follow_up.answer_text}"
        return self.answer_text

    @property
    def answer_word_count(self) -> int:
        """Words in the answer to the question itself, 0 before it is answered."""
        return len(self.answer_text.split()) if self.answer_text else 0

    @property
    def seconds_to_answer(self) -> float | None:
        """Seconds from first serve to answer (rounded to milliseconds), None until both happened."""
        if self.served_at is None or self.answered_at is None:
            return None
        return round((self.answered_at - self.served_at).total_seconds(), 3)


@dataclass(frozen=True)
class AnswerOutcome:
    """The result of recording an answer: the updated session, and whether anything changed."""

    session: InterviewSession
    changed: bool
    """False when the answer was an identical re-send and nothing was recorded."""


@dataclass(frozen=True)
class InterviewSession:
    """One interview: its questions in order, their answers, its state and its options. Immutable: every
    change returns a new session; `version` is the store's compare-and-set counter."""

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
    feedback: FeedbackMode = FeedbackMode.END
    follow_ups: bool = False

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
        feedback: FeedbackMode = FeedbackMode.END,
        follow_ups: bool = False,
    ) -> InterviewSession:
        """A new in-progress session asking `questions` in order; `why` gives each its reason (empty by
        default)."""
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
            feedback=feedback,
            follow_ups=follow_ups,
        )

    @property
    def total_questions(self) -> int:
        """How many questions the session asks (follow-ups not counted)."""
        return len(self.questions)

    @property
    def answers_recorded(self) -> int:
        """How many questions have an answer to the question itself."""
        return sum(1 for q in self.questions if q.is_answered)

    @property
    def is_complete(self) -> bool:
        """True when every question was answered (not when the session was ended early)."""
        return self.state is SessionState.COMPLETED

    @property
    def current(self) -> AskedQuestion | None:
        """The first question not done (unanswered, or awaiting its follow-up's answer) while the
        interview runs; None once it is over."""
        if self.state is not SessionState.IN_PROGRESS:
            return None
        return next((q for q in self.questions if not q.is_done), None)

    @property
    def last_answered(self) -> AskedQuestion | None:
        """The question answered most recently, by position; None before the first answer."""
        answered = [q for q in self.questions if q.is_answered]
        return answered[-1] if answered else None

    @property
    def current_question_number(self) -> int:
        """1-based number of the current question; the total once the interview is over."""
        current = self.current
        return current.position if current else self.answers_recorded

    def is_expired(self, now: datetime, timeout: timedelta) -> bool:
        """True when the session was marked expired or saw no activity for longer than `timeout`."""
        return self.state is SessionState.EXPIRED or now - self.updated_at > timeout

    def ensure_active(self, now: datetime, timeout: timedelta) -> None:
        """Raises SessionExpired when the session has expired (see is_expired); returns otherwise."""
        if self.is_expired(now, timeout):
            raise SessionExpired(
                f"Session {self.id} expired after {int(timeout.total_seconds() // 60)} minutes without activity."
            )

    def serve_current(self, now: datetime) -> InterviewSession:
        """Record when the current question (or follow-up) was first served; later serves keep the first."""
        current = self.current
        if current is None:
            return self
        if current.awaits_follow_up:
            assert current.follow_up is not None
            if current.follow_up.served_at is not None:
                return self
            return self._with_question(
                replace(current, follow_up=replace(current.follow_up, served_at=now)), now
            )
        if current.served_at is not None:
            return self
        return self._with_question(replace(current, served_at=now), now)

    def _last_answer(self) -> tuple[int, str] | None:
        """(question id, text) of the most recent answer, a follow-up's included."""
        for asked in reversed(self.questions):
            follow_up = asked.follow_up
            if follow_up is not None and follow_up.answer_text is not None:
                return asked.follow_up_id, follow_up.answer_text
            if asked.answer_text is not None:
                return asked.question.id, asked.answer_text
        return None

    def answer(
        self,
        question_id: int,
        answer_text: str,
        now: datetime,
        speech: SpokenAnswer | None = None,
        follow_up: FollowUp | None = None,
    ) -> AnswerOutcome:
        """Record the answer to the current question or follow-up.

        `follow_up` (decided by the caller from the answer) is asked next when follow-ups are on and the
        answer is to a question, not to a follow-up. A follow-up's answer keeps no recording.
        """
        if self._last_answer() == (question_id, answer_text) and self.state is not SessionState.ENDED:
            return AnswerOutcome(session=self, changed=False)
        current = self.ensure_answerable(question_id)
        if current.awaits_follow_up:
            assert current.follow_up is not None
            asked_follow_up = current.follow_up
            answered = replace(
                current,
                follow_up=replace(
                    asked_follow_up,
                    answer_text=answer_text,
                    answered_at=now,
                    served_at=asked_follow_up.served_at or now,
                ),
            )
        else:
            answered = replace(
                current,
                answer_text=answer_text,
                answered_at=now,
                served_at=current.served_at or now,
                speech=speech,
                follow_up=follow_up if self.follow_ups else None,
            )
        session = self._with_question(answered, now)
        if session.current is None:
            session = replace(session, state=SessionState.COMPLETED, completed_at=now)
        return AnswerOutcome(session=session, changed=True)

    def ensure_answerable(self, question_id: int) -> AskedQuestion:
        """The current question if it is `question_id` (its own id, or its follow-up's while that is
        awaited); SessionFinished or WrongQuestion otherwise."""
        if self.state is SessionState.COMPLETED:
            raise SessionFinished(f"Session {self.id} is complete; it takes no more answers.")
        if self.state is SessionState.ENDED:
            raise SessionFinished(f"Session {self.id} was ended; it takes no more answers.")
        current = self.current
        assert current is not None, "an in-progress session always has a current question"
        if current.current_id != question_id:
            raise WrongQuestion(
                f"Question {current.current_id} is the current question, but the answer names question "
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
