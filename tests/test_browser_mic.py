"""Answering by voice in Chromium: a fake microphone plays a known answer, the page shows its transcript and
the next question (the WebSocket streaming path, end to end)."""

from __future__ import annotations

from pathlib import Path

from interviewai.adapters.audio.decoding import wav_bytes
from interviewai.adapters.speech.piper import PiperSynthesizer
from interviewai.domain.recognition import PcmAudio
from live_server import server_process
from spoken_audio import speak_pcm, word_error_rate
from stt_fixtures import answer_voice
from test_browser import chromium, wait_for

__all__ = ["answer_voice"]
ANSWER = "My name is Sam and I have spent six years building backend services for online shops."


def test_one_answer_by_voice_in_the_browser(
    tmp_path: Path, model_dir: Path, answer_voice: PiperSynthesizer
) -> None:
    from selenium.webdriver.common.by import By

    recording = tmp_path / "answer.wav"
    recording.write_bytes(wav_bytes(PcmAudio(speak_pcm(answer_voice, ANSWER, pause_s=1.0))))
    flags = (
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={recording}%noloop",
    )
    with (
        server_process(tmp_path / "data", model_dir) as base,
        chromium(tmp_path / "profile", *flags) as driver,
    ):
        driver.get(base + "/")
        wait_for(
            lambda: driver.execute_script("return document.body.dataset.state") == "ready", 30, "the page"
        )
        driver.find_element(By.ID, "start-button").click()
        wait_for(
            lambda: driver.execute_script("return document.getElementById('question').dataset.questionId") == "1",
            60, "question 1",
        )  # fmt: skip
        mic = driver.find_element(By.ID, "mic-button")
        mic.click()
        wait_for(lambda: mic.get_attribute("data-recording") == "true", 20, "recording")
        # The level meter moves while the fake microphone speaks.
        wait_for(
            lambda: int(driver.find_element(By.ID, "mic-level").get_attribute("data-level")) > 0, 20, "level"
        )
        wait_for(
            lambda: driver.find_element(By.ID, "live-transcript").text.strip(), 40, "a partial transcript"
        )
        # Press again once the answer has played (the fake microphone then only sends silence).
        wait_for(
            lambda: int(driver.find_element(By.ID, "mic-level").get_attribute("data-level")) == 0,
            30,
            "the end",
        )
        mic.click()
        wait_for(
            lambda: driver.execute_script("return document.getElementById('question').dataset.questionId") == "2",
            60, "question 2",
        )  # fmt: skip
        heard = driver.find_element(By.ID, "live-transcript")
        assert heard.get_attribute("data-final") == "true"
        assert word_error_rate(ANSWER, heard.text) <= 0.25, heard.text
