"""A spoken answer streamed live: recognised while the candidate speaks, so little is left for the end.

The decoded audio after the last commit (the "pending" audio) is recognised again each time another
``partial_every_s`` of it has arrived, or as soon as the candidate pauses; what that pass heard (the
"guess") is pushed as a ``transcript`` partial after the committed text. Once the pending audio holds a
pause past ``min_chunk_s`` (or is longer than ``max_chunk_s``), the guess's words before the pause are
committed and that audio is never recognised again. When the stream ends, the last guess is the answer's
tail if nothing was said after the audio it heard (the pass that starts when the candidate falls silent is
usually that one); otherwise, when the pending audio is long, the words it certainly heard are committed
and only the audio after them (a second or two) is recognised. So the wait after the last word is at most the pass running at
that moment and one short pass, never a function of the answer's length.
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

logger = logging.getLogger(__name__)
# Raw PCM is kept as WAV; the containers are kept as they came.
_KEPT = {"webm": ("webm", "audio/webm"), "ogg": ("ogg", "audio/ogg"), "wav": ("wav", "audio/wav"),
         "pcm16": ("wav", "audio/wav")}  # fmt: skip
PROMPT_CHARS = 300
Spawn = Callable[[str, Coroutine[Any, Any, Any]], "asyncio.Task[Any]"]
CHECK_EVERY_BYTES = SAMPLE_RATE * BYTES_PER_SAMPLE // 10
# A pass starts as soon as this much quiet follows new sound (the candidate may be done), and a guess
# counts as having heard everything when the last sound ended at least TRAILING_QUIET_S before its end
# (so its last word was not clipped).
PAUSE_TRIGGER_S = 0.15
TRAILING_QUIET_S = 0.15
# A guess's word that ends this long before the end of the audio its pass had was heard whole (Whisper's
# word ends are good to about a tenth of a second): at the end only the audio after such words is
# recognised again.
CERTAIN_MARGIN_S = 0.5
# ...but only when the pending audio is longer than this: a pass costs Whisper's 30 s window whatever its
# length, so cutting a short tail saves little, and a sentence recognised in two pieces is heard worse
# than in one (the streamed test interview went just over its 15% WER bound when every tail was cut).
CERTAIN_MIN_PENDING_S = 6.0


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


def split_transcript(heard: Transcript, cut_s: float) -> tuple[Transcript, Transcript]:
    """`heard` as the words before `cut_s` and the ones after (those on the clock of the audio after the
    cut). The text is split with the words when it has one token per word (Whisper's words carry their
    punctuation), else rebuilt from the words."""
    words = heard.words
    count = sum(1 for w in words if (w.start + w.end) / 2 < cut_s)
    tokens = heard.text.split()
    if len(tokens) == len(words):
        first, rest = " ".join(tokens[:count]), " ".join(tokens[count:])
    else:
        first = " ".join(w.word for w in words[:count])
        rest = " ".join(w.word for w in words[count:])
    before = Transcript(first, words[:count], round(cut_s, 3), heard.engine, heard.model)
    after = Transcript(rest, words[count:], round(max(0.0, heard.duration_s - cut_s), 3), heard.engine,
                       heard.model).shifted(-cut_s)  # fmt: skip
    return before, after


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
        self._step_bytes = int(self._settings.partial_every_s * SAMPLE_RATE) * BYTES_PER_SAMPLE
        self._committed_s = 0.0
        self._parts: list[Transcript] = []
        # The latest pass over the pending audio (on the pending audio's clock) and how much it heard.
        self._guess: Transcript | None = None
        self._guess_span_s = 0.0
        self._last_partial = ""
        self._wake = asyncio.Event()
        self._ending = False
        self.failure: Exception | None = None
        self.on_failure: Callable[[Exception], None] | None = None
        self._stream: AudioStream = service.decoder.open_stream(stream_format, sample_rate, self._on_pcm)
        self._worker = spawn("parts", self._listen())

    @property
    def duration_s(self) -> float:
        """Seconds of audio decoded so far."""
        return len(self._pcm) / (SAMPLE_RATE * BYTES_PER_SAMPLE)

    @property
    def committed_text(self) -> str:
        """The text of the parts recognised for good so far; its tail prompts the next pass."""
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
        """The candidate stopped: decode the rest, recognise what no pass heard yet, record the answer."""
        try:
            await self._stream.finish()
        except Exception as error:  # noqa: BLE001 - whatever the decoder raises fails this answer, not the socket
            self._fail(error)
        if self.failure is not None:
            raise self.failure
        self._ending = True
        self._wake.set()
        await self._worker  # finishes the pass it is on (and keeps what it heard), and starts no more
        if self.failure is not None:
            raise self.failure
        pending = self._pending()
        if self._guess is not None and self._heard_all(pending):
            logger.debug("live answer: the last pass heard the %.1f s tail", pending.duration_s)
            self._parts.append(self._guess.shifted(self._committed_s))
        elif pending.duration_s > 0.1 and not self._service.decoder.is_silent(pending):
            pending = self._commit_certain(pending)
            logger.debug("live answer: recognising the %.1f s tail", pending.duration_s)
            heard = await self._service.recognition.transcribe(pending, self._prompt())
            self._parts.append(heard.shifted(self._committed_s))
        audio = PcmAudio(bytes(self._pcm))
        transcript = joined(self._parts, audio.duration_s)
        if transcript.is_empty:
            raise NoSpeech("No words were recognised in the recording; try again, or type the answer.")
        extension, media_type = _KEPT[self.format]
        recording = DecodedRecording(audio, self.format, extension, media_type)
        data = self._service.decoder.as_wav(audio) if self.format == "pcm16" else bytes(self._received)
        self._pcm, self._received = bytearray(), bytearray()  # the recording lives on in `audio`/`data`
        session = await self._service.session(self.session_id)
        position = session.ensure_answerable(self.question_id).position
        return await self._service.commit(
            session, position, self.question_id, recording, data, transcript, video_wait_s
        )

    def cancel(self) -> None:
        """Abandons the answer (it failed, was refused, or the socket is going): decoding and recognition
        stop, and nothing is recorded."""
        self._stream.cancel()
        self._worker.cancel()

    def _commit_certain(self, pending: PcmAudio) -> PcmAudio:
        """At the end, when sound came after the audio the last guess heard: commit the guess's words that
        the pass certainly heard whole (they end CERTAIN_MARGIN_S before the end of its audio), cut in the
        quietest moment after them, and return the audio left, so the last pass is over a second or two
        and not over the whole pending audio again."""
        guess = self._guess
        if guess is None or pending.duration_s <= CERTAIN_MIN_PENDING_S:
            return pending
        certain = [w for w in guess.words if w.end <= self._guess_span_s - CERTAIN_MARGIN_S]
        if not certain:
            return pending
        after = guess.words[len(certain)] if len(certain) < len(guess.words) else None
        limit = min(after.start if after is not None else self._guess_span_s, self._guess_span_s)
        cut = self._service.decoder.quietest_s(pending, certain[-1].end, max(certain[-1].end, limit))
        before, _ = split_transcript(guess, cut)
        if not before.words:
            return pending
        self._parts.append(before.shifted(self._committed_s))
        self._committed_s += cut
        self._guess, self._guess_span_s = None, 0.0
        return self._pending()

    def _pending(self) -> PcmAudio:
        """The audio after the last commit (copying only that part)."""
        first = int(self._committed_s * SAMPLE_RATE) * BYTES_PER_SAMPLE
        return PcmAudio(bytes(self._pcm[first:]))

    def _prompt(self) -> str:
        return self.committed_text[-PROMPT_CHARS:]

    def _heard_all(self, pending: PcmAudio) -> bool:
        """Did the last guess hear every sound of `pending` (nothing was said after the audio it had)?"""
        last_sound = self._service.decoder.last_sound_s(pending)
        return last_sound <= self._guess_span_s - TRAILING_QUIET_S or last_sound == 0.0

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

    async def _listen(self) -> None:
        """Recognise the pending audio when another step of it has come or the candidate pauses, until the
        answer ends; a pass is skipped when nothing was said since the last one."""
        decoder = self._service.decoder
        checked = passed = 0  # len(self._pcm) at the last look, and when the last pass began
        while not self._ending and self.failure is None:
            await self._wake.wait()
            self._wake.clear()
            # Look every tenth of a second of new audio, not on every decoded frame.
            if len(self._pcm) - checked < CHECK_EVERY_BYTES:
                continue
            checked = len(self._pcm)
            pending = self._pending()
            last_sound = decoder.last_sound_s(pending)
            if (last_sound == 0.0) if self._guess is None else self._heard_all(pending):
                self._skip_silence(pending, last_sound)
                continue
            paused = pending.duration_s - last_sound >= PAUSE_TRIGGER_S
            if not paused and len(self._pcm) - passed < self._step_bytes:
                continue
            passed = len(self._pcm)
            try:
                heard = await self._service.recognition.transcribe(pending, self._prompt())
            except Exception as error:  # noqa: BLE001 - every recogniser is down: the answer cannot be heard
                self._fail(error)
                return
            self._keep(pending, heard)
            text = " ".join(t for t in (self.committed_text, self._guess_text()) if t)
            if text and text != self._last_partial:
                self._last_partial = text
                with contextlib.suppress(Exception):
                    await self._on_partial(text)

    def _guess_text(self) -> str:
        return self._guess.text.strip() if self._guess is not None else ""

    def _keep(self, pending: PcmAudio, heard: Transcript) -> None:
        """Commit what `heard` says before the pending audio's last pause (or forced cut); the rest is the
        new guess."""
        cut = self._service.decoder.cut_point(pending, self._settings.min_chunk_s, self._settings.max_chunk_s)
        if cut is None:
            self._guess, self._guess_span_s = heard, pending.duration_s
            return
        before, after = split_transcript(heard, cut)
        self._parts.append(before.shifted(self._committed_s))
        self._committed_s += cut
        self._guess, self._guess_span_s = after, pending.duration_s - cut

    def _skip_silence(self, pending: PcmAudio, last_sound: float) -> None:
        """Nothing new was said: once the quiet makes the pending audio long, commit the guess and move
        past the middle of the quiet after it, so a long silence is never recognised."""
        if pending.duration_s < self._settings.max_chunk_s:
            return
        cut = (last_sound + pending.duration_s) / 2
        if self._guess is not None:
            self._parts.append(self._guess.shifted(self._committed_s))
        self._committed_s += cut
        self._guess, self._guess_span_s = None, 0.0
