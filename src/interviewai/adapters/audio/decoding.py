"""Decoding answers with PyAV: whole uploads (WAV, MP3, Ogg/Opus, WebM/Opus, M4A/AAC) and live streams.

Everything comes out as 16 kHz mono 16-bit PCM. The container is recognised from its first bytes, not
from what the client claims, so a mislabelled file still decodes and a file that is not audio at all is
refused before FFmpeg sees it. Live streams (WebM or Ogg from a browser's MediaRecorder, WAV, raw PCM)
are decoded as they arrive by a thread that reads from a pipe, so the work is done while the candidate
speaks and nothing is decoded twice.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import io
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import av
import numpy as np
import numpy.typing as npt
from av.audio.resampler import AudioResampler

from interviewai.domain.errors import AudioTooLong, UnreadableAudio, UnsupportedAudio
from interviewai.domain.recognition import (
    BYTES_PER_SAMPLE,
    SAMPLE_RATE,
    SUPPORTED_FORMATS,
    DecodedRecording,
    PcmAudio,
)

logger = logging.getLogger(__name__)

# What each container is called for FFmpeg's demuxer, its file extension and its media type.
CONTAINERS: dict[str, tuple[str, str, str]] = {
    "wav": ("wav", "wav", "audio/wav"),
    "mp3": ("mp3", "mp3", "audio/mpeg"),
    "ogg": ("ogg", "ogg", "audio/ogg"),
    "webm": ("matroska", "webm", "audio/webm"),
    "m4a": ("mov", "m4a", "audio/mp4"),
}
_DECLARED = {
    "audio/wav": "wav", "audio/x-wav": "wav", "audio/wave": "wav", "audio/vnd.wave": "wav",
    "audio/mpeg": "mp3", "audio/mp3": "mp3", "audio/ogg": "ogg", "audio/opus": "ogg",
    "application/ogg": "ogg", "audio/webm": "webm", "video/webm": "webm", "audio/mp4": "m4a",
    "audio/m4a": "m4a", "audio/x-m4a": "m4a", "audio/aac": "m4a", "video/mp4": "m4a",
}  # fmt: skip
_EXTENSIONS = {"wav": "wav", "mp3": "mp3", "ogg": "ogg", "opus": "ogg", "oga": "ogg", "webm": "webm",
               "m4a": "m4a", "mp4": "m4a", "aac": "m4a"}  # fmt: skip
SUPPORTED = SUPPORTED_FORMATS
STREAM_FORMATS = ("webm", "ogg", "wav", "pcm16")


def sniff_container(head: bytes) -> str | None:
    """The container of a file from its first bytes, or None when it is none we take."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    if head[4:8] == b"ftyp":
        return "m4a"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    return None


def container_of(head: bytes, content_type: str | None, filename: str | None) -> str:
    """Which container to decode `head`'s file as; UnsupportedAudio when it is not audio we take, and
    UnreadableAudio when it claims a format we take but does not look like it."""
    sniffed = sniff_container(head)
    if sniffed is not None:
        return sniffed
    declared = _DECLARED.get((content_type or "").split(";")[0].strip().lower())
    extension = (
        _EXTENSIONS.get((filename or "").rsplit(".", 1)[-1].lower()) if filename and "." in filename else None
    )
    if declared or extension:
        raise UnreadableAudio(
            f"The file is labelled {declared or extension} audio but is not a readable {SUPPORTED} file."
        )
    raise UnsupportedAudio(f"The upload is not audio the server takes; send {SUPPORTED}.")


def decode_upload(
    data: bytes, content_type: str | None, filename: str | None, max_s: float
) -> DecodedRecording:
    """Decode a whole file (blocking; run it in a thread). Raises UnsupportedAudio, UnreadableAudio, or
    AudioTooLong as soon as more than `max_s` seconds have come out."""
    container = container_of(data[:16], content_type, filename)
    collector = _PcmCollector(max_s)
    try:
        with av.open(io.BytesIO(data), mode="r", format=CONTAINERS[container][0]) as source:
            for chunk in _decoded(source):
                collector.add(chunk)
    except (AudioTooLong, UnreadableAudio):
        raise
    except Exception as exc:  # noqa: BLE001 - FFmpeg's errors (av.error.*) and PyAV's ValueError for odd layouts
        raise UnreadableAudio(f"The {container} file does not decode: {exc}") from None
    _, extension, media_type = CONTAINERS[container]
    return DecodedRecording(PcmAudio(collector.samples()), container, extension, media_type)


def wav_bytes(audio: PcmAudio) -> bytes:
    """`audio` as a WAV file (what the OpenAI-compatible engine uploads, and how raw PCM is kept)."""
    header_size = 36
    size = len(audio.samples)
    byte_rate = SAMPLE_RATE * BYTES_PER_SAMPLE
    header = (
        b"RIFF" + (header_size + size).to_bytes(4, "little") + b"WAVEfmt "
        + (16).to_bytes(4, "little") + (1).to_bytes(2, "little") + (1).to_bytes(2, "little")
        + SAMPLE_RATE.to_bytes(4, "little") + byte_rate.to_bytes(4, "little")
        + BYTES_PER_SAMPLE.to_bytes(2, "little") + (16).to_bytes(2, "little")
        + b"data" + size.to_bytes(4, "little")
    )  # fmt: skip
    return header + audio.samples


def _decoded(source: Any) -> Iterator[bytes]:
    """16 kHz mono s16 PCM of the first audio stream of an open PyAV container."""
    if not source.streams.audio:
        raise UnreadableAudio("The file holds no audio stream.")
    stream = source.streams.audio[0]
    resampler = AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    for frame in source.decode(stream):
        yield from _frames_pcm(resampler.resample(frame))
    yield from _frames_pcm(resampler.resample(None))


def _frames_pcm(frames: Iterable[Any]) -> Iterator[bytes]:
    for frame in frames:
        yield np.ascontiguousarray(frame.to_ndarray().reshape(-1), dtype="<i2").tobytes()


class _PcmCollector:
    """Collects PCM and stops the decoding as soon as it is longer than the limit."""

    def __init__(self, max_s: float) -> None:
        self._parts: list[bytes] = []
        self._size = 0
        self._max_bytes = int(max_s * SAMPLE_RATE) * BYTES_PER_SAMPLE
        self._max_s = max_s

    def add(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > self._max_bytes:
            raise AudioTooLong(f"The recording is longer than {self._max_s:g} seconds.")
        self._parts.append(chunk)

    def samples(self) -> bytes:
        return b"".join(self._parts)


class _Pipe(io.RawIOBase):
    """A blocking byte pipe: the event loop writes, FFmpeg's reader thread reads until the input closes."""

    def __init__(self) -> None:
        super().__init__()
        self._chunks: deque[bytes] = deque()
        self._ready = threading.Condition()
        self._ended = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer: Any) -> int:
        with self._ready:
            while not self._chunks and not self._ended:
                self._ready.wait()
            if not self._chunks:
                return 0
            chunk = self._chunks.popleft()
            size = min(len(buffer), len(chunk))
            buffer[:size] = chunk[:size]
            if size < len(chunk):
                self._chunks.appendleft(chunk[size:])
            return size

    def put(self, data: bytes) -> None:
        with self._ready:
            self._chunks.append(data)
            self._ready.notify()

    def end(self) -> None:
        with self._ready:
            self._ended = True
            self._ready.notify()


class StreamDecoder:
    """Decodes a live stream as its bytes arrive; `on_pcm` gets each piece of PCM (from the decoder's
    thread, or the caller's for raw PCM), and `on_done` is called once with None or the error.

    `start` runs the decoding (blocking until the input ends; call it in a thread) for the containers;
    raw `pcm16` needs no thread: `feed` converts it at once.
    """

    def __init__(
        self,
        stream_format: str,
        sample_rate: int,
        on_pcm: Callable[[bytes], None],
    ) -> None:
        if stream_format not in STREAM_FORMATS:
            raise UnsupportedAudio(
                f"format must be one of {', '.join(STREAM_FORMATS)}; got {stream_format!r}."
            )
        self.format = stream_format
        self._sample_rate = sample_rate
        self._on_pcm = on_pcm
        self._pipe = _Pipe()
        self._received = bytearray() if stream_format == "pcm16" else None
        self._resampler = (
            AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            if stream_format == "pcm16" and sample_rate != SAMPLE_RATE
            else None
        )
        self._odd_byte = b""

    @property
    def needs_thread(self) -> bool:
        """True for the containers (PyAV blocks while it waits for input: run `run` in a thread); raw pcm16 is
        converted in `feed`."""
        return self.format != "pcm16"

    def feed(self, data: bytes) -> None:
        """Take the next bytes of the stream (never blocks)."""
        if self.format != "pcm16":
            self._pipe.put(data)
            return
        data = self._odd_byte + data
        whole = len(data) - len(data) % BYTES_PER_SAMPLE
        self._odd_byte = data[whole:]
        if whole:
            self._on_pcm(self._pcm16(data[:whole]))

    def end(self) -> None:
        """The stream is complete: the decoder thread flushes what it holds and returns."""
        self._pipe.end()
        if self._resampler is not None:
            self._on_pcm(b"".join(_frames_pcm(self._resampler.resample(None))))

    def run(self) -> None:
        """Decode the container stream until `end` (blocking; runs in a thread). Raises UnreadableAudio."""
        try:
            with av.open(self._pipe, mode="r", format=CONTAINERS[self.format][0],
                         options={"probesize": "4096", "analyzeduration": "0"}) as source:  # fmt: skip
                for chunk in _decoded(source):
                    self._on_pcm(chunk)
        except (UnreadableAudio, AudioTooLong):
            raise
        except Exception as exc:  # noqa: BLE001 - FFmpeg's errors (av.error.*) and PyAV's ValueError: any is an unreadable upload
            raise UnreadableAudio(f"The {self.format} stream does not decode: {exc}") from None
        finally:
            self._pipe.end()

    def _pcm16(self, data: bytes) -> bytes:
        if self._resampler is None:
            return data
        samples = np.frombuffer(data, dtype="<i2").reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = self._sample_rate
        return b"".join(_frames_pcm(self._resampler.resample(frame)))


# -- looking into PCM ---------------------------------------------------------------------------------

_FRAME_S = 0.02
# Quieter than this (about -46 dBFS) is silence whatever the recording's level.
_SILENCE_FLOOR = 160.0
# A pause is this long a run of frames quieter than a tenth of the recording's loud frames.
_PAUSE_S = 0.3


def frame_levels(audio: PcmAudio) -> npt.NDArray[np.float64]:
    """RMS level of each 20 ms frame, in 16-bit sample units."""
    samples = np.frombuffer(audio.samples, dtype="<i2").astype(np.float64)
    size = int(_FRAME_S * SAMPLE_RATE)
    count = len(samples) // size
    if count == 0:
        return np.zeros(0)
    frames = samples[: count * size].reshape(count, size)
    levels: npt.NDArray[np.float64] = np.sqrt(np.mean(frames**2, axis=1))
    return levels


def is_silent(audio: PcmAudio) -> bool:
    """True when under a quarter of a second of `audio` is louder than twice the noise floor (a click or a
    cough is not speech)."""
    levels = frame_levels(audio)
    # A few loud frames (a click, a cough) are not speech: ask for a quarter of a second of sound.
    return int(np.sum(levels > 2 * _SILENCE_FLOOR)) * _FRAME_S < 0.25


def last_sound_s(audio: PcmAudio) -> float:
    """The end of the last frame louder than the pauses `cut_point` looks for (0.0 when there is none)."""
    levels = frame_levels(audio)
    if len(levels) == 0:
        return 0.0
    loud = np.flatnonzero(levels >= max(_SILENCE_FLOOR, 0.1 * np.percentile(levels, 90)))
    return float((loud[-1] + 1) * _FRAME_S) if len(loud) else 0.0


def cut_point(audio: PcmAudio, min_chunk_s: float, max_chunk_s: float) -> float | None:
    """See AudioDecoder.cut_point: the middle of the last long enough pause after `min_chunk_s`, else past
    `max_chunk_s` the quietest frame of the second half, else None."""
    levels = frame_levels(audio)
    if len(levels) * _FRAME_S < min_chunk_s:
        return None
    loud = np.percentile(levels, 90) if len(levels) else 0.0
    quiet = levels < max(_SILENCE_FLOOR, 0.1 * loud)
    needed = int(_PAUSE_S / _FRAME_S)
    first = int(min_chunk_s / _FRAME_S)
    best: float | None = None
    run = 0
    for index in range(len(quiet)):
        run = run + 1 if quiet[index] else 0
        # The middle of a pause that is long enough and ends (or is still going) after min_chunk_s.
        if run >= needed and index - run // 2 >= first:
            best = (index - run // 2) * _FRAME_S
    if best is None and len(levels) * _FRAME_S >= max_chunk_s:
        # No pause: cut at the quietest moment of the second half, which is most likely between words.
        half = len(levels) // 2
        best = (half + int(np.argmin(levels[half:]))) * _FRAME_S
    return best


def quietest_s(audio: PcmAudio, start_s: float, end_s: float) -> float:
    """The middle of the quietest 20 ms frame of `audio` between `start_s` and `end_s`."""
    levels = frame_levels(audio)
    first = max(0, min(len(levels) - 1, int(start_s / _FRAME_S)))
    last = max(first + 1, min(len(levels), int(end_s / _FRAME_S) + 1))
    if len(levels) == 0:
        return max(0.0, start_s)
    # The middle of the quietest frame, so a cut there falls between words, not inside one.
    return (first + int(np.argmin(levels[first:last])) + 0.5) * _FRAME_S


class _LiveStream:
    """AudioStream: a StreamDecoder whose PCM is handed to the event loop, decoding in a pool thread."""

    def __init__(
        self,
        decoder: StreamDecoder,
        loop: asyncio.AbstractEventLoop,
        pool: concurrent.futures.ThreadPoolExecutor,
        on_pcm: Callable[[bytes], None],
    ) -> None:
        self._decoder = decoder
        self._on_pcm = on_pcm
        self._loop = loop
        self._cancelled = False
        self._work: concurrent.futures.Future[None] | None = None
        if decoder.needs_thread:
            self._work = pool.submit(decoder.run)

    def deliver(self, pcm: bytes) -> None:
        """Called by the decoder (from its thread for containers): PCM goes to `on_pcm` on the loop."""
        if pcm and not self._cancelled:
            if self._work is None:
                self._on_pcm(pcm)
            else:
                with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is listening
                    self._loop.call_soon_threadsafe(self._deliver_on_loop, pcm)

    def _deliver_on_loop(self, pcm: bytes) -> None:
        if not self._cancelled:
            self._on_pcm(pcm)

    def feed(self, data: bytes) -> None:
        if self._work is not None and self._work.done():
            return  # it failed already; finish() reports why
        self._decoder.feed(data)

    async def finish(self) -> None:
        self._decoder.end()
        if self._work is not None:
            await asyncio.wrap_future(self._work)
            # Let the PCM the thread handed over last reach on_pcm before the caller reads it.
            await asyncio.sleep(0)

    def cancel(self) -> None:
        self._cancelled = True
        self._decoder.end()


class PyAvAudioDecoder:
    """AudioDecoder on PyAV: uploads decode in a pool of one thread per core; each live stream holds a
    thread of its own pool while it lasts (it mostly waits for the next bytes)."""

    def __init__(self, upload_parallelism: int, max_live_streams: int = 64) -> None:
        self._uploads = concurrent.futures.ThreadPoolExecutor(max(1, upload_parallelism), "decode")
        self._streams = concurrent.futures.ThreadPoolExecutor(max_live_streams, "decode-live")
        self._upload_slots = asyncio.Semaphore(max(1, upload_parallelism))

    async def decode(
        self, data: bytes, content_type: str | None, filename: str | None, max_s: float
    ) -> DecodedRecording:
        """Decode a whole upload in the upload pool (one slot per core; callers wait for a slot on the
        loop)."""
        async with self._upload_slots:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(
                self._uploads, decode_upload, data, content_type, filename, max_s
            )

    def open_stream(
        self, stream_format: str, sample_rate: int, on_pcm: Callable[[bytes], None]
    ) -> _LiveStream:
        """Start decoding a live stream; containers hold a thread of the live-stream pool until the stream
        ends."""
        holder: list[_LiveStream] = []
        decoder = StreamDecoder(stream_format, sample_rate, lambda pcm: holder[0].deliver(pcm))
        stream = _LiveStream(decoder, asyncio.get_running_loop(), self._streams, on_pcm)
        holder.append(stream)
        return stream

    def as_wav(self, audio: PcmAudio) -> bytes:
        """A 16-bit mono 16 kHz WAV file of the PCM (no thread: it is a header and a copy)."""
        return wav_bytes(audio)

    def is_silent(self, audio: PcmAudio) -> bool:
        """See the module's is_silent; cheap enough to run on the loop."""
        return is_silent(audio)

    def last_sound_s(self, audio: PcmAudio) -> float:
        """See the module's last_sound_s; cheap enough to run on the loop."""
        return last_sound_s(audio)

    def cut_point(self, audio: PcmAudio, min_chunk_s: float, max_chunk_s: float) -> float | None:
        """See the module's cut_point; cheap enough to run on the loop."""
        return cut_point(audio, min_chunk_s, max_chunk_s)

    def quietest_s(self, audio: PcmAudio, start_s: float, end_s: float) -> float:
        """See `quietest_s`."""
        return quietest_s(audio, start_s, end_s)

    def close(self) -> None:
        """Stop both pools: queued uploads are cancelled and running ones waited for; live-stream threads are
        not waited for."""
        self._uploads.shutdown(wait=True, cancel_futures=True)
        self._streams.shutdown(wait=False, cancel_futures=True)
