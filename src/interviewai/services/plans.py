"""Making interview plans: which bank, what the job description asks for, and the questions that fit."""

from __future__ import annotations

import asyncio
import logging
import random
import re
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import numpy as np

from interviewai.domain.plans import (
    DEFAULT_QUESTIONS,
    MAX_GENERATED_QUESTIONS,
    MAX_JOB_DESCRIPTION_CHARS,
    InvalidPlanOption,
    JobDescriptionTooLong,
    Plan,
    PlannedQuestion,
    PlanRequest,
)
from interviewai.domain.ports import Embedder
from interviewai.domain.questions import QuestionBank, Seniority
from interviewai.services.job_ads import AdReading, JobAdReader, Vectors
from interviewai.services.plan_builder import PlanBuilder, Target
from interviewai.services.question_writer import QuestionWriter

logger = logging.getLogger(__name__)
# Embeddings of this many banks (the packaged ones and recently used custom versions) stay in memory.
_INDEX_CACHE = 16
# An ad is embedded in at most two windows of this many words (a sentence model reads ~250 tokens).
_AD_WINDOW_WORDS = 160
_INDEX_PIECE = 32
_WRITTEN_CACHE = 256
# Ad vectors by (bank, text): a preview and the start after it embed the ad once.
_AD_CACHE = 64
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+|\n+")


@dataclass(frozen=True)
class BankIndex:
    """A bank with its vectors: questions (row-aligned), each role's centroid, each skill's phrases."""

    bank: QuestionBank
    reader: JobAdReader
    questions: Vectors
    roles: dict[str, Vectors]
    skills: Vectors | None
    similarity: Vectors
    """`questions @ questions.T`: the near-duplicate check of every plan reads it."""


@dataclass(frozen=True)
class RoleInfo:
    """A role of a bank as the roles endpoint lists it: how many questions serve it and at which levels (in
    Seniority order)."""

    id: str
    name: str
    question_count: int
    seniorities: tuple[str, ...]


@dataclass(frozen=True)
class ResolvedBank:
    """The bank a plan draws from: a custom bank with its id and version, or the packaged library (id and
    version None)."""

    bank: QuestionBank
    bank_id: str | None
    version: int | None


BankResolver = Callable[[str], Awaitable[ResolvedBank]]
"""Finds a custom bank by id (raising InvalidPlanOption when there is none)."""


def _unit(vector: Vectors) -> Vectors:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def ad_windows(text: str, mentions: Callable[[str], list[int]]) -> list[str]:
    """The parts of an ad to embed: at most two windows of at most `_AD_WINDOW_WORDS` words, cut between
    sentences where it can, one per embedding worker so they run side by side and finish together.

    An ad that fits in two windows is cut in about equal halves. A longer one keeps its first window (the
    title and what the job is) and the window naming the most of the bank's skills and roles (`mentions`:
    their character offsets), in the ad's order; the rest is read for its phrases only.
    """
    sentences: list[tuple[int, list[str]]] = []
    ends: list[int] = []  # word counts at the end of each real sentence
    start = 0
    for end in [m.start() for m in _SENTENCE_END.finditer(text)] + [len(text)]:
        words = text[start:end].split()
        # A "sentence" longer than a window (a list with no full stops) is cut into window-sized runs.
        sentences += [
            (start, words[i : i + _AD_WINDOW_WORDS]) for i in range(0, len(words), _AD_WINDOW_WORDS)
        ]
        ends.append((ends[-1] if ends else 0) + len(words))
        start = end
    words = [word for _, run in sentences for word in run]
    total = len(words)
    if total <= _AD_WINDOW_WORDS:
        return [" ".join(words)] if words else []
    if total <= 2 * _AD_WINDOW_WORDS:
        fitting = [end for end in ends if total - _AD_WINDOW_WORDS <= end <= _AD_WINDOW_WORDS]
        cut = min(fitting, key=lambda end: abs(2 * end - total)) if fitting else total // 2
        return [" ".join(words[:cut]), " ".join(words[cut:])]
    windows: list[tuple[int, list[str]]] = []
    for offset, run in sentences:
        if windows and len(windows[-1][1]) + len(run) <= _AD_WINDOW_WORDS:
            windows[-1][1].extend(run)
        else:
            windows.append((offset, list(run)))
    bounds = [offset for offset, _ in windows[1:]] + [len(text)]
    offsets = mentions(text)
    counts = [sum(lo <= m < hi for m in offsets) for (lo, _), hi in zip(windows, bounds, strict=True)]
    densest = max(range(1, len(windows)), key=lambda i: (counts[i], -i))
    return [" ".join(windows[0][1]), " ".join(windows[densest][1])]


class PlanService:
    """Plans from the packaged library or a custom bank. A job description is read by phrase and by embedding,
    the questions that fit it are chosen with a seeded random source, and a writer (when given) adds up to
    three written for the ad. Bank embeddings and ad vectors are kept by content."""

    def __init__(
        self,
        default_bank: QuestionBank,
        library: QuestionBank | None,
        embedder: Embedder,
        *,
        custom_banks: BankResolver | None = None,
        writer: QuestionWriter | None = None,
        ad_cache: int = _AD_CACHE,
    ) -> None:
        """`ad_cache`: how many ads' vectors to keep (0: embed every ad every time, as the benchmark does)."""
        self._default = default_bank
        self._library = library
        self._embedder = embedder
        self._custom_banks = custom_banks
        self._writer = writer
        # Written questions by (request, bank version): a preview and the start after it get the same ones.
        self._written: OrderedDict[tuple[object, ...], tuple[list[PlannedQuestion], str | None]] = (
            OrderedDict()
        )
        self._indexes: OrderedDict[tuple[str, int], BankIndex] = OrderedDict()
        self._ad_cache = ad_cache
        self._ad_vectors: OrderedDict[tuple[tuple[str, int], str], Vectors] = OrderedDict()
        self._index_lock = asyncio.Lock()

    @property
    def default_bank(self) -> QuestionBank:
        """The seed's fixed questions, which a request with no options gets as they are."""
        return self._default

    @property
    def catalog(self) -> QuestionBank:
        """The bank plans draw from when no `bank_id` is given: the library, else the default bank."""
        return self._library or self._default

    @property
    def embedder(self) -> Embedder:
        """The embedder that plans read ads and question banks with."""
        return self._embedder

    def roles(self, bank: QuestionBank | None = None) -> list[RoleInfo]:
        """The roles of `bank` (default: the catalog) in the bank's order, with their question counts and
        levels."""
        source = bank or self.catalog
        infos = []
        for role in source.roles:
            questions = [q for q in source.questions if role.id in q.roles]
            levels = {s for q in questions for s in q.seniority}
            infos.append(
                RoleInfo(
                    id=role.id,
                    name=role.name,
                    question_count=len(questions),
                    seniorities=tuple(s.value for s in Seniority if s in levels),
                )
            )
        return infos

    async def prepare(self) -> None:
        """Embed the packaged library ahead, so the first plan does not pay for it (a failure here only
        means the first plan will try again)."""
        try:
            await self._index(self.catalog, ("packaged", 0))
        except Exception:
            logger.exception("could not embed the question library ahead; the first plan will")

    async def plan(self, request: PlanRequest) -> Plan:
        """The plan for `request`: JobDescriptionTooLong for an ad over the limit, InvalidPlanOption for an
        unknown bank or role. A request with no options gets the default questions (seed None); a given
        seed replays the same choice from the bank."""
        if request.job_description is not None and len(request.job_description) > MAX_JOB_DESCRIPTION_CHARS:
            raise JobDescriptionTooLong(
                f"job_description is {len(request.job_description)} characters; "
                f"at most {MAX_JOB_DESCRIPTION_CHARS} are accepted."
            )
        if request.is_default:
            return Plan(questions=tuple(PlannedQuestion(q, "") for q in self._default.questions), seed=None)
        resolved = await self._resolve(request.bank_id)
        bank = resolved.bank
        if request.role is not None and bank.role(request.role) is None:
            allowed = [r.id for r in bank.roles]
            raise InvalidPlanOption(
                "role", f"unknown role {request.role!r}; allowed: {', '.join(allowed) or 'none'}", allowed
            )
        key = (resolved.bank_id or "packaged", resolved.version or 0)
        index = await self._index(bank, key)
        seed = request.seed if request.seed is not None else secrets.randbelow(2**31)
        reading = await self._read_ad(index, key, request.job_description)
        role = request.role or (reading.role if reading else None)
        notes = self._notes(bank, request, reading, role)
        skills = tuple(m.skill_id for m in reading.skills) if reading else ()
        role_info = bank.role(role) if role else None
        target = Target(
            role=role,
            role_name=role_info.name if role_info else "",
            seniority=request.seniority,
            skills=skills,
            skill_names={m.skill_id: m.name for m in reading.skills} if reading else {},
            ad_vector=reading.vector if reading and reading.recognised else None,
            any_role=resolved.bank_id is not None and role is None,
        )
        count = request.num_questions or DEFAULT_QUESTIONS
        questions = PlanBuilder(
            bank, index.questions, target, random.Random(seed), similarity=index.similarity
        ).build(count)
        if self._writer is not None and reading is not None and reading.recognised and len(questions) >= 5:
            questions = await self._add_written(
                request,
                (request, seed, key),
                index,
                questions,
                reading,
                role_info.name if role_info else "",
                notes,
            )
        if len(questions) < count:
            notes.append(f"Only {len(questions)} questions of this bank fit the request.")
        return Plan(
            questions=tuple(questions),
            seed=seed,
            role=role,
            skills=skills,
            bank_id=resolved.bank_id,
            bank_version=resolved.version,
            notes=tuple(notes),
        )

    async def _add_written(
        self,
        request: PlanRequest,
        key: tuple[object, ...],
        index: BankIndex,
        questions: list[PlannedQuestion],
        reading: AdReading,
        role_name: str,
        notes: list[str],
    ) -> list[PlannedQuestion]:
        """Up to three chat-written questions in place of the last library ones before the closing."""
        assert self._writer is not None and reading.vector is not None
        written = self._written.get(key)
        if written is None:
            rows = [index.bank.questions.index(p.question) for p in questions]
            written = await self._writer.write(
                request.job_description or "",
                role_name,
                [m.name for m in reading.skills],
                index.questions[rows],
                reading.vector,
                min(MAX_GENERATED_QUESTIONS, len(questions) - 4),
            )
            self._written[key] = written
            while len(self._written) > _WRITTEN_CACHE:
                self._written.popitem(last=False)
        extras, note = written
        if note:
            notes.append(note)
        if not extras:
            return questions
        body, closing = questions[:-1], questions[-1]
        return [*body[: len(body) - len(extras)], *extras, closing]

    async def _resolve(self, bank_id: str | None) -> ResolvedBank:
        if bank_id is None:
            return ResolvedBank(self.catalog, None, None)
        if self._custom_banks is None:
            raise InvalidPlanOption("bank_id", f"unknown bank {bank_id!r}; no custom banks are kept here")
        return await self._custom_banks(bank_id)

    async def _read_ad(self, index: BankIndex, key: tuple[str, int], text: str | None) -> AdReading | None:
        if text is None or not text.strip():
            return None
        ad_vector = self._ad_vectors.get((key, text))
        if ad_vector is None:
            vectors = await self._embedder.embed(ad_windows(text, index.reader.mention_offsets))
            ad_vector = _unit(vectors.mean(axis=0).astype(np.float32))
            if self._ad_cache > 0:
                self._ad_vectors[(key, text)] = ad_vector
                while len(self._ad_vectors) > self._ad_cache:
                    self._ad_vectors.popitem(last=False)
        else:
            self._ad_vectors.move_to_end((key, text))
        return index.reader.read(text, ad_vector, index.roles, index.skills)

    @staticmethod
    def _notes(
        bank: QuestionBank, request: PlanRequest, reading: AdReading | None, role: str | None
    ) -> list[str]:
        if reading is None:
            return []
        role_info = bank.role(role) if role else None
        mix = f"the {role_info.name} mix" if role_info else "the general mix"
        if not reading.recognised:
            return [f"The job description names no role or skill this bank knows, so this is {mix}."]
        notes = []
        if request.role is None and role_info is not None:
            notes.append(f"Read the job description as a {role_info.name} role.")
        if reading.skills:
            notes.append("Skills it asks for: " + ", ".join(m.name for m in reading.skills) + ".")
        return notes

    async def _index(self, bank: QuestionBank, key: tuple[str, int]) -> BankIndex:
        full_key = (f"{key[0]}@{self._embedder.model_name}", key[1])
        # The key names the content: the packaged bank never changes, a custom bank's version does.
        cached = self._indexes.get(full_key)
        if cached is not None:
            self._indexes.move_to_end(full_key)
            return cached
        async with self._index_lock:
            cached = self._indexes.get(full_key)
            if cached is not None:
                return cached
            index = await self._build_index(bank)
            self._indexes[full_key] = index
            while len(self._indexes) > _INDEX_CACHE:
                self._indexes.popitem(last=False)
            return index

    async def _build_index(self, bank: QuestionBank) -> BankIndex:
        texts = [q.text for q in bank.questions]
        role_texts = [f"{r.name}: {', '.join(r.aliases)}" for r in bank.roles]
        skill_texts = [f"{s.name}: {', '.join(s.aliases)}" for s in bank.skills]
        everything = texts + role_texts + skill_texts
        # In pieces, each with the embedder's own deadline: a busy machine slows a piece, not the whole bank.
        pieces = [
            await self._embedder.embed(everything[i : i + _INDEX_PIECE])
            for i in range(0, len(everything), _INDEX_PIECE)
        ]
        vectors = np.concatenate(pieces) if pieces else np.zeros((0, 0), np.float32)
        questions = vectors[: len(texts)]
        named = vectors[len(texts) : len(texts) + len(role_texts)]
        roles: dict[str, Vectors] = {}
        for row, role in enumerate(bank.roles):
            members = [i for i, q in enumerate(bank.questions) if role.id in q.roles]
            centroid = questions[members].mean(axis=0) if members else np.zeros_like(named[row])
            roles[role.id] = _unit((centroid + named[row]).astype(np.float32))
        skills = vectors[len(texts) + len(role_texts) :] if skill_texts else None
        return BankIndex(bank, JobAdReader(bank), questions, roles, skills, questions @ questions.T)
