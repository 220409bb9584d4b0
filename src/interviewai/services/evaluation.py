"""Evaluating answers in background jobs, storing the results, and building the report from them."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from interviewai.deadlines import deadline
from interviewai.domain.errors import SessionNotFound
from interviewai.domain.evaluation import AnswerToJudge, EvaluationFailed, answer_digest
from interviewai.domain.jobs import EvaluateAnswer
from interviewai.domain.ports import AnswerEvaluator, EvaluationStore, JobQueue, SessionStore
from interviewai.domain.questions import QuestionBank
from interviewai.domain.report import InterviewReport, build_report, deliveries_of
from interviewai.domain.session import AskedQuestion, InterviewSession
from interviewai.observability import metrics
from interviewai.observability.tracing import span

logger = logging.getLogger(__name__)

# One retry: a second failure is recorded with its reason and the report goes on without that answer.
MAX_ATTEMPTS = 2
DEFAULT_EVALUATION_TIMEOUT_S = 60.0


class EvaluationService:
    """Feedback on answers: each stored answer is queued as a job and judged by the configured evaluator
    (under a deadline, with one retry), and a session's report is built from what the evaluation store
    holds."""

    def __init__(
        self,
        store: EvaluationStore,
        sessions: SessionStore,
        evaluator: AnswerEvaluator,
        jobs: JobQueue,
        *,
        bank: QuestionBank | None = None,
        timeout_s: float = DEFAULT_EVALUATION_TIMEOUT_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._sessions = sessions
        self._evaluator = evaluator
        self._jobs = jobs
        self._bank = bank
        self._timeout_s = timeout_s
        self._clock = clock
        self._changed: dict[str, asyncio.Event] = {}
        jobs.register(EvaluateAnswer, self._evaluate_job)

    async def answer_recorded(self, session: InterviewSession, asked: AskedQuestion) -> None:
        """Queue the evaluation of an answer just stored; returns once it is queued, not evaluated."""
        text = asked.judged_text
        if text is None:
            return
        sha = answer_digest(text)
        await self._store.mark_pending(session.id, asked.position, asked.question.id, sha, self._clock())
        await self._jobs.enqueue(EvaluateAnswer(session.id, asked.position, sha))

    async def report(self, session_id: str) -> InterviewReport:
        """The session's report from the evaluations stored so far, pending ones included; SessionNotFound for
        an unknown session."""
        session = await self._sessions.get(session_id)
        if session is None:
            raise SessionNotFound(f"No interview session with id {session_id!r}.")
        records = await self._store.for_session(session_id)
        return build_report(session, records, self._evaluator.name, deliveries_of(session))

    async def wait_for_change(self, session_id: str, timeout_s: float) -> None:
        """Return when an evaluation of this session lands in this process, or after `timeout_s`
        (results made by worker processes are seen by reading the store again)."""
        event = self._changed.setdefault(session_id, asyncio.Event())
        try:
            await asyncio.wait_for(event.wait(), timeout_s)
        except asyncio.TimeoutError:
            return
        finally:
            if event.is_set():
                self._changed.pop(session_id, None)

    def forget(self, session_id: str) -> None:
        """Drop the wake-up event of a session nobody watches any more."""
        self._changed.pop(session_id, None)

    async def _evaluate_job(self, job: EvaluateAnswer) -> None:
        session_id, position, answer_sha = job.session_id, job.position, job.answer_sha
        session = await self._sessions.get(session_id)
        asked = next((q for q in session.questions if q.position == position), None) if session else None
        text = asked.judged_text if asked else None
        if asked is None or text is None or answer_digest(text) != answer_sha:
            return  # the session is gone, or a newer text has its own job
        # The session keeps its questions whole (key points, own rubric); the bank supplies the type's rubric.
        question = asked.question
        rubric = self._bank.rubric_for(question) if self._bank else question.rubric
        reason = ""
        engine = self._evaluator.name
        for attempt in range(1, MAX_ATTEMPTS + 1):
            started = time.perf_counter()
            try:
                with span("answer.evaluate", engine=engine, attempt=attempt):
                    async with deadline(self._timeout_s):
                        evaluation = await self._evaluator.evaluate(AnswerToJudge(question, text, rubric))
            except asyncio.CancelledError:
                raise
            except Exception as error:
                metrics.observe_evaluation(engine, "error", time.perf_counter() - started)
                # Any failure (a bug included) costs this answer its feedback, never the interview.
                reason = _describe(error)
                logger.warning(
                    "evaluating %s #%d failed (attempt %d): %s",
                    session_id, position, attempt, reason,
                    exc_info=not isinstance(error, EvaluationFailed | TimeoutError),
                )  # fmt: skip
                continue
            outcome = "fallback" if evaluation.fallback_reason else "ok"
            metrics.observe_evaluation(engine, outcome, time.perf_counter() - started)
            await self._store.store_result(
                session_id, position, answer_sha, evaluation, attempt, self._clock()
            )
            self._notify(session_id)
            return
        await self._store.store_failure(
            session_id, position, answer_sha, reason or "the evaluator failed", MAX_ATTEMPTS, self._clock()
        )
        self._notify(session_id)

    def _notify(self, session_id: str) -> None:
        event = self._changed.get(session_id)
        if event is not None:
            event.set()


def _describe(error: BaseException) -> str:
    if isinstance(error, TimeoutError | asyncio.TimeoutError):
        return "the evaluator did not answer in time"
    return str(error) or type(error).__name__
