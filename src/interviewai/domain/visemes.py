"""Mouth shapes (Oculus 15-viseme set) from timed IPA phonemes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from interviewai.domain.speech import VisemeTiming

OCULUS_VISEMES = ("sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "I", "O", "U")

_IPA_GROUPS = {
    "PP": "pbm",
    "FF": "fv",
    "TH": "θð",
    "DD": "tdɾ",
    "kk": "kɡgŋxh",
    "CH": "ʃʒ",
    "SS": "sz",
    "nn": "nlɫ",
    "RR": "ɹrɚɝ",
    "aa": "ɑaæʌɐ",
    "E": "ɛeəɜ",
    "I": "iɪᵻjɨ",
    "O": "oɔɒ",
    "U": "uʊw",
}
IPA_TO_VISEME: dict[str, str] = {ipa: viseme for viseme, chars in _IPA_GROUPS.items() for ipa in chars}

STRESS_MARKS = frozenset("ˈˌ")
# Marks that lengthen or colour the previous sound, and the word gap, keep the previous mouth shape.
EXTENDERS = frozenset("ːʲ ̃")
# Anything else unknown (punctuation, BOS/EOS markers) closes the mouth.
SILENCE = "sil"


@dataclass(frozen=True)
class TimedPhoneme:
    """One IPA phoneme and when it is spoken, in seconds from the start of the audio."""

    phoneme: str
    start: float
    end: float


def viseme_for(phoneme: str) -> str | None:
    """The viseme of one IPA symbol; None for stress marks and extenders, 'sil' for the rest."""
    if phoneme in STRESS_MARKS or phoneme in EXTENDERS:
        return None
    return IPA_TO_VISEME.get(phoneme, SILENCE)


def visemes_from_phonemes(phonemes: Iterable[TimedPhoneme]) -> list[VisemeTiming]:
    """Merge timed phonemes into contiguous viseme spans.

    A stress mark's time goes to the phoneme after it; extenders lengthen the shape before them;
    consecutive identical shapes are merged.
    """
    spans: list[_OpenSpan] = []
    pending_start: float | None = None
    for item in phonemes:
        viseme = viseme_for(item.phoneme)
        if viseme is None:
            if spans and item.phoneme not in STRESS_MARKS:
                spans[-1].end = item.end
            elif pending_start is None:
                pending_start = item.start
            continue
        start = item.start if pending_start is None else pending_start
        pending_start = None
        if spans and spans[-1].viseme == viseme:
            spans[-1].end = item.end
        else:
            spans.append(_OpenSpan(viseme, start, item.end))
    return [VisemeTiming(viseme=s.viseme, start=round(s.start, 3), end=round(s.end, 3)) for s in spans]


@dataclass
class _OpenSpan:
    viseme: str
    start: float
    end: float


def spread_phonemes(phonemes: Sequence[str], start: float, end: float) -> list[TimedPhoneme]:
    """Spread a word's phonemes evenly over its spoken span (for engines that time words only).

    Stress marks and extenders get no time of their own, so each sounding phoneme gets an equal share.
    """
    sounding = [p for p in phonemes if viseme_for(p) is not None]
    if not sounding or end <= start:
        return []
    step = (end - start) / len(sounding)
    timed: list[TimedPhoneme] = []
    index = 0
    for phoneme in phonemes:
        if viseme_for(phoneme) is None:
            continue
        timed.append(TimedPhoneme(phoneme, start + index * step, start + (index + 1) * step))
        index += 1
    return timed
