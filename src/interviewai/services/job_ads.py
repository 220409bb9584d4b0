"""Reads a job description against a bank's vocabulary: which role it is for and which skills it asks for."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from interviewai.domain.questions import QuestionBank

Vectors = npt.NDArray[np.float32]
# Below this cosine (ad vs. a role's questions) the embedding alone does not name a role.
ROLE_SIMILARITY_FLOOR = 0.30
# A skill no alias names is taken from the embedding only above this cosine (ad vs. the skill's phrases).
SKILL_SIMILARITY_FLOOR = 0.55
# How much a phrase in the ad counts against an embedding's vote, when scoring roles.
ROLE_ALIAS_WEIGHT = 3.0
ROLE_SKILL_WEIGHT = 1.0
ROLE_EMBEDDING_WEIGHT = 4.0
MAX_AD_SKILLS = 8


def _alias_pattern(phrases: list[str]) -> re.Pattern[str] | None:
    """Whole-word alternatives; a phrase of two letters or fewer ("Go", "R") must match its case."""
    loose = sorted({p for p in phrases if len(p) > 2}, key=len, reverse=True)
    strict = sorted({p for p in phrases if len(p) <= 2}, key=len, reverse=True)
    parts = [f"(?i:{re.escape(p)})" for p in loose] + [re.escape(p) for p in strict]
    if not parts:
        return None
    return re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(parts) + r")(?![A-Za-z0-9+#])")


def _phrases(name: str, ident: str, aliases: tuple[str, ...]) -> list[str]:
    return [name, ident.replace("-", " "), *aliases]


@dataclass(frozen=True)
class SkillMention:
    """A skill of the bank that a job ad asks for: how often the ad names it and where first (a count of 0:
    only the embedding found it)."""

    skill_id: str
    name: str
    count: int
    first_at: int
    """Character offset of the first mention; embedding-only matches get the ad's length."""


@dataclass(frozen=True)
class AdReading:
    """What a job ad asks for: its role (None when nothing points to one), its skills, and its embedding (None
    when it was not embedded)."""

    role: str | None
    skills: tuple[SkillMention, ...]
    """Most important first: mentioned more often, then earlier."""
    vector: Vectors | None
    recognised: bool
    """False when neither a phrase nor the embedding connects the ad to anything in the bank."""


def _needles(phrases: list[str]) -> tuple[str, ...]:
    """Lower-cased phrases: a pattern can only match a text that holds one of them."""
    return tuple({p.lower() for p in phrases if p})


class JobAdReader:
    """Compiled once per bank: alias patterns for roles and skills."""

    def __init__(self, bank: QuestionBank) -> None:
        self._bank = bank
        self._skill_patterns = [
            (skill, _alias_pattern(phrases), _needles(phrases))
            for skill in bank.skills
            for phrases in [_phrases(skill.name, skill.id, skill.aliases)]
        ]
        self._role_patterns = [
            (role.id, _alias_pattern(_phrases(role.name, role.id, role.aliases))) for role in bank.roles
        ]

    def mentioned_skills(self, text: str) -> list[SkillMention]:
        """The bank's skills that `text` names by name, id or alias (whole words), in the bank's order, each
        with its count and first offset."""
        found: list[SkillMention] = []
        lowered = text.lower()
        for skill, pattern, needles in self._skill_patterns:
            # A substring test first: most skills are not in a given ad, and `in` is far cheaper than the regex.
            if pattern is None or not any(needle in lowered for needle in needles):
                continue
            matches = list(pattern.finditer(text))
            if matches:
                found.append(SkillMention(skill.id, skill.name, len(matches), matches[0].start()))
        return found

    def mention_offsets(self, text: str) -> list[int]:
        """Where some skill or role of the bank is named (character offsets, unsorted)."""
        lowered = text.lower()
        offsets = [
            match.start()
            for _, pattern, needles in self._skill_patterns
            if pattern is not None and any(needle in lowered for needle in needles)
            for match in pattern.finditer(text)
        ]
        offsets += [
            m.start() for _, pattern in self._role_patterns if pattern for m in pattern.finditer(text)
        ]
        return offsets

    def read(
        self,
        text: str,
        ad_vector: Vectors | None,
        role_vectors: dict[str, Vectors],
        skill_vectors: Vectors | None,
    ) -> AdReading:
        """`role_vectors`: one unit vector per role (its questions' centroid); `skill_vectors` row-aligned
        with the bank's skills."""
        mentions = {m.skill_id: m for m in self.mentioned_skills(text)}
        if ad_vector is not None and skill_vectors is not None and len(self._bank.skills):
            skill_similarity = skill_vectors @ ad_vector
            for index in np.argsort(-skill_similarity)[:MAX_AD_SKILLS]:
                near = self._bank.skills[int(index)]
                if skill_similarity[index] >= SKILL_SIMILARITY_FLOOR and near.id not in mentions:
                    mentions[near.id] = SkillMention(near.id, near.name, 0, len(text))
        ranked = sorted(mentions.values(), key=lambda m: (-m.count, m.first_at))[:MAX_AD_SKILLS]
        scores: dict[str, float] = {role.id: 0.0 for role in self._bank.roles}
        evidence = bool(ranked)
        for role_id, pattern in self._role_patterns:
            hits = len(pattern.findall(text)) if pattern else 0
            scores[role_id] += ROLE_ALIAS_WEIGHT * min(hits, 3)
            evidence = evidence or hits > 0
        for mention in ranked:
            skill = self._bank.skill(mention.skill_id)
            if skill is not None and skill.roles:
                for role_id in skill.roles:
                    if role_id in scores:
                        scores[role_id] += ROLE_SKILL_WEIGHT * max(mention.count, 1) / len(skill.roles)
        if ad_vector is not None:
            for role_id, vector in role_vectors.items():
                cosine = float(vector @ ad_vector)
                if cosine >= ROLE_SIMILARITY_FLOOR:
                    scores[role_id] = scores.get(role_id, 0.0) + ROLE_EMBEDDING_WEIGHT * cosine
                    evidence = True
        best = max(scores.items(), key=lambda item: item[1], default=(None, 0.0))
        role = best[0] if best[1] > 0 else None
        return AdReading(role=role, skills=tuple(ranked), vector=ad_vector, recognised=evidence)
