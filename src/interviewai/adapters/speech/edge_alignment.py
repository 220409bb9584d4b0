"""Edge's word boundaries mapped onto the words as displayed, and visemes from those words' phonemes.

* The service names words its own way (punctuation dropped, tokens occasionally split or merged), so
  spans are mapped back onto the words *as displayed* (``text.split()``): both sides are reduced to
  case-folded letters and digits, the two character streams are aligned with ``difflib``, and each
  display word takes the union of the parts of the boundaries whose characters it matched. A boundary
  matched by several display words is split between them in proportion to the matched characters.
  A display word that matched nothing (only punctuation, or spoken differently, e.g. "$5") gets an even
  share of the gap between its neighbours.
* Visemes: every display word is phonemized on its own with espeak (the offline voice's phonemizer),
  its phonemes are spread evenly over the word's span (``domain.visemes.spread_phonemes``: stress marks
  and length marks get no time of their own) and merged into shapes (``visemes_from_phonemes``). Time
  before the first word, between words and after the last word is ``sil``.
"""

from __future__ import annotations

import difflib
import functools
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from interviewai.adapters.speech.piper_alignment import PAD, is_word_internal
from interviewai.domain.speech import VisemeTiming, WordTiming
from interviewai.domain.visemes import TimedPhoneme, spread_phonemes, visemes_from_phonemes

WordPhonemizer = Callable[[str], Sequence[str]]
"""Phonemes (espeak IPA, one symbol per item) of one display word; must be thread-safe."""


@runtime_checkable
class TextPhonemizer(Protocol):
    """Anything that phonemizes text per sentence the way the offline voice speaks it (PiperSynthesizer)."""

    def phonemize(self, text: str) -> list[list[str]]:
        """Phonemes per sentence of `text`, one IPA symbol per item, as the offline voice would say it."""
        ...


def word_phonemizer(phonemizer: TextPhonemizer, cache_size: int = 4096) -> WordPhonemizer:
    """Per-word phonemes from the offline voice's phonemizer: the word is normalized as the offline
    voice would say it ("AWS" -> "A-W-S"), punctuation and word gaps are dropped, results are cached."""

    @functools.lru_cache(maxsize=cache_size)
    def phonemize_word(word: str) -> tuple[str, ...]:
        return tuple(p for sentence in phonemizer.phonemize(word) for p in sentence if is_word_internal(p))

    return phonemize_word


@dataclass(frozen=True)
class Boundary:
    """One WordBoundary event: the service's text for the word and its span in seconds."""

    text: str
    start: float
    end: float


def _normalize(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if ch.isalnum())


def map_boundaries_to_words(
    text: str, boundaries: Sequence[Boundary], end_s: float | None = None
) -> list[WordTiming]:
    """Name the boundaries' spans after the words as displayed in ``text`` (see the module docstring).

    Returns one timing per ``text.split()`` word, in order, monotonic (each starts at or after the
    previous one ends). Unmatched words after the last matched one share the time up to ``end_s``
    (the audio's end; without it they get no time), so with no boundaries at all the words are spread
    evenly over the audio.
    """
    words = text.split()
    if not words:
        return []
    word_chars: list[int] = []
    for index, word in enumerate(words):
        word_chars.extend([index] * len(_normalize(word)))
    boundary_chars: list[int] = []
    for index, boundary in enumerate(boundaries):
        boundary_chars.extend([index] * len(_normalize(boundary.text)))
    display_stream = "".join(_normalize(w) for w in words)
    spoken_stream = "".join(_normalize(b.text) for b in boundaries)

    # shares[b][w] = characters of boundary b matched to word w
    shares: list[dict[int, int]] = [{} for _ in boundaries]
    matcher = difflib.SequenceMatcher(None, display_stream, spoken_stream, autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            word_index = word_chars[block.a + k]
            boundary_index = boundary_chars[block.b + k]
            shares[boundary_index][word_index] = shares[boundary_index].get(word_index, 0) + 1

    spans: list[list[float] | None] = [None] * len(words)
    for boundary, share in zip(boundaries, shares, strict=True):
        total = sum(share.values())
        cursor = boundary.start
        for word_index in sorted(share):
            end = cursor + (boundary.end - boundary.start) * share[word_index] / total
            span = spans[word_index]
            if span is None:
                spans[word_index] = [cursor, end]
            else:
                span[0], span[1] = min(span[0], cursor), max(span[1], end)
            cursor = end
    return _fill_and_order(words, spans, end_s)


def _fill_and_order(
    words: Sequence[str], spans: Sequence[list[float] | None], end_s: float | None
) -> list[WordTiming]:
    """Give unmatched words an even share of the gap around them and make the spans monotonic."""
    timings: list[WordTiming] = []
    previous_end = 0.0
    index = 0
    while index < len(words):
        span = spans[index]
        if span is not None:
            start = max(span[0], previous_end)
            end = max(span[1], start)
            timings.append(WordTiming(words[index], round(start, 3), round(end, 3)))
            previous_end = end
            index += 1
            continue
        run_end = index
        while run_end < len(words) and spans[run_end] is None:
            run_end += 1
        following = spans[run_end] if run_end < len(words) else None
        if following is not None:
            gap_end = max(previous_end, following[0])
        else:
            gap_end = max(previous_end, end_s if end_s is not None else previous_end)
        step = (gap_end - previous_end) / (run_end - index)
        for offset, word in enumerate(words[index:run_end]):
            start = previous_end + offset * step
            timings.append(WordTiming(word, round(start, 3), round(start + step, 3)))
        previous_end = gap_end
        index = run_end
    return timings


def words_to_visemes(
    words: Sequence[WordTiming], phonemize_word: WordPhonemizer, duration_s: float
) -> list[VisemeTiming]:
    """Spread each word's phonemes over its span; silence before, between and after words."""
    timed: list[TimedPhoneme] = []
    cursor = 0.0
    for word in words:
        if word.start > cursor:
            timed.append(TimedPhoneme(PAD, cursor, word.start))
        timed.extend(spread_phonemes(phonemize_word(word.word), word.start, word.end))
        cursor = max(cursor, word.end)
    if duration_s > cursor:
        timed.append(TimedPhoneme(PAD, cursor, duration_s))
    return visemes_from_phonemes(timed)
