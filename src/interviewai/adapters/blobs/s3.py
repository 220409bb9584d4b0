"""BlobStore on an S3-compatible bucket (aiobotocore): whole-object PUTs, ranged streams.

A PUT is all-or-nothing in S3, so readers never see a partial blob and no temp-name dance is needed. Names
obey the same rules as FileBlobStore's (the key space is flat, but one rule for every backend keeps a name
that works on one working on all). Every call has a deadline; botocore's own retries are off, because
retrying is the caller's decision (one retry inside the request's deadline, then failover). Every library
error leaves this module as a ProviderError("s3", ...); a missing key is None/False, not an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

import aiohttp
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from interviewai.adapters.blobs.files import check_blob_name
from interviewai.deadlines import deadline
from interviewai.domain.blobs import ByteRange, ByteSpan
from interviewai.domain.errors import PROGRAMMING_ERRORS, ProviderCategory, ProviderError, UnsatisfiableRange

if TYPE_CHECKING:
    from aiobotocore.response import StreamingBody
    from types_aiobotocore_s3 import S3Client

PROVIDER = "s3"
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_CHUNK_SIZE = 64 * 1024

# The stored type is what a client fetching the object gets, so it must be right.
_CONTENT_TYPES = {
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "ogg": "audio/ogg",
    "m4a": "audio/mp4",
    "opus": "audio/ogg",
    "mp4": "video/mp4",
    "webm": "video/webm",
    "json": "application/json",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
}
_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
_AUTH_CODES = frozenset(
    {
        "AccessDenied",
        "403",
        "Forbidden",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "AllAccessDisabled",
        "ExpiredToken",
        "InvalidToken",
        "AccountProblem",
    }
)
_THROTTLE_CODES = frozenset({"SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded"})
_TIMEOUT_CODES = frozenset({"RequestTimeout", "RequestTimeoutException"})
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


class BlobStream:
    """An open read of one blob (or one byte range of it); iterate `chunks()`, then close.

    `span` says which bytes of the blob the stream yields (inclusive positions, as in HTTP Content-Range)
    and the blob's whole size.
    """

    def __init__(
        self,
        name: str,
        body: StreamingBody,
        *,
        span: ByteSpan,
        etag: str | None,
        content_type: str | None,
        chunk_timeout_s: float,
    ) -> None:
        self.name = name
        self.span = span
        self.etag = etag
        self.content_type = content_type
        self._body = body
        self._chunk_timeout_s = chunk_timeout_s
        self._closed = False

    async def chunks(self, chunk_size: int = DEFAULT_CHUNK_SIZE) -> AsyncIterator[bytes]:
        """Yield the bytes as they arrive; each read has its own deadline. Closes the stream at the end."""
        try:
            while not self._closed:
                try:
                    async with deadline(self._chunk_timeout_s):
                        chunk = await self._body.read(chunk_size)
                except Exception as error:
                    raise _translate(error, f"read {self.name}") from error
                if not chunk:
                    return
                yield chunk
        finally:
            await self.aclose()

    async def read_all(self) -> bytes:
        """The whole stream as bytes (for small objects); closes it."""
        return b"".join([chunk async for chunk in self.chunks()])

    async def aclose(self) -> None:
        """Release the connection (safe to call twice; needed when a reader stops early)."""
        if not self._closed:
            self._closed = True
            await self._body.aclose()

    async def __aenter__(self) -> BlobStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


class S3BlobStore:
    """Blobs as objects in one bucket of an S3-compatible service (AWS S3, MinIO, R2, moto...)."""

    def __init__(
        self,
        endpoint_url: str,
        bucket: str,
        access_key_id: str,
        secret_access_key: str,
        region: str = "us-east-1",
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        connect_timeout_s: float = 5.0,
        max_connections: int = 20,
    ) -> None:
        """`timeout_s` bounds each call (and each chunk read of a stream)."""
        self.endpoint_url = endpoint_url
        self.bucket = bucket
        self.region = region
        self.timeout_s = timeout_s
        self._access_key_id = access_key_id
        self._secret_access_key = secret_access_key
        self._config = AioConfig(
            connect_timeout=min(connect_timeout_s, timeout_s),
            read_timeout=timeout_s,
            retries={"total_max_attempts": 1},
            max_pool_connections=max_connections,
            signature_version="s3v4",
            # Path style works on every S3-compatible server and with bucket names that contain dots.
            s3={"addressing_style": "path"},
            # botocore's default extra checksums (CRC32 trailers) are refused by some S3-compatible servers.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            # botocore reads its large JSON service models from disk while creating a client: in a thread.
            warm_up_loader_caches=True,
        )
        self._session = AioSession()
        self._client_lock = asyncio.Lock()
        self._clients: contextlib.AsyncExitStack | None = None
        self._client: S3Client | None = None

    # --- BlobStore -------------------------------------------------------------------------------------

    async def put(self, name: str, data: bytes) -> None:
        """PutObject with the content type of the name's extension, within `timeout_s`; S3 makes it atomic."""
        key = _key_for(name)
        client = await self._s3()
        try:
            async with deadline(self.timeout_s):
                await client.put_object(
                    Bucket=self.bucket, Key=key, Body=data, ContentType=_content_type(key)
                )
        except Exception as error:
            raise _translate(error, f"put {key}") from error

    async def get(self, name: str) -> bytes | None:
        """Whole-object GetObject read into memory; None when the key does not exist."""
        stream = await self.open(name)
        if stream is None:
            return None
        return await stream.read_all()

    async def exists(self, name: str) -> bool:
        """HeadObject: True when the key exists."""
        return await self._head(name) is not None

    async def size(self, name: str) -> int | None:
        """HeadObject's ContentLength; None when the key does not exist."""
        head = await self._head(name)
        return None if head is None else int(head["ContentLength"])

    async def delete(self, name: str) -> None:
        """DeleteObject; a key that does not exist is not an error."""
        key = _key_for(name)
        client = await self._s3()
        try:
            async with deadline(self.timeout_s):
                await client.delete_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if _error_code(error) not in _MISSING_CODES:
                raise _translate(error, f"delete {key}") from error
        except Exception as error:
            raise _translate(error, f"delete {key}") from error

    async def names(self, prefix: str) -> list[str]:
        """Every key under `prefix` (ListObjectsV2, all pages, within one `timeout_s`)."""
        client = await self._s3()
        found: list[str] = []
        try:
            async with deadline(self.timeout_s):
                pages = client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
                async for page in pages:
                    found.extend(str(item["Key"]) for item in page.get("Contents", []))
        except Exception as error:
            raise _translate(error, f"list {prefix}") from error
        return found

    async def open(self, name: str, wanted: ByteRange | None = None) -> BlobStream | None:
        """Start reading `name`, or the bytes `wanted` of it (one ranged GetObject). None when the blob does
        not exist; UnsatisfiableRange, with the blob's size, when `wanted` covers none of it."""
        key = _key_for(name)
        extra: dict[str, Any] = {}
        if wanted is not None:
            if wanted.is_inverted or wanted.suffix == 0:
                # S3 ignores a Range it cannot parse, and no blob satisfies these: refuse them as files do.
                return await self._refused(name, wanted)
            extra["Range"] = _range_header(wanted)
        client = await self._s3()
        try:
            async with deadline(self.timeout_s):
                response = await client.get_object(Bucket=self.bucket, Key=key, **extra)
        except ClientError as error:
            code = _error_code(error)
            if code in _MISSING_CODES:
                return None
            if wanted is not None and (code == "InvalidRange" or _status_of(error) == 416):
                return await self._refused(name, wanted)
            raise _translate(error, f"get {key}") from error
        except Exception as error:
            raise _translate(error, f"get {key}") from error
        content_length = int(response["ContentLength"])
        content_range = _CONTENT_RANGE.match(response.get("ContentRange") or "")
        if content_range is not None and content_range.group(3) != "*":
            start = int(content_range.group(1))
            span = ByteSpan(start, start + content_length - 1, int(content_range.group(3)))
        else:
            span = ByteSpan.whole(content_length)
            if wanted is not None:
                # A server that answered a ranged GET whole (some do for an empty object): check the range
                # here, and serve the whole blob as the span when it is satisfiable.
                try:
                    wanted.within(name, content_length)
                except UnsatisfiableRange:
                    await response["Body"].aclose()
                    raise
        return BlobStream(
            name,
            response["Body"],
            span=span,
            etag=response.get("ETag"),
            content_type=response.get("ContentType"),
            chunk_timeout_s=self.timeout_s,
        )

    async def _refused(self, name: str, wanted: ByteRange) -> BlobStream | None:
        """What `open` answers for a range no byte of the blob is in: None when `name` does not exist,
        else UnsatisfiableRange with its size."""
        size = await self.size(name)
        if size is None:
            return None
        wanted.within(name, size)
        # The blob grew between the GET and the HEAD; the range the GET refused is still refused.
        raise UnsatisfiableRange(name, wanted.first, size=size)

    # --- beyond the port -------------------------------------------------------------------------------

    async def metadata(self, name: str) -> tuple[int, str | None] | None:
        """(content length, ETag) of `name`, or None when it does not exist."""
        head = await self._head(name)
        return None if head is None else (int(head["ContentLength"]), head.get("ETag"))

    # --- lifecycle -------------------------------------------------------------------------------------

    async def ensure_bucket(self) -> None:
        """Create the bucket unless it exists (idempotent; safe when several instances start at once)."""
        client = await self._s3()
        try:
            async with deadline(self.timeout_s):
                try:
                    await client.head_bucket(Bucket=self.bucket)
                    return
                except ClientError as error:
                    if _error_code(error) not in {"404", "NoSuchBucket", "NotFound"}:
                        raise
                create: dict[str, Any] = {"Bucket": self.bucket}
                if self.region != "us-east-1":
                    create["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
                try:
                    await client.create_bucket(**create)
                except ClientError as error:
                    if _error_code(error) not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                        raise
        except Exception as error:
            raise _translate(error, f"ensure bucket {self.bucket}") from error

    async def aclose(self) -> None:
        """Close the S3 clients; the next call would open new ones."""
        async with self._client_lock:
            clients, self._clients = self._clients, None
            self._client = None
        if clients is not None:
            await clients.aclose()

    # --- internals -------------------------------------------------------------------------------------

    async def _s3(self) -> S3Client:
        if self._client is not None:
            return self._client
        async with self._client_lock:
            if self._client is None:
                stack = contextlib.AsyncExitStack()
                try:
                    client = await stack.enter_async_context(self._new_client(self.endpoint_url))
                except BaseException:
                    await stack.aclose()
                    raise
                self._clients, self._client = stack, client
            return self._client

    def _new_client(self, endpoint_url: str) -> Any:
        # Explicit keys and region: botocore never walks its credential chain, so it never asks the
        # instance-metadata service (IMDS) or reads ~/.aws for them.
        return self._session.create_client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=self.region,
            aws_access_key_id=self._access_key_id,
            aws_secret_access_key=self._secret_access_key,
            config=self._config,
        )

    async def _head(self, name: str) -> dict[str, Any] | None:
        key = _key_for(name)
        client = await self._s3()
        try:
            async with deadline(self.timeout_s):
                head = await client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if _error_code(error) in _MISSING_CODES:
                return None
            raise _translate(error, f"head {key}") from error
        except Exception as error:
            raise _translate(error, f"head {key}") from error
        return dict(head)


def _key_for(name: str) -> str:
    """The object key for `name`: the same strict pattern as FileBlobStore, so no backend-specific names."""
    return check_blob_name(name)


def _range_header(wanted: ByteRange) -> str:
    if wanted.suffix is not None:
        return f"bytes=-{wanted.suffix}"
    return f"bytes={wanted.first}-{'' if wanted.last is None else wanted.last}"


def _content_type(key: str) -> str:
    return _CONTENT_TYPES.get(key.rsplit(".", 1)[-1], "application/octet-stream")


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _status_of(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def _translate(error: BaseException, context: str) -> ProviderError:
    """One ProviderError for any library failure (ProviderErrors pass through unchanged). A bug of ours
    (TypeError, KeyError...) is not the bucket failing: it is raised again as itself."""
    if isinstance(error, PROGRAMMING_ERRORS):
        raise error
    if isinstance(error, ProviderError):
        return error
    category, retryable = _category_of(error)
    detail = str(error) or type(error).__name__
    return ProviderError(
        PROVIDER, category, f"{context}: {type(error).__name__}: {detail}", retryable=retryable
    )


def _category_of(error: BaseException) -> tuple[ProviderCategory, bool]:
    if isinstance(error, ClientError):
        code, status = _error_code(error), _status_of(error)
        if code in _AUTH_CODES or status in {401, 403}:
            return ProviderCategory.AUTH, False
        if code in _THROTTLE_CODES or status in {429, 503}:
            return ProviderCategory.RATE_LIMIT, True
        if code in _TIMEOUT_CODES or status == 408:
            return ProviderCategory.TIMEOUT, True
        if status >= 500:
            return ProviderCategory.SERVER, True
        return ProviderCategory.INVALID_REQUEST, False  # NoSuchBucket, InvalidBucketName, ...
    # Before the connection errors: ConnectTimeoutError is also a ConnectionError, and aiobotocore's
    # read timeout is also an asyncio.TimeoutError.
    if isinstance(
        error, asyncio.TimeoutError | ConnectTimeoutError | ReadTimeoutError | aiohttp.ServerTimeoutError
    ):
        return ProviderCategory.TIMEOUT, True
    if isinstance(error, BotoConnectionError | HTTPClientError | aiohttp.ClientError | OSError):
        return ProviderCategory.CONNECTIVITY, True  # refused, reset, DNS, closed mid-body
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return ProviderCategory.AUTH, False
    if isinstance(error, BotoCoreError):
        return ProviderCategory.UNKNOWN, False
    return ProviderCategory.UNKNOWN, False
