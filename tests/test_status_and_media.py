"""Status endpoints, API docs, and media served with content types, ETags, caching and Range."""

from __future__ import annotations

import httpx
import pytest

from interviewai import __version__


async def test_health(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/health")
    assert response.json() == {"status": "healthy", "service": "interviewai", "version": __version__}


async def test_avatar_status_without_key_is_audio_only(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/v1/avatar/status")).json()
    assert body["configured"] is False
    assert body["mode"] == "audio_only"
    assert body["presenter_id"] == "v2_public_Amber@0zSz8kflCN"
    assert body["credits"] is None


async def test_interview_info(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/v1/interview/info")).json()
    assert body["total_questions"] == 10
    assert body["question_types"] == ["introduction", "behavioral", "situational", "technical", "closing"]
    assert body["estimated_duration_minutes"] > 0
    assert body["avatar_mode"] == "audio_only"
    assert body["avatar_image_url"] == "http://testserver/api/v1/media/avatar.png"


async def test_voices_lists_the_local_voice(client: httpx.AsyncClient) -> None:
    voices = (await client.get("/api/v1/voices")).json()["voices"]
    local = [v for v in voices if v["engine"] == "piper"]
    assert local, voices
    assert {"name", "gender", "locale"} <= set(local[0])
    assert local[0]["locale"] == "en-US" and local[0]["available"] is True


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json"])
async def test_api_docs_are_served(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    if path == "/openapi.json":
        assert "/api/v1/interview/{session_id}/answer" in response.json()["paths"]


async def test_avatar_image_is_a_png_with_cache_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/media/avatar.png")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert "max-age=31536000" in response.headers["cache-control"]
    etag = response.headers["etag"]
    cached = await client.get("/api/v1/media/avatar.png", headers={"If-None-Match": etag})
    assert cached.status_code == 304 and cached.content == b""


async def test_question_audio_supports_range_and_etag(client: httpx.AsyncClient) -> None:
    session_id = (await client.post("/api/v1/interview/start")).json()["session_id"]
    question = (await client.get(f"/api/v1/interview/{session_id}/question")).json()
    path = httpx.URL(question["audio_url"]).path
    full = await client.get(path)
    assert full.status_code == 200
    assert full.headers["content-type"] == "audio/mpeg"
    assert full.headers["accept-ranges"] == "bytes"
    assert "immutable" in full.headers["cache-control"]
    etag = full.headers["etag"]
    assert etag.strip('"') in path

    partial = await client.get(path, headers={"Range": "bytes=100-199"})
    assert partial.status_code == 206
    assert partial.headers["content-range"] == f"bytes 100-199/{len(full.content)}"
    assert partial.content == full.content[100:200]

    tail = await client.get(path, headers={"Range": f"bytes={len(full.content) - 10}-"})
    assert tail.status_code == 206 and tail.content == full.content[-10:]

    unsatisfiable = await client.get(path, headers={"Range": f"bytes={len(full.content) + 10}-"})
    assert unsatisfiable.status_code == 416

    not_modified = await client.get(path, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/media/audio/..%2F..%2Finterviewai.db",
        "/api/v1/media/audio/%2e%2e%2f%2e%2e%2finterviewai.db",
        "/api/v1/media/audio/../../interviewai.db",
        "/api/v1/media/audio/" + "0" * 64 + ".json",
        "/api/v1/media/audio/" + "0" * 64 + ".mp3",
        "/api/v1/media/audio/..",
        "/api/v1/media/..%2Finterviewai.db",
    ],
)
async def test_media_paths_cannot_escape_or_guess(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert response.json()["code"] in {"media_not_found", "not_found"}
