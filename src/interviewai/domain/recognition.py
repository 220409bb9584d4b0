"""Speech recognition types: decoded audio, recognised words, transcripts and speaking metrics."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

# What every recogniser is given: 16-bit little-endian mono PCM at this rate (Whisper's own).
SAMPLE_RATE = 16_000
BYTES_PER_SAMPLE = 2
SUPPORTED_FORMATS = "WAV, MP3, Ogg/Opus, WebM/Opus or M4A/AAC"
# A silence between two words longer than this counts as a long pause (issue 11).
LONG_PAUSE_S = 2.0
# Hesitations and fillers. A transcript cannot tell a filler "like" from "I like Python", so every
# "like" counts: the figure is a hint for practice, not a grade.
SINGLE_FILLERS = frozenset({"um", "umm", "uh", "uhh", "uhm", "erm", "er", "ah", "hmm", "mm", "like"})
PHRASE_FILLERS = (("you", "know"), ("i", "mean"))
_WORD = re.compile(r"[a-z0-9']+")


@dataclass(frozen=True)
class PcmAudio:
    """Decoded audio as the recognisers take it: 16-bit little-endian mono PCM at 16 kHz."""

    samples: bytes

    @property
    def duration_s(self) -> float:
        """Length of the audio in seconds."""
        return len(self.samples) / (SAMPLE_RATE * BYTES_PER_SAMPLE)

    def between(self, start_s: float, end_s: float | None = None) -> PcmAudio:
        """The part from `start_s` to `end_s` (or the end), cut on sample boundaries."""
        first = int(start_s * SAMPLE_RATE) * BYTES_PER_SAMPLE
        last = len(self.samples) if end_s is None else int(end_s * SAMPLE_RATE) * BYTES_PER_SAMPLE
        return PcmAudio(self.samples[first:last])


@dataclass(frozen=True)
class DecodedRecording:
    """An uploaded or streamed recording as PCM, with the container it came in (kept as it came)."""

    audio: PcmAudio
    container: str
    extension: str
    media_type: str


@dataclass(frozen=True)
class RecognizedWord:
    """A word as heard, with its times in seconds from the start of the recording and a 0-1 confidence."""

    word: str
    start: float
    end: float
    confidence: float

    def shifted(self, offset_s: float) -> RecognizedWord:
        """The same word with both times moved `offset_s` seconds later (rounded to milliseconds)."""
        return RecognizedWord(self.word, round(self.start + offset_s, 3), round(self.end + offset_s, 3),
                              self.confidence)  # fmt: skip


@dataclass(frozen=True)
class Transcript:
    """What a recogniser heard in one recording (or one part of it)."""

    text: str
    words: tuple[RecognizedWord, ...]
    duration_s: float
    engine: str
    model: str

    @property
    def is_empty(self) -> bool:
        """True when nothing but whitespace was heard."""
        return not self.text.strip()

    @property
    def engine_label(self) -> str:
        """`engine:model`, the form reports and metrics name a recogniser by."""
        return f"{self.engine}:{self.model}"

    def shifted(self, offset_s: float) -> Transcript:
        """The same transcript with every word moved `offset_s` seconds later (a part placed on its
        recording's clock)."""
        return Transcript(self.text, tuple(w.shifted(offset_s) for w in self.words), self.duration_s,
                          self.engine, self.model)  # fmt: skip


def joined(parts: list[Transcript], duration_s: float) -> Transcript:
    """Transcripts of consecutive parts (already shifted onto the recording's clock) as one."""
    text = " ".join(p.text.strip() for p in parts if p.text.strip())
    words = tuple(w for p in parts for w in p.words)
    engines = [p for p in parts if p.text.strip()] or parts
    last = engines[-1] if engines else None
    return Transcript(text, words, duration_s, last.engine if last else "", last.model if last else "")


@dataclass(frozen=True)
class SpeechMetrics:
    """How an answer was spoken, measured on its recognised words."""

    duration_s: float
    speaking_s: float
    words_per_minute: float
    filler_words: int
    long_pauses: int
    longest_pause_s: float


def speech_metrics(words: tuple[RecognizedWord, ...], duration_s: float) -> SpeechMetrics:
    """Metrics of a spoken answer: speaking time runs from the first word's start to the last word's end,
    and the rate is words per minute of that time (silence before and after does not slow it down)."""
    if not words:
        return SpeechMetrics(round(duration_s, 3), 0.0, 0.0, 0, 0, 0.0)
    speaking_s = max(0.0, words[-1].end - words[0].start)
    gaps = [max(0.0, b.start - a.end) for a, b in itertools.pairwise(words)]
    tokens = [t for w in words for t in _WORD.findall(w.word.lower())]
    return SpeechMetrics(
        duration_s=round(duration_s, 3),
        speaking_s=round(speaking_s, 3),
        words_per_minute=round(len(words) / speaking_s * 60, 1) if speaking_s > 0 else 0.0,
        filler_words=count_fillers(tokens),
        long_pauses=sum(1 for gap in gaps if gap > LONG_PAUSE_S),
        longest_pause_s=round(max(gaps, default=0.0), 3),
    )


def count_fillers(tokens: list[str]) -> int:
    """Filler words and phrases in lower-case word tokens."""
    count = sum(1 for t in tokens if t in SINGLE_FILLERS)
    for first, second in PHRASE_FILLERS:
        count += sum(1 for a, b in itertools.pairwise(tokens) if (a, b) == (first, second))
    return count


@dataclass(frozen=True)
class SpokenAnswer:
    """What is kept of an answer given by voice: the words heard, the metrics and the recording."""

    words: tuple[RecognizedWord, ...]
    metrics: SpeechMetrics
    engine: str
    audio_sha256: str
    audio_blob: str | None = None
    audio_type: str | None = None
