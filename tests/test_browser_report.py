"""The web client's feedback in Chromium: the report on the summary screen, practice mode, and API keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from interviewai.api.report_presenter import highlighted
from live_server import server_process
from test_browser import chromium, page_problems, wait_for
from test_web_client import PHONES, WIDER_THAN_THE_SCREEN, as_phone

BANK = (
    '[{"id": 1, "type": "introduction", "text": "Tell me about yourself and what brings you to this role."},'
    ' {"id": 2, "type": "behavioral", "text": "Tell me about a time you fixed a production incident."},'
    ' {"id": 3, "type": "closing", "text": "What would you like to ask us?"}]'
)
STRONG_INTRO = (
    "I am a backend engineer with six years of experience at a logistics company, where I own the routing "
    "API on PostgreSQL. Last year I led its move to Kubernetes, which cut our deploy time from forty minutes "
    "to six. I am applying because your team builds developer-facing APIs at a larger scale. "
    'I once wrote <b>bold</b> <img src=x id="injected"> in a code review.'
)
INCIDENT = (
    "Last spring our checkout API started timing out during a sale. I was on call, so I took the lead: I "
    "rolled back the release within ten minutes, found a missing database index, and added it. As a result "
    "errors fell from 30% to zero, and I wrote a runbook so the next on-call engineer could act faster."
)
CLOSING = (
    "I would like to know how the team decides what to build next, how you measure whether a release "
    "worked, and what the first month looks like for a new engineer who joins the platform group."
)
FOLLOW_UP_ANSWER = (
    "To add a concrete example: I rewrote our rate limiter after an outage, tested it under load, and as a "
    "result the API held twice the traffic the next season without a single page to the on-call engineer."
)
KEY = "web-client-key-0123456789"

# The page's marks in one answer: [node name, text] for each child of each answer quote.
ANSWER_PIECES = """
const item = document.querySelector(`#summary-answers li[data-question-id="${arguments[0]}"]`);
return [...item.querySelectorAll("blockquote.answer-text")].map((quote) =>
  [...quote.childNodes].map((node) => [node.nodeName, node.textContent]));
"""


def page_runs(pieces: list[list[str]]) -> list[tuple[str, bool]]:
    """The page's answer nodes as (piece, is_evidence) runs, adjacent marks joined."""
    runs: list[tuple[str, bool]] = []
    for name, text in pieces:
        flag = name == "MARK"
        assert name in ("MARK", "#text"), f"only text and marks in an answer, not {name}"
        if runs and runs[-1][1] == flag:
            runs[-1] = (runs[-1][0] + text, flag)
        else:
            runs.append((text, flag))
    return runs


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Iterator[str]:
    root = tmp_path_factory.mktemp("report-server")
    bank = root / "bank.json"
    bank.write_text(BANK)
    with server_process(root / "data", model_dir, QUESTION_BANK=str(bank)) as base:
        yield base


def state_of(driver: Any) -> str:
    state: str = driver.execute_script("return document.body.dataset.state")
    return state


def question_on_screen(driver: Any) -> str:
    shown: str = driver.execute_script(
        "const q = document.getElementById('question'); return q.textContent.trim() && q.dataset.questionId"
    )
    return shown


def answer_with(driver: Any, text: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, "answer").send_keys(text)
    driver.find_element(By.ID, "submit-button").click()


def run_interview(driver: Any, answers: dict[str, str]) -> None:
    """Answer the questions by id until the summary shows; a follow-up on the way gets a fuller answer."""
    waiting = dict(answers)
    done: set[str] = set()

    def next_step() -> str | None:
        if state_of(driver) == "complete":
            return "complete"
        shown = question_on_screen(driver)
        follow_up = bool(shown) and int(shown) > 1_000_000 and shown not in done
        return shown if shown in waiting or follow_up else None

    while (step := wait_for(next_step, 60, f"one of the questions {sorted(waiting)}")) != "complete":
        answer_with(driver, waiting.pop(step, FOLLOW_UP_ANSWER))
        done.add(step)
    assert not waiting, f"the interview ended before {sorted(waiting)}"


def test_the_summary_shows_the_report_with_evidence_highlighted(server: str, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    with chromium(tmp_path / "profile") as driver:
        driver.get(server + "/")
        wait_for(lambda: state_of(driver) == "ready", 30, "the page")
        driver.find_element(By.ID, "start-button").click()
        run_interview(driver, {"1": STRONG_INTRO, "2": INCIDENT, "3": CLOSING})
        report_box = driver.find_element(By.ID, "report")
        wait_for(lambda: report_box.get_attribute("data-status") == "ready", 60, "the report")

        session_id = driver.execute_script("return document.body.dataset.sessionId")
        report = httpx.get(f"{server}/api/v1/interview/{session_id}/report").json()
        assert report["status"] == "ready" and report["overall"] is not None
        assert driver.find_element(By.ID, "report-score").text == str(report["overall"]["score"])
        assert driver.find_element(By.ID, "report-band").text == report["overall"]["band"]
        assert report["overall"]["summary"] in report_box.text
        for text in report["strengths"] + report["improvements"]:
            assert text in report_box.text

        evidence_seen = 0
        for question in report["questions"]:
            item = driver.find_element(
                By.CSS_SELECTOR, f"#summary-answers li[data-question-id='{question['question_id']}']"
            )
            assert item.get_attribute("data-status") == "ready"
            assert (
                item.find_element(By.CSS_SELECTOR, ".answer-score").text == f"Score {question['score']} / 100"
            )
            shown = {
                row.get_attribute("data-name"): row.find_element(By.CSS_SELECTOR, ".criterion-score").text
                for row in item.find_elements(By.CSS_SELECTOR, "li.criterion")
            }
            assert shown == {c["name"]: f"{c['score']}/5" for c in question["criteria"]}
            for criterion in question["criteria"]:
                assert criterion["label"] in item.text and criterion["comment"] in item.text
            quotes = [quote for c in question["criteria"] for quote in c["evidence"]]
            evidence_seen += len(quotes)
            (pieces,) = driver.execute_script(ANSWER_PIECES, question["question_id"])
            # The same marks as the printable report's.
            assert page_runs(pieces) == highlighted(question["answer_text"], quotes), question["question_id"]
        assert evidence_seen >= 3, "the strong answers are quoted as evidence"
        marks = [mark.text for mark in driver.find_elements(By.CSS_SELECTOR, "#summary-answers mark")]
        assert any("cut our deploy time from forty minutes" in mark for mark in marks), marks

        # Answer text is text: the markup typed into the first answer shows as written and makes no element.
        assert driver.find_elements(By.CSS_SELECTOR, "#summary b, #summary img, #injected") == []
        assert "<b>bold</b>" in driver.find_element(By.ID, "summary-answers").text
        assert page_problems(driver) == [], "no errors, and none from the Content-Security-Policy"

        # The report fits a phone: nothing wider than the screen, so the page is never zoomed out.
        for width, height in PHONES.values():
            as_phone(driver, width, height)

            def is_wide(w: int = width) -> bool:
                return bool(driver.execute_script("return innerWidth") == w)

            wait_for(is_wide, 10, f"{width} wide")
            too_wide = driver.execute_script(WIDER_THAN_THE_SCREEN, width)
            assert too_wide == [], f"{width}x{height}: wider than the screen: {too_wide}"


def test_practice_mode_gives_a_follow_up_and_a_feedback_card(server: str, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    with chromium(tmp_path / "profile") as driver:
        driver.get(server + "/")
        wait_for(lambda: state_of(driver) == "ready", 30, "the page")
        for box in ("practice-feedback", "practice-follow-ups"):
            option = driver.find_element(By.ID, box)
            assert option.is_enabled()
            option.click()
        driver.find_element(By.ID, "start-button").click()

        # A very short answer has a clear gap: the follow-up the options asked for comes before question 2.
        wait_for(lambda: question_on_screen(driver) == "1", 60, "question 1")
        answer_with(driver, "I like computers.")
        wait_for(lambda: question_on_screen(driver) == "1000001", 60, "the follow-up")
        assert driver.find_element(By.ID, "question-type").text == "Follow-up"
        assert driver.find_element(By.ID, "question-number").text == "Follow-up to question 1 of 3"

        # Practice mode: the first answer's feedback lands on a card below the answer box.
        card = driver.find_element(By.ID, "feedback-card")
        wait_for(
            lambda: card.is_displayed() and card.get_attribute("data-question-id") == "1", 60, "the card"
        )
        session_id = driver.execute_script("return document.body.dataset.sessionId")
        report = httpx.get(f"{server}/api/v1/interview/{session_id}/report").json()
        first = report["questions"][0]
        assert first["question_id"] == 1 and first["follow_up"]["question_id"] == 1000001
        assert f"Score {first['score']} / 100" in card.text
        assert first["improvements"][0] in card.text
        answer_box = driver.find_element(By.ID, "answer").rect
        assert card.rect["y"] >= answer_box["y"] + answer_box["height"], "the card sits below the answer box"

        answer_with(driver, STRONG_INTRO)
        wait_for(lambda: question_on_screen(driver) == "2", 60, "question 2")
        # The follow-up's answer is judged with the first one: the card for question 1 is updated.
        wait_for(
            lambda: "Strength:" in card.text and card.get_attribute("data-question-id") == "1", 60, "update"
        )
        answer_with(driver, INCIDENT)
        run_interview(driver, {"3": CLOSING})
        wait_for(
            lambda: driver.find_element(By.ID, "report").get_attribute("data-status") == "ready", 60, "report"
        )
        assert not card.is_displayed(), "the card belongs to the interview, not the summary"
        item = driver.find_element(By.CSS_SELECTOR, "#summary-answers li[data-question-id='1']")
        assert "Follow-up: " in item.text and "I like computers." in item.text
        assert len(item.find_elements(By.CSS_SELECTOR, "blockquote.answer-text")) == 2
        assert page_problems(driver) == []


# A report the client has not seen the like of: pending, no overall yet, fields missing, unknown and hostile.
ODD_REPORT = """
const done = arguments[arguments.length - 1];
import("/web/report.js").then(({ renderReport, highlight }) => {
  renderReport({
    status: "pending", overall: null, evaluator: "llm", fallback_reason: "timeout", extra: {nested: [1]},
    strengths: ["<img src=x id=bad1>"], improvements: null,
    questions: [{question_id: 99, status: "pending", criteria: [{name: "x", score: 2}]}],
  });
  const box = document.getElementById("report");
  const pending = [box.dataset.status, box.textContent, box.querySelectorAll("img").length];
  renderReport({status: "ready", overall: {score: 71, band: "good"}, questions: [],
                delivery: {words_per_minute: 142.4, pace: "steady", filler_words: 1, long_pauses: 2,
                           longest_pause_s: 2.26, spoken_answers: 2}});
  const ready = [box.dataset.status, document.getElementById("report-score").textContent,
                 document.getElementById("report-band").dataset.band, box.querySelector(".delivery").textContent];
  const holder = document.createElement("p");
  holder.append(...highlight("a <b>x</b> b a", [{quote: "a", name: "n", label: "N"},
                                                {quote: "<b>x</b>", name: "m", label: "M"}]));
  done({pending, ready, html: holder.innerHTML, marks: holder.querySelectorAll("mark").length});
});
"""


def test_the_report_renders_pending_odd_and_hostile_reports_safely(server: str, tmp_path: Path) -> None:
    with chromium(tmp_path / "profile") as driver:
        driver.get(server + "/")
        wait_for(lambda: state_of(driver) == "ready", 30, "the page")
        result = driver.execute_async_script(ODD_REPORT)
        status, text, images = result["pending"]
        assert status == "pending" and "still being judged" in text and images == 0
        assert "<img src=x id=bad1>" in text, "shown as text"
        assert result["ready"] == [
            "ready",
            "71",
            "good",
            "Spoken answers: 142 words a minute (steady) · 1 filler word · 2 long pauses (longest 2.3 s)",
        ]
        assert result["html"] == (
            '<mark class="evidence" data-criteria="n" title="Evidence for: N">a</mark> '
            '<mark class="evidence" data-criteria="m" title="Evidence for: M">&lt;b&gt;x&lt;/b&gt;</mark> b '
            '<mark class="evidence" data-criteria="n" title="Evidence for: N">a</mark>'
        )
        assert page_problems(driver) == []


def test_an_interview_runs_with_api_keys_on(tmp_path: Path, model_dir: Path) -> None:
    from selenium.webdriver.common.by import By

    bank = tmp_path / "bank.json"
    bank.write_text(BANK)
    env = {"QUESTION_BANK": str(bank), "API_KEYS": f"{KEY},another-key-0123456789"}
    with (
        server_process(tmp_path / "data", model_dir, **env) as base,
        chromium(tmp_path / "profile") as driver,
    ):
        assert httpx.get(f"{base}/api/v1/interview/info").status_code == 401
        driver.get(base + "/")
        wait_for(lambda: state_of(driver) == "needs-key", 30, "the key prompt")
        form = driver.find_element(By.ID, "key-form")
        assert form.is_displayed() and not driver.find_element(By.ID, "start-button").is_enabled()
        driver.find_element(By.ID, "api-key").send_keys("not-the-key-0123456789")
        driver.find_element(By.ID, "key-button").click()
        note = driver.find_element(By.ID, "key-note")
        wait_for(lambda: "not accepted" in note.text, 30, "the wrong key refused")
        driver.find_element(By.ID, "api-key").send_keys(KEY)
        driver.find_element(By.ID, "key-button").click()
        wait_for(lambda: state_of(driver) == "ready", 30, "the start screen")
        assert not form.is_displayed()
        refused = page_problems(driver)
        assert refused and all("/api/v1/interview/info" in p and "401" in p for p in refused), refused

        driver.find_element(By.ID, "start-button").click()
        # Media elements cannot send headers: the question's audio plays with the key in its URL.
        wait_for(
            lambda: (
                driver.execute_script("return document.getElementById('question-audio').currentTime") > 0.3
            ),
            60,
            "the question spoken",
        )
        source = driver.execute_script("return document.getElementById('question-audio').currentSrc")
        assert "/api/v1/media/audio/" in source and f"api_key={KEY}" in source
        assert driver.execute_script("return document.getElementById('avatar-image').naturalWidth") > 0
        run_interview(driver, {"1": STRONG_INTRO, "2": INCIDENT, "3": CLOSING})
        report_box = driver.find_element(By.ID, "report")
        wait_for(lambda: report_box.get_attribute("data-status") == "ready", 60, "the report")
        assert driver.find_element(By.ID, "report-score").text.isdigit()
        assert page_problems(driver) == [], "every request after the key was accepted"

        # `?api_key=` in the address works as well, and leaves the address bar at once.
        driver.execute_script("sessionStorage.clear()")
        driver.get(base + f"/?api_key={KEY}")
        wait_for(lambda: state_of(driver) == "ready", 30, "the start screen")
        assert "api_key" not in driver.current_url
        assert page_problems(driver) == []


# The report is re-read while pending: fetch answers `pending` twice, then `ready`; a push cuts the wait.
PENDING_THEN_READY = """
const done = arguments[arguments.length - 1];
const replies = ["pending", "pending", "ready"];
const seen = [];
window.fetch = async (url) => {
  const status = replies.shift() ?? "ready";
  seen.push([String(url).split("/api/v1/")[1], status]);
  return new Response(JSON.stringify({status, overall: {score: 55, band: "fair", summary: "s"}, questions: []}));
};
import("/web/report.js").then(async ({ followReport, reportChanged }) => {
  const box = document.getElementById("report");
  const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const following = followReport("session_x", {onSettled: () => seen.push(["settled", box.dataset.status])});
  await pause(100);
  const during = [box.dataset.status, seen.length];
  reportChanged();  // as on `feedback` or `report_ready`: re-read now, not after the 1 s poll interval
  await pause(300);
  const woken = seen.length;
  await following;
  done({during, woken, seen, after: box.dataset.status});
});
"""


def test_a_pending_report_is_shown_as_pending_and_re_read_until_ready(server: str, tmp_path: Path) -> None:
    with chromium(tmp_path / "profile") as driver:
        driver.get(server + "/")
        wait_for(lambda: state_of(driver) == "ready", 30, "the page")
        result = driver.execute_async_script(PENDING_THEN_READY)
        assert result["during"] == ["pending", 1]
        assert result["woken"] == 2, "a push makes the client read the report again at once"
        assert result["seen"] == [
            ["interview/session_x/report", "pending"],
            ["interview/session_x/report", "pending"],
            ["interview/session_x/report", "ready"],
            ["settled", "ready"],
        ]
        assert result["after"] == "ready"


# No WebSocket to be had (a proxy that refuses upgrades): the client must carry on over HTTP.
NO_WEBSOCKET = """
window.WebSocket = class { constructor() { throw new Error("no WebSocket here"); } };
"""


def test_practice_mode_over_http_when_the_socket_cannot_be_had(server: str, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    with chromium(tmp_path / "profile") as driver:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": NO_WEBSOCKET})
        driver.get(server + "/")
        wait_for(lambda: state_of(driver) == "ready", 30, "the page")
        driver.find_element(By.ID, "practice-feedback").click()
        driver.find_element(By.ID, "start-button").click()
        wait_for(lambda: question_on_screen(driver) == "1", 60, "question 1")
        answer_with(driver, STRONG_INTRO)
        wait_for(lambda: question_on_screen(driver) == "2", 60, "question 2 (no follow-ups asked for)")
        card = driver.find_element(By.ID, "feedback-card")
        wait_for(
            lambda: card.is_displayed() and card.get_attribute("data-question-id") == "1", 60, "the card"
        )
        assert "Score " in card.text
        assert page_problems(driver) == []
