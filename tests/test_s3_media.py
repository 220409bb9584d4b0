"""BLOB_STORE=s3: media live in an S3-compatible bucket and are streamed by the app with ETag and Range."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from conftest import SettingsFactory
from interviewai.adapters.blobs.s3 import S3BlobStore
from interviewai.app import create_app
from interviewai.container import Container
from moto_s3 import ACCESS_KEY_ID, SECRET_ACCESS_KEY, MotoServer, moto_server, offline_aws_environment  # noqa: F401


@pytest.fixture
async def s3_app(make_settings: SettingsFactory, moto_server: MotoServer) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(
        blob_store="s3",
        s3_endpoint_url=moto_server.url,
        s3_bucket=f"media-{uuid.uuid4().hex[:12]}",
        s3_access_key_id=ACCESS_KEY_ID,
        s3_secret_access_key=SECRET_ACCESS_KEY,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        container: Container = app.state.container
        assert isinstance(container.blobs, S3BlobStore)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def test_question_audio_is_stored_in_the_bucket_and_served_with_range(
    s3_app: httpx.AsyncClient,
) -> None:
    session_id = (await s3_app.post("/api/v1/interview/start")).json()["session_id"]
    question = (await s3_app.get(f"/api/v1/interview/{session_id}/question")).json()
    mp3 = base64.b64decode(question["audio_base64"])
    path = httpx.URL(question["audio_url"]).path

    full = await s3_app.get(path)
    assert full.status_code == 200
    assert full.headers["content-type"] == "audio/mpeg"
    assert full.headers["content-length"] == str(len(mp3))
    assert "immutable" in full.headers["cache-control"]
    assert full.content == mp3

    partial = await s3_app.get(path, headers={"Range": "bytes=10-109"})
    assert partial.status_code == 206
    assert partial.headers["content-range"] == f"bytes 10-109/{len(mp3)}"
    assert partial.content == mp3[10:110]
    beyond = await s3_app.get(path, headers={"Range": f"bytes={len(mp3) + 5}-"})
    assert beyond.status_code == 416

    assert (await s3_app.get(path, headers={"If-None-Match": full.headers["etag"]})).status_code == 304
    missing = await s3_app.get("/api/v1/media/audio/" + "0" * 64 + ".mp3")
    assert missing.status_code == 404 and missing.json()["code"] == "media_not_found"

    other = (await s3_app.post("/api/v1/interview/start")).json()["session_id"]
    again = (await s3_app.get(f"/api/v1/interview/{other}/question")).json()
    assert again["audio_url"] == question["audio_url"], "the bucket serves as the cache too"
