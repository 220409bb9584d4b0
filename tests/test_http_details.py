"""HTTP details: HEAD wherever GET works, weak and `*` If-None-Match per RFC 9110, and 416 for bad ranges."""

from __future__ import annotations

import httpx
import pytest

from conftest import RunningApp

AVATAR = "/api/v1/media/avatar.png"


@pytest.mark.parametrize("path", ["/api/v1/health", "/api/v1/health/ready", "/api/v1/avatar/status", AVATAR])
async def test_head_works_wherever_get_does(client: httpx.AsyncClient, path: str) -> None:
    got = await client.get(path)
    head = await client.head(path)
    assert got.status_code == 200 and head.status_code == 200, head.text
    assert head.headers["content-type"] == got.headers["content-type"]


async def test_head_on_session_status_and_audio(running: RunningApp) -> None:
    session_id = await running.start()
    status = await running.client.head(f"/api/v1/interview/{session_id}/status")
    assert status.status_code == 200
    missing = await running.client.head("/api/v1/interview/session_nope/status")
    assert missing.status_code == 404
    audio_url = (await running.question(session_id))["audio_url"]
    audio = await running.client.head(audio_url)
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/mpeg"
    assert audio.content == b""


async def test_head_routes_stay_out_of_the_openapi(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert all("head" not in operations for operations in paths.values())


@pytest.mark.parametrize(
    "if_none_match",
    ['"avatar-v1"', 'W/"avatar-v1"', '"other", W/"avatar-v1"', "*", ' W/"avatar-v1" '],
)
async def test_weak_and_star_if_none_match_give_304(client: httpx.AsyncClient, if_none_match: str) -> None:
    response = await client.get(AVATAR, headers={"if-none-match": if_none_match})
    assert response.status_code == 304, if_none_match
    assert response.headers["etag"] == '"avatar-v1"'


@pytest.mark.parametrize("if_none_match", ['"other"', 'W/"other"', '"avatar-v2"'])
async def test_other_etags_get_the_media(client: httpx.AsyncClient, if_none_match: str) -> None:
    response = await client.get(AVATAR, headers={"if-none-match": if_none_match})
    assert response.status_code == 200


async def test_weak_etags_match_on_audio_too(running: RunningApp) -> None:
    session_id = await running.start()
    audio_url = (await running.question(session_id))["audio_url"]
    etag = (await running.client.get(audio_url)).headers["etag"]
    again = await running.client.get(audio_url, headers={"if-none-match": f"W/{etag}"})
    assert again.status_code == 304


@pytest.mark.parametrize("header", ["bytes=50-10", "bytes=99999999-", "bytes=99999999-100000000", "bytes=-0"])
async def test_inverted_or_unsatisfiable_ranges_are_416_with_the_size(
    client: httpx.AsyncClient, header: str
) -> None:
    size = len((await client.get(AVATAR)).content)
    response = await client.get(AVATAR, headers={"range": header})
    assert response.status_code == 416, header
    assert response.headers["content-range"] == f"bytes */{size}"
    body = response.json()
    assert set(body) == {"detail", "code"} and body["code"] == "range_not_satisfiable"


async def test_a_satisfiable_range_is_206_and_a_malformed_one_is_ignored(client: httpx.AsyncClient) -> None:
    whole = (await client.get(AVATAR)).content
    part = await client.get(AVATAR, headers={"range": "bytes=0-9"})
    assert part.status_code == 206 and part.content == whole[:10]
    ignored = await client.get(AVATAR, headers={"range": "bytes=abc"})
    assert ignored.status_code == 200 and ignored.content == whole
