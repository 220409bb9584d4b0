"""/docs and /redoc render every operation in headless Chromium with everything but loopback cut off."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from live_server import server_process
from test_browser import chromium, wait_for

# Every name resolves to nothing and every request that is not to loopback goes to a proxy that is not
# there (port 9, discard): the page sees the machine as offline, whatever the machine really has.
OFFLINE_FLAGS = (
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>;127.0.0.1",
)
# Swagger UI names each operation's block `operations-<tag>-<operationId>`; ReDoc its section `operation/<id>`.
SWAGGER_OPERATIONS = (
    "return [...document.querySelectorAll('.opblock')].map(b => b.id.split('-').slice(2).join('-'))"
)
REDOC_OPERATIONS = (
    "return [...document.querySelectorAll('[data-section-id^=\"operation/\"]')]"
    ".map(e => e.dataset.sectionId.slice('operation/'.length))"
)
LOCAL_SCHEMES = {"data", "blob", "about", "chrome", "devtools"}


@pytest.fixture
def offline_browser(tmp_path: Path) -> Iterator[Any]:
    with chromium(tmp_path / "chromium-profile", *OFFLINE_FLAGS, logs=("performance", "browser")) as driver:
        yield driver


def _requested_urls(driver: Any) -> list[str]:
    """Every URL the page sent a request to, from Chromium's DevTools network log.

    Requests the page's Content-Security-Policy stopped never leave the browser, so they are left out.
    """
    sent: dict[str, str] = {}
    blocked: set[str] = set()
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message["params"]
        if message["method"] == "Network.requestWillBeSent":
            sent[params["requestId"]] = params["request"]["url"]
        elif message["method"] == "Network.loadingFailed" and params.get("blockedReason") == "csp":
            blocked.add(params["requestId"])
    return [url for request_id, url in sent.items() if request_id not in blocked]


def _shown_operations(driver: Any, script: str, expected: set[str], page: str) -> set[str]:
    """The operation ids the page shows, once it shows all of `expected` (or what it has after 30 s)."""

    def shown() -> set[str]:
        return set(driver.execute_script(script))

    try:
        return wait_for(lambda: shown() if shown() >= expected else None, 30, f"{page}'s operations")
    except AssertionError:
        return shown()


def _not_loopback(urls: list[str]) -> list[str]:
    return [
        url
        for url in urls
        if urlsplit(url).scheme not in LOCAL_SCHEMES
        and urlsplit(url).hostname not in {"127.0.0.1", "localhost"}
    ]


def test_docs_and_redoc_render_every_operation_offline(
    offline_browser: Any, tmp_path: Path, model_dir: Path
) -> None:
    driver = offline_browser
    with server_process(tmp_path / "data", model_dir) as base:
        spec = httpx.get(f"{base}/openapi.json").json()
        operation_ids = {
            operation["operationId"] for methods in spec["paths"].values() for operation in methods.values()
        }
        assert len(operation_ids) >= 10

        driver.get(f"{base}/docs")
        shown = _shown_operations(driver, SWAGGER_OPERATIONS, operation_ids, "Swagger UI")
        assert operation_ids <= shown, f"Swagger UI lacks {sorted(operation_ids - shown)}"
        title = driver.execute_script("return document.querySelector('.info .title')?.textContent || ''")
        assert "InterviewAI" in title
        # Swagger UI's own assets came from us; a page that tried a CDN would show up here.
        swagger_urls = _requested_urls(driver)
        assert any(url.endswith("/docs-assets/swagger-ui-bundle.js") for url in swagger_urls)
        assert not _not_loopback(swagger_urls), f"/docs went outside: {_not_loopback(swagger_urls)}"

        driver.get(f"{base}/redoc")
        sections = _shown_operations(driver, REDOC_OPERATIONS, operation_ids, "ReDoc")
        assert operation_ids <= sections, f"ReDoc lacks {sorted(operation_ids - sections)}"
        redoc_urls = _requested_urls(driver)
        assert any(url.endswith("/docs-assets/redoc.standalone.js") for url in redoc_urls)
        assert not _not_loopback(redoc_urls), f"/redoc went outside: {_not_loopback(redoc_urls)}"

        # The web client's "API docs" link leads to the same offline page.
        driver.get(f"{base}/")
        link = driver.execute_script(
            "return [...document.querySelectorAll('a')].find(a => a.textContent.trim() === 'API docs')?.href"
        )
        assert link == f"{base}/docs"
        assert httpx.get(link).status_code == 200
