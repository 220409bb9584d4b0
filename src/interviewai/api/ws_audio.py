"""Spoken answers over the interview WebSocket: `answer_audio_start`, binary frames, `answer_audio_end`.

While the audio arrives it is decoded and recognised incrementally (services/live_transcription.py) and
what is heard so far is pushed as `transcript {question_id, text, final: false}`. After `answer_audio_end`
the rest is recognised, `transcript {..., final: true}` goes out with the words and metrics, then the next
`question` (or `complete`) with the same additions as the HTTP answer's response. Every refusal is an
`error` message; the socket stays open and the session is untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from interviewai.api.answers_audio import heard_fields
from interviewai.api.deps import UrlBuilder
from interviewai.api.errors import ApiError, websocket_error
from interviewai.api.presenters import delivery_response
from interviewai.background import BackgroundTasks
from interviewai.services.live_transcription import LiveAnswer, open_live_answer
from interviewai.services.transcription import SpokenAnswerService
from interviewai.services.video import PresenterAssets

logger = logging.getLogger(__name__)
AUDIO_TYPES = frozenset({"answer_audio_start", "answer_audio_end"})
MIN_STRAY_AUDIO_BYTES = 256
Send = Callable[[str, dict[str, Any]], Awaitable[bool]]


class AudioStart(BaseModel):
    """`answer_audio_start`'s data: the question being answered and the format of the binary frames that
    follow (`sample_rate` for raw pcm16 only)."""

    model_config = ConfigDict(extra="ignore")

    question_id: int = Field(strict=True, ge=1)
    format: Literal["webm", "ogg", "wav", "pcm16"]
    sample_rate: int = Field(16000, strict=True, ge=8000, le=96000, description="pcm16 only")


class AudioAnswers:
    """The spoken answer open on one socket (at most one at a time)."""

    def __init__(
        self,
        spoken: SpokenAnswerService,
        session_id: Callable[[], str],
        send: Send,
        tasks: BackgroundTasks,
        task_prefix: str,
        urls: UrlBuilder,
        assets: Callable[[], PresenterAssets | None],
        video_wait_s: float | None,
    ) -> None:
        self._spoken = spoken
        self._session_id = session_id
        self._send = send
        self._tasks = tasks
        self._prefix = task_prefix
        self._urls = urls
        self._assets = assets
        self._video_wait_s = video_wait_s
        self._live: LiveAnswer | None = None
        # The answer refused mid-stream (too long, unreadable): its remaining frames are dropped quietly.
        self._refused = False
        self._finishing = False

    def takes_binary(self, data: bytes) -> bool:
        """Is a binary frame audio? Yes while an answer is open; with none open, a frame of 256 bytes or
        more that is not a JSON object is audio sent too early (smaller ones get the JSON errors, as ever)."""
        if self._live is not None or self._refused:
            return True
        return len(data) >= MIN_STRAY_AUDIO_BYTES and data.lstrip()[:1] != b"{"

    def feed(self, data: bytes) -> None:
        """A binary frame: the next bytes of the open answer."""
        if self._refused:
            return
        if self._live is None or self._finishing:
            raise ApiError(
                409, "no_audio_answer", "Binary frames need an open answer: send answer_audio_start."
            )
        with contextlib.suppress(Exception):  # a refusal is reported by _report_failure, once
            self._live.feed(data)

    async def start(self, payload: dict[str, Any]) -> None:
        """Opens the spoken answer `payload` announces and tells the client it is listening: 409
        `audio_answer_open` while another is open, and whatever the session refuses (a wrong question, a
        finished session)."""
        request = AudioStart.model_validate(payload)
        if self._live is not None:
            raise ApiError(
                409, "audio_answer_open",
                f"An answer to question {self._live.question_id} is open; send answer_audio_end first.",
            )  # fmt: skip
        self._refused = False
        question_id = request.question_id

        async def partial(text: str) -> None:
            await self._send("transcript", {"question_id": question_id, "text": text, "final": False})

        live = await open_live_answer(
            self._spoken, self._session_id(), question_id, request.format, request.sample_rate, partial,
            spawn=lambda name, work: self._spawn(f"audio:{question_id}:{name}", work),
        )  # fmt: skip
        live.on_failure = self._report_failure
        self._live = live
        self._finishing = False
        await self._send("answer_audio_started", {"question_id": question_id, "format": request.format})

    def end(self) -> bool:
        """`answer_audio_end`: True when an answer is to be finished (in the request queue, in order)."""
        if self._refused:
            self._refused = False
            return False  # its error was sent when it was refused
        if self._live is None or self._finishing:
            raise ApiError(409, "no_audio_answer", "No spoken answer is open: send answer_audio_start first.")
        self._finishing = True
        return True

    async def finish(self) -> None:
        """Recognise the tail, record the answer, and send the final transcript and the next question."""
        live = self._live
        if live is None:
            return
        try:
            heard = await live.finish(self._video_wait_s)
        except BaseException:
            live.cancel()
            raise
        finally:
            self._live = None
            self._finishing = False
        fields = heard_fields(heard, live.session_id, live.question_id, self._urls)
        final = {k: v for k, v in fields.items() if k not in {"answer_source", "answer_transcript"}}
        await self._send(
            "transcript",
            {"question_id": live.question_id, "text": heard.transcript, "final": True, **final},
        )
        response = delivery_response(heard.delivery, self._urls, self._assets())
        # The same body as the HTTP answer's: the next step plus what was heard, answer_audio_url included.
        await self._send(response.type, {**response.model_dump(mode="json"), **fields})

    def close(self) -> None:
        """The socket is going: abandon an open answer."""
        if self._live is not None:
            self._live.cancel()
            self._live = None

    def _refuse(self) -> None:
        if self._live is not None:
            self._live.cancel()
        self._live = None
        self._refused = True

    def _report_failure(self, error: Exception) -> None:
        """A failure found while decoding (too long, unreadable): say so at once, not at the end."""
        if self._finishing:
            return  # `finish` raises it, and the request loop reports it once, in order
        self._refuse()

        async def report() -> None:
            await self._send("error", websocket_error(error))

        with contextlib.suppress(RuntimeError):  # a report for this answer is already on its way
            self._spawn("audio:refused", report())

    def _spawn(self, name: str, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        return self._tasks.spawn(self._prefix + name, work)
