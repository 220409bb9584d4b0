"""The one place where errors become HTTP responses (`{detail, code}`) and WebSocket `error` messages."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from interviewai.api.json_safety import excerpt
from interviewai.domain.banks import BankExists, BankInUse, BankNotFound, InvalidBankUpload
from interviewai.domain.errors import (
    AudioTooLong,
    ConcurrentUpdate,
    DomainError,
    MediaNotFound,
    NoSpeech,
    ProviderError,
    RecordingNotFound,
    SessionExpired,
    SessionFinished,
    SessionNotFound,
    StoreUnavailable,
    UnreadableAudio,
    UnsafeBlobName,
    UnsatisfiableRange,
    UnsupportedAudio,
    WrongQuestion,
)
from interviewai.domain.plans import InvalidPlanOption, JobDescriptionTooLong

logger = logging.getLogger(__name__)

DOMAIN_STATUS: dict[type[DomainError], int] = {
    SessionNotFound: 404,
    SessionExpired: 404,
    MediaNotFound: 404,
    UnsafeBlobName: 404,
    UnsatisfiableRange: 416,
    SessionFinished: 409,
    WrongQuestion: 409,
    ConcurrentUpdate: 409,
    # Plans and banks.
    InvalidPlanOption: 422,
    JobDescriptionTooLong: 413,
    BankNotFound: 404,
    BankInUse: 409,
    BankExists: 409,
    InvalidBankUpload: 422,
    # Spoken answers (issue 11).
    RecordingNotFound: 404,
    UnsupportedAudio: 415,
    UnreadableAudio: 422,
    NoSpeech: 422,
    AudioTooLong: 413,
}

HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    416: "range_not_satisfiable",
    429: "rate_limited",
}


class ApiError(Exception):
    """An error raised by a route for a request problem the domain does not know about."""

    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message


def error_response(
    status_code: int, code: str, detail: Any, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        status_code=status_code, content={"detail": jsonable_encoder(detail), "code": code}, headers=headers
    )


async def _domain_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainError)
    status_code = next((s for kind, s in DOMAIN_STATUS.items() if isinstance(error, kind)), 400)
    # A bank upload lists every problem, each with its line, rather than one sentence.
    detail: Any = error.problems if isinstance(error, InvalidBankUpload) else error.message
    return error_response(status_code, error.code, detail)


async def _api_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)
    return error_response(error.status_code, error.code, error.message)


def validation_problems(problems: list[Any]) -> list[dict[str, Any]]:
    """pydantic's problems as a client may read them: no `ctx` (it may hold exception objects), and the
    offending input only as a short excerpt (a 1 MB string, NaN or a lone surrogate is never echoed)."""
    return [
        {
            "type": p.get("type"),
            "loc": [excerpt(part) for part in p.get("loc", ())],
            "msg": p.get("msg"),
            **({"input": excerpt(p["input"])} if "input" in p else {}),
        }
        for p in problems
    ]


async def _validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = list(error.errors())
    code = "invalid_json" if any(p.get("type") == "json_invalid" for p in problems) else "validation_error"
    return error_response(422, code, validation_problems(problems))


# FastAPI answers a body its JSON parser could not decode with a bare 400 raised from the parser's error;
# these say which kind of bad body it was.
_BODY_PARSE_ERRORS: tuple[tuple[type[BaseException], int, str, str], ...] = (
    (UnicodeDecodeError, 400, "invalid_encoding", "The request body is not valid UTF-8."),
    (RecursionError, 400, "json_too_deep", "The request body's JSON is nested too deeply."),
    (ValueError, 422, "invalid_json", "The request body is not valid JSON."),
)


async def _http_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    if error.status_code == 400 and error.__cause__ is not None:
        for kind, status_code, code, message in _BODY_PARSE_ERRORS:
            if isinstance(error.__cause__, kind):
                return error_response(status_code, code, message)
    code = HTTP_CODES.get(error.status_code, "http_error")
    return error_response(error.status_code, code, error.detail, headers=dict(error.headers or {}))


async def _provider_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ProviderError)
    logger.error("no provider could serve the request: %s", error)
    return error_response(
        503, "provider_unavailable", provider_unavailable_message(error), headers={"Retry-After": "5"}
    )


def provider_unavailable_message(error: ProviderError) -> str:
    if error.provider == "recognition":
        return "No speech recogniser could hear this answer right now; try again shortly, or type it."
    return "The server could not produce this question's media right now; try again shortly."


# Seconds a client should wait before retrying after a 503 (the store's deadline is a few seconds).
STORE_RETRY_AFTER_S = 2


async def _store_unavailable(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StoreUnavailable)
    logger.warning("store unavailable on %s %s: %s", request.method, request.url.path, error.message)
    return error_response(
        503,
        error.code,
        error.message + " Try again shortly.",
        headers={"Retry-After": str(STORE_RETRY_AFTER_S)},
    )


async def _unexpected_error(request: Request, error: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    return error_response(500, "internal_error", "The server hit an unexpected error; it has been logged.")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(ProviderError, _provider_error)
    app.add_exception_handler(StoreUnavailable, _store_unavailable)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)


# WebSocket close codes: RFC 6455's own, and 4000 + the HTTP status in the application range (4404, 4409).
WS_NORMAL_CLOSURE = 1000
WS_POLICY_VIOLATION = 1008
WS_MESSAGE_TOO_BIG = 1009
WS_INTERNAL_ERROR = 1011
WS_TRY_AGAIN_LATER = 1013
_WS_CLOSE_FOR_STATUS = {413: WS_MESSAGE_TOO_BIG, 429: WS_POLICY_VIOLATION}
INTERNAL_ERROR_MESSAGE = "The server hit an unexpected error; it has been logged."


def domain_status(error: DomainError) -> int:
    """The HTTP status of a domain error (its WebSocket close code is 4000 + this)."""
    return next((s for kind, s in DOMAIN_STATUS.items() if isinstance(error, kind)), 400)


def websocket_error(error: Exception) -> dict[str, Any]:
    """The data of a WebSocket `error` message: `{code, message}` with the same stable codes as HTTP."""
    if isinstance(error, DomainError | ApiError | StoreUnavailable):
        return {"code": error.code, "message": error.message}
    if isinstance(error, ProviderError):
        logger.error("no provider could serve the WebSocket request: %s", error)
        return {"code": "provider_unavailable", "message": provider_unavailable_message(error)}
    if isinstance(error, ValidationError):
        problems = error.errors()
        detail = validation_problems(list(problems))
        message = "; ".join(f"{'.'.join(map(str, p['loc'])) or 'data'}: {p['msg']}" for p in detail)
        return {"code": "validation_error", "message": message, "detail": detail}
    logger.error("unhandled error on the interview WebSocket", exc_info=error)
    return {"code": "internal_error", "message": INTERNAL_ERROR_MESSAGE}


def websocket_close_code(error: Exception) -> int:
    """The close code of a socket that is closed because of `error`."""
    if isinstance(error, DomainError):
        return 4000 + domain_status(error)
    if isinstance(error, ApiError):
        return _WS_CLOSE_FOR_STATUS.get(error.status_code, 4000 + error.status_code)
    if isinstance(error, StoreUnavailable):
        return WS_TRY_AGAIN_LATER
    return WS_INTERNAL_ERROR
