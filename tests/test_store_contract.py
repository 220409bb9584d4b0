"""One contract for SessionStore and MediaIndex, run against every backend: SQLite and PostgreSQL.

Each test gets an empty database migrated by `migrate(engine)` exactly as the app does at start: a fresh
SQLite file, or a throwaway PostgreSQL database created for the test and dropped after it. Two engines on
one database stand for two API instances (or workers) racing each other.

PostgreSQL is found through DATABASE_URL when it names one, else postgresql+asyncpg://postgres@127.0.0.1:5432/test.
When it is unreachable the PostgreSQL cases skip, saying how to start it; with CI=true they fail instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import NoReturn

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from interviewai.adapters.store.database import create_engine, migrate
from interviewai.adapters.store.evaluations import SqlEvaluationStore
from interviewai.adapters.store.media_index import SqlMediaIndex
from interviewai.adapters.store.sql import SqlSessionStore
from interviewai.domain.errors import ConcurrentUpdate, WrongQuestion
from interviewai.domain.evaluation import CriterionScore, Evaluation, EvaluationStatus
from interviewai.domain.follow_ups import Gap, follow_up_for
from interviewai.domain.media_index import MediaEntry, MediaState
from interviewai.domain.ports import MediaIndex, SessionStore
from interviewai.domain.questions import Question, QuestionType
from interviewai.domain.session import FeedbackMode, InterviewSession, SessionState, new_session_id
from interviewai.services.single_flight import SingleFlight

DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
START_POSTGRES = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"


# --- backends ----------------------------------------------------------------------------------------


def postgres_server_url() -> URL:
    configured = os.environ.get("DATABASE_URL", "")
    return make_url(configured if configured.startswith("postgresql") else DEFAULT_POSTGRES_URL)


def postgres_unavailable(server: URL, error: BaseException) -> NoReturn:
    """Skip a PostgreSQL case on a laptop without the server; in CI a missing server is a failure."""
    message = (
        f"PostgreSQL at {server.host}:{server.port or 5432} is not usable ({type(error).__name__}: {error}). "
        f"Start it with `{START_POSTGRES}` or point DATABASE_URL at one (postgresql+asyncpg://...)."
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true, so PostgreSQL is required: {message}", pytrace=False)
    pytest.skip(message)


@contextlib.asynccontextmanager
async def scratch_postgres_database() -> AsyncIterator[str]:
    """A new, empty database for one test (same server, same user), dropped afterwards."""
    server = postgres_server_url()
    admin = create_async_engine(
        server, isolation_level="AUTOCOMMIT", poolclass=NullPool, connect_args={"timeout": 5}
    )
    name = f"interviewai_contract_{uuid.uuid4().hex[:16]}"
    try:
        try:
            async with admin.connect() as connection:
                # template0: never has connections, so parallel test runs cannot block each other.
                await connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE template0'))
        except (OSError, DBAPIError, TimeoutError) as error:
            postgres_unavailable(server, error)
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            async with admin.connect() as connection:
                await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


class Backend:
    """An empty database of one kind; each `open()` is a separate engine, as another process would have."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engines: list[AsyncEngine] = []

    async def open(self) -> AsyncEngine:
        """A new engine on the database, migrated the way the app does it at every start."""
        engine = create_engine(self.url)
        self._engines.append(engine)
        await migrate(engine)
        return engine

    async def close(self) -> None:
        for engine in self._engines:
            await engine.dispose()


@pytest.fixture(params=[pytest.param("sqlite"), pytest.param("postgresql", marks=pytest.mark.postgres)])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    async with contextlib.AsyncExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
        else:
            url = await stack.enter_async_context(scratch_postgres_database())
        backend = Backend(url)
        stack.push_async_callback(backend.close)
        yield backend


@pytest.fixture
async def store(backend: Backend) -> SessionStore:
    return SqlSessionStore(await backend.open())


@pytest.fixture
async def index(backend: Backend) -> MediaIndex:
    return SqlMediaIndex(await backend.open())


# --- sessions ----------------------------------------------------------------------------------------

# Microseconds and a future year: the stored form must keep both exactly.
T0 = datetime(2031, 3, 14, 15, 9, 26, 535897, tzinfo=timezone.utc)
BERLIN = timezone(timedelta(hours=2))


def new_session(now: datetime = T0, count: int = 3) -> InterviewSession:
    types = list(QuestionType)
    questions = tuple(
        Question(id=10 + i, text=f"Question {i}: tell me about “ünïcode” and 'quotes'?", type=types[i % 5])
        for i in range(count)
    )
    return InterviewSession.start(new_session_id(), questions, now)


async def answer_like_the_service(
    store: SessionStore, session_id: str, question_id: int, answer: str
) -> None:
    """InterviewService.answer's store logic: load, apply the domain rule, save; re-read on a conflict."""
    for _ in range(5):
        session = await store.get(session_id)
        assert session is not None
        outcome = session.answer(question_id, answer, datetime.now(timezone.utc))
        if not outcome.changed:
            return
        try:
            await store.save(outcome.session)
            return
        except ConcurrentUpdate:
            continue
    raise AssertionError("still conflicting after 5 attempts")


async def test_get_unknown_session_is_none(store: SessionStore) -> None:
    assert await store.get("session_nobody") is None


async def test_create_and_get_round_trip_every_field(store: SessionStore) -> None:
    started = new_session()
    served = started.serve_current(T0 + timedelta(seconds=1, microseconds=1))
    # Any time zone goes in; the same instants come out, time-zone aware.
    answered = served.answer(
        10, "Line one.\nLine “two” — ünïcode.", (T0 + timedelta(seconds=9)).astimezone(BERLIN)
    )
    session = replace(answered.session, version=7)
    await store.create(session)

    loaded = await store.get(session.id)
    assert loaded == session
    assert loaded is not None
    for moment in (loaded.created_at, loaded.updated_at, loaded.questions[0].served_at):
        assert moment is not None and moment.utcoffset() == timedelta(0)
    assert loaded.questions[0].answered_at == T0 + timedelta(seconds=9)
    assert loaded.questions[0].served_at == T0 + timedelta(seconds=1, microseconds=1)
    assert [q.question.type for q in loaded.questions] == list(QuestionType)[:3]
    assert loaded.completed_at is None and loaded.current is not None and loaded.current.position == 2


async def test_save_persists_changes_and_bumps_the_version(store: SessionStore) -> None:
    session = new_session(count=2)
    await store.create(session)
    first = await store.save(session.serve_current(T0 + timedelta(seconds=1)))
    assert first.version == 1
    second = await store.save(first.answer(10, "One.", T0 + timedelta(seconds=2)).session)
    third = await store.save(second.answer(11, "Two.", T0 + timedelta(seconds=3)).session)
    assert (second.version, third.version) == (2, 3)

    loaded = await store.get(session.id)
    assert loaded == third
    assert loaded is not None
    assert loaded.state is SessionState.COMPLETED and loaded.completed_at == T0 + timedelta(seconds=3)
    assert [q.answer_text for q in loaded.questions] == ["One.", "Two."]
    ended = await store.save(loaded.end(T0 + timedelta(seconds=4)))
    assert (await store.get(session.id)) == ended and ended.state is SessionState.ENDED


async def test_a_save_from_a_stale_version_raises_and_writes_nothing(store: SessionStore) -> None:
    session = new_session()
    await store.create(session)
    winner = await store.save(session.serve_current(T0 + timedelta(seconds=1)))
    with pytest.raises(ConcurrentUpdate):
        await store.save(session.answer(10, "Too late.", T0 + timedelta(seconds=2)).session)
    assert await store.get(session.id) == winner


async def test_two_instances_saving_one_version_exactly_one_wins(backend: Backend) -> None:
    first, second = SqlSessionStore(await backend.open()), SqlSessionStore(await backend.open())
    session = new_session()
    await first.create(session)
    for round_number in range(5):
        loaded = await first.get(session.id)
        assert loaded is not None
        later = T0 + timedelta(seconds=round_number + 1)
        candidates = [
            replace(loaded, updated_at=later + timedelta(microseconds=1)),
            replace(loaded, updated_at=later + timedelta(microseconds=2)),
        ]
        results = await asyncio.gather(
            first.save(candidates[0]), second.save(candidates[1]), return_exceptions=True
        )
        won = [r for r in results if isinstance(r, InterviewSession)]
        lost = [r for r in results if not isinstance(r, InterviewSession)]
        assert len(won) == 1 and len(lost) == 1, results
        assert isinstance(lost[0], ConcurrentUpdate)
        assert await second.get(session.id) == won[0]
        assert won[0].version == round_number + 1


async def test_the_same_answer_from_two_instances_advances_the_session_once(backend: Backend) -> None:
    stores = [SqlSessionStore(await backend.open()), SqlSessionStore(await backend.open())]
    session = new_session(now=datetime.now(timezone.utc))
    await stores[0].create(session)
    # A client retrying through a load balancer: the same answer reaches both instances at once.
    await asyncio.gather(
        *(answer_like_the_service(stores[i % 2], session.id, 10, "Hello.") for i in range(10))
    )

    loaded = await stores[1].get(session.id)
    assert loaded is not None
    assert [q.answer_text for q in loaded.questions] == ["Hello.", None, None]
    assert loaded.version == 1 and loaded.current is not None and loaded.current.question.id == 11


async def test_different_answers_racing_for_one_question_only_one_is_recorded(backend: Backend) -> None:
    stores = [SqlSessionStore(await backend.open()), SqlSessionStore(await backend.open())]
    session = new_session(now=datetime.now(timezone.utc))
    await stores[0].create(session)
    results = await asyncio.gather(
        *(answer_like_the_service(stores[i % 2], session.id, 10, f"Answer {i}.") for i in range(10)),
        return_exceptions=True,
    )
    errors = [r for r in results if isinstance(r, BaseException)]
    assert len(errors) == 9 and all(isinstance(e, WrongQuestion) for e in errors), errors

    loaded = await stores[1].get(session.id)
    assert loaded is not None and loaded.version == 1
    assert loaded.questions[0].answer_text in {f"Answer {i}." for i in range(10)}
    assert loaded.answers_recorded == 1


async def test_expire_marks_tombstones_drops_content_and_forgets_old_tombstones(store: SessionStore) -> None:
    now = T0
    idle = new_session(now=now - timedelta(hours=2))
    ancient = new_session(now=now - timedelta(hours=30))
    fresh = new_session(now=now - timedelta(minutes=5))
    finished = replace(new_session(now=now - timedelta(hours=3)), state=SessionState.COMPLETED)
    for session in (idle, ancient, fresh, finished):
        await store.create(session)

    inactive_since, forget_before = now - timedelta(hours=1), now - timedelta(hours=25)
    assert await store.expire_inactive(inactive_since, forget_before) == 3

    tombstone = await store.get(idle.id)
    assert tombstone is not None
    assert tombstone.state is SessionState.EXPIRED and tombstone.questions == ()
    assert tombstone.version == idle.version + 1 and tombstone.updated_at == idle.updated_at
    assert tombstone.is_expired(now, timedelta(hours=1))
    assert (await store.get(finished.id)) is not None
    assert await store.get(ancient.id) is None, "a tombstone older than forget_before is forgotten at once"
    assert await store.get(fresh.id) == fresh

    assert await store.expire_inactive(inactive_since, forget_before) == 0, "tombstones are not re-expired"
    assert await store.get(idle.id) == tombstone
    assert await store.expire_inactive(inactive_since, forget_before=now) == 0
    assert await store.get(idle.id) is None and await store.get(finished.id) is None
    assert await store.get(fresh.id) == fresh


async def test_an_answer_racing_the_expiry_sweep_never_leaves_half_a_session(backend: Backend) -> None:
    """Either the answer lands (the session stays whole) or the sweep wins (the save conflicts)."""
    api, sweeper = SqlSessionStore(await backend.open()), SqlSessionStore(await backend.open())
    now = datetime.now(timezone.utc)
    for _ in range(10):
        session = new_session(now=now - timedelta(hours=2), count=8)
        await api.create(session)
        answered = session.answer(10, "Just in time.", now).session
        results = await asyncio.gather(
            api.save(answered),
            sweeper.expire_inactive(now - timedelta(hours=1), now - timedelta(hours=25)),
            return_exceptions=True,
        )
        saved, expired = results
        loaded = await api.get(session.id)
        assert loaded is not None
        if isinstance(saved, InterviewSession):
            assert expired == 0 and loaded == saved
        else:
            assert isinstance(saved, ConcurrentUpdate), results
            assert expired == 1 and loaded.state is SessionState.EXPIRED and loaded.questions == ()


# --- follow-ups, options and evaluations -------------------------------------------------------------


async def test_options_and_a_follow_up_round_trip(store: SessionStore) -> None:
    questions = (Question(id=1, text="Tell me about yourself.", type=QuestionType.INTRODUCTION),)
    started = InterviewSession.start(
        new_session_id(), questions, T0, feedback=FeedbackMode.EACH, follow_ups=True
    )
    await store.create(started)
    asked = follow_up_for(Gap.TOO_SHORT)
    answered = started.answer(1, "Short.", T0 + timedelta(seconds=5), follow_up=asked).session
    saved = await store.save(answered.serve_current(T0 + timedelta(seconds=6)))
    loaded = await store.get(started.id)
    assert loaded == saved
    assert loaded.feedback is FeedbackMode.EACH and loaded.follow_ups is True
    follow_up = loaded.questions[0].follow_up
    assert follow_up is not None and follow_up.kind == "too_short" and follow_up.text == asked.text
    assert follow_up.served_at == T0 + timedelta(seconds=6) and follow_up.answer_text is None
    done = await store.save(loaded.answer(1_000_001, "Longer “ünïcode”.", T0 + timedelta(seconds=9)).session)
    again = await store.get(started.id)
    assert again == done and again.is_complete


def _evaluation(score: int) -> Evaluation:
    return Evaluation(
        evaluator="rubric",
        evaluator_version="1+minilm",
        score=score,
        criteria=(CriterionScore("result", "Result", 4, ("“ünïcode” quote",), "Clear.", 1.5),),
        strengths=("Result: clear",),
        improvements=("Say more",),
        fallback_reason="llm: timeout",
    )


async def test_evaluations_land_only_for_the_text_stored_now(backend: Backend) -> None:
    engine = await backend.open()
    sessions, evaluations = SqlSessionStore(engine), SqlEvaluationStore(engine)
    session = new_session()
    await sessions.create(session)
    assert await evaluations.for_session(session.id) == []
    await evaluations.mark_pending(session.id, 1, 10, "sha-old", 1.0)
    (pending,) = await evaluations.for_session(session.id)
    assert pending.status is EvaluationStatus.PENDING and pending.evaluation is None
    # The follow-up's answer arrived: a new text, so the first job's result must not land.
    await evaluations.mark_pending(session.id, 1, 10, "sha-new", 2.0)
    assert not await evaluations.store_result(session.id, 1, "sha-old", _evaluation(10), 1, 3.0)
    assert await evaluations.store_result(session.id, 1, "sha-new", _evaluation(77), 2, 4.0)
    assert await evaluations.store_failure(session.id, 2, "sha-x", "never pending", 2, 4.0) is False
    await evaluations.mark_pending(session.id, 2, 11, "sha-2", 5.0)
    assert await evaluations.store_failure(session.id, 2, "sha-2", "the judge timed out", 2, 6.0)
    first, second = await SqlEvaluationStore(await backend.open()).for_session(session.id)
    assert first.status is EvaluationStatus.READY and first.attempts == 2 and first.answer_sha == "sha-new"
    assert first.evaluation == _evaluation(77)
    assert second.status is EvaluationStatus.FAILED and second.error == "the judge timed out"


async def test_expiry_drops_the_feedback_with_the_answers(backend: Backend) -> None:
    engine = await backend.open()
    sessions, evaluations = SqlSessionStore(engine), SqlEvaluationStore(engine)
    session = new_session(now=T0)
    await sessions.create(session)
    await evaluations.mark_pending(session.id, 1, 10, "sha", 1.0)
    await evaluations.store_result(session.id, 1, "sha", _evaluation(50), 1, 2.0)
    await sessions.expire_inactive(T0 + timedelta(hours=1), T0 - timedelta(days=1))
    assert await evaluations.for_session(session.id) == []


# --- media index -------------------------------------------------------------------------------------

# Owners are "hostname:pid:random"; a container's hostname may be up to 63 characters.
OWNER_A = "a" * 63 + ":4194304:0123abcd"
OWNER_B = "api-2:41:89abcdef"


async def test_claim_by_insert_owns_a_new_key(index: MediaIndex) -> None:
    now = time.time()
    claim = await index.claim("k", "speech", OWNER_A, now, stale_after_s=60)
    assert claim.owned
    assert claim.entry == MediaEntry(
        key="k",
        kind="speech",
        state=MediaState.PENDING,
        owner=OWNER_A,
        claimed_at=now,
        provider_ref=None,
        blob_name=None,
        meta=None,
        error=None,
        attempts=1,
        updated_at=now,
    )
    assert await index.get("k") == claim.entry
    assert await index.get("other") is None


async def test_a_second_claimant_does_not_own_a_live_claim(index: MediaIndex) -> None:
    now = time.time()
    first = await index.claim("k", "clip", OWNER_A, now, stale_after_s=60)
    second = await index.claim("k", "clip", OWNER_B, now + 1, stale_after_s=60)
    assert not second.owned
    assert second.entry == first.entry
    again = await index.claim("k", "clip", OWNER_A, now + 2, stale_after_s=60)
    assert not again.owned, "a claim is not re-entrant"


async def test_a_stale_claim_is_taken_over_keeping_the_provider_job(index: MediaIndex) -> None:
    long_ago = time.time() - 3600
    assert (await index.claim("clip", "clip", OWNER_A, long_ago, stale_after_s=60)).owned
    await index.record_provider_ref("clip", OWNER_B, "clp_not_theirs", long_ago)
    await index.record_provider_ref("clip", OWNER_A, "clp_123", long_ago)

    now = time.time()
    taken = await index.claim("clip", "clip", OWNER_B, now, stale_after_s=60)
    assert taken.owned
    assert taken.entry.owner == OWNER_B and taken.entry.claimed_at == now
    assert taken.entry.provider_ref == "clp_123", "the new owner resumes the job already paid for"
    assert taken.entry.attempts == 2 and taken.entry.state is MediaState.PENDING
    assert not await index.heartbeat("clip", OWNER_A, now), "the old owner learns it lost the claim"
    assert not (await index.claim("clip", "clip", OWNER_A, now + 1, stale_after_s=60)).owned


async def test_a_failed_entry_is_taken_over_by_the_next_claimant(index: MediaIndex) -> None:
    now = time.time()
    await index.claim("k", "speech", OWNER_A, now, stale_after_s=60)
    await index.mark_failed("k", OWNER_B, "not the owner", now)
    still = await index.get("k")
    assert still is not None and still.state is MediaState.PENDING and still.error is None
    await index.mark_failed("k", OWNER_A, "boom " * 1000, now + 1)
    failed = await index.get("k")
    assert failed is not None and failed.state is MediaState.FAILED
    assert failed.error is not None and len(failed.error) == 2000

    retry = await index.claim("k", "speech", OWNER_B, now + 2, stale_after_s=60)
    assert retry.owned
    assert retry.entry.state is MediaState.PENDING and retry.entry.error is None
    assert retry.entry.owner == OWNER_B and retry.entry.attempts == 2


async def test_only_the_owner_keeps_a_claim_alive(index: MediaIndex) -> None:
    now = time.time()
    await index.claim("k", "speech", OWNER_A, now, stale_after_s=60)
    assert not await index.heartbeat("k", OWNER_B, now + 30)
    assert await index.heartbeat("k", OWNER_A, now + 50)
    beaten = await index.get("k")
    assert beaten is not None and beaten.claimed_at == now + 50 and beaten.updated_at == now + 50
    # Kept alive, so not stale at now + 100 (it would be without the heartbeat).
    assert not (await index.claim("k", "speech", OWNER_B, now + 100, stale_after_s=60)).owned
    assert not await index.heartbeat("missing", OWNER_A, now)
    await index.mark_ready("k", "speech", "audio/k.mp3", "{}", now + 101)
    assert not await index.heartbeat("k", OWNER_A, now + 102), "a finished entry has no claim to keep"


async def test_mark_ready_publishes_a_claimed_entry(index: MediaIndex) -> None:
    now = time.time()
    await index.claim("k", "clip", OWNER_A, now, stale_after_s=60)
    await index.record_provider_ref("k", OWNER_A, "clp_1", now)
    meta = json.dumps({"duration_ms": 1234, "words": ["ünïcode"]})
    await index.mark_ready("k", "clip", "video/k.mp4", meta, now + 5)
    entry = await index.get("k")
    assert entry is not None
    assert (entry.state, entry.blob_name, entry.meta, entry.error) == (
        MediaState.READY,
        "video/k.mp4",
        meta,
        None,
    )
    assert (entry.provider_ref, entry.attempts, entry.updated_at) == ("clp_1", 1, now + 5)
    assert not (await index.claim("k", "clip", OWNER_B, now + 999, stale_after_s=60)).owned, "ready is final"


async def test_mark_ready_stores_a_key_nobody_claimed(index: MediaIndex) -> None:
    now = time.time()
    await index.mark_ready("k", "speech", "audio/k.mp3", "{}", now)
    entry = await index.get("k")
    assert entry == MediaEntry(
        key="k",
        kind="speech",
        state=MediaState.READY,
        owner=None,
        claimed_at=None,
        provider_ref=None,
        blob_name="audio/k.mp3",
        meta="{}",
        error=None,
        attempts=1,
        updated_at=now,
    )
    await index.mark_ready("k", "speech", "audio/k2.mp3", '{"again": true}', now + 1)
    again = await index.get("k")
    assert again is not None and again.blob_name == "audio/k2.mp3" and again.attempts == 1


async def test_mark_ready_racing_on_an_unclaimed_key_from_two_instances(backend: Backend) -> None:
    indexes = [SqlMediaIndex(await backend.open()), SqlMediaIndex(await backend.open())]
    now = time.time()
    for round_number in range(5):
        key = f"k{round_number}"
        await asyncio.gather(
            *(indexes[i % 2].mark_ready(key, "speech", f"audio/{key}.mp3", "{}", now) for i in range(10))
        )
        entry = await indexes[0].get(key)
        assert entry is not None and entry.state is MediaState.READY and entry.blob_name == f"audio/{key}.mp3"


async def test_release_deletes_only_the_owners_pending_claim(index: MediaIndex) -> None:
    now = time.time()
    await index.claim("k", "speech", OWNER_A, now, stale_after_s=60)
    await index.release("k", OWNER_B)
    assert await index.get("k") is not None, "someone else's claim stays"
    await index.release("k", OWNER_A)
    assert await index.get("k") is None
    assert (await index.claim("k", "speech", OWNER_B, now, stale_after_s=60)).owned, "free to claim again"

    await index.claim("done", "speech", OWNER_A, now, stale_after_s=60)
    await index.mark_ready("done", "speech", "audio/done.mp3", "{}", now)
    await index.release("done", OWNER_A)
    assert await index.get("done") is not None, "a ready entry is never released"

    await index.claim("bad", "speech", OWNER_A, now, stale_after_s=60)
    await index.mark_failed("bad", OWNER_A, "boom", now)
    await index.release("bad", OWNER_A)
    assert await index.get("bad") is not None, "nor a failed one"
    await index.release("nothing", OWNER_A)


async def test_invalidate_turns_a_ready_entry_into_a_failed_one(index: MediaIndex) -> None:
    now = time.time()
    await index.claim("k", "clip", OWNER_A, now, stale_after_s=60)
    await index.record_provider_ref("k", OWNER_A, "clp_9", now)
    await index.invalidate("k", "not ready yet", now + 1)
    pending = await index.get("k")
    assert pending is not None and pending.state is MediaState.PENDING, "only ready entries are invalidated"

    await index.mark_ready("k", "clip", "video/k.mp4", "{}", now + 2)
    await index.invalidate("k", "blob missing or damaged", now + 3)
    broken = await index.get("k")
    assert broken is not None
    assert (broken.state, broken.error, broken.updated_at) == (
        MediaState.FAILED,
        "blob missing or damaged",
        now + 3,
    )
    assert broken.provider_ref == "clp_9", "the finished job is downloaded again, not paid for again"

    retry = await index.claim("k", "clip", OWNER_B, now + 4, stale_after_s=60)
    assert retry.owned and retry.entry.provider_ref == "clp_9" and retry.entry.attempts == 2
    await index.invalidate("missing", "nothing there", now)
    assert await index.get("missing") is None


async def test_twenty_claims_from_two_instances_make_exactly_one_owner(backend: Backend) -> None:
    indexes = [SqlMediaIndex(await backend.open()), SqlMediaIndex(await backend.open())]
    owners = [f"instance-{i % 2}:{i}" for i in range(20)]
    now = time.time()
    claims = await asyncio.gather(
        *(indexes[i % 2].claim("k", "clip", owners[i], now, stale_after_s=60) for i in range(20))
    )
    winners = [c for c in claims if c.owned]
    assert len(winners) == 1
    assert all(c.entry.owner == winners[0].entry.owner for c in claims)
    assert winners[0].entry.attempts == 1


@pytest.mark.parametrize("previous", ["stale", "failed"])
async def test_twenty_takeovers_from_two_instances_make_exactly_one_owner(
    backend: Backend, previous: str
) -> None:
    indexes = [SqlMediaIndex(await backend.open()), SqlMediaIndex(await backend.open())]
    long_ago = time.time() - 3600
    await indexes[0].claim("k", "clip", "dead", long_ago, stale_after_s=60)
    if previous == "failed":
        await indexes[0].mark_failed("k", "dead", "boom", long_ago)
    now = time.time()
    claims = await asyncio.gather(
        *(indexes[i % 2].claim("k", "clip", f"taker-{i}", now, stale_after_s=60) for i in range(20))
    )
    winners = [c for c in claims if c.owned]
    assert len(winners) == 1
    entry = await indexes[1].get("k")
    assert entry is not None and entry.owner == winners[0].entry.owner and entry.attempts == 2


async def test_single_flight_across_two_instances_produces_once(backend: Backend) -> None:
    indexes = [SqlMediaIndex(await backend.open()), SqlMediaIndex(await backend.open())]
    flights = [SingleFlight(indexes[0], "instance-a"), SingleFlight(indexes[1], "instance-b")]
    produced: list[str] = []

    async def produce(claimed: MediaEntry) -> MediaEntry:
        produced.append(claimed.owner or "")
        await asyncio.sleep(0.2)
        await indexes[0].mark_ready("k", "clip", "video/k.mp4", "{}", time.time())
        entry = await indexes[0].get("k")
        assert entry is not None
        return entry

    async def always_valid(_entry: MediaEntry) -> bool:
        return True

    results = await asyncio.gather(
        *(
            flights[i % 2].run("k", "clip", produce, is_valid=always_valid, stale_after_s=30, timeout_s=10)
            for i in range(20)
        )
    )
    assert len(produced) == 1
    assert all(r is not None and r.state is MediaState.READY for r in results)


# --- migrations --------------------------------------------------------------------------------------


# Alembic keeps its migration context in module globals (one migration per process at a time), so
# instances starting at once are separate processes here too.
MIGRATE_AT = """
import asyncio, sys, time
from interviewai.adapters.store.database import create_engine, migrate

async def main() -> None:
    engine = create_engine(sys.argv[1])
    await asyncio.sleep(float(sys.argv[2]) - time.time())
    try:
        await migrate(engine)
    finally:
        await engine.dispose()

asyncio.run(main())
"""


async def test_instances_starting_at_once_all_migrate(backend: Backend) -> None:
    start_at = str(time.time() + 1.5)  # after every process has imported, so they really collide
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", MIGRATE_AT, backend.url, start_at, stderr=asyncio.subprocess.PIPE
        )
        for _ in range(3)
    ]
    for process in processes:
        _, stderr = await process.communicate()
        assert process.returncode == 0, stderr.decode()

    engine = await backend.open()  # a later start: a no-op
    session = new_session()
    await SqlSessionStore(engine).create(session)
    assert await SqlSessionStore(await backend.open()).get(session.id) == session
