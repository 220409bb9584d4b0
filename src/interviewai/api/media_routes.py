"""Routes of the served media under /api/v1/media: question audio, clips, presenter assets, the avatar image."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from interviewai.api.deps import MediaDep, PackagedMediaDep
from interviewai.api.media_responses import MEDIA_RESPONSES, media_response
from interviewai.api.openapi import error_responses
from interviewai.domain.errors import MediaNotFound

router = APIRouter(prefix="/api/v1")

_MEDIA_KINDS = {
    "audio": (re.compile(r"^[0-9a-f]{64}\.mp3$"), "audio/mpeg"),
    "video": (re.compile(r"^[0-9a-f]{32}([0-9a-f]{32})?\.mp4$"), "video/mp4"),
    "presenter": (re.compile(r"^[0-9a-f]{64}\.(png|mp4)$"), "video/mp4"),
}
AVATAR_IMAGE = "avatar.png"


@router.get(
    "/media/avatar.png",
    tags=["media"],
    response_class=StreamingResponse,
    responses=MEDIA_RESPONSES,
    operation_id="getAvatarImage",
)
async def avatar_image(request: Request, packaged: PackagedMediaDep) -> Response:
    """Our own drawn avatar (shown when the presenter has no picture), from the package's resources."""
    return await media_response(
        request,
        packaged,
        AVATAR_IMAGE,
        "image/png",
        etag='"avatar-v1"',
        missing=MediaNotFound(f"No media named {AVATAR_IMAGE}."),
    )


@router.get(
    "/media/{folder}/{file_name}",
    tags=["media"],
    response_class=StreamingResponse,
    responses={**MEDIA_RESPONSES, **error_responses(404, 416)},
    operation_id="getMedia",
)
async def served_media(folder: str, file_name: str, request: Request, media: MediaDep) -> Response:
    """Question audio, re-hosted clips and presenter assets, by content-addressed name."""
    kind = _MEDIA_KINDS.get(folder)
    if kind is None or not kind[0].match(file_name):
        raise MediaNotFound(f"No media named {folder}/{file_name}.")
    name = f"{folder}/{file_name}"
    media_type = kind[1] if not file_name.endswith(".png") else "image/png"
    return await media_response(
        request,
        media,
        name,
        media_type,
        etag=f'"{file_name.split(".")[0]}"',
        missing=MediaNotFound(f"No media named {name}."),
    )
