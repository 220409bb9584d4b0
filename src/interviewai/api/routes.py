"""Routes of the public API under /api/v1: status, interview flow and served media."""

from __future__ import annotations

import os
import re
from dataclasses import asdict
from datetime import datetime, timezone
from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.responses import FileResponse, StreamingResponse
from starlette.background import BackgroundTask

from interviewai import __version__
from interviewai.adapters.blobs.files import FileBlobStore
from interviewai.adapters.blobs.s3 import S3BlobStore
from interviewai.api.deps import ContainerDep, PlansDep, UrlsDep
from interviewai.api.http_details import (
    MediaFileResponse,
    RangeNotSatisfiable,
    etag_matches,
    parse_ranges,
    range_not_satisfiable,
)
from interviewai.api.openapi import error_responses
from interviewai.api.plans import PLAN_ERRORS, role_models
from interviewai.api.presenters import (
    avatar_image_url,
    idle_video_url,
    session_summary,
    start_options,
    status_response,
)
from interviewai.api.question_json import QuestionEncoderDep, delivery_http_response
from interviewai.api.schemas import (
    AnswerRequest,
    AvatarStatusResponse,
    CompletionResponse,
    Credits,
    EndResponse,
    FailureModel,
    HealthResponse,
    InterviewInfoResponse,
    InterviewStep,
    MetricsResponse,
    StartRequest,
    StartResponse,
    StatusResponse,
    VoiceModel,
    VoicesResponse,
)
from interviewai.api.security import request_key, session_id_for
from interviewai.container import Container
from interviewai.domain.errors import MediaNotFound, UnsatisfiableRange
from interviewai.domain.ports import BlobStore

router = APIRouter(prefix="/api/v1")

_SESSION_ERRORS = error_responses(404, 503)
_DELIVERY_ERRORS = error_responses(404, 409, 422, 503)
# Routes that read a JSON body can also refuse it before validation.
_BODY_ERRORS = error_responses(400, 413, 422)
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
STATUS_PROVIDER_DEADLINE_S = 3.0
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")
WaitQuery = Annotated[
    float | None,
    Query(ge=0, le=3600, description="Seconds to wait for the video; 0 answers at once with audio."),
]
MINUTES_PER_QUESTION = 2.5


@router.get("/health", response_model=HealthResponse, tags=["status"], operation_id="getHealth")
async def health() -> HealthResponse:
    return HealthResponse(service="interviewai", version=__version__)


@router.get(
    "/avatar/status", response_model=AvatarStatusResponse, tags=["status"], operation_id="getAvatarStatus"
)
async def avatar_status(container: ContainerDep) -> AvatarStatusResponse:
    # The status page must answer quickly even when the provider does not.
    report = await container.avatar.report(STATUS_PROVIDER_DEADLINE_S)
    if not report.configured:
        message = "Audio-only: questions come with audio, word timings, visemes and a static avatar image."
    elif report.disabled_by is not None:
        message = f"Video is off until the provider answers a probe: {report.disabled_by.reason}"
    else:
        message = "Video: each question comes with a clip of the presenter, and audio as a fallback."
    failure = report.last_failure
    credits = report.credits
    return AvatarStatusResponse(
        configured=report.configured,
        mode="video" if report.video_on else "audio_only",
        presenter_id=container.settings.did_presenter_id,
        credits=Credits(remaining=credits.remaining, total=credits.total) if credits else None,
        reachable=report.reachable,
        last_failure=(
            FailureModel(category=failure.category, message=failure.message, at=_iso_epoch(failure.at))
            if failure
            else None
        ),
        message=message,
    )


@router.get("/metrics", response_model=MetricsResponse, tags=["status"], operation_id="getMetrics")
async def metrics(container: ContainerDep) -> MetricsResponse:
    return MetricsResponse(
        syntheses=container.speech_media.syntheses,
        clips_created=container.avatar.clips_created,
        video_on=container.avatar.video_on,
        speech_engines=[
            {
                "engine": h.engine,
                "voice": h.voice,
                "breaker": h.breaker.value,
                "attempts": h.attempts,
                "successes": h.successes,
                "failures": h.failures,
                "skipped": h.skipped,
            }
            for h in container.speech.health()
        ],
    )


@router.get(
    "/interview/info", response_model=InterviewInfoResponse, tags=["status"], operation_id="getInterviewInfo"
)
async def interview_info(container: ContainerDep, urls: UrlsDep) -> InterviewInfoResponse:
    bank = container.interviews.bank
    assets = container.avatar.assets
    return InterviewInfoResponse(
        total_questions=len(bank),
        question_types=bank.question_types,
        estimated_duration_minutes=round(len(bank) * MINUTES_PER_QUESTION),
        avatar_mode=_mode(container),
        avatar_image_url=avatar_image_url(assets, urls),
        idle_video_url=idle_video_url(assets, urls),
        presenter_id=container.settings.did_presenter_id,
        roles=role_models(container.plans.roles()),
    )


@router.get("/voices", response_model=VoicesResponse, tags=["status"], operation_id="listVoices")
async def voices(container: ContainerDep) -> VoicesResponse:
    found = await container.speech.list_voices()
    return VoicesResponse(voices=[VoiceModel(**asdict(voice)) for voice in found])


@router.post(
    "/interview/start",
    response_model=StartResponse,
    responses={**_BODY_ERRORS, **PLAN_ERRORS},
    tags=["interview"],
    operation_id="startInterview",
)
async def start_interview(
    request: Request,
    container: ContainerDep,
    plans: PlansDep,
    urls: UrlsDep,
    options: Annotated[StartRequest | None, Body()] = None,
) -> StartResponse:
    plan_request = (options or StartRequest()).plan_request()
    plan = None if plan_request.is_default else await plans.plan(plan_request)
    session = await container.interviews.start(
        plan, session_id=session_id_for(request_key(request)), options=start_options(options)
    )
    assets = container.avatar.assets
    return StartResponse(
        session_id=session.id,
        state=session.state.value,
        total_questions=session.total_questions,
        avatar_mode=_mode(container),
        avatar_image_url=avatar_image_url(assets, urls),
        idle_video_url=idle_video_url(assets, urls),
        seed=plan.seed if plan else None,
        role=plan.role if plan else None,
        notes=list(plan.notes) if plan else [],
    )


@router.get(
    "/interview/{session_id}/question",
    response_model=InterviewStep,
    responses=_DELIVERY_ERRORS,
    tags=["interview"],
    operation_id="getQuestion",
)
async def current_question(
    session_id: str,
    container: ContainerDep,
    urls: UrlsDep,
    encoder: QuestionEncoderDep,
    wait: WaitQuery = None,
) -> Response | CompletionResponse:
    delivery = await container.interviews.current(session_id, video_wait_s=wait)
    return delivery_http_response(delivery, urls, container.avatar.assets, encoder)


@router.post(
    "/interview/{session_id}/answer",
    response_model=InterviewStep,
    responses={**_DELIVERY_ERRORS, **_BODY_ERRORS},
    tags=["interview"],
    operation_id="submitAnswer",
)
async def submit_answer(
    session_id: str,
    answer: AnswerRequest,
    container: ContainerDep,
    urls: UrlsDep,
    encoder: QuestionEncoderDep,
    wait: WaitQuery = None,
) -> Response | CompletionResponse:
    delivery = await container.interviews.answer(
        session_id, answer.question_id, answer.answer_text, video_wait_s=wait
    )
    return delivery_http_response(delivery, urls, container.avatar.assets, encoder)


@router.get(
    "/interview/{session_id}/status",
    response_model=StatusResponse,
    responses=_SESSION_ERRORS,
    tags=["interview"],
    operation_id="getStatus",
)
async def session_status(session_id: str, container: ContainerDep) -> StatusResponse:
    return status_response(await container.interviews.status(session_id))


@router.delete(
    "/interview/{session_id}",
    response_model=EndResponse,
    responses=_SESSION_ERRORS,
    tags=["interview"],
    operation_id="endInterview",
)
async def end_session(session_id: str, container: ContainerDep, urls: UrlsDep) -> EndResponse:
    session = await container.interviews.end(session_id)
    return EndResponse(
        message="Interview session ended.", session_id=session.id, summary=session_summary(session, urls)
    )


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


def _mode(container: Container) -> str:
    return "video" if container.avatar.video_on else "audio_only"


def _iso_epoch(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat().replace("+00:00", "Z")


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
