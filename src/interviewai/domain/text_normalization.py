"""Spoken forms for tech text, one replacement per display word so timings stay 1:1 with the text."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class SpeechToken:
    """One whitespace-separated word as the candidate reads it, and what the voice should say for it.

    `spoken` may hold several words ("50,000 dollars"), but it always replaces exactly this one
    display word, so a word timing measured for `spoken` belongs to `display`.
    """

    display: str
    spoken: str


# What the offline voice (espeak-ng's en-us rules) gets wrong, written so espeak gets it right.
# Hyphenated letters are spelled out reliably; space-separated capitals are not ("A W S" reads
# the "A" as the article). Keys are case-sensitive: "AWS" is spelled, a word "Aws" is not ours to fix.
TECH_TERMS: Mapping[str, str] = MappingProxyType(
    {
        "AWS": "A-W-S",  # alone or between commas espeak says "awes"
        "EKS": "E-K-S",  # "ex"
        "ECS": "E-C-S",  # "ex"
        "EC2": "E-C2",
        "QA": "Q-A",  # "kah"
        "CLI": "C-L-I",  # "cly"
        "SLO": "S-L-O",  # "slow"
        "IDE": "I-D-E",  # "ide"
        "ETL": "E-T-L",
        "OKR": "O-K-R",
        "OOP": "O-O-P",  # "oop"
        "BI": "B-I",  # "by"
        "C#": "C sharp",  # "C hash"
        "F#": "F sharp",
        "C++": "C plus plus",
        "CI/CD": "C-I C-D",  # "sigh slash C D"
        "UI/UX": "U-I U-X",
        "AI/ML": "A-I M-L",
        "TCP/IP": "T-C-P I-P",
        "I/O": "I-O",
        "24/7": "twenty-four seven",
        "and/or": "and or",
        ".NET": "dot net",
        "ASP.NET": "A-S-P dot net",
        "k8s": "Kubernetes",
        "K8s": "Kubernetes",
        "nginx": "engine X",
        "NGINX": "engine X",
        "PostgreSQL": "Postgres Q-L",
        "MySQL": "My S-Q-L",
        "SaaS": "sass",
        "PaaS": "pass",
        "AT&T": "A-T and T",
    }
)

# Abbreviations that carry their own period; looked up case-insensitively with the period.
ABBREVIATIONS: Mapping[str, str] = MappingProxyType(
    {
        "e.g.": "for example",
        "i.e.": "that is",
        "etc.": "et cetera",
        "vs.": "versus",
        "approx.": "approximately",
    }
)
# Titles always precede a name, so their period never ends a sentence (espeak thinks it does).
TITLES: Mapping[str, str] = MappingProxyType(
    {
        "dr.": "Doctor",
        "mr.": "Mister",
        "mrs.": "Missus",
        "ms.": "Miz",
        "prof.": "Professor",
    }
)

_LEADING = "\"'([{“‘«"
_TRAILING = "\"')]}”’».,;:!?…"
_SPLIT = re.compile(rf"^([{re.escape(_LEADING)}]*)(.*?)([{re.escape(_TRAILING)}]*)$", re.DOTALL)

_CURRENCIES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {"$": ("dollar", "dollars"), "€": ("euro", "euros"), "£": ("pound", "pounds")}
)
_MONEY = re.compile(r"^([$€£])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?([kKmMbB]|bn)?$")
_MAGNITUDES: Mapping[str, str] = MappingProxyType(
    {"k": "thousand", "m": "million", "b": "billion", "bn": "billion"}
)
_YEAR = re.compile(r"^(1[1-9]|20)(\d\d)$")
_DECADE = re.compile(r"^(?:(1[1-9]|20)(\d)0|(\d)0)s$")
_TENS_PLURAL: Mapping[str, str] = MappingProxyType(
    {
        "1": "tens",
        "2": "twenties",
        "3": "thirties",
        "4": "forties",
        "5": "fifties",
        "6": "sixties",
        "7": "seventies",
        "8": "eighties",
        "9": "nineties",
    }
)
# espeak drops the plural s of spelled acronyms ("VMs" -> "V M"), so they are spelled with "'s".
_ACRONYM_PLURAL = re.compile(r"^([A-Z][A-Z0-9]{1,5})s$")
_POSSESSIVE = re.compile(r"^(.+?)(['’]s)$")
_PART_SEPARATORS = re.compile(r"([/-])")


def tokenize_for_speech(text: str) -> list[SpeechToken]:
    """Split `text` on whitespace and give each word the form the voice should say."""
    words = text.split()
    tokens: list[SpeechToken] = []
    for index, word in enumerate(words):
        following = words[index + 1] if index + 1 < len(words) else None
        tokens.append(SpeechToken(display=word, spoken=spoken_form(word, following)))
    return tokens


def spoken_text(tokens: list[SpeechToken]) -> str:
    """The text to hand to the voice: the spoken forms joined by single spaces."""
    return " ".join(token.spoken for token in tokens)


def spoken_form(word: str, following: str | None = None) -> str:
    """What to say for one display word; `following` is the next word, used to keep sentence ends."""
    match = _SPLIT.match(word)
    if match is None:  # pragma: no cover - the pattern matches every string
        return word
    leading, core, trailing = match.groups()
    if not core:
        return word

    if trailing.startswith("."):
        key = (core + ".").lower()
        title = TITLES.get(key)
        if title is not None:
            return leading + title + trailing[1:]
        expansion = ABBREVIATIONS.get(key)
        if expansion is not None:
            # The abbreviation's period doubles as a full stop only when a sentence follows.
            # A comma or bracket after it shows the sentence goes on.
            rest = trailing[1:]
            if not rest and _starts_sentence(following):
                rest = "."
            return leading + expansion + rest

    return leading + _spoken_core(core) + trailing


def _spoken_core(core: str) -> str:
    direct = _spoken_term(core)
    if direct is not None:
        return direct
    possessive = _POSSESSIVE.match(core)
    if possessive is not None:
        base = _spoken_term(possessive.group(1))
        if base is not None:
            return base + possessive.group(2)
    # "AWS-based", "AWS/GCP": fix the known parts, leave the joints to espeak.
    parts = _PART_SEPARATORS.split(core)
    if len(parts) > 1:
        fixed = [part if part in "/-" else (_spoken_term(part) or part) for part in parts]
        return "".join(fixed)
    return core


def _spoken_term(term: str) -> str | None:
    """The spoken form of a whole core word, or None when espeak already says it right."""
    if term in TECH_TERMS:
        return TECH_TERMS[term]
    money = _MONEY.match(term)
    if money is not None:
        return _money(*money.groups())
    year = _YEAR.match(term)
    if year is not None:
        return _year(year.group(1), year.group(2))
    decade = _DECADE.match(term)
    if decade is not None:
        century, tens, short_tens = decade.groups()
        if century is None:
            return _TENS_PLURAL.get(short_tens) if short_tens != "0" else None
        if tens == "0":
            return "two thousands" if century == "20" else f"{century} hundreds"
        return f"{century} {_TENS_PLURAL[tens]}"
    plural = _ACRONYM_PLURAL.match(term)
    if plural is not None:
        base = plural.group(1)
        return TECH_TERMS.get(base, "-".join(base)) + "'s"
    return None


def _money(symbol: str, whole: str, fraction: str | None, magnitude: str | None) -> str:
    # espeak reads "$50,000" as "dollar fifty thousand": say the number first, then the unit.
    singular, plural = _CURRENCIES[symbol]
    if magnitude is not None:
        amount = whole if fraction is None else f"{whole}.{fraction}"
        return f"{amount} {_MAGNITUDES[magnitude.lower()]} {plural}"
    count = int(whole.replace(",", ""))
    unit = singular if count == 1 else plural
    if fraction is None or int(fraction) == 0:
        return f"{whole} {unit}"
    if len(fraction) != 2:
        return f"{whole}.{fraction} {plural}"
    cents = int(fraction)
    cent_unit = "cent" if cents == 1 else "cents"
    if count == 0:
        return f"{cents} {cent_unit}"
    return f"{whole} {unit} {cents} {cent_unit}"


def _year(century: str, rest: str) -> str:
    # espeak reads "2023" as "two thousand twenty three"; people say "twenty twenty-three".
    if century == "20" and rest.startswith("0"):
        return century + rest  # "two thousand nine" is how people say 2000-2009
    if rest == "00":
        return f"{century} hundred"
    if rest.startswith("0"):
        return f"{century} oh {rest[1]}"
    return f"{century} {rest}"


def _starts_sentence(word: str | None) -> bool:
    """True at the end of the text or before a capitalized ordinary word (not an acronym)."""
    if word is None:
        return True
    letters = word.lstrip(_LEADING).rstrip(_TRAILING)
    if letters == "I" or letters.startswith(("I'", "I’")):
        return True
    return bool(letters) and letters[0].isupper() and any(ch.islower() for ch in letters)
