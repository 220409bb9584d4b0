"""Helpers that measure decoded MP3 audio, used by the speech and API tests."""

from __future__ import annotations

from dataclasses import dataclass

import miniaudio
import numpy as np

SAMPLE_RATE = 22050


@dataclass(frozen=True)
class DecodedAudio:
    samples: np.ndarray
    sample_rate: int

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate

    def rms(self, start: float, end: float) -> float:
        segment = self.samples[int(start * self.sample_rate) : int(end * self.sample_rate)]
        return float(np.sqrt(np.mean(segment**2))) if len(segment) else 0.0


def decode_mp3(mp3: bytes, sample_rate: int = SAMPLE_RATE) -> DecodedAudio:
    decoded = miniaudio.decode(
        mp3, output_format=miniaudio.SampleFormat.FLOAT32, nchannels=1, sample_rate=sample_rate
    )
    return DecodedAudio(np.asarray(decoded.samples, dtype=np.float32), decoded.sample_rate)
