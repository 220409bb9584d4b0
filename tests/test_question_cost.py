"""What a question costs in store and blob calls: real SQLite and files, counted, behind the real services."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import event
from sqlalchemy.util import await_, greenlet_spawn

from conftest import SettingsFactory
from fakes import CountingBlobStore, CountingMediaIndex, CountingSessionStore, FakeSynthesizer
from interviewai.adapters.blobs.files import FileBlobStore
from interviewai.adapters.queue.taskiq_queue import TaskiqJobQueue
from interviewai.adapters.store.media_index import SqlMediaIndex
from interviewai.adapters.store.sql import SqlSessionStore
from interviewai.api.deps import UrlBuilder
from interviewai.api.presenters import question_response
from interviewai.api.question_json import QuestionEncoder
from interviewai.domain.questions import Question, QuestionBank, QuestionType
from interviewai.domain.session import FollowUp, InterviewSession
from interviewai.domain.speech import VoiceSettings
from interviewai.services.interview import InterviewService, QuestionDelivery
from interviewai.services.media import SpeechMediaService
from interviewai.services.single_flight import SingleFlight
from interviewai.services.speech import SpeechService
from interviewai.services.video import AvatarService, AvatarSettings
from interviewai.settings import Settings
from interviewai.startup import open_database

BANK = QuestionBank(
    (
        Question(1, "Tell me about yourself — briefly, please.", QuestionType.INTRODUCTION),
        Question(2, "Why do you want this role?", QuestionType.CLOSING),
    )
)


@dataclass
class Parts:
    interviews: InterviewService
    media: SpeechMediaService
    sessions: CountingSessionStore
    blobs: CountingBlobStore
    index: CountingMediaIndex
    synthesizer: FakeSynthesizer


@pytest.fixture
async def parts(make_settings: SettingsFactory) -> AsyncIterator[Parts]:
    settings: Settings = make_settings()
    settings.resolved_media_dir.mkdir(parents=True, exist_ok=True)
    engine = await open_database(settings)
    jobs = TaskiqJobQueue.in_process()
    await jobs.start()
    try:
        synthesizer = FakeSynthesizer()
        speech = SpeechService([(synthesizer, VoiceSettings("fake-voice"))], cooldown_s=60)
        blobs = CountingBlobStore(FileBlobStore(settings.resolved_media_dir))
        index = CountingMediaIndex(SqlMediaIndex(engine))
        flights = SingleFlight(index, owner_id="test:1:owner")
        media = SpeechMediaService(speech, blobs, index, flights)
        avatar = AvatarService(
            None, media, blobs, index, flights, jobs, AvatarSettings("presenter", True, "voice", 10.0)
        )
        sessions = CountingSessionStore(SqlSessionStore(engine))
        interviews = InterviewService(
            sessions, BANK, media, avatar, jobs, timedelta(minutes=30), video_wait_s=0, lookahead=False
        )
        yield Parts(interviews, media, sessions, blobs, index, synthesizer)
    finally:
        await jobs.aclose()
        await engine.dispose()


def _reset(parts: Parts) -> None:
    for counter in (parts.sessions.calls, parts.blobs.calls, parts.index.calls):
        counter.clear()


async def test_a_question_asked_again_costs_one_session_read_and_no_blob_or_index_call(parts: Parts) -> None:
    session = await parts.interviews.start()
    first = await parts.interviews.current(session.id)
    _reset(parts)
    again = await parts.interviews.current(session.id)
    assert isinstance(first, QuestionDelivery) and isinstance(again, QuestionDelivery)
    assert dict(parts.sessions.calls) == {"get": 1}
    assert parts.blobs.calls == {} and parts.index.calls == {}
    assert again.speech.audio == first.speech.audio and again.speech.from_cache
    assert again.speech.audio_name == first.speech.audio_name


async def test_another_session_checks_the_index_and_the_blob(parts: Parts) -> None:
    """A first delivery still checks the stored entry (a damaged blob is produced again, not served)."""
    await parts.interviews.current((await parts.interviews.start()).id)
    other = await parts.interviews.start()
    _reset(parts)
    delivery = await parts.interviews.current(other.id)
    assert isinstance(delivery, QuestionDelivery) and delivery.speech.from_cache
    assert parts.index.calls["get"] >= 1 and parts.blobs.calls["size"] >= 1
    assert parts.synthesizer.spoken == [BANK.questions[0].text]


async def test_the_encoder_writes_what_the_model_would(parts: Parts) -> None:
    session = await parts.interviews.start()
    delivery = await parts.interviews.current(session.id)
    assert isinstance(delivery, QuestionDelivery)
    urls = UrlBuilder("http://testserver")
    encoder = QuestionEncoder()
    follow_up = replace(
        delivery,
        asked=replace(
            delivery.asked, answer_text="An answer.", follow_up=FollowUp("gap", "And then? “Quoted”")
        ),
    )
    assert follow_up.follow_up is not None
    for case in (delivery, follow_up, replace(delivery, latency_ms=123456)):
        expected = question_response(case, urls).model_dump_json()
        for _ in range(2):  # encoded, then from the encoder's cache
            assert encoder.encode(case, urls, None) == expected.encode()
    assert json.loads(encoder.encode(delivery, urls, None))["word_timings"][0]["start"] == 0.0


async def test_a_cache_miss_costs_one_blob_write_and_no_read(parts: Parts) -> None:
    session = await parts.interviews.start()
    _reset(parts)
    delivery = await parts.interviews.current(session.id)
    assert isinstance(delivery, QuestionDelivery) and not delivery.speech.from_cache
    assert dict(parts.blobs.calls) == {"put": 1}
    stored = await parts.blobs.inner.get(delivery.speech.audio_name)
    assert stored == delivery.speech.audio.mp3, "what was returned is what was stored"


async def test_a_session_read_again_is_one_driver_call_and_sees_other_writers(
    make_settings: SettingsFactory,
) -> None:
    """On SQLite the read runs as one call on aiosqlite's thread: not through SQLAlchemy's cursor (its
    cursor, execute, fetch and close are a hop each), and the connection goes back with no rollback."""
    settings: Settings = make_settings()
    settings.resolved_media_dir.mkdir(parents=True, exist_ok=True)
    engine = await open_database(settings)
    through_cursor: list[str] = []
    ran: list[str] = []  # what SQLite itself ran, from its trace callback on every pooled connection
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *args: through_cursor.append(args[2]))

    @event.listens_for(engine.sync_engine, "connect")
    def _trace(dbapi_connection: Any, _record: Any) -> None:
        await_(dbapi_connection.driver_connection.set_trace_callback(ran.append))

    await engine.dispose()  # the pool's connections are opened again, traced
    try:
        here, elsewhere = SqlSessionStore(engine), SqlSessionStore(engine)  # two processes' stores
        session = InterviewSession.start("s1", BANK.questions, datetime.now(timezone.utc))
        await here.create(session)
        await here.get("s1")
        through_cursor.clear()
        ran.clear()
        again = await here.get("s1")
        assert again is not None and through_cursor == []
        assert len(ran) == 1 and ran[0].startswith("SELECT") and "FROM sessions" in ran[0], ran
        answered = again.answer(1, "An answer.", datetime.now(timezone.utc)).session
        await elsewhere.save(answered)
        assert any(statement.startswith("COMMIT") for statement in ran), "the save ran in a transaction"
        ran.clear()
        seen = await here.get("s1")
        assert seen is not None and seen.questions[0].answer_text == "An answer."
        assert not any("ROLLBACK" in statement for statement in ran), ran
    finally:
        await engine.dispose()


async def test_a_connection_left_in_a_transaction_goes_back_rolled_back(
    make_settings: SettingsFactory,
) -> None:
    """The pool skips the rollback only when SQLite says no transaction is open."""
    settings: Settings = make_settings()
    settings.resolved_media_dir.mkdir(parents=True, exist_ok=True)
    engine = await open_database(settings)
    try:
        raw = await engine.raw_connection()
        driver = raw.driver_connection
        assert isinstance(driver, aiosqlite.Connection)
        await driver.execute("BEGIN IMMEDIATE")
        assert driver.in_transaction
        await greenlet_spawn(raw.close)
        async with engine.connect() as connection:
            again = await connection.get_raw_connection()
            assert not driver.in_transaction
            assert again.driver_connection is driver, "the pool's one idle connection"
    finally:
        await engine.dispose()
