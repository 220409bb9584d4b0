"""Optional CORS (`CORS_ORIGINS`) for browsers on other origins, and the same list for WebSocket handshakes."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from interviewai.api.errors import error_response

ALLOWED_METHODS = ("GET", "HEAD", "POST", "DELETE", "OPTIONS")
ALLOWED_HEADERS = ("Authorization", "X-API-Key", "Content-Type", "Range", "If-None-Match")
# What a browser script may read from a response: the retry hint, caching and range headers, the auth scheme.
EXPOSED_HEADERS = (
    "Retry-After",
    "ETag",
    "Content-Range",
    "Accept-Ranges",
    "Content-Length",
    "WWW-Authenticate",
)
PREFLIGHT_MAX_AGE_S = 600


def parse_origins(value: str) -> list[str]:
    """`CORS_ORIGINS`: `*`, or comma-separated origins like `https://app.example.com`."""
    return [origin.strip().rstrip("/") for origin in value.split(",") if origin.strip()]


class ApiCors(CORSMiddleware):
    """Starlette's CORS, except that origins outside the list get no `Access-Control-*` header at all and a
    refused preflight is a `{detail, code}` body like every other error."""

    def __init__(self, app: ASGIApp, origins: Sequence[str]) -> None:
        super().__init__(
            app,
            allow_origins=list(origins),
            allow_methods=ALLOWED_METHODS,
            allow_headers=ALLOWED_HEADERS,
            expose_headers=EXPOSED_HEADERS,
            max_age=PREFLIGHT_MAX_AGE_S,
        )

    def preflight_response(self, request_headers: Headers) -> Response:
        """Starlette's preflight answer for a listed origin; an unlisted origin, method or header is a 400
        error body (`cors_origin_not_allowed`, `cors_preflight_refused`) that keeps the CORS and Vary
        headers."""
        origin = request_headers["origin"]
        if not self.is_allowed_origin(origin):
            return error_response(
                400, "cors_origin_not_allowed", f"Origin {origin!r} may not call this API.", headers=_VARY
            )
        response = super().preflight_response(request_headers)
        if response.status_code == 200:
            return response
        headers = {
            name: value
            for name, value in response.headers.items()
            if name.startswith("access-control-") or name == "vary"
        }
        detail = bytes(response.body).decode()
        return error_response(400, "cors_preflight_refused", detail + ".", headers=headers)

    async def simple_response(
        self, scope: Scope, receive: Receive, send: Send, request_headers: Headers
    ) -> None:
        """Starlette's headers for a listed origin; a request from any other origin is served with no CORS
        header (so the browser keeps the answer from the script) and `Vary: Origin`."""
        origin = request_headers.get("origin")
        if origin is None or self.is_allowed_origin(origin):
            await super().simple_response(scope, receive, send, request_headers)
            return
        await self.app(scope, receive, functools.partial(_vary_on_origin, send=send))


_VARY = {"Vary": "Origin"}


async def _vary_on_origin(message: Message, send: Send) -> None:
    # The answer depends on the Origin (allowed ones get headers), so caches must keep them apart.
    if message["type"] == "http.response.start":
        headers = MutableHeaders(scope=message)
        headers["Vary"] = ", ".join([*headers.getlist("Vary"), "Origin"])
    await send(message)


class WebSocketOrigins:
    """Refuses (HTTP 403) a WebSocket handshake whose browser `Origin` is neither listed nor the server's own.

    Clients that are not browsers send no Origin and are not affected; the web client is same-origin.
    """

    def __init__(self, app: ASGIApp, origins: Sequence[str]) -> None:
        self.app = app
        self.allow_all = "*" in origins
        self.origins = frozenset(origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A WebSocket handshake from a browser origin neither listed nor our own is closed before it is
        accepted (the client sees HTTP 403); everything else passes through."""
        if scope["type"] == "websocket" and not self.allow_all:
            headers = Headers(scope=scope)
            origin = headers.get("origin")
            if origin is not None and origin not in self.origins and not _same_origin(origin, headers):
                await receive()
                await send({"type": "websocket.close", "code": 1008, "reason": "origin not allowed"})
                return
        await self.app(scope, receive, send)


def _same_origin(origin: str, headers: Headers) -> bool:
    host = headers.get("host")
    parts = urlsplit(origin)
    return host is not None and parts.scheme in ("http", "https") and parts.netloc == host
