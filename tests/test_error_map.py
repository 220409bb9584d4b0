"""The one error map (api/errors.py ERROR_MAP): every domain error has a row, HTTP and WebSocket agree, the
wire answers are the ones clients rely on, and docs/architecture.md shows the tree the table makes."""

from __future__ import annotations

import importlib
import logging
import pkgutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI

import interviewai
from interviewai.api.errors import (
    ERROR_MAP,
    ApiError,
    ErrorRule,
    answer_for,
    install_error_handlers,
    rule_for,
    websocket_close_code,
    websocket_error,
)
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

ARCHITECTURE = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"
INTERNAL = "The server hit an unexpected error; it has been logged."
MEDIA_DOWN = "The server could not produce this question's media right now; try again shortly."

# What clients see today, written out by hand (not derived from the table): (error, HTTP status, code,
# HTTP detail, headers, WebSocket message, WebSocket close code).
WIRE: list[tuple[Exception, int, str, Any, dict[str, str], str, int]] = [
    (SessionNotFound("no such session"), 404, "session_not_found", "no such session", {}, "no such session", 4404),
    (SessionExpired("gone"), 404, "expired", "gone", {}, "gone", 4404),
    (SessionFinished("done"), 409, "session_finished", "done", {}, "done", 4409),
    (WrongQuestion("not that one"), 409, "wrong_question", "not that one", {}, "not that one", 4409),
    (ConcurrentUpdate("again"), 409, "concurrent_update", "again", {}, "again", 4409),
    (MediaNotFound("no clip"), 404, "media_not_found", "no clip", {}, "no clip", 4404),
    (UnsafeBlobName("../x"), 404, "media_not_found", "../x", {}, "../x", 4404),
    (UnsatisfiableRange("audio/a.mp3", 10), 416, "range_not_satisfiable",
     "audio/a.mp3: no bytes of the blob in the range starting at byte 10", {},
     "audio/a.mp3: no bytes of the blob in the range starting at byte 10", 4416),
    (InvalidPlanOption("role", "unknown"), 422, "validation_error", "role: unknown", {}, "role: unknown", 4422),
    (JobDescriptionTooLong("too long"), 413, "payload_too_large", "too long", {}, "too long", 4413),
    (BankNotFound("no bank"), 404, "bank_not_found", "no bank", {}, "no bank", 4404),
    (BankInUse("in use"), 409, "bank_in_use", "in use", {}, "in use", 4409),
    (BankExists("exists"), 409, "bank_exists", "exists", {}, "exists", 4409),
    (InvalidBankUpload("bad bank", ["line 1: x", "line 2: y"]), 422, "invalid_bank",
     ["line 1: x", "line 2: y"], {}, "bad bank", 4422),
    (RecordingNotFound("no recording"), 404, "recording_not_found", "no recording", {}, "no recording", 4404),
    (UnsupportedAudio("not audio"), 415, "unsupported_audio", "not audio", {}, "not audio", 4415),
    (UnreadableAudio("broken"), 422, "unreadable_audio", "broken", {}, "broken", 4422),
    (NoSpeech("silence"), 422, "no_speech", "silence", {}, "silence", 4422),
    (AudioTooLong("long"), 413, "audio_too_long", "long", {}, "long", 4413),
    (DomainError("a rule"), 400, "domain_error", "a rule", {}, "a rule", 4400),
    (ApiError(400, "unknown_type", "what?"), 400, "unknown_type", "what?", {}, "what?", 4400),
    (ApiError(413, "message_too_large", "big"), 413, "message_too_large", "big", {}, "big", 1009),
    (ApiError(429, "rate_limited", "slow down"), 429, "rate_limited", "slow down", {}, "slow down", 1008),
    (ApiError(422, "invalid_json", "not json"), 422, "invalid_json", "not json", {}, "not json", 4422),
    (StoreUnavailable("The sqlite store did not answer: locked."), 503, "store_unavailable",
     "The sqlite store did not answer: locked. Try again shortly.", {"retry-after": "2"},
     "The sqlite store did not answer: locked.", 1013),
    (ProviderError("speech", ProviderCategory.CONNECTIVITY, "down", retryable=True), 503,
     "provider_unavailable", MEDIA_DOWN, {"retry-after": "5"}, MEDIA_DOWN, 1011),
    (ProviderError("speech", ProviderCategory.AUTH, "bad key", retryable=False), 503,
     "provider_unavailable", MEDIA_DOWN, {"retry-after": "5"}, MEDIA_DOWN, 1011),
    (ProviderError("recognition", ProviderCategory.TIMEOUT, "slow", retryable=True), 503,
     "provider_unavailable",
     "No speech recogniser could hear this answer right now; try again shortly, or type it.",
     {"retry-after": "5"},
     "No speech recogniser could hear this answer right now; try again shortly, or type it.", 1011),
    (ProviderError("speech", ProviderCategory.INTERNAL, "TypeError()", retryable=False), 500,
     "internal_error", INTERNAL, {}, INTERNAL, 1011),
    (RuntimeError("a bug"), 500, "internal_error", INTERNAL, {}, INTERNAL, 1011),
    (KeyError("boundary"), 500, "internal_error", INTERNAL, {}, INTERNAL, 1011),
]  # fmt: skip


_LAYERS = ("interviewai.domain", "interviewai.services", "interviewai.adapters", "interviewai.api")
_NOT_IMPORTED = "interviewai.adapters.store.migrations"  # Alembic's env.py runs migrations when imported


def _package_classes(base: type[BaseException]) -> list[type[BaseException]]:
    """Every subclass of `base` defined in the package (its modules imported first, so none is missed)."""
    for module in pkgutil.walk_packages(interviewai.__path__, "interviewai."):
        if module.name.startswith(_LAYERS) and not module.name.startswith(_NOT_IMPORTED):
            importlib.import_module(module.name)
    found: list[type[BaseException]] = []
    pending = [base]
    while pending:
        kind = pending.pop()
        found.append(kind)
        pending.extend(kind.__subclasses__())
    return [k for k in found if k.__module__.startswith("interviewai.")]


def test_every_domain_error_has_its_own_row_and_its_close_code_is_4000_plus_its_status() -> None:
    domain_errors = _package_classes(DomainError)
    assert len(domain_errors) >= 20
    missing = [k.__name__ for k in domain_errors if k not in ERROR_MAP]
    assert not missing, f"add a row to ERROR_MAP (api/errors.py) for {missing}"
    for kind in domain_errors:
        rule = ERROR_MAP[kind]
        assert rule.status is not None and 400 <= rule.status < 500, kind
        assert rule.ws_close == 4000 + rule.status, kind
        assert rule.log_level is None, f"{kind.__name__} is the client's error, not logged as the server's"
        assert rule.code is None, f"{kind.__name__} answers with its own code"
        code = getattr(kind, "code", None)
        assert code != DomainError.code or kind is DomainError, f"{kind.__name__} needs its own code"


def test_the_other_error_families_have_rows_and_provider_subclasses_are_answered_as_provider_errors() -> None:
    for family in (ApiError, StoreUnavailable, ProviderError, Exception):
        assert family in ERROR_MAP
    for kind in _package_classes(ProviderError):
        assert next(k for k in kind.__mro__ if k in ERROR_MAP) is ProviderError, kind
    bug = ProviderError("piper", ProviderCategory.INTERNAL, "TypeError()", retryable=False)
    assert rule_for(bug) is ERROR_MAP[ProviderCategory.INTERNAL]
    # Only the categories that change the answer have a row: the rest are plain provider failures.
    assert [k for k in ERROR_MAP if isinstance(k, ProviderCategory)] == [ProviderCategory.INTERNAL]


@pytest.mark.parametrize(("error", "status", "code", "detail", "headers", "ws_message", "ws_close"), WIRE)
async def test_http_and_websocket_answers_are_the_ones_clients_rely_on(
    error: Exception,
    status: int,
    code: str,
    detail: Any,
    headers: dict[str, str],
    ws_message: str,
    ws_close: int,
) -> None:
    router = APIRouter()
    raised = error

    @router.get("/fail")
    async def fail() -> None:
        raise raised

    app = FastAPI()
    app.include_router(router)
    install_error_handlers(app)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/fail")
    assert (response.status_code, response.json()) == (status, {"detail": detail, "code": code})
    assert {k: v for k, v in response.headers.items() if k == "retry-after"} == headers
    assert websocket_error(error) == {"code": code, "message": ws_message}
    assert websocket_close_code(error) == ws_close
    answer = answer_for(error)
    assert (answer.status, answer.ws_close) == (status, ws_close)


def test_a_bug_passed_on_by_the_failover_is_logged_with_its_stack(caplog: pytest.LogCaptureFixture) -> None:
    bug = ProviderError("speech", ProviderCategory.INTERNAL, "TypeError('x')", retryable=False)
    bug.__cause__ = TypeError("x")
    with caplog.at_level(logging.ERROR, logger="interviewai.api.errors"):
        assert websocket_error(bug)["code"] == "internal_error"
        websocket_error(ProviderError("speech", ProviderCategory.SERVER, "down", retryable=True))
    stacked, plain = caplog.records
    assert stacked.exc_info is not None and stacked.exc_info[1] is bug
    assert plain.exc_info is None and "down" in plain.getMessage()


def _cell(rule: ErrorRule, kind: type[BaseException] | ProviderCategory) -> str:
    if rule.status is None:
        return "the route's status and code; ws 1009 for a 413, 1008 for a 429, else 4000 + status"
    code = rule.code if rule.code is not None else str(getattr(kind, "code", ""))
    cell = f"{rule.status} {code:<22} ws {rule.ws_close}"
    notes = []
    if rule.retry_after_s is not None:
        notes.append(f"Retry-After {rule.retry_after_s}")
    if rule.log_level is not None:
        notes.append(
            f"logged ({logging.getLevelName(rule.log_level).lower()}{', with stack' if rule.log_stack else ''})"
        )
    return cell + ("  " + ", ".join(notes) if notes else "")


def render_tree() -> str:
    """The table as a tree: classes indented under the nearest class of theirs that has a row."""
    classes = [k for k in ERROR_MAP if isinstance(k, type)]

    def parent(kind: type[BaseException]) -> type[BaseException] | None:
        return next((k for k in kind.__mro__[1:] if k in ERROR_MAP), None)

    lines: list[str] = []

    def walk(kind: type[BaseException], depth: int) -> None:
        rule = ERROR_MAP[kind]
        lines.append(f"{'  ' * depth + kind.__name__:<28}{_cell(rule, kind)}")
        if kind is ProviderError:
            for category in (k for k in ERROR_MAP if isinstance(k, ProviderCategory)):
                name = f"category {category.value}"
                lines.append(f"{'  ' * (depth + 1) + name:<28}{_cell(ERROR_MAP[category], category)}")
            lines.extend(f"{'  ' * (depth + 1)}degrades: {line}" for line in rule.degrade)
        for child in (k for k in classes if parent(k) is kind):
            walk(child, depth + 1)

    walk(Exception, 0)
    return "\n".join(lines)


def test_docs_architecture_shows_the_tree_the_table_makes() -> None:
    tree = render_tree()
    assert "SessionNotFound" in tree and "category internal" in tree
    assert f"```\n{tree}\n```" in ARCHITECTURE.read_text(encoding="utf-8"), (
        "docs/architecture.md's Errors section is not the table's tree; paste this there:\n" + tree
    )
