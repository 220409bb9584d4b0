"""Sessions live in the database: they survive restarts, are shared by processes, and expire."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from conftest import RunningApp, SettingsFactory
from interviewai.app import create_app
from live_server import REPO, free_port, server_process


def _answer(base: str, session_id: str, question_id: int) -> dict[str, object]:
    response = httpx.post(
        f"{base}/api/v1/interview/{session_id}/answer",
        json={"question_id": question_id, "answer_text": f"Answer to {question_id}."},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_two_processes_share_a_session_and_a_restart_loses_nothing(tmp_path: Path, model_dir: Path) -> None:
    data_dir = tmp_path / "data"
    with server_process(data_dir, model_dir) as first, server_process(data_dir, model_dir) as second:
        session_id = httpx.post(f"{first}/api/v1/interview/start", timeout=30).json()["session_id"]
        assert _answer(first, session_id, 1)["question_id"] == 2
        # The second process continues the session the first one started.
        continued = httpx.get(f"{second}/api/v1/interview/{session_id}/question", timeout=60).json()
        assert continued["question_id"] == 2 and continued["current_question"] == 2
        assert _answer(second, session_id, 2)["question_id"] == 3
        assert httpx.get(f"{first}/api/v1/interview/{session_id}/status").json()["answers_recorded"] == 2

    with server_process(data_dir, model_dir) as restarted:
        question = httpx.get(f"{restarted}/api/v1/interview/{session_id}/question", timeout=60).json()
        assert question["question_id"] == 3
        status = httpx.get(f"{restarted}/api/v1/interview/{session_id}/status").json()
        assert status["answers_recorded"] == 2 and status["state"] == "in_progress"


@pytest.mark.parametrize(
    ("variable", "value", "shown"),
    [
        ("TTS_RATE", "fast", "fast"),
        ("PORT", "http", "http"),
        ("TTS_VOICE", "not a voice", "not a voice"),
        ("EDGE_TTS_URL", "http://127.0.0.1:1/", "ws://"),
        ("QUESTION_BANK", "/no/such/bank.yaml", "/no/such/bank.yaml"),
    ],
)
def test_invalid_setting_stops_the_server_naming_the_variable(
    tmp_path: Path, variable: str, value: str, shown: str
) -> None:
    env = {**os.environ, "DATA_DIR": str(tmp_path), "PORT": str(free_port()), "TTS_ENGINES": "edge,piper"}
    env[variable] = value
    result = subprocess.run(
        [sys.executable, "main.py"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2, result.stderr
    assert variable in result.stderr
    assert shown in result.stderr
    assert "Traceback" not in result.stderr


async def test_idle_session_expires_with_its_own_code(running: RunningApp) -> None:
    client = running.client
    session_id = (await client.post("/api/v1/interview/start")).json()["session_id"]
    await client.post(f"/api/v1/interview/{session_id}/answer", json={"question_id": 1, "answer_text": "Hi."})
    database = running.container.settings.resolved_database_url.split("///", 1)[1]
    timeout = running.container.settings.session_timeout_s
    with sqlite3.connect(database) as connection:
        connection.execute(
            "UPDATE sessions SET updated_at = updated_at - ? WHERE id = ?", (timeout + 5, session_id)
        )

    for path in ("question", "status"):
        response = await client.get(f"/api/v1/interview/{session_id}/{path}")
        assert response.status_code == 404
        assert response.json()["code"] == "expired"
    answer = await client.post(
        f"/api/v1/interview/{session_id}/answer", json={"question_id": 2, "answer_text": "Still there?"}
    )
    assert answer.status_code == 404 and answer.json()["code"] == "expired"

    other = (await client.post("/api/v1/interview/start")).json()["session_id"]
    assert await running.container.interviews.expire_idle_sessions() == 1
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT COUNT(*) FROM session_questions WHERE session_id = ?", (session_id,)
        )
        assert rows.fetchone()[0] == 0, "an expired session's content is cleaned up"
        state = connection.execute("SELECT state FROM sessions WHERE id = ?", (session_id,)).fetchone()[0]
        assert state == "expired"
    response = await client.get(f"/api/v1/interview/{session_id}/status")
    assert response.status_code == 404 and response.json()["code"] == "expired"
    assert (await client.get(f"/api/v1/interview/{other}/status")).status_code == 200


async def test_custom_question_bank(make_settings: SettingsFactory, tmp_path: Path) -> None:
    bank = tmp_path / "bank.json"
    bank.write_text('[{"id": 7, "type": "technical", "text": "What is a race condition?"}]')
    app = create_app(make_settings(question_bank=bank))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            assert (await client.get("/api/v1/interview/info")).json()["total_questions"] == 1
            session_id = (await client.post("/api/v1/interview/start")).json()["session_id"]
            question = (await client.get(f"/api/v1/interview/{session_id}/question")).json()
            assert question["question_id"] == 7 and question["total_questions"] == 1
            done = await client.post(
                f"/api/v1/interview/{session_id}/answer",
                json={"question_id": 7, "answer_text": "Two writers."},
            )
            assert done.json()["type"] == "complete"
