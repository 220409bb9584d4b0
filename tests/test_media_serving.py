"""Media served through the BlobReader port, the same for files and S3: one byte range, If-Range, HEAD, and
a client that goes away mid-stream leaves no open reader (uvicorn on loopback, a moto S3 server)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from conftest import SettingsFactory
from descriptors import descriptors_open_on
from interviewai.adapters.blobs.files import FileBlobStore
from live_server import Live, serve_app
from moto_s3 import ACCESS_KEY_ID, SECRET_ACCESS_KEY, MotoServer, moto_server, offline_aws_environment  # noqa: F401

NAME = "audio/" + "ab" * 32 + ".mp3"
URL = "/api/v1/media/" + NAME
ETAG = '"' + "ab" * 32 + '"'
SIZE = 100_000


@dataclass
class Served:
    live: Live
    client: httpx.AsyncClient
    payload: bytes


@pytest.fixture(params=["files", "s3"])
async def served(request: pytest.FixtureRequest, make_settings: SettingsFactory) -> AsyncIterator[Served]:
    overrides: dict[str, str] = {}
    if request.param == "s3":
        server: MotoServer = request.getfixturevalue("moto_server")
        overrides = {
            "blob_store": "s3",
            "s3_endpoint_url": server.url,
            "s3_bucket": f"media-{uuid.uuid4().hex[:12]}",
            "s3_access_key_id": ACCESS_KEY_ID,
            "s3_secret_access_key": SECRET_ACCESS_KEY,
        }
    async with serve_app(make_settings(**overrides)) as live:
        payload = os.urandom(SIZE)
        await live.container.blobs.put(NAME, payload)
        async with httpx.AsyncClient(base_url=live.http, trust_env=False, timeout=30) as client:
            yield Served(live, client, payload)


async def test_the_whole_blob_with_its_headers(served: Served) -> None:
    whole = await served.client.get(URL)
    assert whole.status_code == 200 and whole.content == served.payload
    assert whole.headers["content-length"] == str(SIZE)
    assert whole.headers["content-type"] == "audio/mpeg"
    assert whole.headers["etag"] == ETAG
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "content-range" not in whole.headers


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        pytest.param("bytes=0-", 0, SIZE - 1, id="open-from-zero"),
        pytest.param("bytes=0-0", 0, 0, id="first-byte"),
        pytest.param(f"bytes={SIZE - 1}-", SIZE - 1, SIZE - 1, id="last-byte"),
        pytest.param("bytes=-10", SIZE - 10, SIZE - 1, id="suffix"),
        pytest.param(f"bytes=-{SIZE * 2}", 0, SIZE - 1, id="suffix-longer-than-the-blob"),
        pytest.param(f"bytes={SIZE - 10}-{SIZE * 2}", SIZE - 10, SIZE - 1, id="clipped"),
        pytest.param("Bytes = 10 - 19", 10, 19, id="spaces-and-case"),
    ],
)
async def test_one_range_is_206_with_its_content_range(
    served: Served, header: str, first: int, last: int
) -> None:
    part = await served.client.get(URL, headers={"range": header})
    assert part.status_code == 206, part.text
    assert part.headers["content-range"] == f"bytes {first}-{last}/{SIZE}"
    assert part.headers["content-length"] == str(last - first + 1)
    assert part.content == served.payload[first : last + 1]


@pytest.mark.parametrize(
    "header", [f"bytes={SIZE}-", "bytes=9-3", "bytes=-0", f"bytes={SIZE + 5}-{SIZE + 9}"]
)
async def test_a_range_with_no_byte_of_the_blob_is_416_with_the_size(served: Served, header: str) -> None:
    refused = await served.client.get(URL, headers={"range": header})
    assert refused.status_code == 416, header
    assert refused.headers["content-range"] == f"bytes */{SIZE}"
    assert refused.json()["code"] == "range_not_satisfiable"


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "bytes=abc", "bytes=-", "items=0-9"])
async def test_several_ranges_or_a_malformed_one_get_the_whole_blob(served: Served, header: str) -> None:
    whole = await served.client.get(URL, headers={"range": header})
    assert whole.status_code == 200 and whole.content == served.payload


async def test_if_range_sends_the_range_only_for_this_etag(served: Served) -> None:
    same = await served.client.get(URL, headers={"range": "bytes=0-9", "if-range": ETAG})
    assert same.status_code == 206 and same.content == served.payload[:10]
    other = await served.client.get(URL, headers={"range": "bytes=0-9", "if-range": '"other"'})
    assert other.status_code == 200 and other.content == served.payload


async def test_head_has_the_headers_of_get_and_no_body(served: Served) -> None:
    head = await served.client.head(URL, headers={"range": "bytes=10-19"})
    assert head.status_code == 206 and head.content == b""
    assert head.headers["content-range"] == f"bytes 10-19/{SIZE}"
    assert head.headers["content-length"] == "10"
    not_modified = await served.client.get(URL, headers={"if-none-match": ETAG})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["etag"] == ETAG


async def test_a_missing_blob_is_404(served: Served) -> None:
    missing = await served.client.get(
        "/api/v1/media/audio/" + "cd" * 32 + ".mp3", headers={"range": "bytes=0-9"}
    )
    assert missing.status_code == 404 and missing.json()["code"] == "media_not_found"


async def leave_mid_stream(live: Live, path: str) -> int:
    """GET `path` over a raw socket, read the first bytes of the body, and hang up; returns the status."""
    host, port = live.http.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        await reader.readexactly(64 * 1024)
        return int(head.split(b" ", 2)[1])
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def test_a_client_gone_mid_stream_leaves_no_open_reader(served: Served) -> None:
    big = "video/" + "ef" * 16 + ".mp4"
    payload = os.urandom(4_000_000)
    blobs = served.live.container.blobs
    await blobs.put(big, payload)

    # More hang-ups than S3's connection pool holds: a read left open would keep its connection, and the
    # full GET below would wait for one until its deadline.
    for _ in range(25):
        assert await leave_mid_stream(served.live, f"/api/v1/media/{big}") == 200
    if isinstance(blobs, FileBlobStore):
        path: Path = blobs.path_for(big)
        for _ in range(200):  # the server closes it when it sees the hang-up: give it up to 10 s
            if not descriptors_open_on(path):
                break
            await asyncio.sleep(0.05)
        assert descriptors_open_on(path) == 0, "the file of an abandoned response is still open"
    whole = await served.client.get(f"/api/v1/media/{big}")
    assert whole.status_code == 200 and whole.content == payload
