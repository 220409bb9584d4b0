"""Routes of the served media under /api/v1/media: question audio, clips, presenter assets, the avatar image."""

from __future__ import annotations

import os
import re
from importlib import resources
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, StreamingResponse
from starlette.background import BackgroundTask

from interviewai.adapters.blobs.files import FileBlobStore
from interviewai.adapters.blobs.s3 import S3BlobStore
from interviewai.api.deps import ContainerDep
from interviewai.api.http_details import (
    MediaFileResponse,
    RangeNotSatisfiable,
    etag_matches,
    parse_ranges,
    range_not_satisfiable,
)
from interviewai.api.openapi import error_responses
from interviewai.domain.errors import MediaNotFound, UnsatisfiableRange
from interviewai.domain.ports import BlobStore

router = APIRouter(prefix="/api/v1")

_NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    206: {"description": "The requested byte range (`Range: bytes=...`)."},
    304: {"description": "Unchanged since the `ETag` in `If-None-Match`."},
}
# Content-addressed media never changes under its name, so clients may cache it for a year.
IMMUTABLE_CACHE = "public, max-age=31536000, immutable"
_MEDIA_KINDS = {
    "audio": (re.compile(r"^[0-9a-f]{64}\.mp3$"), "audio/mpeg"),
    "video": (re.compile(r"^[0-9a-f]{32}([0-9a-f]{32})?\.mp4$"), "video/mp4"),
    "presenter": (re.compile(r"^[0-9a-f]{64}\.(png|mp4)$"), "video/mp4"),
}
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


@router.get(
    "/media/avatar.png",
    tags=["media"],
    response_class=FileResponse,
    responses=_NOT_MODIFIED,
    operation_id="getAvatarImage",
)
async def avatar_image(request: Request) -> Response:
    path = resources.files("interviewai.resources").joinpath("avatar.png")
    return _file_response(request, str(path), "image/png", etag='"avatar-v1"')


@router.get(
    "/media/{folder}/{file_name}",
    tags=["media"],
    response_class=FileResponse,
    responses={**_NOT_MODIFIED, **error_responses(404, 416)},
    operation_id="getMedia",
)
async def served_media(folder: str, file_name: str, request: Request, container: ContainerDep) -> Response:
    """Question audio, re-hosted clips and presenter assets, by content-addressed name."""
    kind = _MEDIA_KINDS.get(folder)
    if kind is None or not kind[0].match(file_name):
        raise MediaNotFound(f"No media named {folder}/{file_name}.")
    name = f"{folder}/{file_name}"
    media_type = kind[1] if not file_name.endswith(".png") else "image/png"
    etag = f'"{file_name.split(".")[0]}"'
    blobs = container.blobs
    if isinstance(blobs, FileBlobStore):
        if not await blobs.exists(name):
            raise MediaNotFound(f"No media named {name}.")
        return _file_response(request, str(blobs.path_for(name)), media_type, etag=etag)
    return await _streamed_blob(request, blobs, name, media_type, etag)


async def _streamed_blob(
    request: Request, blobs: BlobStore, name: str, media_type: str, etag: str
) -> Response:
    """Media from a bucket, streamed through the app: the same URLs, ETags, caching and Range as files.

    Streaming (not presigned redirects) keeps the URLs we hand out permanent and the bucket private.
    """
    headers = {"Cache-Control": IMMUTABLE_CACHE, "ETag": etag, "Accept-Ranges": "bytes"}
    if etag_matches(request.headers.get("if-none-match", ""), etag):
        return Response(status_code=304, headers=headers)
    if not isinstance(blobs, S3BlobStore):
        data = await blobs.get(name)
        if data is None:
            raise MediaNotFound(f"No media named {name}.")
        return Response(data, media_type=media_type, headers=headers)
    first, last = _single_range(request.headers.get("range"))
    try:
        if last is not None and last < first:
            raise UnsatisfiableRange(name, first)
        stream = await blobs.open_stream(name, first, last)
    except UnsatisfiableRange:
        return range_not_satisfiable(await blobs.size(name) or 0, headers)
    if stream is None:
        raise MediaNotFound(f"No media named {name}.")
    headers["Content-Length"] = str(stream.content_length)
    status = 200
    if stream.is_partial:
        status = 206
        headers["Content-Range"] = f"bytes {stream.first_byte}-{stream.last_byte}/{stream.total_size}"
    return StreamingResponse(
        stream.chunks(), status_code=status, media_type=media_type, headers=headers,
        background=BackgroundTask(stream.aclose),
    )  # fmt: skip


def _single_range(header: str | None) -> tuple[int, int | None]:
    """(first, last) of a single `bytes=` range; anything else means the whole blob (RFC 9110 allows that)."""
    match = _RANGE.match(header or "")
    if match is None:
        return 0, None
    start, end = match.groups()
    return int(start), int(end) if end else None


def _file_response(request: Request, path: str, media_type: str, etag: str) -> Response:
    headers = {"Cache-Control": IMMUTABLE_CACHE, "ETag": etag}
    if etag_matches(request.headers.get("if-none-match", ""), etag):
        return Response(status_code=304, headers=headers)
    requested = request.headers.get("range")
    if requested is not None:
        size = os.stat(path).st_size
        try:
            parse_ranges(requested, size)
        except RangeNotSatisfiable:
            return range_not_satisfiable(size, headers)
    return MediaFileResponse(path, media_type=media_type, headers=headers)
