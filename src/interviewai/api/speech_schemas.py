"""Response models of spoken answers: words heard, speaking metrics, and their session averages."""

from __future__ import annotations

from pydantic import BaseModel


class TranscriptWordModel(BaseModel):
    """A word the recogniser heard, its time in the recording (seconds) and its confidence (0-1)."""

    word: str
    start: float
    end: float
    confidence: float


class SpeechMetricsModel(BaseModel):
    """How one spoken answer was delivered: its length and speaking time (seconds), pace, filler words and
    pauses."""

    duration_s: float
    speaking_s: float
    words_per_minute: float
    filler_words: int
    long_pauses: int
    longest_pause_s: float


class SpeechSummaryModel(BaseModel):
    """Averages over the spoken answers of a session (null in the summary when there are none)."""

    spoken_answers: int
    average_words_per_minute: float
    average_filler_words: float
    average_long_pauses: float
    longest_pause_s: float
    total_speaking_s: float
