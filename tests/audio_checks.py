"""Helpers that measure decoded MP3 audio, used by the speech and API tests."""

from __future__ import annotations

from dataclasses import dataclass

import miniaudio
import numpy as np

SAMPLE_RATE = 22050


@dataclass(frozen=True)
class DecodedAudio:
    """Mono float32 samples decoded from an MP3, with their sample rate."""

    samples: np.ndarray
    sample_rate: int

    @property
    def duration_s(self) -> float:
        """Length of the audio in seconds."""
        return len(self.samples) / self.sample_rate

    def rms(self, start: float, end: float) -> float:
        """Root-mean-square level of the samples between `start` and `end` seconds (0.0 for an empty
        stretch)."""
        segment = self.samples[int(start * self.sample_rate) : int(end * self.sample_rate)]
        return float(np.sqrt(np.mean(segment**2))) if len(segment) else 0.0


def decode_mp3(mp3: bytes, sample_rate: int = SAMPLE_RATE) -> DecodedAudio:
    """Decode `mp3` to mono float32 at `sample_rate` with miniaudio (a decoder independent of ours)."""
    decoded = miniaudio.decode(
        mp3, output_format=miniaudio.SampleFormat.FLOAT32, nchannels=1, sample_rate=sample_rate
    )
    return DecodedAudio(np.asarray(decoded.samples, dtype=np.float32), decoded.sample_rate)
