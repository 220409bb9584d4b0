"""The web client runs a whole interview in headless Chromium against a running server."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from live_server import server_process

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    "--mute-audio",
    "--window-size=1280,900",
)
T = TypeVar("T")
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`);
});
"""


def page_problems(driver: Any, ignore: tuple[str, ...] = ()) -> list[str]:
    """The CSP violations the page recorded and the console's errors (which also name CSP refusals).

    Reading the console empties it, so call this once per check.
    """
    recorded: list[str] = driver.execute_script("return window.__cspViolations || []")
    console = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    return [problem for problem in recorded + console if not any(text in problem for text in ignore)]


def _require_chromium() -> None:
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if not missing:
        return
    message = f"{' and '.join(missing)} not installed: run tools/ensure_chromium.sh (as root)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@contextlib.contextmanager
def chromium(profile: Path, *extra_flags: str, logs: tuple[str, ...] = ("browser",)) -> Iterator[Any]:
    """Headless Debian Chromium under chromedriver, with its profile in `profile` (removed afterwards)."""
    _require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, *extra_flags):
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", dict.fromkeys(logs, "ALL"))
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    # Every page records the Content-Security-Policy violations it causes, for `csp_violations`.
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_CSP_VIOLATIONS})
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    with chromium(tmp_path / "chromium-profile") as driver:
        yield driver


def wait_for(check: Callable[[], T | None], timeout_s: float, what: str) -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)


def test_a_whole_interview_in_the_browser(browser: Any, tmp_path: Path, model_dir: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver = browser

    def page_state() -> dict[str, Any]:
        state: dict[str, Any] = driver.execute_script(
            """
            const audio = document.getElementById("question-audio");
            const question = document.getElementById("question");
            return {
              state: document.body.dataset.state,
              questionId: question.dataset.questionId,
              text: question.textContent,
              word: Number(question.dataset.currentWord),
              viseme: document.getElementById("mouth").dataset.viseme,
              time: audio.currentTime,
              paused: audio.paused,
              view: document.getElementById("presenter").dataset.view,
            };
            """
        )
        return state

    ARTIFACTS.mkdir(exist_ok=True)
    with server_process(tmp_path / "data", model_dir) as base:
        total = httpx.get(f"{base}/api/v1/interview/info").json()["total_questions"]
        page = httpx.get(f"{base}/")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["x-content-type-options"] == "nosniff"
        driver.get(base + "/")
        start = driver.find_element(By.ID, "start-button")
        wait_for(
            lambda: driver.execute_script("return document.body.dataset.state") == "ready", 20, "the page"
        )
        assert start.is_enabled()
        start.click()

        first = wait_for(
            lambda: (s := page_state())["questionId"] == "1" and s["text"].strip() and s, 30, "Q1"
        )
        assert first["text"].strip(), "the question text appears"
        assert first["view"] == "image", "no D-ID key: the avatar image with a drawn mouth"

        # While question 1 is spoken: the audio clock runs, the highlight walks and the mouth moves.
        times: list[float] = []
        words: list[int] = []
        visemes: set[str] = set()
        shot = False
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            state = page_state()
            times.append(state["time"])
            words.append(state["word"])
            visemes.add(state["viseme"])
            if not shot and state["word"] >= 3 and state["viseme"] != "sil":
                driver.save_screenshot(str(ARTIFACTS / "browser-interview.png"))
                shot = True
            if len({w for w in words if w >= 0}) >= 4 and len(visemes) >= 4 and shot:
                break
            time.sleep(0.04)
        assert max(times) > 0.5, f"the audio does not play: currentTime stayed at {max(times)}"
        spoken = [w for w in words if w >= 0]
        assert len(set(spoken)) >= 4, f"the highlighted word did not move: {words}"
        assert spoken == sorted(spoken), f"the highlight went backwards: {spoken}"
        assert len(visemes - {"sil"}) >= 3, f"the mouth did not change shape: {visemes}"
        assert shot, "no moment with a highlighted word and an open mouth to photograph"

        answer = driver.find_element(By.ID, "answer")
        for number in range(1, total + 1):

            def on_question(n: int = number) -> bool:
                return bool(page_state()["questionId"] == str(n))

            wait_for(on_question, 30, f"question {number}")
            answer.send_keys(f"My answer to question {number}.")
            if number % 2:
                answer.send_keys(Keys.CONTROL, Keys.ENTER)  # the keyboard shortcut
            else:
                driver.find_element(By.ID, "submit-button").click()

        wait_for(lambda: page_state()["state"] == "complete", 30, "the summary")
        summary = driver.find_element(By.ID, "summary")
        assert summary.is_displayed()
        answers = driver.find_elements(By.CSS_SELECTOR, "#summary-answers > li")
        assert len(answers) == total
        assert f"My answer to question {total}." in summary.text
        driver.save_screenshot(str(ARTIFACTS / "browser-summary.png"))

        assert page_problems(driver) == [], "no errors, and none from the Content-Security-Policy"


REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def test_the_docs_pages_render_under_their_csp(browser: Any, tmp_path: Path, model_dir: Path) -> None:
    from selenium.webdriver.common.by import By

    driver = browser
    with server_process(tmp_path / "data", model_dir) as base:
        for path, rendered in (("/docs", ".opblock"), ("/redoc", "[data-section-id]")):
            assert "frame-ancestors 'none'" in httpx.get(base + path).headers["content-security-policy"]
            driver.get(base + path)

            def rendered_elements(css: str = rendered) -> Any:
                return driver.find_elements(By.CSS_SELECTOR, css)

            wait_for(rendered_elements, 30, f"{path} rendered")
            assert "/api/v1/interview/start" in driver.page_source, f"{path} shows the API"
            # ReDoc always shows Redocly's logo from their CDN; the policy blocking it is the point of it.
            assert page_problems(driver, ignore=(REDOC_LOGO,)) == [], path


def test_a_tailored_interview_from_the_start_screen(browser: Any, tmp_path: Path, model_dir: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver = browser
    library = REPO / "tests" / "data" / "library.yaml"
    ad = (
        "Senior back-end developer: own our REST APIs on PostgreSQL, add Redis caches, join the on-call "
        "rotation for incidents."
    )
    with server_process(tmp_path / "data", model_dir, QUESTION_LIBRARY=str(library)) as base:
        driver.get(base + "/")
        wait_for(
            lambda: driver.execute_script("return document.body.dataset.state") == "ready", 30, "the page"
        )
        roles = [o.get_attribute("value") for o in Select(driver.find_element(By.ID, "plan-role")).options]
        assert roles == ["", "backend", "frontend", "product-management"]
        Select(driver.find_element(By.ID, "plan-seniority")).select_by_value("senior")
        count = driver.find_element(By.ID, "plan-count")
        count.clear()
        count.send_keys("4")
        driver.find_element(By.ID, "plan-ad").send_keys(ad)
        assert not driver.find_element(By.ID, "practice-feedback").is_selected(), "practice mode is opt-in"
        driver.find_element(By.ID, "plan-preview-button").click()
        summary = driver.find_element(By.ID, "plan-summary")
        wait_for(lambda: summary.is_displayed() and "4 questions" in summary.text, 60, "the plan preview")
        assert "backend" in summary.text
        reasons = [li.text for li in driver.find_elements(By.CSS_SELECTOR, "#plan-reasons li")]
        assert len(reasons) == 4 and reasons[0].startswith("1. introduction") and "closing" in reasons[-1]
        assert any("The ad asks for" in reason for reason in reasons)
        seed = int(summary.get_attribute("data-seed"))
        driver.find_element(By.ID, "start-button").click()

        asked: list[str] = []
        answer = driver.find_element(By.ID, "answer")
        for number in range(1, 5):

            def shown_question(n: int = number) -> Any:
                return driver.execute_script(
                    "const q = document.getElementById('question');"
                    "return document.getElementById('question-number').textContent.includes(arguments[0] + ' of 4')"
                    " && q.dataset.questionId",
                    n,
                )

            question_id = wait_for(shown_question, 60, f"question {number}")
            asked.append(question_id)
            answer.send_keys(f"My answer to question {number}.")
            driver.find_element(By.ID, "submit-button").click()
        wait_for(
            lambda: driver.execute_script("return document.body.dataset.state") == "complete", 60, "the end"
        )
        assert len(driver.find_elements(By.CSS_SELECTOR, "#summary-answers > li")) == 4
        options = {"seniority": "senior", "num_questions": 4, "job_description": ad, "seed": seed}
        plan = httpx.post(f"{base}/api/v1/interview/plan", json=options).json()
        assert asked == [str(q["question_id"]) for q in plan["questions"]], (
            "the interview is the plan previewed"
        )
        assert plan["role"] == "backend"
        assert page_problems(driver) == []
