"""HTTP details the same on every route: HEAD wherever GET works, If-None-Match per RFC 9110, byte ranges."""

from __future__ import annotations

import re

from starlette.responses import FileResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from interviewai.api.errors import error_response

_RANGE_PART = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")


class HeadAsGet:
    """HEAD wherever GET works, on every route of every router: HEAD is served as GET with the body dropped
    (RFC 9110 9.3.2: the same headers, Content-Length included), so it can never drift from GET."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        finished = False

        async def headers_only(message: Message) -> None:
            nonlocal finished
            if message["type"] == "http.response.body":
                if finished:
                    return
                if message.get("more_body", False):
                    return
                finished = True
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


def etag_matches(if_none_match: str, etag: str) -> bool:
    """If-None-Match uses the weak comparison (RFC 9110 13.1.2): `W/"x"` matches `"x"`; `*` matches any."""
    if if_none_match.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in if_none_match.split(","))


def parse_ranges(header: str, size: int) -> list[tuple[int, int]] | None:
    """Byte ranges (first, last inclusive) of a `bytes=` header; None when the header is malformed (it is then
    ignored, as RFC 9110 allows). Raises RangeNotSatisfiable for an inverted or out-of-range part."""
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or not spec.strip():
        return None
    ranges = []
    for part in spec.split(","):
        match = _RANGE_PART.match(part)
        if match is None or match.group(0).strip() == "-":
            return None
        first_text, last_text = match.groups()
        if first_text:
            first = int(first_text)
            last = min(int(last_text), size - 1) if last_text else size - 1
            if (last_text and int(last_text) < first) or first >= size:
                raise RangeNotSatisfiable(size)
        else:
            suffix = int(last_text)
            if suffix == 0 or size == 0:
                raise RangeNotSatisfiable(size)
            first, last = max(0, size - suffix), size - 1
        ranges.append((first, last))
    return ranges


class RangeNotSatisfiable(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(f"bytes */{size}")
        self.size = size


def range_not_satisfiable(size: int, headers: dict[str, str]) -> Response:
    """416 with `Content-Range: bytes */N` and the usual `{detail, code}` body."""
    return error_response(
        416,
        "range_not_satisfiable",
        f"The requested range is outside the media's {size} bytes.",
        headers={**headers, "Content-Range": f"bytes */{size}"},
    )


class MediaFileResponse(FileResponse):
    """FileResponse whose malformed Range headers are ignored (the whole file), never a plain-text 400."""

    @classmethod
    def _parse_range_header(cls, http_range: str, file_size: int) -> list[tuple[int, int]]:
        if parse_ranges(http_range, file_size) is None:
            return []
        return super()._parse_range_header(http_range, file_size)
