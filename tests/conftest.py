"""Shared fixtures: settings on temporary directories, the app under the ASGI transport, audio helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from interviewai.app import create_app
from interviewai.container import Container
from interviewai.settings import Settings

SettingsFactory = Callable[..., Settings]


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One alignment-patched voice model for the whole run (patching takes about a second)."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture
def make_settings(tmp_path: Path, model_dir: Path) -> SettingsFactory:
    """Settings isolated from the developer's environment: a fresh data dir, the offline voice only."""

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "model_dir": model_dir,
            "tts_engines": "piper",
            "did_api_key": "",
            "avatar_mode": None,
            "database_url": "",
            # Off unless a test is about it: background work would make call counts racy.
            "lookahead": False,
            # The library's embeddings cost seconds of CPU; tests that plan embed on first use.
            "plans_embed_at_start": False,
            # Tests that recognise speech share one loaded model (tests/stt_fixtures.py); others never load it.
            "stt_preload": False,
            "_env_file": None,
        }
        values.update(overrides)
        return Settings(**values)

    return build


class RunningApp:
    """The app with its lifespan entered and a client on the ASGI transport, plus interview shortcuts."""

    def __init__(self, app: FastAPI, client: httpx.AsyncClient) -> None:
        self.app = app
        self.client = client

    @property
    def container(self) -> Container:
        """The app's container (its services and stores), for tests that look behind the API."""
        container: Container = self.app.state.container
        return container

    async def start(self) -> str:
        """Start an interview with the default options; its session id."""
        session_id: str = (await self.client.post("/api/v1/interview/start")).json()["session_id"]
        return session_id

    async def question(self, session_id: str, **params: Any) -> dict[str, Any]:
        """GET the current question (asserting 200); its JSON."""
        response = await self.client.get(f"/api/v1/interview/{session_id}/question", params=params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def answer(self, session_id: str, question_id: int, **params: Any) -> dict[str, Any]:
        """Answer `question_id` with a fixed text (asserting 200); the answer's JSON."""
        response = await self.client.post(
            f"/api/v1/interview/{session_id}/answer",
            json={"question_id": question_id, "answer_text": "An answer."},
            params=params,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
async def running(make_settings: SettingsFactory) -> AsyncIterator[RunningApp]:
    """The app from `make_settings()` with its lifespan entered, and a client on the ASGI transport."""
    app = create_app(make_settings())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield RunningApp(app, client)


@pytest.fixture
def client(running: RunningApp) -> httpx.AsyncClient:
    """The running app's client (base URL http://testserver)."""
    return running.client
