"""Spoken answers over HTTP: multipart `POST .../answer` with `question_id` and `audio`, and the kept
recording at `GET .../answers/{question_id}/audio`.

The multipart route shares its path with the typed-answer route: its route class matches only requests
whose Content-Type is multipart/form-data, so a JSON answer never reaches it and behaves exactly as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field, ValidationError
from starlette.datastructures import UploadFile
from starlette.routing import Match
from starlette.types import Scope

from interviewai.api.deps import AvatarDep, MediaDep, SpokenDep, UrlsDep
from interviewai.api.errors import ApiError
from interviewai.api.media_responses import media_response
from interviewai.api.presenters import delivery_response
from interviewai.api.schemas import CompletionResponse, ErrorResponse, QuestionResponse
from interviewai.api.speech_presenters import recording_path
from interviewai.api.speech_schemas import SpeechMetricsModel, TranscriptWordModel
from interviewai.domain.errors import RecordingNotFound
from interviewai.domain.recognition import SUPPORTED_FORMATS as SUPPORTED
from interviewai.services.transcription import SpokenDelivery
from interviewai.settings import Settings

ANSWER_PATH = re.compile(r"^/api/v1/interview/[^/]+/answer$")
_MULTIPART = b"multipart/form-data"
# The form parser's limit on plain (non-file) fields; the document says so, so a client within it is read.
_MAX_FIELDS = 8


class HeardFields(BaseModel):
    """Added to the answer's response: what was heard."""

    answer_transcript: str
    answer_source: str = "speech"
    transcript_words: list[TranscriptWordModel]
    speech_metrics: SpeechMetricsModel
    answer_audio_url: str | None


class SpokenQuestionResponse(QuestionResponse, HeardFields):
    """The next question after a spoken answer, with what was heard."""


class SpokenCompletionResponse(CompletionResponse, HeardFields):
    """The completion after a spoken last answer, with what was heard."""


class _AnswerForm(BaseModel):
    question_id: int = Field(ge=1)


class MultipartOnlyRoute(APIRoute):
    """Matches only multipart/form-data requests; anything else goes on to the next route."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """The route's own match, made no match for a request that is not multipart/form-data."""
        match, child = super().matches(scope)
        if match is not Match.NONE and not _is_multipart(scope):
            return Match.NONE, {}
        return match, child


def _is_multipart(scope: Scope) -> bool:
    return bool(dict(scope.get("headers", [])).get(b"content-type", b"").lower().startswith(_MULTIPART))


def upload_allowance(settings: Settings) -> Callable[[Scope], int | None]:
    """For the body limit: a multipart answer may be as large as MAX_ANSWER_AUDIO_BYTES (plus its form)."""

    def allowance(scope: Scope) -> int | None:
        if (
            scope.get("method") == "POST"
            and ANSWER_PATH.match(scope.get("path", ""))
            and _is_multipart(scope)
        ):
            return settings.max_answer_audio_bytes + 64 * 1024
        return None

    return allowance


router = APIRouter(prefix="/api/v1", route_class=MultipartOnlyRoute)
recording_router = APIRouter(prefix="/api/v1")
_AUDIO_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "Unknown session (`session_not_found`, `expired`)"},
    409: {"model": ErrorResponse, "description": "Wrong question or finished session"},
    413: {"model": ErrorResponse, "description": "`payload_too_large` (bytes) or `audio_too_long` (seconds)"},
    415: {"model": ErrorResponse, "description": "Not audio, or not a format we take (`unsupported_audio`)"},
    422: {"model": ErrorResponse, "description": "`unreadable_audio`, `no_speech`, `validation_error`"},
    503: {"model": ErrorResponse, "description": "Every recogniser failed (`provider_unavailable`)"},
}


@router.post(
    "/interview/{session_id}/answer",
    response_model=SpokenQuestionResponse | SpokenCompletionResponse,
    include_in_schema=False,
)
async def submit_spoken_answer(
    session_id: str,
    request: Request,
    spoken: SpokenDep,
    avatar: AvatarDep,
    urls: UrlsDep,
    wait: Annotated[float | None, Query(ge=0, le=3600)] = None,
) -> SpokenQuestionResponse | SpokenCompletionResponse:
    """Answer the current question with a recording (multipart `question_id` and `audio`): the typed answer's
    reply plus what was heard. Not in the document on its own: `install_spoken_answers` adds its body to
    the typed answer's operation."""
    question_id, data, content_type, filename = await _read_form(request)
    heard = await spoken.answer_recording(
        session_id, question_id, data, content_type, filename, video_wait_s=wait
    )
    response = delivery_response(heard.delivery, urls, avatar.assets)
    fields = heard_fields(heard, session_id, question_id, urls)
    if isinstance(response, QuestionResponse):
        return SpokenQuestionResponse(**response.model_dump(), **fields)
    return SpokenCompletionResponse(**response.model_dump(), **fields)


def heard_fields(heard: SpokenDelivery, session_id: str, question_id: int, urls: Any) -> dict[str, Any]:
    """The additions of a spoken answer's response (HTTP and the WebSocket's final transcript)."""
    speech = heard.speech
    return {
        "answer_transcript": heard.transcript,
        "answer_source": "speech",
        "transcript_words": [asdict(w) for w in speech.words],
        "speech_metrics": asdict(speech.metrics),
        "answer_audio_url": urls(recording_path(session_id, question_id)) if speech.audio_blob else None,
    }


async def _read_form(request: Request) -> tuple[int, bytes, str | None, str | None]:
    """(question_id, audio bytes, declared type, file name) of the multipart answer."""
    try:
        form = await request.form(max_files=1, max_fields=_MAX_FIELDS, max_part_size=64 * 1024)
    except Exception as error:  # noqa: BLE001 - Starlette's MultiPartException or an HTTPException from the parser
        raise ApiError(400, "invalid_multipart", f"The multipart body cannot be read: {error}.") from None
    try:
        problems: list[dict[str, Any]] = []
        question_id = 0
        try:
            question_id = _AnswerForm.model_validate({"question_id": form.get("question_id")}).question_id
        except ValidationError as error:
            problems.extend({**p, "loc": ("body", *p["loc"])} for p in error.errors())
        upload = form.get("audio")
        if not isinstance(upload, UploadFile):
            problems.append(
                {
                    "type": "missing",
                    "loc": ("body", "audio"),
                    "msg": "an audio file is required",
                    "input": None,
                }
            )
        if problems:
            raise RequestValidationError(problems)
        assert isinstance(upload, UploadFile)
        return question_id, await upload.read(), upload.content_type, upload.filename
    finally:
        await form.close()  # the spooled upload files


@recording_router.get(
    "/interview/{session_id}/answers/{question_id}/audio",
    response_class=Response,
    responses={404: {"model": ErrorResponse, "description": "`recording_not_found` or unknown session"}},
    tags=["interview"],
)
async def answer_recording(
    session_id: str, question_id: int, request: Request, spoken: SpokenDep, media: MediaDep
) -> Response:
    """The kept recording of a spoken answer, as it was sent (WAV for raw PCM streams), streamed with an
    ETag and byte ranges like the other media."""
    name, media_type = await spoken.recording(session_id, question_id)
    return await media_response(
        request,
        media,
        name,
        media_type,
        # The name ends in the recording's position and content hash, so it names these bytes only.
        etag=f'"{name.rsplit("/", 1)[-1].split(".")[0]}"',
        missing=RecordingNotFound(f"The recording of question {question_id} is no longer kept."),
        # Session-scoped, and deleted when the session ends: private, and not for long.
        cache_control="private, max-age=3600",
    )


def install_spoken_answers(app: FastAPI) -> None:
    """Register the routes (the multipart one ahead of the typed-answer route) and document the multipart
    body on the answer operation of the OpenAPI schema."""
    app.include_router(router)
    app.include_router(recording_router)
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        operation = schema.get("paths", {}).get("/api/v1/interview/{session_id}/answer", {}).get("post")
        if operation is not None:
            content = operation.setdefault("requestBody", {}).setdefault("content", {})
            content["multipart/form-data"] = {
                "schema": {
                    "type": "object",
                    "required": ["question_id", "audio"],
                    # Fields up to the parser's limit plus the one file; more is 400 `invalid_multipart`.
                    # Other fields are ignored, one value each (a list would be sent as repeated fields).
                    "maxProperties": _MAX_FIELDS + 1,
                    "additionalProperties": {"type": ["string", "number", "boolean"]},
                    "properties": {
                        "question_id": {"type": "integer", "minimum": 1},
                        "audio": {
                            "type": "string",
                            "format": "binary",
                            "description": SUPPORTED,
                        },
                    },
                }
            }
            for status, description in _AUDIO_ERRORS.items():
                operation.setdefault("responses", {}).setdefault(
                    str(status), {"description": description["description"]}
                )
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
