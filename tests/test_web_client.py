"""The web client on phones, measured in Chromium: layout rectangles, the skip link, voice labels, idle motion."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from live_server import server_process
from test_browser import chromium, page_problems, wait_for

PHONES = {"390x844": (390, 844), "360x740": (360, 740)}

# For an element: its rectangle, whether it lies inside the viewport, and which of a grid of points inside
# its visible part hit something else on top of it (a sticky or absolute presenter would).
MEASURE = """
const target = arguments[0] instanceof Element ? arguments[0] : document.querySelector(arguments[0]);
const r = target.getBoundingClientRect();
const width = window.innerWidth, height = window.innerHeight;
const covered = [];
const top = Math.max(r.top, 0), bottom = Math.min(r.bottom, height);
for (const fx of [0.05, 0.25, 0.5, 0.75, 0.95]) {
  for (const fy of [0.1, 0.5, 0.9]) {
    const x = r.left + fx * r.width, y = top + fy * (bottom - top);
    if (bottom <= top) continue;
    const hit = document.elementFromPoint(x, y);
    if (hit && hit !== target && !target.contains(hit)) {
      covered.push(`${hit.tagName.toLowerCase()}#${hit.id}.${hit.className} at ${Math.round(x)},${Math.round(y)}`);
    }
  }
}
return {
  top: r.top, bottom: r.bottom, left: r.left, right: r.right, width: r.width, height: r.height,
  inViewport: r.top >= 0 && r.left >= 0 && r.bottom <= height && r.right <= width && r.width > 0,
  visible: r.width > 0 && r.height > 0 && getComputedStyle(target).visibility === "visible",
  covered,
};
"""

WIDER_THAN_THE_SCREEN = """
return [...document.querySelectorAll("body *")]
  .filter((node) => node.getBoundingClientRect().right > arguments[0] + 0.5)
  .map((node) => `${node.tagName.toLowerCase()}#${node.id}.${node.className}`)
  .slice(0, 8);
"""


def measure(driver: Any, selector: str) -> dict[str, Any]:
    result: dict[str, Any] = driver.execute_script(MEASURE, selector)
    return result


def overlaps(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return bool(
        a["left"] < b["right"]
        and b["left"] < a["right"]
        and a["top"] < b["bottom"]
        and b["top"] < a["bottom"]
    )


def as_phone(driver: Any, width: int, height: int) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 2, "mobile": True},
    )
    driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True})


def test_phone_layouts_keep_the_question_and_answer_clear(tmp_path: Path, model_dir: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    with server_process(tmp_path / "data", model_dir) as base, chromium(tmp_path / "profile") as driver:
        for name, (width, height) in PHONES.items():
            as_phone(driver, width, height)
            driver.get(base + "/")
            wait_for(
                lambda: driver.execute_script("return document.body.dataset.state") == "ready", 20, "ready"
            )
            too_wide = driver.execute_script(WIDER_THAN_THE_SCREEN, width)
            assert too_wide == [], f"{name}: wider than the screen (the page would be zoomed out): {too_wide}"
            assert driver.execute_script("return [innerWidth, innerHeight]") == [width, height]

            start = measure(driver, "#start-button")
            assert start["inViewport"], f"{name}: the start button needs scrolling: {start}"
            assert start["covered"] == [], f"{name}: the start button is covered: {start['covered']}"

            # The skip link is the first stop for the keyboard, shows itself, and lands on a visible target.
            driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
            assert driver.execute_script("return document.activeElement.className") == "skip-link"
            assert measure(driver, ".skip-link")["inViewport"], f"{name}: the focused skip link is off screen"
            target = driver.find_element(By.CSS_SELECTOR, ".skip-link").get_attribute("hash")
            assert measure(driver, target)["visible"], f"{name}: the skip link's target {target} is hidden"
            driver.switch_to.active_element.send_keys(Keys.ENTER)
            assert driver.execute_script("return '#' + document.activeElement.id") == target

            driver.find_element(By.ID, "start-button").click()
            wait_for(
                lambda: driver.execute_script(
                    "return document.getElementById('question').textContent.trim()"
                ),
                30,
                "the first question",
            )
            assert measure(driver, target)["visible"], (
                f"{name}: the skip link's target is hidden in the interview"
            )
            driver.find_element(By.ID, "answer").send_keys("I led a small team through a migration.")
            question, answer = measure(driver, "#question"), measure(driver, "#answer")
            for label, box in (("question", question), ("answer box", answer)):
                assert box["inViewport"], f"{name}: the {label} is not fully on screen: {box}"
                assert box["covered"] == [], f"{name}: something covers the {label}: {box['covered']}"
            assert not overlaps(question, answer), name
            presenter = measure(driver, "#presenter")
            for label, box in (("question", question), ("answer box", answer)):
                assert not overlaps(presenter, box), f"{name}: the presenter overlaps the {label}"

            # Scrolled so the question is at the very top, nothing (a sticky presenter) may sit on it or the box.
            driver.execute_script("document.getElementById('question').scrollIntoView({block: 'start'})")
            for selector in ("#question", "#answer"):
                assert measure(driver, selector)["covered"] == [], (
                    f"{name}: {selector} is covered when scrolled"
                )
            assert page_problems(driver) == [], name


def test_voice_labels_say_offline_or_online(tmp_path: Path, model_dir: Path) -> None:
    with server_process(tmp_path / "data", model_dir) as base, chromium(tmp_path / "profile") as driver:
        driver.get(base + "/")
        labels = driver.execute_async_script(
            """
            const done = arguments[arguments.length - 1];
            import("/web/voice.js").then(({ voiceLabel }) => done([
              voiceLabel("piper:en_US-joe-medium"), voiceLabel("edge:en-US-JennyNeural"),
              voiceLabel("other:x"), voiceLabel(null),
            ]));
            """
        )
        assert labels == ["Offline voice", "Online voice", "Voice", ""]
        wait_for(lambda: driver.execute_script("return document.body.dataset.state") == "ready", 20, "ready")
        driver.execute_script("document.getElementById('start-button').click()")
        label = wait_for(
            lambda: driver.execute_script("return document.getElementById('voice-label').textContent"),
            30,
            "the voice label",
        )
        assert label == "Offline voice", "the server speaks with piper here"


IDLE_MOTION = """
return [".eyelid", "#avatar-image"].map((selector) => {
  const node = document.querySelector(selector);
  const animations = node.getAnimations();
  return {
    name: getComputedStyle(node).animationName,
    running: animations.filter((a) => a.playState === "running").length,
    time: animations.length ? Number(animations[0].currentTime) : null,
  };
});
"""


def test_the_drawn_presenter_blinks_and_breathes_unless_motion_is_reduced(
    tmp_path: Path, model_dir: Path
) -> None:
    with server_process(tmp_path / "data", model_dir) as base, chromium(tmp_path / "profile") as driver:
        driver.get(base + "/")
        wait_for(lambda: driver.execute_script("return document.body.dataset.state") == "ready", 20, "ready")
        eyelid, image = driver.execute_script(IDLE_MOTION)
        assert (eyelid["name"], image["name"]) == ("blink", "breathe")
        assert eyelid["running"] and image["running"]
        later = wait_for(
            lambda: (now := driver.execute_script(IDLE_MOTION))[0]["time"] > eyelid["time"] and now,
            5,
            "motion",
        )
        assert later[1]["time"] > image["time"], "the breathing animation advances"

        driver.execute_cdp_cmd(
            "Emulation.setEmulatedMedia",
            {"features": [{"name": "prefers-reduced-motion", "value": "reduce"}]},
        )
        still = driver.execute_script(IDLE_MOTION)
        assert [part["name"] for part in still] == ["none", "none"]
        assert [part["running"] for part in still] == [0, 0]
