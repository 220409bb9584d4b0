"""Structured logs: text or JSON lines with the request id, route and a tag of the session, never its id.

A session id is a bearer secret (whoever has it can answer for the candidate), so it never reaches a log
line: every formatted line, tracebacks included, has ids replaced by ``session~<tag>``, the first 12 hex
digits of a keyed SHA-256 of the id. The id carries 128 or more random bits, so the tag cannot be turned
back into it, while the same session always gets the same tag on every instance (grep for it).
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import hmac
import logging
import re
import sys
from collections.abc import Iterator, Mapping
from typing import Any, Literal

from asgi_correlation_id.context import correlation_id
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["text", "json"]
ACCESS_LOGGER = "interviewai.access"
REQUEST_ID_HEADER = "X-Request-ID"
_TAG_KEY = b"interviewai-log-session-tag"
_SESSION_ID = re.compile(r"session_[A-Za-z0-9_-]{16,}")
# What a client may send as its request id: enough for UUIDs, ULIDs and trace ids, nothing that breaks a line.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:/+=-]{1,128}$")
_route: contextvars.ContextVar[str | None] = contextvars.ContextVar("log_route", default=None)
_session: contextvars.ContextVar[str | None] = contextvars.ContextVar("log_session", default=None)
_HANDLER_NAME = "interviewai"


def session_tag(session_id: str) -> str:
    """A short, stable, non-reversible name for a session in logs."""
    return hmac.new(_TAG_KEY, session_id.encode(), hashlib.sha256).hexdigest()[:12]


def scrub(text: str) -> str:
    """``text`` with every session id replaced by its tag."""
    return _SESSION_ID.sub(lambda match: f"session~{session_tag(match.group(0))}", text)


def valid_request_id(value: str) -> bool:
    """True when a client-sent X-Request-ID may be adopted (1-128 of A-Za-z0-9._:/+=-); else one is made."""
    return bool(_REQUEST_ID.match(value))


def bind(route: str | None = None, session_id: str | None = None) -> None:
    """Name the route and session of what runs in this context from now on (a request, a job)."""
    if route is not None:
        _route.set(route)
    if session_id is not None:
        _session.set(session_tag(session_id))


def log_context() -> dict[str, str]:
    """What a background job needs to log as part of the request that queued it (taskiq labels)."""
    found = {"request_id": correlation_id.get(), "route": _route.get(), "session": _session.get()}
    return {key: value for key, value in found.items() if value}


@contextlib.contextmanager
def restored_context(labels: Mapping[str, Any]) -> Iterator[None]:
    """Run a job with the request id, route and session tag of the request that queued it."""
    tokens: list[tuple[contextvars.ContextVar[str | None], contextvars.Token[str | None]]] = []
    for name, variable in (("request_id", correlation_id), ("route", _route), ("session", _session)):
        value = labels.get(name)
        if isinstance(value, str) and value:
            tokens.append((variable, variable.set(value)))
    try:
        yield
    finally:
        for variable, token in reversed(tokens):
            variable.reset(token)


class ContextFilter(logging.Filter):
    """Adds ``request_id``, ``route`` and ``session`` (the tag) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Fills the three fields from the context unless the record already has them; never drops a
        record."""
        # A value the caller passed in `extra` (the access line's) wins over the context's.
        for name, value in (
            ("request_id", correlation_id.get()),
            ("route", _route.get()),
            ("session", _session.get()),
        ):
            if not hasattr(record, name):
                setattr(record, name, value or "-")
        return True


class ScrubbingJsonFormatter(JsonFormatter):
    """JSON log lines (one object per line) with session ids replaced by their tags."""

    def format(self, record: logging.LogRecord) -> str:
        """The JSON line of `record`, session ids scrubbed from every field."""
        return scrub(super().format(record))


class ScrubbingTextFormatter(logging.Formatter):
    """Plain-text log lines with session ids replaced by their tags."""

    def format(self, record: logging.LogRecord) -> str:
        """The text line of `record`, session ids scrubbed (message, arguments and traceback alike)."""
        return scrub(super().format(record))


def _formatter(log_format: LogFormat) -> logging.Formatter:
    if log_format == "json":
        return ScrubbingJsonFormatter(
            "{levelname}{name}{message}{request_id}{route}{session}",
            style="{",
            rename_fields={"levelname": "level", "name": "logger"},
            # ISO 8601 in UTC with milliseconds; uvicorn's ANSI-coloured copy of its message is left out.
            timestamp="time",
            reserved_attrs=[*RESERVED_ATTRS, "color_message"],
        )
    return ScrubbingTextFormatter(
        "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s %(route)s %(session)s] %(message)s"
    )


def configure_logging(log_format: LogFormat = "text", level: str = "INFO") -> None:
    """Send every logger to one stderr handler in `log_format`; uvicorn's access log is replaced by ours.

    Called by the entry points (``interviewai serve``/``worker``, ``main:app``), not by ``create_app``, so
    tests and embedding applications keep their own logging.
    """
    root = logging.getLogger()
    for existing in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(existing)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(ContextFilter())
    handler.setFormatter(_formatter(log_format))
    root.addHandler(handler)
    root.setLevel(level)
    # uvicorn's own handlers (set up before it imported the app) would print lines in their own format.
    for name in ("uvicorn", "uvicorn.error"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False
    access.disabled = True
    # One line per provider request drowns the server's own log; keep them for DEBUG.
    logging.getLogger("httpx").setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
