"""A spoken answer streamed live: recognised in parts while the candidate speaks, the tail at the end.

The decoded audio is cut at pauses (at least ``min_chunk_s`` long, or anyway after ``max_chunk_s``) and
each part is recognised as soon as it is cut, with the text before it as context; the candidate sees it
as a ``transcript`` partial. When the stream ends only the audio after the last cut is left to recognise,
so the wait after the last word depends on that tail, not on the length of the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from interviewai.domain.errors import AudioTooLong, NoSpeech
from interviewai.domain.ports import AudioStream
from interviewai.domain.recognition import (
    BYTES_PER_SAMPLE,
    SAMPLE_RATE,
    DecodedRecording,
    PcmAudio,
    Transcript,
    joined,
)
from interviewai.services.transcription import SpokenAnswerService, SpokenDelivery

_log = logging.getLogger(__name__)
# Raw PCM is kept as WAV; the containers are kept as they came.
_KEPT = {"webm": ("webm", "audio/webm"), "ogg": ("ogg", "audio/ogg"), "wav": ("wav", "audio/wav"),
         "pcm16": ("wav", "audio/wav")}  # fmt: skip
PROMPT_CHARS = 300
Spawn = Callable[[str, Coroutine[Any, Any, Any]], "asyncio.Task[Any]"]
CHECK_EVERY_BYTES = SAMPLE_RATE * BYTES_PER_SAMPLE // 5


async def open_live_answer(
    service: SpokenAnswerService,
    session_id: str,
    question_id: int,
    stream_format: str,
    sample_rate: int,
    on_partial: Callable[[str], Awaitable[None]],
    *,
    spawn: Spawn,
) -> LiveAnswer:
    """Start a live answer to the current question (WrongQuestion, SessionFinished... when it is not)."""
    session = await service.session(session_id)
    session.ensure_answerable(question_id)
    return LiveAnswer(service, session_id, question_id, stream_format, sample_rate, on_partial, spawn=spawn)


class LiveAnswer:
    """One answer being spoken: takes the stream's bytes, pushes partial transcripts, and answers at the end.

    Use ``feed`` for every binary frame, then ``finish``; ``cancel`` when the answer is abandoned.
    ``failure`` holds the error that ended it early (too long, unreadable), which the caller reports.
    """

    def __init__(
        self,
        service: SpokenAnswerService,
        session_id: str,
        question_id: int,
        stream_format: str,
        sample_rate: int,
        on_partial: Callable[[str], Awaitable[None]],
        *,
        spawn: Spawn,
    ) -> None:
        self.session_id = session_id
        self.question_id = question_id
        self.format = stream_format
        self._service = service
        self._settings = service.settings
        self._on_partial = on_partial
        self._received = bytearray()
        self._pcm = bytearray()
        self._max_pcm_bytes = int(self._settings.max_audio_s * SAMPLE_RATE) * BYTES_PER_SAMPLE
        self._committed_s = 0.0
        self._parts: list[Transcript] = []
        self._wake = asyncio.Event()
        self._ending = False
        self.failure: Exception | None = None
        self.on_failure: Callable[[Exception], None] | None = None
        self._stream: AudioStream = service.decoder.open_stream(stream_format, sample_rate, self._on_pcm)
        self._worker = spawn("parts", self._recognise_parts())

    @property
    def duration_s(self) -> float:
        return len(self._pcm) / (SAMPLE_RATE * BYTES_PER_SAMPLE)

    @property
    def committed_text(self) -> str:
        return " ".join(p.text.strip() for p in self._parts if p.text.strip())

    def feed(self, data: bytes) -> None:
        """The next bytes of the recording; raises the failure once there is one."""
        if self.failure is not None:
            raise self.failure
        if len(self._received) + len(data) > self._settings.max_audio_bytes:
            self._fail(AudioTooLong(f"The recording is larger than {self._settings.max_audio_bytes} bytes."))
            raise self.failure  # type: ignore[misc]
        self._received.extend(data)
        self._stream.feed(data)

    async def finish(self, video_wait_s: float | None = None) -> SpokenDelivery:
        """The candidate stopped: decode the rest, recognise the tail, and record the answer."""
        try:
            await self._stream.finish()
        except Exception as error:
            self._fail(error)
        if self.failure is not None:
            raise self.failure
        self._ending = True
        self._wake.set()
        await self._worker  # finishes the part it is on, and cuts no more
        if self.failure is not None:
            raise self.failure
        tail = self._pending()
        if tail.duration_s > 0.1 and not self._service.decoder.is_silent(tail):
            heard = await self._service.recognition.transcribe(tail, self.committed_text[-PROMPT_CHARS:])
            self._parts.append(heard.shifted(self._committed_s))
        audio = PcmAudio(bytes(self._pcm))
        transcript = joined(self._parts, audio.duration_s)
        if transcript.is_empty:
            raise NoSpeech("No words were recognised in the recording; try again, or type the answer.")
        extension, media_type = _KEPT[self.format]
        recording = DecodedRecording(audio, self.format, extension, media_type)
        data = self._service.decoder.as_wav(audio) if self.format == "pcm16" else bytes(self._received)
        session = await self._service.session(self.session_id)
        position = session.ensure_answerable(self.question_id).position
        return await self._service.commit(
            session, position, self.question_id, recording, data, transcript, video_wait_s
        )

    def cancel(self) -> None:
        self._stream.cancel()
        self._worker.cancel()

    def _pending(self) -> PcmAudio:
        """The audio after the last cut (copying only that part)."""
        first = int(self._committed_s * SAMPLE_RATE) * BYTES_PER_SAMPLE
        return PcmAudio(bytes(self._pcm[first:]))

    def _on_pcm(self, pcm: bytes) -> None:
        if self.failure is not None:
            return
        if len(self._pcm) + len(pcm) > self._max_pcm_bytes:
            self._fail(AudioTooLong(f"The recording is longer than {self._settings.max_audio_s:g} seconds."))
            return
        self._pcm.extend(pcm)
        self._wake.set()

    def _fail(self, error: Exception) -> None:
        if self.failure is None:
            self.failure = error
            self._stream.cancel()
            self._wake.set()
            if self.on_failure is not None:
                self.on_failure(error)

    async def _recognise_parts(self) -> None:
        """Recognise each part as soon as a pause cuts it off, until the answer ends."""
        decoder = self._service.decoder
        checked = 0
        while not self._ending and self.failure is None:
            await self._wake.wait()
            self._wake.clear()
            # Look for a pause every fifth of a second of new audio, not on every decoded frame.
            if len(self._pcm) - checked < CHECK_EVERY_BYTES:
                continue
            checked = len(self._pcm)
            while not self._ending and self.failure is None:
                pending = self._pending()
                cut = decoder.cut_point(pending, self._settings.min_chunk_s, self._settings.max_chunk_s)
                if cut is None:
                    break
                part = pending.between(0, cut)
                if not decoder.is_silent(part):
                    try:
                        heard = await self._service.recognition.transcribe(
                            part, self.committed_text[-PROMPT_CHARS:]
                        )
                    except Exception as error:  # every recogniser is down: the answer cannot be heard
                        self._fail(error)
                        return
                    self._parts.append(heard.shifted(self._committed_s))
                    if heard.text.strip():
                        with contextlib.suppress(Exception):
                            await self._on_partial(self.committed_text)
                self._committed_s += cut
