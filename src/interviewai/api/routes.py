"""Routes of the public API under /api/v1: status, interview flow and served media."""

from __future__ import annotations

import re
from dataclasses import asdict
from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from fastapi.responses import FileResponse

from interviewai import __version__
from interviewai.api.deps import ContainerDep, UrlsDep
from interviewai.api.presenters import (
    delivery_response,
    idle_video_url,
    session_summary,
    status_response,
)
from interviewai.api.schemas import (
    AnswerRequest,
    AvatarStatusResponse,
    CompletionResponse,
    EndResponse,
    ErrorResponse,
    HealthResponse,
    InterviewInfoResponse,
    QuestionResponse,
    StartRequest,
    StartResponse,
    StatusResponse,
    VoiceModel,
    VoicesResponse,
)
from interviewai.domain.errors import MediaNotFound
from interviewai.settings import AvatarMode

router = APIRouter(prefix="/api/v1")

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {
        "model": ErrorResponse,
        "description": "Unknown or expired session (`session_not_found`, `expired`)",
    },
    409: {"model": ErrorResponse, "description": "Wrong question or finished session"},
    422: {"model": ErrorResponse, "description": "Malformed request (`validation_error`, `invalid_json`)"},
}
# Content-addressed media never changes under its name, so clients may cache it for a year.
IMMUTABLE_CACHE = "public, max-age=31536000, immutable"
_AUDIO_NAME = re.compile(r"^[0-9a-f]{64}\.mp3$")
MINUTES_PER_QUESTION = 2.5


@router.get("/health", response_model=HealthResponse, tags=["status"])
async def health() -> HealthResponse:
    return HealthResponse(service="interviewai", version=__version__)


@router.get("/avatar/status", response_model=AvatarStatusResponse, tags=["status"])
async def avatar_status(container: ContainerDep) -> AvatarStatusResponse:
    settings = container.settings
    configured = bool(settings.did_api_key.get_secret_value())
    mode = settings.effective_avatar_mode
    if mode is AvatarMode.AUDIO_ONLY:
        message = "Audio-only: questions come with audio, word timings, visemes and a static avatar image."
    else:
        message = "A D-ID key is set, but this build cannot render video yet; questions are audio-only."
    return AvatarStatusResponse(
        configured=configured, mode=mode.value, presenter_id=settings.did_presenter_id, message=message
    )


@router.get("/interview/info", response_model=InterviewInfoResponse, tags=["status"])
async def interview_info(container: ContainerDep, urls: UrlsDep) -> InterviewInfoResponse:
    bank = container.interviews.bank
    return InterviewInfoResponse(
        total_questions=len(bank),
        question_types=bank.question_types,
        estimated_duration_minutes=round(len(bank) * MINUTES_PER_QUESTION),
        avatar_mode=container.settings.effective_avatar_mode.value,
        avatar_image_url=urls.avatar_image(),
        idle_video_url=idle_video_url(container.settings),
        presenter_id=container.settings.did_presenter_id,
    )


@router.get("/voices", response_model=VoicesResponse, tags=["status"])
async def voices(container: ContainerDep) -> VoicesResponse:
    found = await container.speech.list_voices()
    return VoicesResponse(voices=[VoiceModel(**asdict(voice)) for voice in found])


@router.post("/interview/start", response_model=StartResponse, responses=_ERRORS, tags=["interview"])
async def start_interview(
    container: ContainerDep,
    urls: UrlsDep,
    _options: Annotated[StartRequest | None, Body()] = None,
) -> StartResponse:
    session = await container.interviews.start()
    return StartResponse(
        session_id=session.id,
        state=session.state.value,
        total_questions=session.total_questions,
        avatar_mode=container.settings.effective_avatar_mode.value,
        avatar_image_url=urls.avatar_image(),
        idle_video_url=idle_video_url(container.settings),
    )


@router.get(
    "/interview/{session_id}/question",
    response_model=QuestionResponse | CompletionResponse,
    responses=_ERRORS,
    tags=["interview"],
)
async def current_question(
    session_id: str, container: ContainerDep, urls: UrlsDep
) -> QuestionResponse | CompletionResponse:
    delivery = await container.interviews.current(session_id)
    return delivery_response(delivery, container.settings, urls)


@router.post(
    "/interview/{session_id}/answer",
    response_model=QuestionResponse | CompletionResponse,
    responses=_ERRORS,
    tags=["interview"],
)
async def submit_answer(
    session_id: str, answer: AnswerRequest, container: ContainerDep, urls: UrlsDep
) -> QuestionResponse | CompletionResponse:
    delivery = await container.interviews.answer(session_id, answer.question_id, answer.answer_text)
    return delivery_response(delivery, container.settings, urls)


@router.get(
    "/interview/{session_id}/status", response_model=StatusResponse, responses=_ERRORS, tags=["interview"]
)
async def session_status(session_id: str, container: ContainerDep) -> StatusResponse:
    return status_response(await container.interviews.status(session_id))


@router.delete("/interview/{session_id}", response_model=EndResponse, responses=_ERRORS, tags=["interview"])
async def end_session(session_id: str, container: ContainerDep) -> EndResponse:
    session = await container.interviews.end(session_id)
    return EndResponse(
        message="Interview session ended.", session_id=session.id, summary=session_summary(session)
    )


@router.get("/media/avatar.png", tags=["media"], response_class=FileResponse)
async def avatar_image(request: Request) -> Response:
    path = resources.files("interviewai.resources").joinpath("avatar.png")
    return _file_response(request, str(path), "image/png", etag='"avatar-v1"')


@router.get("/media/audio/{file_name}", tags=["media"], response_class=FileResponse, responses=_ERRORS)
async def question_audio(file_name: str, request: Request, container: ContainerDep) -> Response:
    if not _AUDIO_NAME.match(file_name):
        raise MediaNotFound(f"No audio named {file_name!r}.")
    name = f"audio/{file_name}"
    if not await container.blobs.exists(name):
        raise MediaNotFound(f"No audio named {file_name!r}.")
    return _file_response(
        request, str(container.blobs.path_for(name)), "audio/mpeg", etag=f'"{file_name[:64]}"'
    )


def _file_response(request: Request, path: str, media_type: str, etag: str) -> Response:
    headers = {"Cache-Control": IMMUTABLE_CACHE, "ETag": etag}
    if_none_match = request.headers.get("if-none-match", "")
    if etag in {tag.strip() for tag in if_none_match.split(",")} or if_none_match.strip() == "*":
        return Response(status_code=304, headers=headers)
    return FileResponse(path, media_type=media_type, headers=headers)
