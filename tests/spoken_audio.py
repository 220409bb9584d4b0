"""Spoken test answers: known text spoken by the offline voice, encoded in every upload format with PyAV."""

from __future__ import annotations

import io
import re
from fractions import Fraction
from typing import Any

import av
import numpy as np
from av.audio.resampler import AudioResampler

from interviewai.adapters.speech.piper import PiperSynthesizer
from interviewai.domain.recognition import SAMPLE_RATE
from interviewai.domain.speech import VoiceSettings

# (container for PyAV, codec, extension, media type)
FORMATS = {
    "wav": ("wav", "pcm_s16le", "wav", "audio/wav"),
    "mp3": ("mp3", "libmp3lame", "mp3", "audio/mpeg"),
    "ogg": ("ogg", "libopus", "ogg", "audio/ogg"),
    "webm": ("webm", "libopus", "webm", "audio/webm"),
    "m4a": ("ipod", "aac", "m4a", "audio/mp4"),
}


def speak_pcm(piper: PiperSynthesizer, text: str, *, pause_s: float = 0.0) -> bytes:
    """`text` spoken by the offline voice as 16 kHz mono s16 PCM, with `pause_s` of silence around it."""
    mp3 = piper.synthesize_sync(text, VoiceSettings(voice=piper.voice_name)).mp3
    pcm = decode_to_pcm(mp3)
    silence = b"\x00\x00" * int(pause_s * SAMPLE_RATE)
    return silence + pcm + silence


def decode_to_pcm(data: bytes) -> bytes:
    """Decode any audio file to 16-bit mono PCM at the recognisers' rate, with PyAV."""
    resampler = AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    parts: list[np.ndarray[Any, Any]] = []
    with av.open(io.BytesIO(data), mode="r") as source:
        for frame in source.decode(audio=0):
            parts.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(frame))
    parts.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(None))
    return np.concatenate(parts).astype("<i2").tobytes()


def encode(pcm: bytes, fmt: str, sample_rate: int = SAMPLE_RATE) -> bytes:
    """16 kHz mono PCM in one of FORMATS (Opus at 48 kHz, as browsers record it)."""
    container, codec, _, _ = FORMATS[fmt]
    rate = 48000 if codec == "libopus" else sample_rate
    out = io.BytesIO()
    with av.open(out, mode="w", format=container) as target:
        stream = target.add_stream(codec, rate=rate, layout="mono")
        assert isinstance(stream, av.AudioStream), codec
        resampler = AudioResampler(format=stream.codec_context.format.name, layout="mono", rate=rate)
        samples = np.frombuffer(pcm, dtype="<i2").reshape(1, -1)
        pts = 0
        for start in range(0, samples.shape[1], 4000):
            frame = av.AudioFrame.from_ndarray(samples[:, start : start + 4000], format="s16", layout="mono")
            frame.sample_rate = SAMPLE_RATE
            frame.pts = start
            frame.time_base = Fraction(1, SAMPLE_RATE)
            for resampled in resampler.resample(frame):
                resampled.pts = pts
                pts += resampled.samples
                target.mux(stream.encode(resampled))
        for resampled in resampler.resample(None):
            resampled.pts = pts
            pts += resampled.samples
            target.mux(stream.encode(resampled))
        target.mux(stream.encode(None))
    return out.getvalue()


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word-level edit distance over the reference's length, ignoring case and punctuation."""
    ref, hyp = _words(reference), _words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i in range(1, len(ref) + 1):
        previous, row[0] = row[:], i
        for j in range(1, len(hyp) + 1):
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (ref[i - 1] != hyp[j - 1]))
    return row[len(hyp)] / max(1, len(ref))


def _words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("-", "")).split()
