"""Fixtures and media checks shared by the D-ID client and simulator tests (imported explicitly)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import lameenc
import numpy as np
import numpy.typing as npt
import pytest

from interviewai.adapters.avatar.did import DidClipRenderer, PollPolicy
from interviewai.adapters.speech.piper import JOE_VOICE, PiperSynthesizer
from interviewai.domain.speech import SpokenAudio, VoiceSettings
from interviewai.simulators.did import DidSimulator, decode_audio

QUESTION = "Tell me about a project you are proud of, and what you would do differently."
# Small but real: polls every few tens of milliseconds, a couple of tolerated transient failures.
FAST_POLL = PollPolicy(
    initial_s=0.03, multiplier=1.5, max_s=0.15, jitter=0.2, error_budget=2, not_found_grace_s=0.3
)


@pytest.fixture(scope="module")
def voice(model_dir: Path) -> Iterator[PiperSynthesizer]:
    """The offline voice, once per module: it speaks our MP3s and the simulator's text clips."""
    synthesizer = PiperSynthesizer.load(model_dir, parallelism=1)
    yield synthesizer
    synthesizer.close()


@pytest.fixture(scope="module")
def spoken(voice: PiperSynthesizer) -> SpokenAudio:
    """A question as the service would speak it (MP3 from the offline voice)."""
    return voice.synthesize_sync(QUESTION, VoiceSettings(voice=JOE_VOICE))


@pytest.fixture
async def did_sim() -> AsyncIterator[DidSimulator]:
    """A simulator with tiny latencies and no voice (text clips are silent)."""
    async with DidSimulator(queue_delay_s=0.02, render_factor=0.05, retry_after_s=1.0) as sim:
        yield sim


def renderer_for(sim: DidSimulator, **overrides: Any) -> DidClipRenderer:
    """A DidClipRenderer pointed at the simulator with fast polling and short timeouts; `overrides` replace
    any option."""
    options: dict[str, Any] = {
        "api_url": sim.url,
        "api_key": sim.api_key,
        "poll": FAST_POLL,
        "connect_timeout_s": 2.0,
        "request_timeout_s": 2.0,
        "download_timeout_s": 5.0,
    }
    options.update(overrides)
    return DidClipRenderer(**options)


@pytest.fixture
async def renderer(did_sim: DidSimulator) -> AsyncIterator[DidClipRenderer]:
    """A renderer on the `did_sim` simulator, closed after the test."""
    client = renderer_for(did_sim)
    yield client
    await client.aclose()


def tone_mp3(seconds: float = 1.5, sample_rate: int = 22050) -> bytes:
    """An MP3 whose loudness swells and fades twice a second: an envelope worth correlating."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    signal = 0.5 * np.sin(2 * np.pi * 220 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 2 * t))
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(64)
    encoder.set_in_sample_rate(sample_rate)
    encoder.set_channels(1)
    encoder.set_quality(2)
    return bytes(encoder.encode((signal * 32767).astype(np.int16).tobytes()) + encoder.flush())


@dataclass(frozen=True)
class MediaInfo:
    """What PyAV found in a media file (see probe): container, duration, codecs, frame size and video frame
    count."""

    format_name: str
    duration_s: float
    video_codecs: tuple[str, ...]
    audio_codecs: tuple[str, ...]
    width: int | None
    height: int | None
    video_frames: int


def probe(data: bytes) -> MediaInfo:
    """What FFmpeg (PyAV) sees in a media file; decodes every video frame, so a broken file fails here."""
    with av.open(io.BytesIO(data), mode="r") as container:
        videos = container.streams.video
        audios = container.streams.audio
        frames = sum(1 for _ in container.decode(video=0)) if videos else 0
        assert container.duration is not None
        return MediaInfo(
            format_name=container.format.name,
            duration_s=container.duration / av.time_base,
            video_codecs=tuple(s.codec_context.name for s in videos),
            audio_codecs=tuple(s.codec_context.name for s in audios),
            width=videos[0].codec_context.width if videos else None,
            height=videos[0].codec_context.height if videos else None,
            video_frames=frames,
        )


def rms_envelope(
    samples: npt.NDArray[np.float32], sample_rate: int, window_s: float = 0.02
) -> npt.NDArray[np.float64]:
    """RMS level of `samples` per window of `window_s` seconds (a partial last window is dropped)."""
    size = max(1, int(sample_rate * window_s))
    count = len(samples) // size
    frames = samples[: count * size].astype(np.float64).reshape(count, size)
    envelope: npt.NDArray[np.float64] = np.sqrt(np.mean(frames**2, axis=1))
    return envelope


def envelope_correlation(first: bytes, second: bytes, max_lag_s: float = 0.1) -> float:
    """Best Pearson correlation of the two files' 20 ms loudness envelopes within +-max_lag_s (encoders
    add their own delays), compared over the shorter length."""
    a = rms_envelope(decode_audio(first, 16000)[0], 16000)
    b = rms_envelope(decode_audio(second, 16000)[0], 16000)
    best = -1.0
    max_lag = int(max_lag_s / 0.02)
    for lag in range(-max_lag, max_lag + 1):
        x, y = (a[lag:], b) if lag >= 0 else (a, b[-lag:])
        n = min(len(x), len(y))
        if n > 10:
            best = max(best, float(np.corrcoef(x[:n], y[:n])[0, 1]))
    return best


def audio_duration_s(data: bytes) -> float:
    """Duration in seconds of an audio (or video's audio) file, decoded with PyAV."""
    samples, rate = decode_audio(data)
    return len(samples) / rate
