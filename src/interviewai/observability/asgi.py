"""ASGI middleware measuring and logging every request by its route template (never the raw path: it holds
session ids)."""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from interviewai.observability import metrics
from interviewai.observability.logging import ACCESS_LOGGER, session_tag

UNMATCHED_ROUTE = "unmatched"
access_log = logging.getLogger(ACCESS_LOGGER)


def route_template(scope: Scope) -> str:
    """The path template the router matched (``/api/v1/interview/{session_id}/question``), else 'unmatched'."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED_ROUTE


class RequestObserver:
    """Times HTTP requests (until the response is complete), counts open WebSockets, writes the access log."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Times and logs each HTTP request, counts and logs each WebSocket; lifespan events pass through."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        if scope["type"] == "websocket":
            try:
                with metrics.websocket_open():
                    await self.app(scope, receive, send)
            finally:
                _access_line(scope, "WS", "closed", time.perf_counter() - started)
            return
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            elapsed = time.perf_counter() - started
            metrics.observe_http_request(route_template(scope), scope["method"], status, elapsed)
            _access_line(scope, scope["method"], status, elapsed)


def _access_line(scope: Scope, method: str, status: int | str, elapsed_s: float) -> None:
    route = route_template(scope)
    extra: dict[str, Any] = {
        "route": route,
        "method": method,
        "status": status,
        "duration_ms": round(elapsed_s * 1000, 1),
    }
    session_id = scope.get("path_params", {}).get("session_id")
    if isinstance(session_id, str):
        extra["session"] = session_tag(session_id)
    access_log.info("%s %s %s %.1f ms", method, route, status, elapsed_s * 1000, extra=extra)
