"""Word timings and timed phonemes from piper's per-phoneme sample counts (pure; no piper import).

Piper feeds its model `^ _ p1 _ p2 _ ... $`, one id per NFD codepoint of espeak's IPA (spaces,
punctuation, stress and length marks included); each phoneme owns the pad after it. With the model
patched to output w_ceil, every id gets a sample count, so each phoneme has an exact span.

Display words do not map 1:1 onto espeak's phonetic words ("2023," is four, "in the" is one:
"ɪnðə"), so words are found by aligning characters: each word's spoken form is phonemized on its own,
and difflib matches that character stream against the sentence's. Matching blocks are monotonic, so
word spans are ordered and never overlap by construction.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from interviewai.domain.speech import WordTiming
from interviewai.domain.visemes import STRESS_MARKS, TimedPhoneme

BOS = "^"
EOS = "$"
PAD = "_"

# espeak wraps words it reads with another language's rules in "(fr)...(en)"; piper drops the flags.
_LANGUAGE_FLAG = re.compile(r"\([^)]+\)")
# Clause terminators after which piper adds a word gap, because the sentence goes on.
_CONTINUING_TERMINATORS = (",", ":", ";")
# Marks that lengthen or colour the sound before them; a word's span runs over them.
_TRAILING_MARKS = frozenset("ːʲ")
# Left out of the matched streams: they carry no sound of their own, or (ʲ) appear only in context.
_UNMATCHED = STRESS_MARKS | frozenset("ʲ")


@dataclass(frozen=True)
class SampledPhoneme:
    """One phoneme (or BOS/EOS/pause marker) and its span in samples from the start of the audio."""

    phoneme: str
    start: int
    end: int


def sentences_from_clauses(clauses: Sequence[tuple[str, str, bool]]) -> list[list[str]]:
    """Group espeak clauses `(phonemes, terminator, end_of_sentence)` into sentences, as piper does.

    The one difference: a clause with no terminator that does not end the sentence (an ellipsis,
    "Well... let's") is followed by ", " instead of nothing. Piper glues such clauses together
    ("wˈɛllˈɛts"), losing both the pause and the word boundary; for all other text the output is
    identical to piper's `EspeakPhonemizer.phonemize`.
    """
    sentences: list[list[str]] = []
    current: list[str] = []
    for index, (phonemes, terminator, end_of_sentence) in enumerate(clauses):
        text = _LANGUAGE_FLAG.sub("", phonemes) + terminator
        if terminator in _CONTINUING_TERMINATORS:
            text += " "
        elif not terminator and not end_of_sentence and index + 1 < len(clauses):
            text += ", "
        current.extend(unicodedata.normalize("NFD", text))
        if end_of_sentence:
            sentences.append(current)
            current = []
    if current:
        sentences.append(current)
    return [sentence for sentence in sentences if sentence]


def phonemes_from_clauses(clauses: Sequence[tuple[str, str, bool]]) -> str:
    """The sounding phoneme characters of a word phonemized on its own, for matching."""
    text = unicodedata.normalize("NFD", "".join(_LANGUAGE_FLAG.sub("", c[0]) for c in clauses))
    return "".join(ch for ch in text if is_word_internal(ch) and ch not in _UNMATCHED)


def is_word_internal(phoneme: str) -> bool:
    """True for IPA letters and their marks; False for the word gap, punctuation and BOS/EOS/pad."""
    return all(unicodedata.category(ch)[0] in "LM" for ch in phoneme)


def phoneme_sample_counts(
    phonemes: Sequence[str],
    id_map: Mapping[str, Sequence[int]],
    id_samples: Sequence[int],
) -> list[tuple[str, int]]:
    """Sum the model's per-id sample counts into one count per phoneme, BOS and EOS included.

    Mirrors piper's id layout: BOS, PAD, then each phoneme's ids followed by PAD, then EOS. Every
    phoneme must be in `id_map` (drop unknown ones before making ids, as piper does).
    """
    pad = len(id_map[PAD])
    counts: list[tuple[str, int]] = []
    position = 0
    for phoneme in (BOS, *phonemes, EOS):
        width = len(id_map[phoneme]) + (0 if phoneme == EOS else pad)
        counts.append((phoneme, int(sum(id_samples[position : position + width]))))
        position += width
    if position != len(id_samples):
        raise ValueError(f"{len(id_samples)} id sample counts for {position} phoneme ids")
    return counts


def timeline(sentences: Sequence[Sequence[tuple[str, int]]], offset: int = 0) -> list[SampledPhoneme]:
    """Lay sentences end to end: one continuous list of phoneme spans starting at `offset` samples."""
    spans: list[SampledPhoneme] = []
    position = offset
    for sentence in sentences:
        for phoneme, count in sentence:
            spans.append(SampledPhoneme(phoneme, position, position + count))
            position += count
    return spans


def timed_phonemes(
    spans: Sequence[SampledPhoneme], sample_rate: int, *, total_samples: int | None = None
) -> list[TimedPhoneme]:
    """Phoneme spans in seconds, with silence (PAD) before the first and up to `total_samples`."""
    timed: list[TimedPhoneme] = []
    if spans and spans[0].start > 0:
        timed.append(TimedPhoneme(PAD, 0.0, spans[0].start / sample_rate))
    timed.extend(TimedPhoneme(s.phoneme, s.start / sample_rate, s.end / sample_rate) for s in spans)
    last = spans[-1].end if spans else 0
    if total_samples is not None and total_samples > last:
        timed.append(TimedPhoneme(PAD, last / sample_rate, total_samples / sample_rate))
    return timed


def word_spans(word_phonemes: Sequence[str], spans: Sequence[SampledPhoneme]) -> list[tuple[int, int]]:  # noqa: C901 - one alignment walk over words and phonemes; split, its cursor state would be passed around
    """Sample span of each word, given each word's own phonemes (from `phonemes_from_clauses`).

    A word runs from its first matched phoneme (and the stress mark before it) to its last (and the
    length/palatal marks after it), widened over neighbouring unmatched sounds of the same phonetic
    word, since context changes vowels ("the" is "ðə" or "ði"). A word nothing matched gets the gap
    between its neighbours: its own sounds, or the pause when it has none (a lone "—").
    """
    owners: list[int] = []
    for word_index, phonemes in enumerate(word_phonemes):
        owners.extend([word_index] * len(phonemes))
    said = "".join(word_phonemes)
    positions = [
        i for i, s in enumerate(spans) if is_word_internal(s.phoneme) and s.phoneme not in _UNMATCHED
    ]
    heard = "".join(spans[i].phoneme for i in positions)

    first: dict[int, int] = {}
    last: dict[int, int] = {}
    matcher = difflib.SequenceMatcher(None, said, heard, autojunk=False)
    for said_at, heard_at, size in matcher.get_matching_blocks():
        for k in range(size):
            word = owners[said_at + k]
            index = positions[heard_at + k]
            first.setdefault(word, index)
            last[word] = index

    matched = sorted(first)
    bounds: dict[int, tuple[int, int]] = {}
    for order, word in enumerate(matched):
        # Widening goes left to right, so a sound between two words goes to the first one.
        floor = bounds[matched[order - 1]][1] + 1 if order > 0 else 0
        ceiling = first[matched[order + 1]] - 1 if order + 1 < len(matched) else len(spans) - 1
        start, end = first[word], last[word]
        # Unmatched sounds next to a word nothing matched are more likely that word's ("for a" is
        # "fɚɹə", and "a" alone is "eɪ"), so leave them to it.
        widen_back = word == 0 or word - 1 in first
        widen_forward = word + 1 == len(word_phonemes) or word + 1 in first
        while widen_back and start > floor and is_word_internal(spans[start - 1].phoneme):
            start -= 1
        while widen_forward and end < ceiling and is_word_internal(spans[end + 1].phoneme):
            end += 1
        if start > floor and spans[start - 1].phoneme in STRESS_MARKS:
            start -= 1
        while end < ceiling and spans[end + 1].phoneme in _TRAILING_MARKS:
            end += 1
        bounds[word] = (start, end)

    result: list[tuple[int, int]] = []
    word = 0
    while word < len(word_phonemes):
        if word in bounds:
            start, end = bounds[word]
            result.append((spans[start].start, spans[end].end))
            word += 1
            continue
        # A run of words nothing matched shares the gap between its neighbours evenly.
        run_end = word
        while run_end < len(word_phonemes) and run_end not in bounds:
            run_end += 1
        before = result[-1][1] if result else _speech_start(spans)
        after = spans[bounds[run_end][0]].start if run_end in bounds else _speech_end(spans)
        after = max(before, after)
        count = run_end - word
        for k in range(count):
            result.append(
                (before + (after - before) * k // count, before + (after - before) * (k + 1) // count)
            )
        word = run_end
    return result


def word_timings(
    words: Sequence[str],
    word_phonemes: Sequence[str],
    spans: Sequence[SampledPhoneme],
    sample_rate: int,
) -> list[WordTiming]:
    """One WordTiming per display word, in seconds rounded to the millisecond."""
    if len(words) != len(word_phonemes):
        raise ValueError(f"{len(words)} words but {len(word_phonemes)} phoneme strings")
    return [
        WordTiming(word=word, start=round(start / sample_rate, 3), end=round(end / sample_rate, 3))
        for word, (start, end) in zip(words, word_spans(word_phonemes, spans), strict=True)
    ]


def _speech_start(spans: Sequence[SampledPhoneme]) -> int:
    return next((s.start for s in spans if is_word_internal(s.phoneme)), spans[0].start if spans else 0)


def _speech_end(spans: Sequence[SampledPhoneme]) -> int:
    return next(
        (s.end for s in reversed(spans) if is_word_internal(s.phoneme)), spans[-1].end if spans else 0
    )
