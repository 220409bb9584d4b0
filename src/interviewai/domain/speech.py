"""Speech types: voice settings, measured word and mouth-shape timings, synthesized audio."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VoiceSettings:
    """Prosody requested for a synthesis, in edge-tts notation ("+0%", "+0%", "+0Hz")."""

    voice: str
    rate: str = "+0%"
    volume: str = "+0%"
    pitch: str = "+0Hz"


@dataclass(frozen=True)
class WordTiming:
    """A word as the candidate reads it in the question text, and when it is spoken (seconds)."""

    word: str
    start: float
    end: float


@dataclass(frozen=True)
class VisemeTiming:
    """One mouth shape from the 15-shape Oculus set and when it shows (seconds)."""

    viseme: str
    start: float
    end: float


@dataclass(frozen=True)
class SpokenAudio:
    """A finished synthesis: MP3 bytes and timings measured against that exact MP3."""

    mp3: bytes
    duration_s: float
    word_timings: tuple[WordTiming, ...]
    visemes: tuple[VisemeTiming, ...]
    engine: str
    voice: str

    @property
    def voice_label(self) -> str:
        """`engine:voice`, the form reports and metrics name a voice by."""
        return f"{self.engine}:{self.voice}"


@dataclass(frozen=True)
class VoiceInfo:
    """A voice a synthesizer offers, in the seed's /voices shape plus engine details."""

    name: str
    short_name: str
    gender: str
    locale: str
    engine: str
    available: bool
    source: str = "live"
