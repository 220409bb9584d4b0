"""InterviewService on fakes of its ports (an in-memory session store, media index and blobs, fake voices, a
held job queue): the interview's own rules, with nothing real underneath."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest

from fakes import FakeRenderer, MediaOnFakes, MemorySessionStore, media_on_fakes
from interviewai.domain.avatar import VideoStatus
from interviewai.domain.errors import SessionExpired, SessionFinished, SessionNotFound, WrongQuestion
from interviewai.domain.jobs import PrepareSession, RenderClip
from interviewai.domain.questions import Question, QuestionBank, QuestionType
from interviewai.domain.session import AskedQuestion, InterviewSession, SessionState
from interviewai.services.interview import Completion, InterviewService, QuestionDelivery

BANK = QuestionBank(
    (
        Question(1, "Tell me about yourself.", QuestionType.INTRODUCTION),
        Question(2, "Describe a hard bug you fixed.", QuestionType.TECHNICAL),
        Question(3, "Why this team?", QuestionType.CLOSING),
    )
)
TIMEOUT = timedelta(minutes=30)


@dataclass
class Answers:
    """An AnswerListener that keeps what it was told."""

    told: list[tuple[str, int]] = field(default_factory=list)

    async def answer_recorded(self, session: InterviewSession, asked: AskedQuestion) -> None:
        self.told.append((session.id, asked.question.id))


@dataclass
class Interview:
    service: InterviewService
    store: MemorySessionStore
    media: MediaOnFakes
    answers: Answers
    clock: list[datetime]


def interview(*, lookahead: bool = False, renderer: FakeRenderer | None = None) -> Interview:
    media = media_on_fakes(renderer=renderer)
    store, answers = MemorySessionStore(), Answers()
    clock = [datetime(2030, 1, 1, 9, 0, tzinfo=timezone.utc)]
    service = InterviewService(
        store,
        BANK,
        media.media,
        media.avatar,
        media.jobs,
        TIMEOUT,
        video_wait_s=0,
        lookahead=lookahead,
        clock=lambda: clock[0],
        answer_listener=answers,
    )
    return Interview(service, store, media, answers, clock)


def question(delivery: QuestionDelivery | Completion) -> QuestionDelivery:
    assert isinstance(delivery, QuestionDelivery), delivery
    return delivery


async def test_start_stores_the_bank_in_order_and_current_serves_the_first_question() -> None:
    it = interview()
    session = await it.service.start()
    assert [q.question.id for q in it.store.sessions[session.id].questions] == [1, 2, 3]
    delivery = question(await it.service.current(session.id))
    assert delivery.asked.question.id == 1
    assert delivery.speech.audio.engine == "first"
    assert it.media.first.spoken == ["Tell me about yourself."]
    assert delivery.video.status is VideoStatus.DISABLED, "no renderer: audio only"
    stored = it.store.sessions[session.id]
    assert stored.questions[0].served_at == it.clock[0], "the first serve is recorded"


async def test_asking_again_serves_from_memory_and_keeps_the_first_serve_time() -> None:
    it = interview()
    session = await it.service.start()
    await it.service.current(session.id)
    served_at = it.store.sessions[session.id].questions[0].served_at
    saves, reads = it.store.saves, it.media.blobs.reads
    it.clock[0] += timedelta(seconds=5)
    again = question(await it.service.current(session.id))
    assert again.speech.from_cache and it.media.media.syntheses == 1
    assert it.media.blobs.reads == reads, "the session was given it: memory, no blob call"
    assert it.store.saves == saves and it.store.sessions[session.id].questions[0].served_at == served_at


async def test_an_answer_moves_on_and_tells_the_listener_once() -> None:
    it = interview()
    session = await it.service.start()
    await it.service.current(session.id)
    delivery = question(await it.service.answer(session.id, 1, "I build backends."))
    assert delivery.asked.question.id == 2
    assert it.store.sessions[session.id].questions[0].answer_text == "I build backends."
    assert it.answers.told == [(session.id, 1)]


async def test_the_same_answer_sent_again_changes_nothing() -> None:
    it = interview()
    session = await it.service.start()
    await it.service.answer(session.id, 1, "I build backends.")
    saves = it.store.saves
    resent = question(await it.service.answer(session.id, 1, "I build backends."))
    assert resent.asked.question.id == 2, "the next question again, as the first time"
    assert it.store.saves == saves, "nothing written"
    assert it.answers.told == [(session.id, 1)], "nothing new to evaluate"


async def test_an_answer_to_another_question_is_refused_and_records_nothing() -> None:
    it = interview()
    session = await it.service.start()
    before = it.store.sessions[session.id]
    with pytest.raises(WrongQuestion):
        await it.service.answer(session.id, 2, "Out of turn.")
    assert it.store.sessions[session.id] == before and it.answers.told == []


async def test_a_concurrent_save_is_retried_on_the_new_version() -> None:
    it = interview()
    session = await it.service.start()
    it.store.conflicts = 2  # two other writers get in first
    question(await it.service.answer(session.id, 1, "Still recorded."))
    stored = it.store.sessions[session.id]
    assert stored.questions[0].answer_text == "Still recorded."
    assert it.answers.told == [(session.id, 1)]


async def test_the_last_answer_completes_and_a_finished_session_takes_no_more() -> None:
    it = interview()
    session = await it.service.start()
    for question_id in (1, 2):
        await it.service.answer(session.id, question_id, f"Answer {question_id}.")
    done = await it.service.answer(session.id, 3, "Answer 3.")
    assert isinstance(done, Completion) and done.session.state is SessionState.COMPLETED
    assert isinstance(await it.service.current(session.id), Completion)
    with pytest.raises(SessionFinished):
        await it.service.answer(session.id, 3, "Another answer.")
    assert it.answers.told == [(session.id, 1), (session.id, 2), (session.id, 3)]


async def test_an_ended_session_serves_no_question_and_ending_again_writes_nothing() -> None:
    it = interview()
    session = await it.service.start()
    ended_for: list[str] = []

    async def listener(session_id: str) -> None:
        ended_for.append(session_id)

    it.service.on_end(listener)
    ended = await it.service.end(session.id)
    assert ended.state is SessionState.ENDED and ended_for == [session.id]
    saves = it.store.saves
    assert (await it.service.end(session.id)).state is SessionState.ENDED
    assert it.store.saves == saves
    with pytest.raises(SessionFinished):
        await it.service.current(session.id)
    with pytest.raises(SessionFinished):
        await it.service.answer(session.id, 1, "Too late.")


async def test_unknown_and_idle_sessions() -> None:
    it = interview()
    with pytest.raises(SessionNotFound):
        await it.service.current("session_nobody")
    session = await it.service.start()
    it.clock[0] += TIMEOUT + timedelta(seconds=1)
    with pytest.raises(SessionExpired):
        await it.service.status(session.id)
    assert await it.service.expire_idle_sessions() == 1
    assert it.store.sessions[session.id].state is SessionState.EXPIRED
    with pytest.raises(SessionExpired):
        await it.service.current(session.id)


async def test_start_queues_the_look_ahead_which_speaks_every_question_once() -> None:
    it = interview(lookahead=True)
    session = await it.service.start()
    assert it.media.jobs.queued == [PrepareSession(session.id)]
    assert it.media.first.spoken == [], "nothing is spoken inside the start"
    await it.media.jobs.run_all()
    assert it.media.first.spoken == [q.text for q in BANK.questions]
    delivery = question(await it.service.current(session.id))
    assert delivery.speech.from_cache and it.media.media.syntheses == 3


async def test_the_look_ahead_queues_a_clip_per_question_when_video_is_on() -> None:
    it = interview(lookahead=True, renderer=FakeRenderer())
    session = await it.service.start()
    job = it.media.jobs.queued.pop(0)
    await it.media.jobs.handlers[job.name](job)
    assert [type(job) for job in it.media.jobs.queued] == [RenderClip] * 3
    assert [job.text for job in it.media.jobs.queued if isinstance(job, RenderClip)] == [
        q.text for q in BANK.questions
    ]
    await it.media.jobs.run_all()
    delivery = question(await it.service.current(session.id))
    assert delivery.video.status is VideoStatus.READY and delivery.video.from_cache


async def test_a_queue_that_is_down_does_not_fail_the_start() -> None:
    it = interview(lookahead=True)
    it.media.jobs.fail_with = ConnectionError("broker down")
    session = await it.service.start()
    assert session.id in it.store.sessions and it.media.jobs.queued == []
    assert question(await it.service.current(session.id)).asked.question.id == 1
