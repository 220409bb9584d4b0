"""API keys: off by default; when set, every /api/v1 route but health needs one, and sessions belong to it."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from conftest import RunningApp, SettingsFactory
from interviewai.api.security import ApiKeys, key_owns_session, session_id_for
from interviewai.app import create_app
from interviewai.settings import SettingsError, load_settings
from live_server import PATH, serve_app, server_process

KEY_A = "key-a-0123456789abcdef"
KEY_B = "key-b-0123456789abcdef"
SESSION_ID = re.compile(r"^session_[A-Za-z0-9_-]{32}$")


@pytest.fixture
async def keyed(make_settings: SettingsFactory) -> AsyncIterator[RunningApp]:
    app = create_app(make_settings(api_keys=f"{KEY_A}, {KEY_B}"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield RunningApp(app, client)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_without_keys_configured_nothing_asks_for_one(client: httpx.AsyncClient) -> None:
    started = await client.post("/api/v1/interview/start")
    assert started.status_code == 200
    assert SESSION_ID.match(started.json()["session_id"])
    assert (await client.get("/api/v1/interview/info")).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [{}, bearer("wrong-key-0123456789"), {"X-API-Key": "wrong"}, {"Authorization": f"Basic {KEY_A}"}],
)
async def test_a_missing_or_wrong_key_gets_401(keyed: RunningApp, headers: dict[str, str]) -> None:
    for method, path in [
        ("POST", "/api/v1/interview/start"),
        ("GET", "/api/v1/interview/info"),
        ("GET", "/api/v1/voices"),
        ("GET", "/api/v1/media/avatar.png"),
        ("GET", "/api/v1/no-such-route"),
    ]:
        response = await keyed.client.request(method, path, headers=headers)
        assert response.status_code == 401, (path, response.text)
        assert response.json()["code"] == "unauthorized"
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_bearer_and_x_api_key_are_both_accepted(keyed: RunningApp) -> None:
    for headers in (bearer(KEY_A), {"X-API-Key": KEY_B}, {"authorization": f"bearer {KEY_A}"}):
        response = await keyed.client.get("/api/v1/interview/info", headers=headers)
        assert response.status_code == 200, response.text


async def test_health_checks_the_docs_and_the_page_need_no_key(keyed: RunningApp) -> None:
    assert (await keyed.client.get("/api/v1/health")).status_code == 200
    # Readiness is exempt whether or not this build serves it yet: never a 401.
    assert (await keyed.client.get("/api/v1/health/ready")).status_code != 401
    for path in ("/", "/openapi.json", "/docs"):
        assert (await keyed.client.get(path)).status_code == 200, path


async def test_a_key_in_the_query_counts_only_for_media(keyed: RunningApp) -> None:
    media = await keyed.client.get("/api/v1/media/avatar.png", params={"api_key": KEY_A})
    assert media.status_code == 200
    assert media.headers["content-type"] == "image/png"
    info = await keyed.client.get("/api/v1/interview/info", params={"api_key": KEY_A})
    assert info.status_code == 401


async def test_a_session_belongs_to_the_key_that_started_it(keyed: RunningApp) -> None:
    client = keyed.client
    started = await client.post("/api/v1/interview/start", headers=bearer(KEY_A))
    assert started.status_code == 200
    session_id = started.json()["session_id"]
    assert SESSION_ID.match(session_id), "the same id shape as without keys"

    answer = {"question_id": 1, "answer_text": "An answer."}
    requests: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", f"/api/v1/interview/{session_id}/question", {}),
        ("GET", f"/api/v1/interview/{session_id}/status", {}),
        ("POST", f"/api/v1/interview/{session_id}/answer", {"json": answer}),
        ("DELETE", f"/api/v1/interview/{session_id}", {}),
    ]
    for method, path, extra in requests:
        other = await client.request(method, path, headers={"X-API-Key": KEY_B}, **extra)
        assert other.status_code == 404, (path, other.text)
        assert other.json()["code"] == "session_not_found"
        # Indistinguishable from a session that does not exist at all.
        missing = path.replace(session_id, session_id_for(KEY_B.encode()))
        unknown = await client.request(method, missing, headers={"X-API-Key": KEY_B}, **extra)
        assert unknown.json()["detail"] == other.json()["detail"].replace(session_id, missing.split("/")[4])

    status = await client.get(f"/api/v1/interview/{session_id}/status", headers=bearer(KEY_A))
    assert status.status_code == 200
    assert status.json()["answers_recorded"] == 0, "the other key's answer was never recorded"
    assert (
        await client.get(f"/api/v1/interview/{session_id}/question", headers=bearer(KEY_A))
    ).status_code == 200


def test_owner_tags_bind_a_session_to_one_key() -> None:
    a, b = KEY_A.encode(), KEY_B.encode()
    session_id = session_id_for(a)
    assert key_owns_session(a, session_id)
    assert not key_owns_session(b, session_id)
    assert key_owns_session(None, session_id), "keys off: anyone may use any session"
    for forged in (
        "session_",
        "session_!!!!",
        "nope",
        session_id[:-1],
        session_id + "A",
        session_id_for(None),
    ):
        assert not key_owns_session(a, forged), forged


def test_a_rejected_api_keys_value_is_never_printed() -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(api_keys="short-secret-one,x", _env_file=None)
    message = str(refused.value)
    assert "API_KEYS" in message and "16 characters" in message
    assert "short-secret-one" not in message


def test_key_matching_finds_the_right_key_only() -> None:
    keys = ApiKeys([KEY_A, KEY_B])
    assert keys.match(KEY_A) == KEY_A.encode()
    assert keys.match(KEY_B) == KEY_B.encode()
    assert keys.match(KEY_A[:-1]) is None
    assert keys.match(None) is None
    assert not ApiKeys([]).enabled


async def _ws_messages(
    url: str, limit: int = 10, **connect_args: Any
) -> tuple[list[dict[str, Any]], int | None]:
    """What the server sends on a fresh socket until it closes or `limit` messages came."""
    seen: list[dict[str, Any]] = []
    async with connect(url, open_timeout=30, **connect_args) as socket_:
        try:
            while len(seen) < limit:
                seen.append(json.loads(await asyncio.wait_for(socket_.recv(), 30)))
        except ConnectionClosed:
            pass
        code = socket_.close_code
    return seen, code


async def test_websocket_keys_header_query_and_ownership(make_settings: SettingsFactory) -> None:
    async with serve_app(make_settings(api_keys=f"{KEY_A},{KEY_B}")) as live:
        refused, code = await _ws_messages(live.url())
        assert code == 4401
        assert refused[0]["data"]["code"] == "unauthorized"
        wrong, code = await _ws_messages(live.url("api_key=not-a-key"))
        assert code == 4401
        assert wrong[0]["data"]["code"] == "unauthorized"

        async with connect(live.url(), additional_headers=bearer(KEY_A), open_timeout=30) as socket_:
            info = json.loads(await asyncio.wait_for(socket_.recv(), 30))
        assert info["type"] == "session_info"
        session_id = info["data"]["session_id"]

        resumed, _ = await _ws_messages(live.url(f"session_id={session_id}&api_key={KEY_A}"), limit=1)
        assert resumed[0]["type"] == "session_info"
        assert resumed[0]["data"]["session_id"] == session_id

        stolen, code = await _ws_messages(
            live.url(f"session_id={session_id}"), additional_headers={"X-API-Key": KEY_B}
        )
        assert stolen[0] == {
            "type": "error",
            "data": {"code": "session_not_found", "message": f"No interview session with id {session_id!r}."},
        }
        assert code == 4404


async def test_websocket_without_keys_needs_none(make_settings: SettingsFactory) -> None:
    async with serve_app(make_settings()) as live:
        async with connect(live.ws + PATH, open_timeout=30) as socket_:
            info = json.loads(await asyncio.wait_for(socket_.recv(), 30))
        assert info["type"] == "session_info"


def test_keys_never_reach_the_log(tmp_path: Path, model_dir: Path) -> None:
    async def use_keys(base: str) -> None:
        ws = base.replace("http://", "ws://") + PATH
        async with connect(f"{ws}?api_key={KEY_A}", open_timeout=30) as socket_:
            await asyncio.wait_for(socket_.recv(), 30)
        async with connect(f"{ws}?api_key=wrong-{KEY_B}", open_timeout=30) as socket_:
            await asyncio.wait_for(socket_.recv(), 30)
        async with httpx.AsyncClient(base_url=base) as client:
            assert (
                await client.get("/api/v1/media/avatar.png", params={"api_key": KEY_B})
            ).status_code == 200
            assert (await client.get("/api/v1/voices", headers=bearer(KEY_A))).status_code == 200

    data_dir = tmp_path / "data"
    with server_process(data_dir, model_dir, API_KEYS=f"{KEY_A},{KEY_B}") as base:
        asyncio.run(use_keys(base))
    log = "\n".join(path.read_text() for path in tmp_path.glob("server-*.log"))
    assert "WebSocket /api/v1/interview/session?api_key=***" in log, log
    # The access line names the route, never the raw URL with its query.
    assert "GET /api/v1/media/avatar.png 200" in log, log
    assert KEY_A not in log and KEY_B not in log
