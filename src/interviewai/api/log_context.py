"""App-wide dependency naming the route and session of a request in its log lines."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from interviewai.observability import logging as log_context
from interviewai.observability.asgi import route_template


async def bind_log_context(connection: HTTPConnection) -> None:
    """Async on purpose: a sync dependency runs in a thread, and what it binds would not reach the route."""
    session_id = connection.path_params.get("session_id") or connection.query_params.get("session_id")
    log_context.bind(
        route=route_template(connection.scope), session_id=session_id if isinstance(session_id, str) else None
    )
