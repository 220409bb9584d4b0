"""Request bodies bounded by the bytes that arrive, whatever the framing (Content-Length or chunked)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from interviewai.api.errors import error_response


class BodyTooLarge(StarletteHTTPException):
    """Raised from `receive` once more than the limit has arrived; the error handlers turn it into a 413."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"The request body must be at most {max_bytes} bytes.")


class BodyLimit:
    """Refuses a body that declares more than `max_bytes` at once, and stops one that streams past it.

    Counting what `receive` hands over (rather than trusting Content-Length) covers chunked bodies: nothing
    past the limit is ever buffered, and the rest of the upload is left to the server to discard.
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, allowance: Callable[[Scope], int | None] | None = None
    ) -> None:
        """`allowance(scope)` may raise the limit for some requests (audio answers); None keeps it."""
        self.app = app
        self.max_bytes = max_bytes
        self.allowance = allowance

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """An HTTP request that declares more than its limit (or a Content-Length that is no number) gets 413
        `payload_too_large` before the app runs; one that streams past it is stopped there. Other scopes
        pass through."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = (self.allowance(scope) if self.allowance is not None else None) or self.max_bytes
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(scope, receive, send, limit)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge:
            # Normally the app's error handlers answer it; this covers a reader outside their reach.
            if started:
                raise
            await self._refuse(scope, receive, send, limit)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        error = BodyTooLarge(limit)
        await error_response(413, "payload_too_large", error.detail)(scope, receive, send)
