"""CORS and WebSocket origins: off by default; listed origins get the headers, others get none."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from conftest import RunningApp, SettingsFactory
from interviewai.app import create_app
from live_server import serve_app

APP_ORIGIN = "https://app.example.com"
OTHER_ORIGIN = "https://evil.example.net"
KEY = "cors-key-0123456789abcdef"


@pytest.fixture
async def cors(make_settings: SettingsFactory) -> AsyncIterator[RunningApp]:
    settings = make_settings(cors_origins=f"{APP_ORIGIN}, http://localhost:3000", api_keys=KEY)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield RunningApp(app, client)


def preflight(
    origin: str, method: str = "POST", headers: str = "authorization, content-type"
) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": headers,
    }


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name.startswith("access-control-")}


async def test_off_by_default_no_origin_gets_cors_headers(client: httpx.AsyncClient) -> None:
    response = await client.options("/api/v1/interview/start", headers=preflight(APP_ORIGIN))
    assert response.status_code == 405
    assert cors_headers(response) == {}
    simple = await client.get("/api/v1/interview/info", headers={"Origin": APP_ORIGIN})
    assert simple.status_code == 200
    assert cors_headers(simple) == {}


async def test_a_listed_origin_passes_preflight_without_a_key(cors: RunningApp) -> None:
    response = await cors.client.options("/api/v1/interview/start", headers=preflight(APP_ORIGIN))
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "POST" in response.headers["access-control-allow-methods"]
    allowed = response.headers["access-control-allow-headers"].lower()
    assert {"authorization", "x-api-key", "content-type"} <= {h.strip() for h in allowed.split(",")}
    assert int(response.headers["access-control-max-age"]) > 0
    assert "Origin" in response.headers["vary"]


async def test_a_listed_origin_can_read_responses_and_refusals(cors: RunningApp) -> None:
    ok = await cors.client.get("/api/v1/voices", headers={"Origin": APP_ORIGIN, "X-API-Key": KEY})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "Retry-After" in ok.headers["access-control-expose-headers"]
    refused = await cors.client.get("/api/v1/voices", headers={"Origin": APP_ORIGIN})
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == APP_ORIGIN, "the page can read why"


async def test_other_origins_get_no_cors_headers(cors: RunningApp) -> None:
    response = await cors.client.options("/api/v1/interview/start", headers=preflight(OTHER_ORIGIN))
    assert response.status_code == 400
    assert response.json()["code"] == "cors_origin_not_allowed"
    assert cors_headers(response) == {}
    simple = await cors.client.get("/api/v1/voices", headers={"Origin": OTHER_ORIGIN, "X-API-Key": KEY})
    assert simple.status_code == 200
    assert cors_headers(simple) == {}
    assert "Origin" in simple.headers["vary"]


async def test_a_listed_origin_asking_for_an_unknown_header_is_refused_as_json(cors: RunningApp) -> None:
    headers = preflight(APP_ORIGIN, headers="x-something-else")
    response = await cors.client.options("/api/v1/interview/start", headers=headers)
    assert response.status_code == 400
    assert response.json()["code"] == "cors_preflight_refused"


async def test_star_allows_every_origin(make_settings: SettingsFactory) -> None:
    app = create_app(make_settings(cors_origins="*"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.options("/api/v1/interview/start", headers=preflight(OTHER_ORIGIN))
            simple = await client.get("/api/v1/interview/info", headers={"Origin": OTHER_ORIGIN})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert simple.headers["access-control-allow-origin"] == "*"


async def _session_info(url: str, origin: str | None) -> str:
    async with connect(url, origin=origin, open_timeout=30) as socket_:  # type: ignore[arg-type]
        message = json.loads(await asyncio.wait_for(socket_.recv(), 30))
    kind: str = message["type"]
    return kind


async def test_websocket_refuses_origins_outside_the_list(make_settings: SettingsFactory) -> None:
    async with serve_app(make_settings(cors_origins=APP_ORIGIN)) as live:
        with pytest.raises(InvalidStatus) as refused:
            await _session_info(live.url(), OTHER_ORIGIN)
        assert refused.value.response.status_code == 403
        assert await _session_info(live.url(), APP_ORIGIN) == "session_info"
        assert await _session_info(live.url(), None) == "session_info", "not a browser: no Origin"
        assert await _session_info(live.url(), live.http) == "session_info", "the web client is same-origin"


async def test_websocket_accepts_any_origin_when_the_list_is_unset(make_settings: SettingsFactory) -> None:
    async with serve_app(make_settings()) as live:
        assert await _session_info(live.url(), OTHER_ORIGIN) == "session_info"
