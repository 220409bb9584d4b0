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
            "_env_file": None,
        }
        values.update(overrides)
        return Settings(**values)

    return build


class RunningApp:
    def __init__(self, app: FastAPI, client: httpx.AsyncClient) -> None:
        self.app = app
        self.client = client

    @property
    def container(self) -> Container:
        container: Container = self.app.state.container
        return container


@pytest.fixture
async def running(make_settings: SettingsFactory) -> AsyncIterator[RunningApp]:
    app = create_app(make_settings())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield RunningApp(app, client)


@pytest.fixture
def client(running: RunningApp) -> httpx.AsyncClient:
    return running.client
