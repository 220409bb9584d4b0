"""The offline, deterministic `rubric` evaluator: cue phrases, embeddings and templates, with quoted evidence."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from interviewai.domain.evaluation import (
    MAX_EVIDENCE,
    MAX_QUOTE_CHARS,
    AnswerToJudge,
    CriterionScore,
    Evaluation,
    EvaluationFailed,
)
from interviewai.domain.follow_ups import Gap, follow_up_for
from interviewai.domain.ports import Embedder
from interviewai.domain.questions import Criterion, Question, QuestionType, Rubric
from interviewai.domain.session import FollowUp
from interviewai.services.answer_text import (
    AnswerText,
    chunks,
    count_numbers,
    matched_signals,
    read_answer,
    words_of,
)

ENGINE_VERSION = "1"
# Runs of sentences embedded per answer, and their size in words: beyond this a ramble only costs time.
MAX_CHUNKS = 3
CHUNK_WORDS = 60
MAX_SENTENCES = 60
SHORT_ANSWER_WORDS = 25
# Cosine (all-MiniLM-L6-v2) between question and answer: below LOW an answer is about something else; from HIGH
# on it is fully on topic. Calibrated on bench/data/labelled_answers.yaml (docs/benchmarks.md).
RELEVANCE_LOW = 0.02
RELEVANCE_HIGH = 0.20
# Off topic (a follow-up, an improvement): far from the question and from every key point.
OFF_TOPIC_BELOW = 0.10
OFF_TOPIC_KEY_POINT_BELOW = 0.22
KEY_POINT_LOW = 0.30
KEY_POINT_HIGH = 0.60
# Caps for non-answers: each keeps them under any real answer, whatever cue phrases they contain.
CAP_INJECTION = 5
CAP_GIBBERISH = 5
CAP_REPEAT = 5
CAP_KEYWORDS = 5
CAP_RAMBLE = 5
NON_ANSWER_CAPS = {
    "empty": 0,
    "injection": CAP_INJECTION,
    "gibberish": CAP_GIBBERISH,
    "repeat": CAP_REPEAT,
    "keywords": CAP_KEYWORDS,
    "ramble": CAP_RAMBLE,
}
KNOWN_WORDS_MIN = 0.75
FUNCTION_WORDS_MIN = 0.18
NOVEL_SHARE_MIN = 0.3
RAMBLE_WORDS = 120
RAMBLE_HEDGE_RATE = 4.0
NUMBER_CRITERIA = frozenset({"specificity", "highlight", "result", "background"})
STRUCTURE_CRITERIA = frozenset({"structure", "clarity"})


@dataclass(frozen=True)
class Reading:
    """What the engine measured in one answer, before scoring."""

    answer: AnswerText
    relevance: float
    """cos(question, answer), 0 for an empty answer."""
    sentence_relevance: npt.NDArray[np.float32]
    key_point_cover: npt.NDArray[np.float32]
    """Per key point, the best cosine of any sentence."""
    key_point_best: list[int]
    flags: frozenset[str]
    """Non-answer signs: empty, injection, gibberish, repeat, keywords, ramble."""

    @property
    def off_topic(self) -> bool:
        """Far from the question and from every key point: the answer earns the off-topic follow-up."""
        best_point = float(self.key_point_cover.max()) if len(self.key_point_cover) else 0.0
        return self.relevance < OFF_TOPIC_BELOW and best_point < OFF_TOPIC_KEY_POINT_BELOW


def _scale(value: float, low: float, high: float) -> float:
    return float(min(1.0, max(0.0, (value - low) / (high - low))))


class RubricEvaluator:
    """Scores each criterion 1-5 from the answer's own sentences; comments come from the rubric's words."""

    def __init__(
        self,
        embedder: Embedder,
        vocabulary: frozenset[str] = frozenset(),
        *,
        default_rubrics: dict[QuestionType, Rubric] | None = None,
        cache_size: int = 512,
    ) -> None:
        self._embedder = embedder
        self._vocabulary = vocabulary
        self._default_rubrics = default_rubrics or {}
        self._question_vectors: OrderedDict[str, npt.NDArray[np.float32]] = OrderedDict()
        self._cache_size = cache_size

    @property
    def name(self) -> str:
        """The engine name reports and metrics carry."""
        return "rubric"

    @property
    def version(self) -> str:
        """The engine's version and the embedding model's name (another model scores differently)."""
        return f"{ENGINE_VERSION}+{self._embedder.model_name}"

    async def evaluate(self, answer: AnswerToJudge) -> Evaluation:
        """The answer's evaluation; EvaluationFailed when it has no rubric."""
        evaluation, _ = await self.assess(answer)
        return evaluation

    def rubric_of(self, answer: AnswerToJudge) -> Rubric:
        """The rubric an answer is judged on: its own, else its type's; EvaluationFailed when none."""
        rubric = answer.rubric or self._default_rubrics.get(answer.question.type)
        if rubric is None or not rubric.criteria:
            raise EvaluationFailed(f"no rubric for {answer.question.type.value} questions")
        return rubric

    async def assess(self, answer: AnswerToJudge) -> tuple[Evaluation, Reading]:
        """The evaluation and what it was measured on (the llm engine reuses the non-answer signs)."""
        rubric = self.rubric_of(answer)
        reading = await self.read(answer.question, answer.answer_text)
        # Scoring is a few microseconds of Python per sentence: not worth a thread hop.
        return self._score(answer.question, rubric, reading), reading

    async def choose(self, question: Question, answer_text: str) -> FollowUp | None:
        """The follow-up an answer earns: very short, off topic, or a story without its result."""
        reading = await self.read(question, answer_text)
        gap = self.gap(question, reading)
        return follow_up_for(gap) if gap is not None else None

    def gap(self, question: Question, reading: Reading) -> Gap | None:
        """What a follow-up should ask for, checked in this order: a very short answer, an off-topic one, a
        behavioral story with no result cue; None when the answer has none of these."""
        if reading.answer.word_count < SHORT_ANSWER_WORDS:
            return Gap.TOO_SHORT
        if reading.off_topic:
            return Gap.OFF_TOPIC
        if question.type is QuestionType.BEHAVIORAL:
            rubric = (
                self._default_rubrics.get(QuestionType.BEHAVIORAL)
                if question.rubric is None
                else question.rubric
            )
            result = rubric.criterion("result") if rubric else None
            # Cue phrases only: numbers in a story ("over two days") are not an outcome.
            if result is not None and not any(
                matched_signals(x, result.signals) for x in reading.answer.sentences
            ):
                return Gap.NO_RESULT
        return None

    async def read(self, question: Question, text: str) -> Reading:
        """Measures `text` against `question`: relevance, key-point cover and the non-answer signs. Embeds a
        few runs of sentences, not every sentence."""
        answer = read_answer(text)
        flags: set[str] = set()
        if not answer.words:
            empty = np.zeros(0, dtype=np.float32)
            cover = np.zeros(len(question.key_points), np.float32)
            return Reading(answer, 0.0, empty, cover, [], frozenset({"empty"}))
        sentences = answer.sentences
        # A few runs of sentences, not every sentence: embedding costs per token, and three runs of about
        # sixty words cover a normal answer while keeping one evaluation within its time budget.
        runs = chunks(sentences, CHUNK_WORDS, MAX_CHUNKS)
        question_rows = await self._question_rows(question)
        rows = await self._embedder.embed([text[sentences[a].start : sentences[b - 1].end] for a, b in runs])
        run_relevance = rows @ question_rows[0]
        relevance = 0.5 * float(run_relevance.max() + run_relevance.mean())
        sentence_relevance = np.zeros(len(sentences), dtype=np.float32)
        for (a, b), value in zip(runs, run_relevance, strict=True):
            sentence_relevance[a:b] = value
        cover = np.zeros(len(question.key_points), np.float32)
        best: list[int] = []
        if question.key_points:
            similarity = rows @ question_rows[1:].T
            cover = similarity.max(axis=0).astype(np.float32)
            for point, run in zip(question.key_points, similarity.argmax(axis=0), strict=True):
                a, b = runs[int(run)]
                best.append(max(range(a, b), key=lambda i: _overlap(point, sentences[i].lowered)))
        if answer.injection_sentences():
            flags.add("injection")
        if answer.known_word_ratio(self._vocabulary) < KNOWN_WORDS_MIN or answer.distinct_ratio() < 0.35:
            flags.add("gibberish")
        if answer.novel_word_share(question.text) < NOVEL_SHARE_MIN:
            flags.add("repeat")
        if answer.word_count >= 3 and answer.function_word_ratio < FUNCTION_WORDS_MIN:
            flags.add("keywords")
        if answer.word_count >= RAMBLE_WORDS and answer.hedge_rate() >= RAMBLE_HEDGE_RATE:
            flags.add("ramble")
        return Reading(answer, relevance, sentence_relevance, cover, best, frozenset(flags))

    async def _question_rows(self, question: Question) -> npt.NDArray[np.float32]:
        key = "\x00".join((question.text, *question.key_points))
        cached = self._question_vectors.get(key)
        if cached is None:
            cached = await self._embedder.embed([question.text, *question.key_points])
            self._question_vectors[key] = cached
            while len(self._question_vectors) > self._cache_size:
                self._question_vectors.popitem(last=False)
        else:
            self._question_vectors.move_to_end(key)
        return cached

    # --- scoring -------------------------------------------------------------------------------------

    def _score(self, question: Question, rubric: Rubric, reading: Reading) -> Evaluation:
        criteria = tuple(self._criterion(c, question, reading) for c in rubric.criteria)
        total_weight = sum(c.weight for c in criteria) or 1.0
        mean = sum(c.score * c.weight for c in criteria) / total_weight
        base = (mean - 1.0) / 4.0 * 100.0
        on_topic = _scale(reading.relevance, RELEVANCE_LOW, RELEVANCE_HIGH)
        length = min(1.0, 0.4 + reading.answer.word_count / 80.0)
        score = base * (0.25 + 0.75 * on_topic) * length
        cap = non_answer_cap(reading.flags)
        if cap is not None:
            score = min(score, cap)
        strengths, improvements = self._advice(criteria, rubric, reading)
        return Evaluation(
            evaluator=self.name,
            evaluator_version=self.version,
            score=round(max(0.0, min(100.0, score))),
            criteria=criteria,
            strengths=strengths,
            improvements=improvements,
        )

    def _criterion(self, criterion: Criterion, question: Question, reading: Reading) -> CriterionScore:
        answer = reading.answer
        if "empty" in reading.flags:
            return CriterionScore(
                criterion.name, criterion.label, 1, (), _comment(criterion, 1), criterion.weight
            )
        excluded = answer.injection_sentences()
        sentences = answer.sentences[:MAX_SENTENCES]
        if criterion.name == "key_points" and question.key_points:
            return self._key_points(criterion, question, reading, excluded)
        distinct: set[str] = set()
        ranked: list[tuple[float, int]] = []
        for index, sentence in enumerate(sentences):
            if index in excluded:
                continue
            hits = matched_signals(sentence, criterion.signals)
            numbers = count_numbers(sentence.text) if criterion.name in NUMBER_CRITERIA else 0
            if not hits and not numbers:
                continue
            distinct.update(hits)
            distinct.update(f"#{index}:{n}" for n in range(min(numbers, 2)))
            relevance = (
                float(reading.sentence_relevance[index]) if index < len(reading.sentence_relevance) else 0.0
            )
            ranked.append(((len(hits) + numbers) * (0.5 + max(0.0, relevance)), index))
        strength = len(distinct) * 0.9 + 0.4 * max(0, min(len(ranked) - 1, 3))
        if criterion.name in STRUCTURE_CRITERIA:
            strength += 1.0 if 3 <= len(sentences) <= 15 else 0.0
            strength += 1.0 if 60 <= answer.word_count <= 320 else 0.0
        if criterion.name == "ownership":
            mine = sum(1 for w in answer.words if w in {"i", "i'm", "i've", "i'd", "my"})
            ours = sum(1 for w in answer.words if w in {"we", "our", "us"})
            strength += 2.0 * mine / (mine + ours) if mine >= 2 else 0.0
        if criterion.name == "questions":
            strength += min(3, answer.text.count("?"))
        if criterion.name in {"key_points", "relevance"}:
            strength += 4.0 * _scale(reading.relevance, RELEVANCE_LOW, RELEVANCE_HIGH)
        score = 1 + int(min(4, round(strength)))
        ranked.sort(key=lambda item: (-item[0], item[1]))
        evidence = tuple(_quote(sentences[i].text) for _, i in ranked[:MAX_EVIDENCE])
        return CriterionScore(
            criterion.name,
            criterion.label,
            score,
            evidence,
            _comment(criterion, score),
            criterion.weight,
        )

    def _key_points(
        self, criterion: Criterion, question: Question, reading: Reading, excluded: set[int]
    ) -> CriterionScore:
        covered = [
            (_scale(float(c), KEY_POINT_LOW, KEY_POINT_HIGH), i)
            for i, c in enumerate(reading.key_point_cover)
            if i < len(reading.key_point_best) and reading.key_point_best[i] not in excluded
        ]
        fraction = sum(value for value, _ in covered) / len(question.key_points)
        score = 1 + round(4 * fraction)
        best = sorted(covered, key=lambda item: -item[0])
        sentences = reading.answer.sentences
        evidence = tuple(
            dict.fromkeys(
                _quote(sentences[reading.key_point_best[i]].text) for value, i in best if value > 0.3
            )
        )[:MAX_EVIDENCE]
        missing = [question.key_points[i] for value, i in covered if value < 0.3]
        comment = _comment(criterion, score)
        if missing:
            comment += f" Not covered: {missing[0]}."
        return CriterionScore(criterion.name, criterion.label, score, evidence, comment, criterion.weight)

    def _advice(
        self, criteria: Sequence[CriterionScore], rubric: Rubric, reading: Reading
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        flags = reading.flags
        improvements: list[str] = []
        if "empty" in flags:
            return (), ("Answer the question: even two or three sentences give something to build on.",)
        if "injection" in flags:
            improvements.append(
                "Instructions to the grader are ignored; spend the time answering the question."
            )
        if "gibberish" in flags or "keywords" in flags:
            improvements.append("Answer in full sentences: a list of words shows no experience or reasoning.")
        if "repeat" in flags:
            improvements.append("Repeating the question is not an answer; say what you did or would do.")
        if "ramble" in flags:
            improvements.append(
                "Cut the filler and get to one concrete example; a focused minute beats five loose ones."
            )
        if reading.off_topic:
            improvements.append("Stay on the question that was asked; the answer drifted to another topic.")
        elif reading.answer.word_count < SHORT_ANSWER_WORDS:
            improvements.append("Say more: one concrete example with what you did and how it ended.")
        judged = not (flags - {"ramble"})
        strengths = (
            [
                f"{c.label}: “{c.evidence[0]}”"
                for c in sorted(criteria, key=lambda c: -c.score)
                if c.score >= 4 and c.evidence
            ][:3]
            if judged
            else []
        )
        for c in sorted(criteria, key=lambda c: (c.score, -c.weight)):
            if c.score <= 2 and len(improvements) < 4:
                criterion = rubric.criterion(c.name)
                improvements.append(f"{c.label}: {criterion.score_5 if criterion else 'show more of it'}")
        return tuple(strengths), tuple(improvements)


def non_answer_cap(flags: frozenset[str]) -> int | None:
    """The highest score (0-100) an answer with these non-answer signs may get, whoever judges it."""
    caps = [cap for flag, cap in NON_ANSWER_CAPS.items() if flag in flags]
    return min(caps) if caps else None


def _overlap(point: str, lowered_sentence: str) -> int:
    return sum(1 for word in set(words_of(point)) if len(word) > 3 and f" {word}" in lowered_sentence)


def _quote(text: str) -> str:
    """A whole sentence, or its first MAX_QUOTE_CHARS cut at a word boundary: always a substring."""
    if len(text) <= MAX_QUOTE_CHARS:
        return text
    cut = text[:MAX_QUOTE_CHARS]
    space = cut.rfind(" ")
    return cut[:space] if space > MAX_QUOTE_CHARS // 2 else cut


def _comment(criterion: Criterion, score: int) -> str:
    if score >= 4:
        return f"Clearly there. At its best: {criterion.score_5}"
    if score >= 3:
        return f"Partly there. To reach 5: {criterion.score_5}"
    if score == 2:
        return f"Only hinted at. To reach 5: {criterion.score_5}"
    return f"Missing ({criterion.score_1}) To reach 5: {criterion.score_5}"
