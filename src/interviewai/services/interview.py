"""Interview use cases: start, current question, answer, status, end, and expiry of idle sessions."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TypeVar

from interviewai.domain.avatar import VideoStatus
from interviewai.domain.errors import ConcurrentUpdate, SessionFinished, SessionNotFound
from interviewai.domain.follow_ups import all_follow_up_texts
from interviewai.domain.jobs import PrepareSession
from interviewai.domain.plans import Plan
from interviewai.domain.ports import AnswerListener, FollowUpChooser, JobQueue, SessionStore
from interviewai.domain.questions import QuestionBank
from interviewai.domain.recognition import SpokenAnswer
from interviewai.domain.session import (
    AskedQuestion,
    FeedbackMode,
    FollowUp,
    InterviewSession,
    SessionState,
    new_session_id,
)
from interviewai.observability import metrics
from interviewai.services.media import QuestionSpeech, SpeechMediaService
from interviewai.services.video import AvatarService, VideoOutcome

logger = logging.getLogger(__name__)
Clock = Callable[[], datetime]
T = TypeVar("T")

# How often a request re-reads a session that another request changed at the same moment.
_CAS_ATTEMPTS = 5
# Expired sessions leave a tombstone this long, so clients hear "expired" rather than "not found".
TOMBSTONE_RETENTION = timedelta(hours=24)


def utc_now() -> datetime:
    """The time now, timezone-aware in UTC (the service's default clock)."""
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class FeedbackOptions:
    """How a session gives feedback: at the end or after each answer, and whether an answer may earn a
    follow-up question."""

    feedback: FeedbackMode = FeedbackMode.END
    follow_ups: bool = False


@dataclass(frozen=True)
class QuestionDelivery:
    """The current question as delivered: the session (marked served), the question, its speech and video, and
    how long getting them took in milliseconds."""

    session: InterviewSession
    asked: AskedQuestion
    speech: QuestionSpeech
    video: VideoOutcome
    latency_ms: int

    @property
    def follow_up(self) -> FollowUp | None:
        """The follow-up being delivered (instead of the question itself), if any."""
        return self.asked.follow_up if self.asked.awaits_follow_up else None


@dataclass(frozen=True)
class Completion:
    """No question is left: every question of the session is answered."""

    session: InterviewSession


Delivery = QuestionDelivery | Completion


class InterviewService:
    """The interview use cases over the session store: start, deliver the current question (speech, then video
    within the wait), record answers with at most one follow-up each, end, and expire idle sessions. Every
    change is a compare-and-set, tried again when another request changed the session at the same moment."""

    def __init__(
        self,
        store: SessionStore,
        bank: QuestionBank,
        media: SpeechMediaService,
        avatar: AvatarService,
        jobs: JobQueue,
        session_timeout: timedelta,
        *,
        video_wait_s: float,
        lookahead: bool = True,
        clock: Clock = utc_now,
        answer_listener: AnswerListener | None = None,
        follow_up_chooser: FollowUpChooser | None = None,
    ) -> None:
        self._store = store
        self._bank = bank
        self._media = media
        self._avatar = avatar
        self._jobs = jobs
        self._timeout = session_timeout
        self._video_wait_s = video_wait_s
        self._lookahead = lookahead
        self._clock = clock
        self._end_listeners: list[Callable[[str], Awaitable[None]]] = []
        self._answer_listener = answer_listener
        self._follow_up_chooser = follow_up_chooser
        jobs.register(PrepareSession, self._prepare_session_media)

    def on_end(self, listener: Callable[[str], Awaitable[None]]) -> None:
        """Call `listener(session_id)` after a session is ended (its recordings are deleted then)."""
        self._end_listeners.append(listener)

    @property
    def bank(self) -> QuestionBank:
        """The default questions: a session started without a plan asks these, in order."""
        return self._bank

    async def start(
        self,
        plan: Plan | None = None,
        *,
        session_id: str | None = None,
        options: FeedbackOptions | None = None,
    ) -> InterviewSession:
        """A new session: the default bank in order, or the questions of `plan`.

        The API passes an id that carries the owning API key's tag when keys are on.
        """
        options = options or FeedbackOptions()
        # The session keeps its own copy of the questions, so a changed bank never reshuffles it.
        new_id = session_id or new_session_id()
        if plan is None:
            session = InterviewSession.start(
                new_id,
                self._bank.questions,
                self._clock(),
                feedback=options.feedback,
                follow_ups=options.follow_ups,
            )
        else:
            session = InterviewSession.start(
                new_id,
                tuple(p.question for p in plan.questions),
                self._clock(),
                why=tuple(p.why for p in plan.questions),
                bank_id=plan.bank_id,
                bank_version=plan.bank_version,
                feedback=options.feedback,
                follow_ups=options.follow_ups,
            )
        await self._store.create(session)
        metrics.count_session("started")
        if self._lookahead:
            try:
                await self._jobs.enqueue(PrepareSession(session.id))
            except Exception:
                # Look-ahead only saves time later: a queue that is down must not fail the start.
                logger.exception("could not queue the look-ahead for session %s", session.id)
        return session

    async def status(self, session_id: str) -> InterviewSession:
        """The live session: SessionNotFound for an unknown id, SessionExpired for one idle past the timeout."""
        return await self._load_active(session_id)

    async def current(self, session_id: str, video_wait_s: float | None = None) -> Delivery:
        """The current question delivered, or the completion; SessionFinished for an ended session.
        `video_wait_s` (seconds, capped by the configured wait) is how long to wait for the clip."""
        session = await self._load_active(session_id)
        if session.state is SessionState.ENDED:
            raise SessionFinished(f"Session {session_id} was ended; start a new interview.")
        return await self._deliver_current(session, video_wait_s)

    async def answer(
        self,
        session_id: str,
        question_id: int,
        answer_text: str,
        video_wait_s: float | None = None,
        *,
        speech: SpokenAnswer | None = None,
    ) -> Delivery:
        """Records `answer_text` (with what was heard, for a spoken answer) as the answer to `question_id`,
        then delivers the next step. The same answer again to the question just answered changes nothing;
        another question's id is WrongQuestion. Queuing the evaluation never fails the answer."""
        chosen: dict[int, FollowUp | None] = {}

        async def attempt() -> InterviewSession:
            session = await self._load_active(session_id)
            follow_up = await self._follow_up_for(session, question_id, answer_text, chosen)
            outcome = session.answer(question_id, answer_text, self._clock(), speech, follow_up=follow_up)
            if not outcome.changed:
                return session
            saved = await self._store.save(outcome.session)
            if self._answer_listener is not None:
                await self._notify_answer(saved, question_id)
            if saved.state is SessionState.COMPLETED:
                metrics.count_session("completed")
            return saved

        session = await self._retry_on_conflict(attempt)
        return await self._deliver_current(session, video_wait_s)

    async def _follow_up_for(
        self,
        session: InterviewSession,
        question_id: int,
        answer_text: str,
        chosen: dict[int, FollowUp | None],
    ) -> FollowUp | None:
        """The follow-up an answer to the current question earns (decided once per request)."""
        current = session.current
        if (
            self._follow_up_chooser is None
            or not session.follow_ups
            or current is None
            or current.is_answered
            or current.question.id != question_id
        ):
            return None
        if question_id not in chosen:
            chosen[question_id] = await self._follow_up_chooser.choose(current.question, answer_text)
        return chosen[question_id]

    async def _notify_answer(self, session: InterviewSession, question_id: int) -> None:
        assert self._answer_listener is not None
        asked = next(
            (
                q
                for q in session.questions
                if question_id in {q.question.id, q.follow_up_id} and q.is_answered
            ),
            None,
        )
        if asked is not None:
            # Evaluation is extra: failing to queue it must never fail the answer.
            try:
                await self._answer_listener.answer_recorded(session, asked)
            except Exception:
                logger.exception("could not queue the evaluation of %s question %d", session.id, question_id)

    async def end(self, session_id: str) -> InterviewSession:
        """Ends the session (ending twice is ending once), then tells the end listeners (the recordings go)."""

        async def attempt() -> InterviewSession:
            session = await self._load_active(session_id)
            ended = session.end(self._clock())
            if ended is session:
                return session
            saved = await self._store.save(ended)
            metrics.count_session("ended")
            return saved

        session = await self._retry_on_conflict(attempt)
        for listener in self._end_listeners:
            await listener(session.id)
        return session

    async def expire_idle_sessions(self) -> int:
        """Expires the sessions idle past the timeout (their content goes, a tombstone stays for a day) and
        returns how many."""
        now = self._clock()
        expired = await self._store.expire_inactive(
            now - self._timeout, now - self._timeout - TOMBSTONE_RETENTION
        )
        metrics.count_session("expired", expired)
        return expired

    async def _deliver_current(self, session: InterviewSession, video_wait_s: float | None) -> Delivery:
        asked = session.current
        if asked is None:
            return Completion(session)
        started = time.perf_counter()
        follow_up = asked.follow_up if asked.awaits_follow_up else None
        text = follow_up.text if follow_up is not None else asked.question.text
        # Asked again (a reload, a second device): what was delivered then is in memory now.
        served_before = (follow_up.served_at if follow_up is not None else asked.served_at) is not None
        speech = await self._media.speech_for(text, served_before=served_before)
        wait_s = self._video_wait_s if video_wait_s is None else min(video_wait_s, self._video_wait_s)
        video = await self._avatar.video_for(text, speech, wait_s)
        elapsed_s = time.perf_counter() - started
        latency_ms = round(elapsed_s * 1000)
        metrics.observe_question_delivery(
            "video" if video.status is VideoStatus.READY else "audio_only",
            cache_hit=speech.from_cache and (video.status is not VideoStatus.READY or video.from_cache),
            seconds=elapsed_s,
        )
        if not served_before:
            session = await self._mark_served(session.id, asked.position)
        return QuestionDelivery(
            session=session, asked=asked, speech=speech, video=video, latency_ms=latency_ms
        )

    async def video_when_ready(self, question_text: str) -> VideoOutcome:
        """The clip of a question, waiting as long as a clip may take (for pushes to live clients)."""
        speech = await self._media.speech_for(question_text)
        return await self._avatar.video_for(question_text, speech, self._avatar.longest_wait_s)

    async def _prepare_session_media(self, job: PrepareSession) -> None:
        """Look-ahead: speak every question of a new session in order and queue its clip."""
        session = await self._store.get(job.session_id)
        if session is None:
            return
        texts = [asked.question.text for asked in session.questions]
        if session.follow_ups:
            # Follow-ups come from a fixed set of phrasings, so they are ready before they are asked.
            texts.extend(all_follow_up_texts())
        for text in texts:
            speech = await self._media.speech_for(text)
            await self._avatar.request_render(text, speech)

    async def _mark_served(self, session_id: str, position: int) -> InterviewSession:
        async def attempt() -> InterviewSession:
            session = await self._load_active(session_id)
            current = session.current
            if current is None or current.position != position:
                return session
            served = session.serve_current(self._clock())
            return session if served is session else await self._store.save(served)

        return await self._retry_on_conflict(attempt)

    async def _load_active(self, session_id: str) -> InterviewSession:
        session = await self._store.get(session_id)
        if session is None:
            raise SessionNotFound(f"No interview session with id {session_id!r}.")
        session.ensure_active(self._clock(), self._timeout)
        return session

    @staticmethod
    async def _retry_on_conflict(attempt: Callable[[], Awaitable[T]]) -> T:
        for _ in range(_CAS_ATTEMPTS - 1):
            try:
                return await attempt()
            except ConcurrentUpdate:
                continue
        return await attempt()
