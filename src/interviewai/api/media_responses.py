"""Media responses, the same for every blob store: ETag and 304, one byte range (206/416), streamed reads.

A route names the blob and its ETag; this module asks the store's `BlobReader` for the bytes and never
holds more than a chunk of them. HEAD is served as GET by `HeadAsGet`, so it has the same headers.
"""

from __future__ import annotations

import re
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from interviewai.api.errors import error_response
from interviewai.api.http_details import etag_matches
from interviewai.domain.blobs import ByteRange
from interviewai.domain.errors import DomainError, UnsatisfiableRange
from interviewai.domain.ports import BlobRead, BlobReader

# What a media route documents beside 200 (its error statuses are added by each route).
MEDIA_RESPONSES: dict[int | str, dict[str, Any]] = {
    206: {"description": "The requested byte range (`Range: bytes=...`)."},
    304: {"description": "Unchanged since the `ETag` in `If-None-Match`."},
}
# Content-addressed media never changes under its name, so clients may cache it for a year.
IMMUTABLE_CACHE = "public, max-age=31536000, immutable"
_ONE_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


def requested_range(header: str | None) -> ByteRange | None:
    """The one byte range of a `Range: bytes=` header; None (the whole media) when there is none, when it is
    malformed, or when it asks for several ranges (RFC 9110 14.2 lets a server ignore Range)."""
    match = _ONE_RANGE.match(header or "")
    if match is None:
        return None
    first, last = match.groups()
    if first:
        return ByteRange(int(first), int(last) if last else None)
    if last:
        return ByteRange.tail(int(last))
    return None  # "bytes=-"


async def media_response(
    request: Request,
    reader: BlobReader,
    name: str,
    media_type: str,
    *,
    etag: str,
    missing: DomainError,
    cache_control: str = IMMUTABLE_CACHE,
) -> Response:
    """The blob `name` as an HTTP response: 304 when `If-None-Match` has `etag`; else 200 whole, or 206 with
    `Content-Range` for one satisfiable range (a request for several gets the whole blob), or 416 with
    `Content-Range: bytes */size`. `missing` is raised when there is no such blob."""
    headers = {"Cache-Control": cache_control, "ETag": etag, "Accept-Ranges": "bytes"}
    if etag_matches(request.headers.get("if-none-match", ""), etag):
        # The name is the content's hash: a client holding the ETag holds the bytes, so no store call.
        return Response(status_code=304, headers=headers)
    wanted = requested_range(request.headers.get("range"))
    if_range = request.headers.get("if-range")
    if wanted is not None and if_range is not None and if_range.strip() != etag:
        wanted = None  # RFC 9110 13.1.5: a range of another version of the media is no use; send it whole
    try:
        read = await reader.open(name, wanted)
    except UnsatisfiableRange as error:
        return range_not_satisfiable(error.size or 0, headers)
    if read is None:
        raise missing
    span = read.span
    headers["Content-Length"] = str(span.length)
    status = 200
    if wanted is not None:
        status = 206
        headers["Content-Range"] = f"bytes {span.first}-{span.last}/{span.size}"
    return BlobResponse(read, status_code=status, media_type=media_type, headers=headers)


def range_not_satisfiable(size: int, headers: dict[str, str]) -> Response:
    """416 with `Content-Range: bytes */N` and the usual `{detail, code}` body."""
    return error_response(
        416,
        "range_not_satisfiable",
        f"The requested range is outside the media's {size} bytes.",
        headers={**headers, "Content-Range": f"bytes */{size}"},
    )


class BlobResponse(StreamingResponse):
    """Streams an open blob read and closes it when the response ends, however it ends: sent, the client
    gone mid-stream (a player seeking drops its connection), or cancelled."""

    def __init__(self, read: BlobRead, *, status_code: int, media_type: str, headers: dict[str, str]) -> None:
        super().__init__(read.chunks(), status_code=status_code, media_type=media_type, headers=headers)
        self.read = read

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Sends the response, then closes the blob read, also when sending failed or was cancelled."""
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Shielded: when the request was cancelled, closing must still reach the file or connection.
            with anyio.CancelScope(shield=True):
                await self.read.aclose()
