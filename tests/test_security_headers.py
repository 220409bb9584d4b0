"""Security headers: a strict CSP on the web client, a looser one on the docs, nosniff everywhere."""

from __future__ import annotations

import httpx
import pytest

from conftest import SettingsFactory
from interviewai.app import create_app


def directives(response: httpx.Response) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    parts = [part.strip().split(" ", 1) for part in policy.split(";")]
    return {part[0]: part[1] if len(part) > 1 else "" for part in parts}


async def test_the_web_client_page_gets_a_strict_policy(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    policy = directives(page)
    assert policy["script-src"] == "'self'", "no inline script, no other host"
    assert policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "<script>" not in page.text and "onclick" not in page.text.lower()


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_the_docs_pages_load_only_our_own_scripts(client: httpx.AsyncClient, path: str) -> None:
    page = await client.get(path)
    assert page.status_code == 200
    policy = directives(page)
    assert policy["script-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert "http" not in page.text.replace("http-equiv", ""), "no asset from another host"
    for asset in (
        "docs-assets/swagger-ui-bundle.js",
        "docs-assets/redoc.standalone.js",
        "web/docs/swagger-init.js",
    ):
        served = await client.get("/" + asset)
        assert served.status_code == 200, asset
        assert "javascript" in served.headers["content-type"]
        assert served.headers["x-content-type-options"] == "nosniff"


async def test_api_responses_get_nosniff_but_no_page_policy(client: httpx.AsyncClient) -> None:
    for path in ("/api/v1/health", "/api/v1/no-such-route", "/openapi.json"):
        response = await client.get(path)
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert "content-security-policy" not in response.headers, path


async def test_media_from_public_base_url_is_allowed_by_the_policy(make_settings: SettingsFactory) -> None:
    app = create_app(make_settings(public_base_url="https://media.example.com/base"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        page = await client.get("/")
    policy = directives(page)
    for directive in ("media-src", "img-src", "connect-src"):
        assert "https://media.example.com" in policy[directive].split(), directive
