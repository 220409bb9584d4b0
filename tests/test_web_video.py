"""The web client in video mode against a slow D-ID simulator: questions never wait for their clip."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from conftest import SettingsFactory
from interviewai.simulators.did import DidSimulator
from live_server import serve_app
from test_browser import chromium, page_problems, wait_for

TWO_QUESTIONS = (
    '[{"id": 1, "type": "introduction", "text": "Tell me about yourself."},'
    ' {"id": 2, "type": "closing", "text": "What would you like to ask us?"}]'
)
# Much longer than the spoken question: a client that waited for the clip would show nothing meanwhile.
CLIP_QUEUE_S = 8.0

PAGE = """
const presenter = document.getElementById("presenter");
const audio = document.getElementById("question-audio");
const clip = document.getElementById("clip-video");
return {
  state: document.body.dataset.state,
  questionId: document.getElementById("question").dataset.questionId,
  text: document.getElementById("question").textContent.trim(),
  video: presenter.dataset.video,
  view: presenter.dataset.view,
  audioTime: audio.currentTime,
  audioSrc: audio.currentSrc,
  clipSrc: clip.currentSrc,
  clipTime: clip.currentTime,
  mode: document.getElementById("mode-chip").textContent,
};
"""


def drive(base: str, profile: Path, did: DidSimulator) -> list[str]:
    from selenium.webdriver.common.by import By

    with chromium(profile) as driver:

        def page() -> dict[str, Any]:
            result: dict[str, Any] = driver.execute_script(PAGE)
            return result

        driver.get(base + "/")
        wait_for(lambda: page()["state"] == "ready", 30, "the page")
        driver.find_element(By.ID, "start-button").click()

        # The question, its audio and the drawn mouth arrive while the clip is still being rendered.
        shown = wait_for(
            lambda: (p := page())["text"] and p["audioTime"] > 0.3 and p, 30, "question 1 spoken"
        )
        assert shown["video"] == "pending", shown
        assert shown["view"] == "image" and shown["audioSrc"].endswith(".mp3"), shown
        assert shown["mode"] == "audio + lip-sync"
        assert did.clips_created >= 1, "the clip was asked for"
        assert not shown["clipSrc"], "no clip yet"

        # `video_ready` over the WebSocket: the clip replaces the drawn presenter.
        ready = wait_for(lambda: (p := page())["video"] == "ready" and p, 60, "video_ready")
        assert ready["questionId"] == "1" and ready["mode"] == "video presenter"
        assert "/media/video/" in ready["clipSrc"], ready
        if ready["view"] != "clip":  # the question had been spoken already: Replay uses the clip
            wait_for(lambda: page()["state"] != "speaking", 30, "the audio to finish")
            driver.find_element(By.ID, "replay-button").click()
        playing = wait_for(
            lambda: (p := page())["view"] == "clip" and p["clipTime"] > 0.3 and p, 30, "the clip"
        )
        assert playing["video"] == "ready"

        # The next question arrives at once too, long before its own clip.
        driver.find_element(By.ID, "answer").send_keys("I build reliable backend services.")
        driver.find_element(By.ID, "submit-button").click()
        second = wait_for(
            lambda: (p := page())["questionId"] == "2" and p["audioTime"] > 0.3 and p, 30, "question 2"
        )
        assert second["video"] == "pending" and second["view"] == "image", second
        return page_problems(driver)


async def test_the_client_never_waits_for_a_clip(make_settings: SettingsFactory, tmp_path: Path) -> None:
    bank = tmp_path / "two.json"
    bank.write_text(TWO_QUESTIONS)
    async with DidSimulator(queue_delay_s=CLIP_QUEUE_S, render_factor=0.05) as did:
        settings = make_settings(
            did_api_url=did.url,
            did_api_key=did.api_key,
            did_poll_initial_s=0.05,
            did_poll_max_s=0.2,
            avatar_generation_timeout_s=60,
            question_bank=bank,
        )
        async with serve_app(settings) as live:
            problems = await asyncio.to_thread(drive, live.http, tmp_path / "profile", did)
    assert problems == [], "no errors, and none from the Content-Security-Policy"
