"""Optional API keys: checking the key a request presents, and which sessions that key may use.

A session started with a key carries a tag in its id (HMAC of the id's random part under that key), so any
instance can tell which key owns a session without storing the key or a new column, and a key that did not
start a session cannot tell it from one that does not exist.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
import secrets
from collections.abc import Mapping, Sequence
from urllib.parse import parse_qsl

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from interviewai.api.errors import error_response
from interviewai.domain.errors import SessionNotFound
from interviewai.domain.session import new_session_id

API_PREFIX = "/api/v1/"
# Liveness and readiness stay open: load balancers and orchestrators probe them without a key.
OPEN_PATHS = frozenset({"/api/v1/health", "/api/v1/health/ready"})
# Players (`<audio>`, `<video>`, ExoPlayer without a custom data source) and browsers' WebSocket cannot
# send headers, so these also take `?api_key=`; the access log masks it.
WEBSOCKET_PATH = "/api/v1/interview/session"
MEDIA_PREFIX = "/api/v1/media/"
WS_UNAUTHORIZED = 4401
_STATE_KEY = "api_key"
_SESSION_PREFIX = "session_"
_NONCE_BYTES = 16
_TAG_BYTES = 8
_TAG_CONTEXT = b"interviewai-session-owner:"
UNAUTHORIZED_MESSAGE = (
    "A valid API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'."
)
WWW_AUTHENTICATE = 'Bearer realm="interviewai"'


class ApiKeys:
    """The configured keys; matching hashes both sides so the comparison takes the same time for any key."""

    def __init__(self, keys: Sequence[str]) -> None:
        self._digests = [(hashlib.sha256(key.encode()).digest(), key.encode()) for key in keys]

    @property
    def enabled(self) -> bool:
        """Whether any key is configured (no key: the API is open)."""
        return bool(self._digests)

    def match(self, presented: str | None) -> bytes | None:
        """The configured key equal to `presented`, or None; every key is compared, with no early exit."""
        if presented is None:
            return None
        candidate = hashlib.sha256(presented.encode(errors="surrogateescape")).digest()
        found = None
        for digest, key in self._digests:
            if hmac.compare_digest(candidate, digest):
                found = key
        return found


def key_id(key: bytes) -> str:
    """A short, stable name for a key that reveals nothing about it (for rate-limit buckets)."""
    return hashlib.sha256(b"interviewai-key-id:" + key).hexdigest()[:16]


def presented_key(scope: Scope) -> str | None:
    """The key a request carries: `Authorization: Bearer`, `X-API-Key`, or `?api_key=` where allowed."""
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    for name, value in headers:
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and credentials.strip():
                return credentials.strip()
        elif name == b"x-api-key" and value:
            return value.decode("latin-1").strip()
    if scope["path"] == WEBSOCKET_PATH or scope["path"].startswith(MEDIA_PREFIX):
        query: str = scope.get("query_string", b"").decode("latin-1")
        for field, text in parse_qsl(query, keep_blank_values=True):
            if field == "api_key":
                return text
    return None


def request_key(connection: HTTPConnection) -> bytes | None:
    """The key the guard accepted for this request; None when keys are off."""
    key: bytes | None = connection.scope.get("state", {}).get(_STATE_KEY)
    return key


def session_id_for(key: bytes | None) -> str:
    """A new session id; with a key, the same shape (192 bits, URL-safe) of which 64 bits tag the owner."""
    if key is None:
        return new_session_id()
    nonce = secrets.token_bytes(_NONCE_BYTES)
    token = base64.urlsafe_b64encode(nonce + _owner_tag(key, nonce)).decode()
    return _SESSION_PREFIX + token.rstrip("=")


def key_owns_session(key: bytes | None, session_id: str) -> bool:
    """True when keys are off, or when `session_id` was made by `session_id_for(key)`."""
    if key is None:
        return True
    token = session_id.removeprefix(_SESSION_PREFIX)
    if token == session_id or not re.fullmatch(r"[A-Za-z0-9_-]+", token):
        return False
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return False
    if len(raw) != _NONCE_BYTES + _TAG_BYTES:
        return False
    return hmac.compare_digest(raw[_NONCE_BYTES:], _owner_tag(key, raw[:_NONCE_BYTES]))


def _owner_tag(key: bytes, nonce: bytes) -> bytes:
    return hmac.new(key, _TAG_CONTEXT + nonce, hashlib.sha256).digest()[:_TAG_BYTES]


def check_session_owner(key: bytes | None, session_id: str) -> None:
    """Raise the same error as for an unknown session when `key` did not start `session_id`."""
    if not key_owns_session(key, session_id):
        raise SessionNotFound(f"No interview session with id {session_id!r}.")


async def require_session_owner(connection: HTTPConnection) -> None:
    """App-wide dependency: any route with a `session_id` path parameter serves only the owning key."""
    session_id = connection.path_params.get("session_id")
    if isinstance(session_id, str):
        check_session_owner(request_key(connection), session_id)


class ApiKeyGuard:
    """Requires a configured key on every /api/v1 route but the health checks (HTTP 401, WebSocket 4401)."""

    def __init__(self, app: ASGIApp, keys: ApiKeys, exempt_prefix: str | None = None) -> None:
        self.app = app
        self.keys = keys
        # Routes with keys of their own (the admin's /banks when ADMIN_API_KEYS is set).
        self.exempt_prefix = exempt_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A guarded request without a configured key gets 401 `unauthorized` (a socket: an `error` message,
        then close 4401); with one, the key goes into the scope's state for the session-owner checks. Other
        paths and scopes pass through."""
        exempt = self.exempt_prefix is not None and scope["path"].startswith(self.exempt_prefix)
        if scope["type"] not in ("http", "websocket") or not _guarded(scope["path"]) or exempt:
            await self.app(scope, receive, send)
            return
        key = self.keys.match(presented_key(scope))
        if key is None:
            if scope["type"] == "http":
                response = error_response(
                    401, "unauthorized", UNAUTHORIZED_MESSAGE, headers={"WWW-Authenticate": WWW_AUTHENTICATE}
                )
                await response(scope, receive, send)
            else:
                error = {"code": "unauthorized", "message": UNAUTHORIZED_MESSAGE}
                await refuse_websocket(receive, send, error, WS_UNAUTHORIZED)
            return
        scope.setdefault("state", {})[_STATE_KEY] = key
        await self.app(scope, receive, send)


def _guarded(path: str) -> bool:
    return path.startswith(API_PREFIX) and path.rstrip("/") not in OPEN_PATHS


async def refuse_websocket(receive: Receive, send: Send, data: Mapping[str, object], close_code: int) -> None:
    """Accept, send one `error` message and close: closing before accepting would reach the client as a
    bare HTTP 403, without the reason or the close code."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": json.dumps({"type": "error", "data": data})})
    await send({"type": "websocket.close", "code": close_code, "reason": str(data["code"])})


class SecretQueryFilter(logging.Filter):
    """Masks `api_key=` values in log records (uvicorn's access log prints URLs with their query)."""

    _PATTERN = re.compile(r"(api_key=)[^&\s\"']*", re.IGNORECASE)

    def filter(self, record: logging.LogRecord) -> bool:
        """Masks every `api_key=` value in the record's message and arguments; never drops the record."""
        if isinstance(record.args, tuple):
            record.args = tuple(
                self._PATTERN.sub(r"\1***", arg) if isinstance(arg, str) else arg for arg in record.args
            )
        if isinstance(record.msg, str):
            record.msg = self._PATTERN.sub(r"\1***", record.msg)
        return True


def install_log_masking(logger_names: Sequence[str] = ("uvicorn.access", "uvicorn.error")) -> None:
    """Add the mask to the loggers that print request URLs, once per process."""
    for name in logger_names:
        target = logging.getLogger(name)
        if not any(isinstance(existing, SecretQueryFilter) for existing in target.filters):
            target.addFilter(SecretQueryFilter())
