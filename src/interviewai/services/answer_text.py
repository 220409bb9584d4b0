"""Reading an answer's text: sentences with their exact spans, cue phrases, and signs of a non-answer."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

# Sentence ends: ., ! or ? followed by space, or a line break; the span keeps the answer's own characters.
_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+[\"')\]]*|$|(?=\n))", re.MULTILINE)
_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?", re.IGNORECASE)
_NUMBER = re.compile(
    r"\b(\d[\d,.]*\s?(%|percent|ms|k|x)?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"fifteen|twenty|thirty|forty|fifty|sixty|hundred|thousand|million|billion|half|twice|double)\b",
    re.IGNORECASE,
)
# Words that hold English sentences together; a list of keywords has almost none of them.
FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "so",
        "because",
        "if",
        "then",
        "than",
        "that",
        "this",
        "these",
        "those",
        "it",
        "its",
        "i",
        "i'm",
        "i've",
        "i'd",
        "me",
        "my",
        "we",
        "our",
        "us",
        "you",
        "your",
        "he",
        "she",
        "they",
        "them",
        "their",
        "is",
        "was",
        "were",
        "are",
        "be",
        "been",
        "being",
        "am",
        "have",
        "has",
        "had",
        "do",
        "did",
        "does",
        "to",
        "of",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "as",
        "into",
        "about",
        "after",
        "before",
        "over",
        "under",
        "while",
        "when",
        "where",
        "which",
        "who",
        "what",
        "how",
        "not",
        "no",
        "there",
        "here",
        "can",
        "could",
        "would",
        "should",
        "will",
        "just",
        "also",
        "up",
        "out",
    ]
)
# Spoken filler; a long answer dense with it is rambling rather than answering.
FILLERS = (
    "um", "uh", "erm", "you know", "i mean", "kind of", "sort of", "like i said", "whatever", "i guess",
    "honestly", "basically", "yeah", "anyway", "or something", "stuff like that", "and so on", "right,",
)  # fmt: skip
# Hedges and tag questions: a long answer full of them talks around the question instead of answering it.
HEDGES = (
    "i think", "i guess", "i suppose", "it depends", "depends on", "i don't know", "at the end of the day",
    "and all that", "and everything", "or whatever", "really", "isn't it", "is it", "do they", "can you",
    "aren't we", "don't they", "one way or another", "more or less", "and so on", "things like that",
    "that kind of thing", "kind of thing", "so yeah", "i mean", "you know",
)  # fmt: skip
# Text addressed to the grader instead of the interviewer: rewarded by nothing, noticed and reported.
_INJECTION = re.compile(
    r"ignore (all |any |the |your |my )?(previous |prior |above |earlier )?(instructions|rules|prompt|rubric)"
    r"|(give|award|grant|score) (me|this answer|this|it)\b.{0,40}\b(full marks|maximum|max|top|highest|5 out of 5|"
    r"10 out of 10|perfect)"
    r"|full marks|maximum score|system (note|prompt|message)|note to the (ai|grader|evaluator|model)"
    r"|you are now|as an ai|to the evaluator|(meets|satisfies) every (rubric )?criteri"
    r"|disregard (the|your|all)"
    r"|\b(evaluator|grader|scorer|grading model)\b.{0,40}\b(instruction|score|output|return)"
    r"|(automated|ai) (grader|evaluator|scorer)|new instructions?\b|skip the rubric|regardless of the rubric"
    r"|</?(system|answer|instructions?|assistant|user)>|\b(assign|output|return)\b.{0,30}\b(highest|maximum|"
    r"score of \d+|100)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Sentence:
    """One sentence of an answer and its span; `lowered` is the text in lower case padded with a space each
    side, so a cue phrase matches as whole words."""

    start: int
    end: int
    text: str
    """Exactly answer[start:end], so it can be quoted as evidence."""
    lowered: str


@dataclass(frozen=True)
class AnswerText:
    """An answer read once (`read_answer`): its sentences and words, and the rates the rubric engine judges it
    by."""

    text: str
    sentences: tuple[Sentence, ...]
    words: tuple[str, ...]
    """Lower-case words in order."""

    @property
    def word_count(self) -> int:
        """Words as `words_of` counts them: a contraction is one word, punctuation is none."""
        return len(self.words)

    @property
    def function_word_ratio(self) -> float:
        """Share of the words that hold sentences together, 0-1 (0 for no words): a list of keywords scores
        near 0."""
        return sum(1 for w in self.words if w in FUNCTION_WORDS) / len(self.words) if self.words else 0.0

    def filler_rate(self) -> float:
        """Filler phrases per 100 words."""
        if not self.words:
            return 0.0
        lowered = " " + " ".join(self.words) + " "
        count = sum(lowered.count(f" {f.rstrip(',')} ") for f in FILLERS)
        return 100.0 * count / len(self.words)

    def hedge_rate(self) -> float:
        """Filler and hedging phrases per 100 words."""
        if not self.words:
            return 0.0
        lowered = " " + " ".join(self.words) + " "
        count = sum(lowered.count(f" {h} ") for h in HEDGES)
        return self.filler_rate() + 100.0 * count / len(self.words)

    def known_word_ratio(self, vocabulary: frozenset[str]) -> float:
        """Share of alphabetic words found in an English vocabulary (gibberish scores low)."""
        alphabetic = [w for w in self.words if w.isalpha()]
        if not alphabetic or not vocabulary:
            return 1.0
        return sum(1 for w in alphabetic if w in vocabulary) / len(alphabetic)

    def distinct_ratio(self) -> float:
        """Distinct words over all words, 0-1 (0 for no words): low when the answer repeats itself."""
        return len(set(self.words)) / len(self.words) if self.words else 0.0

    def injection_sentences(self) -> set[int]:
        """Indexes of sentences that address the grader."""
        return {i for i, s in enumerate(self.sentences) if _INJECTION.search(s.text)}

    def novel_word_share(self, question: str) -> float:
        """Share of the answer's content words that the question does not already contain."""
        asked = {w for w in words_of(question) if w not in FUNCTION_WORDS}
        content = [w for w in self.words if w not in FUNCTION_WORDS]
        if not content:
            return 0.0
        return sum(1 for w in content if w not in asked) / len(content)


def words_of(text: str) -> list[str]:
    """The lower-case words of `text` in order, a contraction kept as one word with a straight apostrophe."""
    return [m.group(0).lower().replace("’", "'") for m in _WORD.finditer(text)]


def read_answer(text: str) -> AnswerText:
    """Splits `text` into sentences whose spans index `text` exactly (so evidence quotes are verbatim) and
    into words; a run without a word is no sentence."""
    sentences: list[Sentence] = []
    for match in _SENTENCE.finditer(text):
        raw = match.group(0)
        # Trim the span to its visible characters: the quote must be an exact substring, without padding.
        leading = len(raw) - len(raw.lstrip())
        stripped = raw.strip()
        if not stripped or not _WORD.search(stripped):
            continue
        start = match.start() + leading
        sentences.append(Sentence(start, start + len(stripped), stripped, " " + stripped.lower() + " "))
    return AnswerText(text=text, sentences=tuple(sentences), words=tuple(words_of(text)))


def chunks(sentences: tuple[Sentence, ...], max_words: int, max_chunks: int) -> list[tuple[int, int]]:
    """Consecutive sentences grouped into at most `max_chunks` runs of about `max_words` words each,
    as (first, last + 1) sentence indexes; what does not fit is left out."""
    runs: list[tuple[int, int]] = []
    first, words = 0, 0
    for index, sentence in enumerate(sentences):
        count = len(sentence.text.split())
        if words and words + count > max_words:
            runs.append((first, index))
            if len(runs) == max_chunks:
                return runs
            first, words = index, 0
        words += count
    if words:
        runs.append((first, len(sentences)))
    return runs[:max_chunks]


def count_numbers(text: str) -> int:
    """How many figures `text` names, in digits or in words ("40%", "200 ms", "twice", "a hundred")."""
    return len(_NUMBER.findall(text))


@lru_cache(maxsize=4096)
def _signal_pattern(signal: str) -> re.Pattern[str]:
    """A cue phrase as a case-insensitive whole-word pattern; a lone symbol (%, ?) matches anywhere."""
    phrase = signal.strip().lower()
    if not any(ch.isalnum() for ch in phrase):
        return re.compile(re.escape(phrase))
    return re.compile(r"(?<![a-z0-9])" + re.escape(phrase).replace(r"\ ", r"\s+") + r"(?![a-z0-9])")


def matched_signals(sentence: Sentence, signals: Iterable[str]) -> list[str]:
    """The cue phrases of `signals` found in the sentence as whole words, in the order given."""
    return [s for s in signals if _signal_pattern(s).search(sentence.lowered)]
