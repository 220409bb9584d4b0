"""A session question's definition beyond id/text/type, as the JSON kept in `session_questions.question_meta`."""

from __future__ import annotations

import json
from typing import Any

from interviewai.domain.questions import ANY_SENIORITY, Criterion, Question, QuestionType, Rubric, Seniority


def _criterion(data: dict[str, Any]) -> Criterion:
    return Criterion(
        name=data["name"],
        label=data["label"],
        score_1=data["score_1"],
        score_5=data["score_5"],
        description=data.get("description", ""),
        weight=float(data.get("weight", 1.0)),
        signals=tuple(data.get("signals", ())),
    )


def encode_meta(question: Question) -> str | None:
    """None for a plain question (the seed's shape), so old rows and new plain rows look alike."""
    meta: dict[str, Any] = {}
    if question.roles:
        meta["roles"] = list(question.roles)
    if question.skills:
        meta["skills"] = list(question.skills)
    if question.seniority != ANY_SENIORITY:
        meta["seniority"] = sorted(s.value for s in question.seniority)
    if question.key_points:
        meta["key_points"] = list(question.key_points)
    if question.rubric is not None:
        meta["rubric"] = [
            {
                "name": c.name,
                "label": c.label,
                "score_1": c.score_1,
                "score_5": c.score_5,
                "description": c.description,
                "weight": c.weight,
                "signals": list(c.signals),
            }
            for c in question.rubric.criteria
        ]
    return json.dumps(meta, separators=(",", ":")) if meta else None


def decode_question(question_id: int, text: str, question_type: str, meta: str | None) -> Question:
    """The Question of a stored session question: its columns plus `meta`, the JSON of roles, skills,
    seniority, key points and rubric (None: a plain question of any level)."""
    data: dict[str, Any] = json.loads(meta) if meta else {}
    rubric = data.get("rubric")
    return Question(
        id=question_id,
        text=text,
        type=QuestionType(question_type),
        roles=tuple(data.get("roles", ())),
        skills=tuple(data.get("skills", ())),
        seniority=frozenset(Seniority(s) for s in data["seniority"])
        if "seniority" in data
        else ANY_SENIORITY,
        key_points=tuple(data.get("key_points", ())),
        rubric=Rubric(criteria=tuple(_criterion(c) for c in rubric)) if rubric else None,
    )
