"""One contract for BlobStore, run against every backend: a local directory and an S3-compatible bucket.

The S3 backend talks to a real S3 server: moto in server mode, started by this module as a subprocess on
127.0.0.1 (a subprocess so that stopping it really closes its sockets). Credentials are dummies, the
endpoint is explicit and the AWS config/credential files and the instance-metadata service are switched
off, so nothing leaves loopback. Each test gets its own bucket.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from descriptors import descriptors_open_on
from interviewai.adapters.blobs.files import FileBlobStore
from interviewai.adapters.blobs.s3 import S3BlobStore
from interviewai.domain.blobs import ByteRange, ByteSpan
from interviewai.domain.errors import ProviderCategory, ProviderError, UnsafeBlobName, UnsatisfiableRange
from interviewai.domain.ports import BlobRead, BlobStore
from moto_s3 import ACCESS_KEY_ID, SECRET_ACCESS_KEY, MotoServer, moto_server, offline_aws_environment  # noqa: F401

FIVE_MB = 5 * 1024 * 1024


def s3_store(endpoint_url: str, bucket: str | None = None, *, timeout_s: float = 10.0) -> S3BlobStore:
    return S3BlobStore(
        endpoint_url,
        bucket or f"contract-{uuid.uuid4().hex[:16]}",
        ACCESS_KEY_ID,
        SECRET_ACCESS_KEY,
        timeout_s=timeout_s,
    )


@contextlib.asynccontextmanager
async def fresh_bucket(server: MotoServer) -> AsyncIterator[S3BlobStore]:
    store = s3_store(server.url)
    try:
        await store.ensure_bucket()
        yield store
    finally:
        await store.aclose()


@pytest.fixture
async def s3(moto_server: MotoServer) -> AsyncIterator[S3BlobStore]:
    async with fresh_bucket(moto_server) as store:
        yield store


@pytest.fixture(params=["files", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    if request.param == "files":
        yield FileBlobStore(tmp_path / "blobs")
        return
    # Asked for only here, so the directory cases never start the server.
    server: MotoServer = request.getfixturevalue("moto_server")
    async with fresh_bucket(server) as s3_blobs:
        yield s3_blobs


# --- the contract: every backend ---------------------------------------------------------------------

EVERY_BYTE = bytes(range(256)) * 4


@pytest.mark.parametrize(
    "data",
    [pytest.param(EVERY_BYTE, id="binary"), pytest.param(b"", id="empty"), pytest.param(None, id="5MB")],
)
async def test_put_then_get_returns_the_same_bytes(store: BlobStore, data: bytes | None) -> None:
    payload = os.urandom(FIVE_MB) if data is None else data
    await store.put("audio/round-trip.mp3", payload)

    assert await store.get("audio/round-trip.mp3") == payload
    assert await store.exists("audio/round-trip.mp3")
    assert await store.size("audio/round-trip.mp3") == len(payload)


async def test_put_overwrites_a_blob_whole(store: BlobStore) -> None:
    await store.put("video/clip.mp4", b"first version, longer than the second")
    await store.put("video/clip.mp4", b"second")

    assert await store.get("video/clip.mp4") == b"second"
    assert await store.size("video/clip.mp4") == len(b"second")


async def test_a_missing_blob_is_none_false_none(store: BlobStore) -> None:
    await store.put("audio/present.mp3", b"x")

    assert await store.get("audio/absent.mp3") is None
    assert await store.exists("audio/absent.mp3") is False
    assert await store.size("audio/absent.mp3") is None


async def test_names_are_separate_blobs(store: BlobStore) -> None:
    await store.put("audio/a.mp3", b"aaa")
    await store.put("audio/b.mp3", b"bb")
    await store.put("b.mp3", b"top level")

    assert await store.get("audio/a.mp3") == b"aaa"
    assert await store.size("audio/b.mp3") == 2
    assert await store.get("b.mp3") == b"top level"


UNSAFE_NAMES = [
    "",
    "../escape.mp3",
    "audio/../../escape.mp3",
    "/etc/passwd.txt",
    "audio\\x.mp3",
    "audio/.mp3",
]


@pytest.mark.parametrize("name", UNSAFE_NAMES)
async def test_unsafe_names_are_rejected_by_every_operation(store: BlobStore, name: str) -> None:
    with pytest.raises(UnsafeBlobName):
        await store.put(name, b"x")
    with pytest.raises(UnsafeBlobName):
        await store.get(name)
    with pytest.raises(UnsafeBlobName):
        await store.exists(name)
    with pytest.raises(UnsafeBlobName):
        await store.size(name)
    with pytest.raises(UnsafeBlobName):
        await store.open(name)


# --- the contract: reading for serving (BlobReader) ------------------------------------------------


async def read_through(read: BlobRead | None) -> bytes:
    assert read is not None
    try:
        return b"".join([chunk async for chunk in read.chunks()])
    finally:
        await read.aclose()


async def test_opens_a_blob_whole_and_streams_it_in_chunks(store: BlobStore) -> None:
    payload = os.urandom(300_000)
    await store.put("video/stream.mp4", payload)

    read = await store.open("video/stream.mp4")
    assert read is not None
    assert read.span == ByteSpan(0, len(payload) - 1, len(payload)) and not read.span.is_partial
    chunks = [chunk async for chunk in read.chunks()]
    await read.aclose()
    await read.aclose()  # twice is fine
    assert b"".join(chunks) == payload
    assert len(chunks) >= 2, "streamed, not read whole"


TEN_K = 10_000


@pytest.mark.parametrize(
    ("wanted", "expected"),
    [
        pytest.param(ByteRange(0, 0), slice(0, 1), id="first-byte"),
        pytest.param(ByteRange(TEN_K - 1), slice(TEN_K - 1, None), id="last-byte"),
        pytest.param(ByteRange(0), slice(0, None), id="all-as-a-range"),
        pytest.param(ByteRange(0, TEN_K - 1), slice(0, None), id="all-to-the-last-byte"),
        pytest.param(ByteRange(1000, 1999), slice(1000, 2000), id="middle"),
        pytest.param(ByteRange(9990, 50_000), slice(9990, None), id="past-the-end-is-clipped"),
        pytest.param(ByteRange(5, 5), slice(5, 6), id="one-byte"),
        pytest.param(ByteRange.tail(10), slice(TEN_K - 10, None), id="suffix"),
        pytest.param(ByteRange.tail(TEN_K + 5), slice(0, None), id="suffix-longer-than-the-blob"),
    ],
)
async def test_opens_a_byte_range(store: BlobStore, wanted: ByteRange, expected: slice) -> None:
    payload = os.urandom(TEN_K)
    await store.put("audio/ranged.mp3", payload)

    read = await store.open("audio/ranged.mp3", wanted)
    assert read is not None
    want = payload[expected]
    first = expected.start
    assert read.span == ByteSpan(first, first + len(want) - 1, TEN_K)
    assert read.span.length == len(want)
    assert await read_through(read) == want


@pytest.mark.parametrize(
    "wanted",
    [
        pytest.param(ByteRange(10), id="at-the-end"),
        pytest.param(ByteRange(11, 20), id="past-the-end"),
        pytest.param(ByteRange(5, 4), id="inverted"),
        pytest.param(ByteRange.tail(0), id="empty-suffix"),
    ],
)
async def test_a_range_with_none_of_the_blob_is_unsatisfiable_and_says_the_size(
    store: BlobStore, wanted: ByteRange
) -> None:
    await store.put("audio/short.mp3", b"0123456789")

    with pytest.raises(UnsatisfiableRange) as raised:
        await store.open("audio/short.mp3", wanted)
    assert raised.value.size == 10


async def test_an_empty_blob_opens_whole_and_no_range_fits_it(store: BlobStore) -> None:
    await store.put("audio/empty.mp3", b"")

    read = await store.open("audio/empty.mp3")
    assert read is not None
    assert (read.span.length, read.span.size, read.span.is_partial) == (0, 0, False)
    assert await read_through(read) == b""
    for wanted in (ByteRange(0), ByteRange(0, 10), ByteRange.tail(1)):
        with pytest.raises(UnsatisfiableRange) as raised:
            await store.open("audio/empty.mp3", wanted)
        assert raised.value.size == 0


@pytest.mark.parametrize(
    "wanted", [None, ByteRange(0, 10), ByteRange(100), ByteRange(5, 4), ByteRange.tail(3)]
)
async def test_a_missing_blob_opens_as_none_whatever_the_range(
    store: BlobStore, wanted: ByteRange | None
) -> None:
    await store.put("audio/present.mp3", b"x")

    assert await store.open("audio/absent.mp3", wanted) is None


async def test_reads_stopped_early_and_closed_release_what_they_hold(store: BlobStore) -> None:
    payload = os.urandom(2_000_000)
    await store.put("video/big.mp4", payload)

    # More reads than S3's connection pool holds: leaked connections would make this hang.
    for _ in range(30):
        read = await store.open("video/big.mp4")
        assert read is not None
        async for _chunk in read.chunks():
            break
        await read.aclose()
    assert await read_through(await store.open("video/big.mp4")) == payload


async def test_a_file_read_closes_its_file_at_the_end_or_when_closed(tmp_path: Path) -> None:
    files = FileBlobStore(tmp_path / "blobs")
    await files.put("audio/a.mp3", os.urandom(200_000))
    path = files.path_for("audio/a.mp3")

    whole = await files.open("audio/a.mp3")
    assert whole is not None and descriptors_open_on(path) == 1
    async for _chunk in whole.chunks():
        pass
    assert descriptors_open_on(path) == 0, "read to the end: closed without being asked"

    early = await files.open("audio/a.mp3", ByteRange(10))
    assert early is not None
    async for _chunk in early.chunks():
        break
    await early.aclose()
    assert descriptors_open_on(path) == 0

    with pytest.raises(UnsatisfiableRange):
        await files.open("audio/a.mp3", ByteRange(200_000))
    assert descriptors_open_on(path) == 0, "a refused range leaves no file open"


async def test_a_file_read_keeps_the_bytes_it_opened_when_the_blob_is_replaced(tmp_path: Path) -> None:
    files = FileBlobStore(tmp_path / "blobs")
    await files.put("video/clip.mp4", b"first" * 30_000)

    read = await files.open("video/clip.mp4")
    await files.put("video/clip.mp4", b"second")
    assert await read_through(read) == b"first" * 30_000


# --- S3 only: stream metadata, presigned URLs, failures ----------------------------------------------


async def test_an_s3_stream_has_the_object_metadata(s3: S3BlobStore) -> None:
    payload = os.urandom(50_000)
    await s3.put("video/stream.mp4", payload)

    stream = await s3.open("video/stream.mp4")
    assert stream is not None
    async with stream:
        assert stream.content_type == "video/mp4"
        assert await stream.read_all() == payload

    metadata = await s3.metadata("video/stream.mp4")
    assert metadata is not None
    assert metadata[0] == len(payload)
    assert metadata[1] == stream.etag and stream.etag


async def test_ensure_bucket_is_idempotent(s3: S3BlobStore) -> None:
    await s3.ensure_bucket()
    await s3.put("a.mp3", b"kept")
    await s3.ensure_bucket()
    assert await s3.get("a.mp3") == b"kept"


async def test_a_missing_bucket_is_an_invalid_request_not_a_missing_blob(moto_server: MotoServer) -> None:
    store = s3_store(moto_server.url, "no-such-bucket-here")
    try:
        with pytest.raises(ProviderError) as raised:
            await store.put("a.mp3", b"x")
    finally:
        await store.aclose()
    assert (raised.value.provider, raised.value.category) == ("s3", ProviderCategory.INVALID_REQUEST)
    assert not raised.value.retryable


async def test_rejected_credentials_are_an_auth_error(offline_aws_environment: None) -> None:
    # With this setting moto checks every request's signature and access key, as S3 does.
    server = MotoServer(INITIAL_NO_AUTH_ACTION_COUNT="0")
    server.start()
    store = s3_store(server.url)
    try:
        with pytest.raises(ProviderError) as raised:
            await store.get("audio/a.mp3")
    finally:
        await store.aclose()
        server.stop()
    assert (raised.value.provider, raised.value.category) == ("s3", ProviderCategory.AUTH)
    assert not raised.value.retryable


async def test_a_stopped_server_is_a_connectivity_error_within_the_deadline(
    offline_aws_environment: None,
) -> None:
    server = MotoServer()
    server.start()
    store = s3_store(server.url, timeout_s=3.0)
    try:
        await store.ensure_bucket()
        await store.put("audio/a.mp3", b"x")  # a pooled keep-alive connection now exists
        server.stop()

        for call in (store.get, store.exists, store.size, store.open):
            started = time.monotonic()
            with pytest.raises(ProviderError) as raised:
                await call("audio/a.mp3")
            assert time.monotonic() - started < 3.0
            assert (raised.value.provider, raised.value.category) == ("s3", ProviderCategory.CONNECTIVITY)
            assert raised.value.retryable
        with pytest.raises(ProviderError) as raised:
            await store.put("audio/b.mp3", b"y")
        assert raised.value.category is ProviderCategory.CONNECTIVITY
    finally:
        server.stop()
        await store.aclose()


async def test_a_server_that_never_answers_is_a_timeout_at_the_deadline(
    offline_aws_environment: None,
) -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def stay_silent(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    silent = await asyncio.start_server(stay_silent, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    store = s3_store(f"http://127.0.0.1:{port}", timeout_s=0.5)
    try:
        started = time.monotonic()
        with pytest.raises(ProviderError) as raised:
            await store.get("audio/a.mp3")
        elapsed = time.monotonic() - started
    finally:
        await store.aclose()
        for writer in accepted:
            writer.close()
        silent.close()
        await silent.wait_closed()
    assert (raised.value.category, raised.value.retryable) == (ProviderCategory.TIMEOUT, True)
    assert 0.4 < elapsed < 2.0


def test_blob_errors_are_domain_errors_with_their_http_status() -> None:
    from interviewai.api.errors import domain_status
    from interviewai.domain.errors import DomainError

    for error, status in ((UnsafeBlobName("../x"), 404), (UnsatisfiableRange("audio/a.mp3", 10), 416)):
        assert isinstance(error, DomainError) and domain_status(error) == status
