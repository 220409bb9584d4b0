"""Edge's read-aloud wire format as the simulator speaks it: text and binary frames, word boundaries, 403s."""

from __future__ import annotations

import dataclasses
import email.utils
import http
import json
import time
import uuid
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Response

from interviewai.domain.speech import WordTiming

TICKS_PER_SECOND = 10_000_000
_PUNCTUATION = "\"'()[]{}“”‘’«».,;:!?…-–—/\\*&#"


@dataclasses.dataclass(frozen=True)
class SentBoundary:
    """A WordBoundary exactly as the simulator sent it."""

    text: str
    offset_ticks: int
    duration_ticks: int

    @property
    def start_s(self) -> float:
        """Where the word starts, in seconds from the start of the audio."""
        return self.offset_ticks / TICKS_PER_SECOND

    @property
    def end_s(self) -> float:
        """Where the word ends, in seconds from the start of the audio."""
        return (self.offset_ticks + self.duration_ticks) / TICKS_PER_SECOND


@dataclasses.dataclass
class Turn:
    """One synthesis turn of an Edge WebSocket: the connection, the client's request id and the audio stream
    id."""

    connection: ServerConnection
    request_id: str
    stream_id: str = dataclasses.field(default_factory=lambda: uuid.uuid4().hex.upper())


def forbidden(connection: ServerConnection) -> Response:
    """HTTP 403 with a Date header, as Microsoft sends: edge-tts adjusts its clock skew from it (a
    process-wide offset) and retries once. The date is rounded to the nearest second rather than
    truncated so that repeated 403s don't walk the client's skew backwards."""
    response = connection.respond(http.HTTPStatus.FORBIDDEN, "Forbidden\n")
    del response.headers["Date"]
    response.headers["Date"] = email.utils.formatdate(round(time.time()), usegmt=True)
    return response


def sent_boundaries(words: Sequence[WordTiming]) -> list[SentBoundary]:
    """The WordBoundary messages for `words`, in Edge's 100-ns ticks, punctuation-only words dropped and
    punctuation stripped."""
    boundaries = []
    for word in words:
        text = word.word.strip(_PUNCTUATION)
        if not text:
            continue
        offset = round(word.start * TICKS_PER_SECOND)
        duration = max(0, round(word.end * TICKS_PER_SECOND) - offset)
        boundaries.append(SentBoundary(text, offset, duration))
    return boundaries


def parse_text_message(message: str) -> tuple[dict[str, str], str]:
    """The headers and body of a text frame ("Key:value" lines, a blank line, then the body)."""
    head, _, body = message.partition("\r\n\r\n")
    headers = {}
    for line in head.split("\r\n"):
        key, _, value = line.partition(":")
        headers[key] = value
    return headers, body


async def send_text(turn: Turn, path: str, body: dict[str, Any]) -> None:
    """Send a JSON text frame to `path` of the turn (turn.start, turn.end, audio.metadata)."""
    await turn.connection.send(
        f"X-RequestId:{turn.request_id}\r\n"
        "Content-Type:application/json; charset=utf-8\r\n"
        f"Path:{path}\r\n\r\n"
        f"{json.dumps(body, separators=(',', ':'))}"
    )


async def send_metadata(turn: Turn, boundary: SentBoundary) -> None:
    """Send one WordBoundary as an audio.metadata frame, its text XML-escaped as Edge does."""
    text = escape(boundary.text)
    await send_text(
        turn,
        "audio.metadata",
        {
            "Metadata": [
                {
                    "Type": "WordBoundary",
                    "Data": {
                        "Offset": boundary.offset_ticks,
                        "Duration": boundary.duration_ticks,
                        "text": {"Text": text, "Length": len(text), "BoundaryType": "WordBoundary"},
                    },
                }
            ]
        },
    )


async def send_audio(turn: Turn, data: bytes) -> None:
    """Send a binary audio frame (the two-byte header length, the headers, then MP3 bytes); empty data marks
    the end."""
    content_type = "Content-Type:audio/mpeg\r\n" if data else ""
    header = (
        f"X-RequestId:{turn.request_id}\r\n{content_type}X-StreamId:{turn.stream_id}\r\nPath:audio\r\n"
    ).encode()
    await turn.connection.send(len(header).to_bytes(2, "big") + header + data)
