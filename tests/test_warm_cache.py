"""`interviewai warm-cache` renders the bank once, resumes, and reports what it spent."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from conftest import SettingsFactory
from interviewai.app import create_app
from interviewai.settings import Settings
from interviewai.simulators.did import DidSimulator
from interviewai.warm_cache import warm_cache

BANK = (
    '[{"id": 1, "type": "introduction", "text": "Tell me about yourself."},'
    ' {"id": 2, "type": "technical", "text": "How do you test a web service?"}]'
)


@pytest.fixture
async def did() -> AsyncIterator[DidSimulator]:
    async with DidSimulator(queue_delay_s=0.05, render_factor=0.05) as sim:
        yield sim


@pytest.fixture
def settings(make_settings: SettingsFactory, did: DidSimulator, tmp_path: Path) -> Settings:
    bank = tmp_path / "bank.json"
    bank.write_text(BANK)
    return make_settings(
        did_api_url=did.url,
        did_api_key=did.api_key,
        did_poll_initial_s=0.02,
        did_poll_max_s=0.1,
        question_bank=bank,
    )


async def test_warm_cache_renders_once_and_the_server_then_serves_from_it(
    settings: Settings, did: DidSimulator
) -> None:
    first = await warm_cache(settings, show_progress=False)
    # Two questions and the three fixed follow-up phrasings, each spoken and rendered once.
    assert (first.questions, first.follow_ups, first.syntheses, first.clips_created) == (2, 3, 5, 5)
    assert first.clips_failed == 0
    assert "5 clips created" in first.summary()

    again = await warm_cache(settings, show_progress=False)
    assert (again.syntheses, again.clips_created) == (0, 0), "a second run spends nothing"
    assert did.clips_created == 5

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            session_id = (await client.post("/api/v1/interview/start")).json()["session_id"]
            question = (await client.get(f"/api/v1/interview/{session_id}/question")).json()
            assert question["video_status"] == "ready"
            assert question["latency_ms"] < 1000
            assert app.state.container.speech_media.syntheses == 0
    assert did.clips_created == 5


async def test_warm_cache_reports_failed_clips_and_resumes_later(
    settings: Settings, did: DidSimulator
) -> None:
    did.set_fault("server500")
    failed = await warm_cache(settings, show_progress=False, follow_ups=False)
    assert failed.clips_failed == 2 and failed.syntheses == 2
    did.set_fault("none")
    resumed = await warm_cache(settings, show_progress=False, follow_ups=False)
    assert (resumed.syntheses, resumed.clips_created, resumed.clips_failed) == (0, 2, 0)


def test_the_command_line_runs_it(tmp_path: Path, model_dir: Path) -> None:
    bank = tmp_path / "bank.json"
    bank.write_text(BANK)
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path / "data"),
        "MODEL_DIR": str(model_dir),
        "QUESTION_BANK": str(bank),
        "TTS_ENGINES": "piper",
        "DID_API_KEY": "",
    }
    result = subprocess.run(
        [sys.executable, "-m", "interviewai", "warm-cache"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "2 questions ready" in result.stdout and "5 syntheses" in result.stdout


LIBRARY = """\
roles:
  - {id: backend, name: Backend engineer}
  - {id: design, name: Designer}
questions:
  - {id: 1, type: introduction, text: "Tell me about yourself."}
  - {id: 2, type: closing, text: "Any questions for us?"}
  - {id: 3, type: technical, text: "How do you index a table?", roles: [backend]}
  - {id: 4, type: technical, text: "How do you run a design critique?", roles: [design]}
"""


async def test_warm_cache_for_a_role_speaks_its_library_questions(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    bank, library = tmp_path / "bank.json", tmp_path / "library.yaml"
    bank.write_text(BANK)
    library.write_text(LIBRARY)
    settings = make_settings(question_bank=bank, question_library=library)
    # The bank's two questions plus the library's general closing and its backend question (its
    # introduction has the same text as the bank's, so it is the same cache entry).
    report = await warm_cache(settings, role="backend", show_progress=False, follow_ups=False)
    assert (report.questions, report.syntheses) == (4, 4)
    everything = await warm_cache(settings, all_roles=True, show_progress=False, follow_ups=False)
    assert (everything.questions, everything.syntheses) == (5, 1), "only the design question was new"
    with pytest.raises(SystemExit, match="unknown role 'pilot'; allowed: backend, design"):
        await warm_cache(settings, role="pilot", show_progress=False)
