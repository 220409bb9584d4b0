"""Store failures: a locked SQLite file or a dropped PostgreSQL connection gives 503 `store_unavailable`,
never a 500 or a hang; the WebSocket says so and stays open; readiness names what failed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from conftest import RunningApp, SettingsFactory
from interviewai.adapters.avatar.did import DidClipRenderer
from interviewai.adapters.blobs.files import FileBlobStore
from interviewai.adapters.queue.taskiq_queue import TaskiqJobQueue
from interviewai.adapters.store.database import create_engine
from interviewai.adapters.store.media_index import SqlMediaIndex
from interviewai.app import create_app
from interviewai.domain.errors import StoreUnavailable
from interviewai.domain.speech import SpokenAudio
from interviewai.services.media import QuestionSpeech
from interviewai.services.single_flight import SingleFlight
from interviewai.services.video import AvatarService, AvatarSettings
from live_server import serve_app
from test_store_contract import scratch_postgres_database
from test_websocket import assert_alive, interview_socket, receive, request

# The store's deadlines in these tests: a statement gives up after STORE_TIMEOUT_S.
STORE_TIMEOUT_S = 1.0
# Generous: the point is "within the deadline, not after SQLite's old 30 s or forever".
WITHIN_S = 10 * STORE_TIMEOUT_S


@contextlib.contextmanager
def write_lock(database: Path) -> Iterator[None]:
    """Another process's view: a connection that holds SQLite's write lock until the block ends."""
    holder = sqlite3.connect(database, isolation_level=None, timeout=0)
    try:
        holder.execute("BEGIN IMMEDIATE")
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@contextlib.asynccontextmanager
async def app_on(
    make_settings: SettingsFactory, timeout_s: float = STORE_TIMEOUT_S, **overrides: object
) -> AsyncIterator[RunningApp]:
    app = create_app(make_settings(database_timeout_s=timeout_s, **overrides))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield RunningApp(app, client)


def _database_file(running: RunningApp) -> Path:
    database = make_url(running.container.settings.resolved_database_url).database
    assert database is not None
    return Path(database)


async def test_a_locked_sqlite_database_gives_503_within_the_deadline_while_reads_work(
    make_settings: SettingsFactory,
) -> None:
    async with app_on(make_settings) as running:
        client = running.client
        session_id = await running.start()
        with write_lock(_database_file(running)):
            started = time.monotonic()
            response = await client.post("/api/v1/interview/start")
            elapsed = time.monotonic() - started
            assert response.status_code == 503, response.text
            assert response.json()["code"] == "store_unavailable"
            assert set(response.json()) == {"detail", "code"}
            assert int(response.headers["retry-after"]) > 0
            assert elapsed < WITHIN_S
            answered = await client.post(
                f"/api/v1/interview/{session_id}/answer", json={"question_id": 1, "answer_text": "Hi."}
            )
            assert answered.status_code == 503 and answered.json()["code"] == "store_unavailable"
            # Reads do not need the write lock (WAL): the session can still be looked at.
            status = await client.get(f"/api/v1/interview/{session_id}/status")
            assert status.status_code == 200 and status.json()["answers_recorded"] == 0
            assert (await client.get("/api/v1/health")).status_code == 200
        # The lock is gone: the same requests work again.
        assert (await client.post("/api/v1/interview/start")).status_code == 200
        await running.answer(session_id, 1)


async def test_the_websocket_reports_store_unavailable_and_stays_open(make_settings: SettingsFactory) -> None:
    settings = make_settings(database_timeout_s=STORE_TIMEOUT_S)
    async with serve_app(settings) as live:
        database = Path(make_url(settings.resolved_database_url).database or "")
        async with interview_socket(live) as socket_:
            info = await receive(socket_)
            assert info["type"] == "session_info"
            with write_lock(database):
                error = await request(
                    socket_, {"type": "answer", "data": {"question_id": 1, "answer_text": "Hello."}}
                )
                assert error["type"] == "error" and error["data"]["code"] == "store_unavailable"
                await assert_alive(socket_)
            status = await request(socket_, {"type": "status"})
            assert status["type"] == "status" and status["data"]["answers_recorded"] == 0


async def test_a_socket_opened_while_the_store_is_locked_starts_on_its_next_message(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings(database_timeout_s=STORE_TIMEOUT_S)
    async with serve_app(settings) as live:
        database = Path(make_url(settings.resolved_database_url).database or "")
        holder = sqlite3.connect(database, isolation_level=None, timeout=0)
        try:
            holder.execute("BEGIN IMMEDIATE")
            async with interview_socket(live) as socket_:
                error = await receive(socket_)
                assert error["type"] == "error" and error["data"]["code"] == "store_unavailable"
                holder.execute("ROLLBACK")
                await socket_.send(json.dumps({"type": "start"}))
                assert (await receive(socket_))["type"] == "session_info"
                await assert_alive(socket_)
        finally:
            holder.close()


async def test_readiness_names_the_failed_dependency(make_settings: SettingsFactory) -> None:
    async with app_on(make_settings) as running:
        ready = await running.client.get("/api/v1/health/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json() == {"status": "ready", "checks": {"blobs": "ok", "store": "ok"}}
        await running.container.engine.dispose()
        # The store's file is gone under it (a dropped volume): the store no longer answers.
        database = _database_file(running)
        database.unlink()
        database.mkdir()
        not_ready = await running.client.get("/api/v1/health/ready")
        assert not_ready.status_code == 503, not_ready.text
        body = not_ready.json()
        assert body["code"] == "not_ready"
        assert body["detail"]["store"].startswith("failed") and body["detail"]["blobs"] == "ok"
        assert (await running.client.get("/api/v1/health")).status_code == 200
        database.rmdir()


async def test_the_media_index_translates_a_refused_connection() -> None:
    engine = create_engine("postgresql+asyncpg://postgres@127.0.0.1:1/none", timeout_s=STORE_TIMEOUT_S)
    try:
        with pytest.raises(StoreUnavailable):
            await SqlMediaIndex(engine).get("any")
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_a_dropped_postgres_connection_gives_503_then_recovers(make_settings: SettingsFactory) -> None:
    async with (
        scratch_postgres_database() as url,
        app_on(
            # Roomier than SQLite's: connecting anew after the drop takes a while on a loaded machine.
            make_settings,
            timeout_s=3.0,
            database_url=url,
        ) as running,
    ):
        client = running.client
        session_id = await running.start()
        admin_url = make_url(url).set(drivername="postgresql")
        admin = await asyncpg.connect(admin_url.render_as_string(hide_password=False))
        try:
            # Hold the session's row so the app's next save waits on it, then drop the app's connection.
            locker = admin.transaction()
            await locker.start()
            await admin.execute("SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE", session_id)
            answering = asyncio.ensure_future(
                client.post(
                    f"/api/v1/interview/{session_id}/answer", json={"question_id": 1, "answer_text": "Hi."}
                )
            )
            waiting = await _backend_waiting_on_a_lock(admin, make_url(url).database or "")
            terminated = await admin.fetchval("SELECT pg_terminate_backend($1)", waiting)
            assert terminated is True
            response = await answering
            assert response.status_code == 503, response.text
            assert response.json()["code"] == "store_unavailable"
            await locker.rollback()
        finally:
            await admin.close()
        # A new connection from the pool: the same answer now goes through.
        await running.answer(session_id, 1)
        assert (await client.get("/api/v1/health/ready")).status_code == 200


async def _backend_waiting_on_a_lock(admin: asyncpg.Connection, database: str) -> int:
    for _ in range(200):
        pid = await admin.fetchval(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock' LIMIT 1",
            database,
        )
        if pid is not None:
            return int(pid)
        await asyncio.sleep(0.05)
    raise AssertionError("the app's save never waited on the row lock")


async def test_the_video_path_falls_back_to_audio_when_its_index_read_fails(tmp_path: Path) -> None:
    # A media index whose database refuses connections; the D-ID client is never reached before it.
    engine = create_engine("postgresql+asyncpg://postgres@127.0.0.1:1/none", timeout_s=STORE_TIMEOUT_S)
    renderer = DidClipRenderer(api_url="http://127.0.0.1:1", api_key="unused")
    index = SqlMediaIndex(engine)
    jobs = TaskiqJobQueue.in_process()
    await jobs.start()
    try:
        avatar = AvatarService(
            renderer,
            None,  # type: ignore[arg-type]  # speech is only needed by the render job, which never runs here
            FileBlobStore(tmp_path / "media"),
            index,
            SingleFlight(index, owner_id="test"),
            jobs,
            AvatarSettings(
                presenter_id="presenter", use_own_audio=True, provider_voice="v", generation_timeout_s=5
            ),
        )
        audio = SpokenAudio(b"mp3", 1.0, (), (), "piper", "voice")
        outcome = await avatar.video_for(
            "Tell me about yourself.", QuestionSpeech(audio, "a", "k", True, 0), 5
        )
        assert outcome.status == "failed"
        assert outcome.fallback_reason is not None and outcome.fallback_reason.startswith(
            "store: unavailable"
        )
    finally:
        await jobs.aclose()
        await renderer.aclose()
        await engine.dispose()
