"""Chooses a plan's questions from a bank: introduction first, closing last, a mix of types, no near-duplicates."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from interviewai.domain.plans import PlannedQuestion
from interviewai.domain.questions import Question, QuestionBank, QuestionType, Seniority

Vectors = npt.NDArray[np.float32]
# Two questions at least this similar (cosine of their embeddings) count as the same question asked twice.
DUPLICATE_COSINE = 0.85
MIDDLE_TYPES = (QuestionType.BEHAVIORAL, QuestionType.TECHNICAL, QuestionType.SITUATIONAL)
# Shares of the middle of a plan: the seed's mix for a general interview, more technical for a role.
GENERAL_MIX = {QuestionType.BEHAVIORAL: 0.5, QuestionType.SITUATIONAL: 0.25, QuestionType.TECHNICAL: 0.25}
ROLE_MIX = {QuestionType.BEHAVIORAL: 0.3, QuestionType.SITUATIONAL: 0.25, QuestionType.TECHNICAL: 0.45}
ROLE_BONUS = 1.0
GENERAL_BONUS = 0.35
NEW_SKILL_BONUS = 0.6
KNOWN_SKILL_BONUS = 0.15
AD_SIMILARITY_WEIGHT = 1.0
# Random spread added to every score: plans vary between seeds without giving up relevance.
JITTER = 0.3


@dataclass(frozen=True)
class Target:
    """What the plan is for: a role, a level, and the ad's skills (most important first)."""

    role: str | None = None
    role_name: str = ""
    seniority: Seniority | None = None
    skills: tuple[str, ...] = ()
    skill_names: dict[str, str] = field(default_factory=dict)
    ad_vector: Vectors | None = None
    any_role: bool = False
    """Every question may serve (a team's own bank asked for no role)."""


def quotas(middle: int, mix: dict[QuestionType, float]) -> dict[QuestionType, int]:
    """Slots per type, at least one of each when there is room for three."""
    counts = {t: int(middle * share) for t, share in mix.items()}
    if middle >= len(mix):
        for t in counts:
            counts[t] = max(counts[t], 1)
    by_share = sorted(mix, key=lambda t: -mix[t])
    index = 0
    while sum(counts.values()) < middle:
        counts[by_share[index % len(by_share)]] += 1
        index += 1
    while sum(counts.values()) > middle:
        largest = max(counts, key=lambda t: counts[t])
        counts[largest] -= 1
    return counts


class PlanBuilder:
    """One plan: the bank, its question vectors (row-aligned), the target and a seeded random source."""

    def __init__(
        self,
        bank: QuestionBank,
        vectors: Vectors,
        target: Target,
        rng: random.Random,
        similarity: Vectors | None = None,
    ) -> None:
        """`similarity`: `vectors @ vectors.T`, when the caller keeps it (it is the same for every plan)."""
        self._bank = bank
        self._target = target
        self._rng = rng
        self._ad_similarity = (
            vectors @ target.ad_vector if target.ad_vector is not None else np.zeros(len(bank), np.float32)
        )
        self._similarity = similarity if similarity is not None else vectors @ vectors.T
        self._weights = {s: max(1.0 - 0.1 * i, 0.5) for i, s in enumerate(target.skills)}
        self._fitting = [self._fits(q) for q in bank.questions]
        self._chosen: list[int] = []
        # Each question's highest similarity to one already chosen, kept up to date as questions are chosen.
        self._closest = np.full(len(bank), -np.inf, dtype=np.float32)
        self._covered: set[str] = set()

    def _fits(self, question: Question) -> bool:
        target = self._target
        if not question.suits(target.seniority):
            return False
        if question.is_general or target.any_role:
            return True
        if target.role is not None and target.role in question.roles:
            return True
        return bool(set(question.skills) & set(self._weights))

    def _score(self, index: int) -> float:
        question = self._bank.questions[index]
        score = ROLE_BONUS if self._target.role in question.roles else GENERAL_BONUS * question.is_general
        for skill in question.skills:
            weight = self._weights.get(skill)
            if weight is not None:
                score += weight * (KNOWN_SKILL_BONUS if skill in self._covered else NEW_SKILL_BONUS)
        score += AD_SIMILARITY_WEIGHT * float(self._ad_similarity[index])
        return score + self._rng.random() * JITTER

    def _pick(self, types: Sequence[QuestionType]) -> int | None:
        chosen = set(self._chosen)
        candidates = [
            i
            for i, q in enumerate(self._bank.questions)
            if q.type in types
            and self._fitting[i]
            and i not in chosen
            and not self._closest[i] >= DUPLICATE_COSINE
        ]
        if not candidates:
            return None
        # Scores draw from the random source in a fixed order (bank order), so a seed replays exactly.
        scored = [(self._score(i), -i) for i in candidates]
        best = candidates[scored.index(max(scored))]
        self._chosen.append(best)
        np.maximum(self._closest, self._similarity[best], out=self._closest)
        self._covered.update(self._bank.questions[best].skills)
        return best

    def build(self, count: int) -> list[PlannedQuestion]:
        """Up to `count` questions, each with why it was chosen: the introduction first, the closing last, the
        middle by the type mix and interleaved by type, with no near-duplicates. Fewer when the bank runs
        out of fitting questions. Call it once per builder: it remembers what it chose."""
        opening = self._pick([QuestionType.INTRODUCTION])
        closing = self._pick([QuestionType.CLOSING])
        middle = max(count - (opening is not None) - (closing is not None), 0)
        mix = ROLE_MIX if self._target.role or self._target.skills else GENERAL_MIX
        slots = quotas(middle, mix)
        by_type: dict[QuestionType, list[int]] = {t: [] for t in MIDDLE_TYPES}
        # Skill-bearing types first, so coverage of the ad's skills is decided before the general slots.
        for question_type in (QuestionType.TECHNICAL, QuestionType.SITUATIONAL, QuestionType.BEHAVIORAL):
            for _ in range(slots[question_type]):
                picked = self._pick([question_type])
                if picked is None:
                    picked = self._pick(MIDDLE_TYPES)
                if picked is not None:
                    by_type[self._bank.questions[picked].type].append(picked)
        order: list[int] = [opening] if opening is not None else []
        while any(by_type.values()):
            for question_type in MIDDLE_TYPES:
                if by_type[question_type]:
                    order.append(by_type[question_type].pop(0))
        if closing is not None:
            order.append(closing)
        return [PlannedQuestion(self._bank.questions[i], self._why(self._bank.questions[i])) for i in order]

    def _why(self, question: Question) -> str:
        target = self._target
        asked = [target.skill_names.get(s, s) for s in question.skills if s in self._weights]
        if question.type is QuestionType.INTRODUCTION:
            reason = "Opens the interview"
        elif question.type is QuestionType.CLOSING:
            reason = "Closes the interview with your questions for them"
        elif asked:
            reason = "The ad asks for " + _join(asked[:3])
        elif target.role is not None and target.role in question.roles:
            reason = f"A core question for the {target.role_name or target.role} role"
        else:
            reason = f"A general {question.type.value} question for any role"
        if target.seniority is not None and question.seniority == {target.seniority}:
            reason += f", pitched at {target.seniority.value} level"
        return reason + "."


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
