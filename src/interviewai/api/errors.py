"""The one place where errors become HTTP responses (`{detail, code}`) and WebSocket `error` messages."""

from __future__ import annotations

import logging
from dataclasses import dataclass
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
    ProviderCategory,
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


class ApiError(Exception):
    """An error raised by a route for a request problem the domain does not know about."""

    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message


# WebSocket close codes: RFC 6455's own, and 4000 + the HTTP status in the application range (4404, 4409).
WS_NORMAL_CLOSURE = 1000
WS_POLICY_VIOLATION = 1008
WS_MESSAGE_TOO_BIG = 1009
WS_INTERNAL_ERROR = 1011
WS_TRY_AGAIN_LATER = 1013
# A route's own ApiError closes a socket with the RFC code where one says the same thing.
_WS_CLOSE_FOR_STATUS = {413: WS_MESSAGE_TOO_BIG, 429: WS_POLICY_VIOLATION}
INTERNAL_ERROR_MESSAGE = "The server hit an unexpected error; it has been logged."
# Seconds a client should wait before retrying after a 503 (the store's deadline is a few seconds).
STORE_RETRY_AFTER_S = 2
PROVIDER_RETRY_AFTER_S = 5


@dataclass(frozen=True)
class ErrorRule:
    """How one kind of error is answered, over HTTP and over the WebSocket alike.

    ``status`` None: the error's own ``status_code`` (an ApiError); ``code`` None: the error's own ``code``;
    ``ws_close`` None: by the status (the RFC code where ``_WS_CLOSE_FOR_STATUS`` has one, else 4000 +
    status); ``message`` None: the error's own message; ``log_level`` None: not logged here (a domain
    error is the client's, never a server problem); ``degrade``: what the candidate gets instead of this
    error while a provider fails, one line per kind of provider (documented, not decided, here).
    """

    status: int | None
    code: str | None
    ws_close: int | None
    retry_after_s: int | None = None
    message: str | None = None
    log_level: int | None = None
    log_stack: bool = False
    degrade: tuple[str, ...] = ()


def _domain(status: int) -> ErrorRule:
    return ErrorRule(status, None, 4000 + status)


# The one error map: looked up along the exception's MRO (a ProviderError's category row first). Every
# DomainError subclass has its own row (tests/test_error_map.py walks the package); the tree with these
# values is in docs/architecture.md, checked against this table by the same test.
ERROR_MAP: dict[type[BaseException] | ProviderCategory, ErrorRule] = {
    Exception: ErrorRule(
        500, "internal_error", WS_INTERNAL_ERROR, message=INTERNAL_ERROR_MESSAGE,
        log_level=logging.ERROR, log_stack=True,
    ),
    DomainError: _domain(400),
    SessionNotFound: _domain(404),
    SessionExpired: _domain(404),
    SessionFinished: _domain(409),
    WrongQuestion: _domain(409),
    ConcurrentUpdate: _domain(409),
    MediaNotFound: _domain(404),
    UnsafeBlobName: _domain(404),
    UnsatisfiableRange: _domain(416),
    # Plans and banks.
    InvalidPlanOption: _domain(422),
    JobDescriptionTooLong: _domain(413),
    BankNotFound: _domain(404),
    BankInUse: _domain(409),
    BankExists: _domain(409),
    InvalidBankUpload: _domain(422),
    # Spoken answers (issue 11).
    RecordingNotFound: _domain(404),
    UnsupportedAudio: _domain(415),
    UnreadableAudio: _domain(422),
    NoSpeech: _domain(422),
    AudioTooLong: _domain(413),
    ApiError: ErrorRule(None, None, None),
    StoreUnavailable: ErrorRule(
        503, None, WS_TRY_AGAIN_LATER, retry_after_s=STORE_RETRY_AFTER_S, log_level=logging.WARNING
    ),
    ProviderError: ErrorRule(
        503, "provider_unavailable", WS_INTERNAL_ERROR, retry_after_s=PROVIDER_RETRY_AFTER_S,
        log_level=logging.ERROR,
        degrade=(
            "edge (speech) -> the offline voice (piper)",
            "openai (recognition) -> the offline recogniser (whisper)",
            "d-id (video) -> audio-only",
            "llm (feedback) -> the rubric evaluator",
            "the last engine, s3 -> this 503",
        ),
    ),
    # A bug inside an adapter, passed on by the failover (never counted against the provider).
    ProviderCategory.INTERNAL: ErrorRule(
        500, "internal_error", WS_INTERNAL_ERROR, message=INTERNAL_ERROR_MESSAGE,
        log_level=logging.ERROR, log_stack=True,
    ),
}  # fmt: skip


def rule_for(error: BaseException) -> ErrorRule:
    """The row of ERROR_MAP that answers ``error``: its category's, else its nearest class's."""
    if isinstance(error, ProviderError) and error.category in ERROR_MAP:
        return ERROR_MAP[error.category]
    return next(ERROR_MAP[kind] for kind in type(error).__mro__ if kind in ERROR_MAP)


@dataclass(frozen=True)
class ErrorAnswer:
    """What ``rule_for`` decides for one error instance: status, code, close code, message, headers."""

    status: int
    code: str
    ws_close: int
    message: str
    headers: dict[str, str] | None


def answer_for(error: BaseException) -> ErrorAnswer:
    """The answer to ``error`` from its rule, with the parts the error itself carries filled in."""
    rule = rule_for(error)
    status = rule.status if rule.status is not None else int(getattr(error, "status_code", 500))
    code = rule.code if rule.code is not None else str(getattr(error, "code", "internal_error"))
    ws_close = rule.ws_close if rule.ws_close is not None else _WS_CLOSE_FOR_STATUS.get(status, 4000 + status)
    if rule.message is not None:
        message = rule.message
    elif isinstance(error, ProviderError):
        message = provider_unavailable_message(error)
    else:
        message = str(getattr(error, "message", error))
    headers = {"Retry-After": str(rule.retry_after_s)} if rule.retry_after_s is not None else None
    return ErrorAnswer(status, code, ws_close, message, headers)


def _log(error: BaseException, where: str) -> None:
    rule = rule_for(error)
    if rule.log_level is None:
        return
    if isinstance(error, ProviderError | StoreUnavailable) and not rule.log_stack:
        logger.log(rule.log_level, "%s on %s: %s", type(error).__name__, where, error)
    else:
        logger.log(rule.log_level, "unhandled error on %s", where, exc_info=error if rule.log_stack else None)


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


def error_response(
    status_code: int, code: str, detail: Any, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The `{detail, code}` body every error answer has."""
    return JSONResponse(
        status_code=status_code, content={"detail": jsonable_encoder(detail), "code": code}, headers=headers
    )


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


def provider_unavailable_message(error: ProviderError) -> str:
    """What the client reads when no provider could serve it: about its answer or about the media."""
    if error.provider == "recognition":
        return "No speech recogniser could hear this answer right now; try again shortly, or type it."
    return "The server could not produce this question's media right now; try again shortly."


def _http_detail(error: BaseException, answer: ErrorAnswer) -> Any:
    """The few bodies that are not the answer's message."""
    if isinstance(error, InvalidBankUpload):
        return error.problems  # every problem, each with its line, rather than one sentence
    if isinstance(error, StoreUnavailable):
        return answer.message + " Try again shortly."
    return answer.message


async def _error(request: Request, error: Exception) -> JSONResponse:
    """Every error the table answers (domain, route, store, provider, unexpected)."""
    _log(error, f"{request.method} {request.url.path}")
    answer = answer_for(error)
    return error_response(answer.status, answer.code, _http_detail(error, answer), headers=answer.headers)


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error through the table: the generic handler, request validation and parse errors."""
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for kind in (DomainError, ApiError, ProviderError, StoreUnavailable, Exception):
        app.add_exception_handler(kind, _error)


def domain_status(error: DomainError) -> int:
    """The HTTP status of a domain error (its WebSocket close code is 4000 + this)."""
    return answer_for(error).status


def websocket_error(error: Exception) -> dict[str, Any]:
    """The data of a WebSocket `error` message: `{code, message}` with the same stable codes as HTTP."""
    if isinstance(error, ValidationError):
        detail = validation_problems(list(error.errors()))
        message = "; ".join(f"{'.'.join(map(str, p['loc'])) or 'data'}: {p['msg']}" for p in detail)
        return {"code": "validation_error", "message": message, "detail": detail}
    _log(error, "the interview WebSocket")
    answer = answer_for(error)
    return {"code": answer.code, "message": answer.message}


def websocket_close_code(error: Exception) -> int:
    """The close code of a socket that is closed because of `error`."""
    return answer_for(error).ws_close
