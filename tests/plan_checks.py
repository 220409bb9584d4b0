"""The rules every plan must keep, and the app planning from the test library, for the plan tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from conftest import RunningApp, SettingsFactory
from interviewai.app import create_app
from interviewai.domain.plans import Plan
from interviewai.domain.ports import Embedder
from interviewai.domain.questions import QuestionType
from interviewai.services.plan_builder import DUPLICATE_COSINE


async def assert_plan_rules(plan: Plan, embedder: Embedder, count: int) -> None:
    """Assert the rules every plan keeps: `count` questions, introduction only first and closing only last, a
    mix of types, unique ids, a reason each, no near-duplicates."""
    types = [p.question.type for p in plan.questions]
    assert len(types) == count, types
    assert types[0] is QuestionType.INTRODUCTION and types[-1] is QuestionType.CLOSING, types
    assert QuestionType.INTRODUCTION not in types[1:-1] and QuestionType.CLOSING not in types[1:-1]
    if count >= 5:
        assert len(set(types[1:-1])) >= 2, f"no mix of types: {types}"
    ids = [p.question.id for p in plan.questions]
    assert len(set(ids)) == len(ids)
    assert all(p.why for p in plan.questions)
    vectors = await embedder.embed([p.question.text for p in plan.questions])
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, 0)
    assert float(similarity.max()) < DUPLICATE_COSINE, "two near-duplicate questions in one plan"


def on_target_share(plan: Plan, role: str, skills: set[str]) -> float:
    """Of the plan's role-specific questions, the share that belong to `role` or test one of `skills`."""
    specific = [p.question for p in plan.questions if not p.question.is_general]
    if not specific:
        return 1.0
    fitting = [q for q in specific if role in q.roles or set(q.skills) & skills]
    return len(fitting) / len(specific)


def skills_covered(plan: Plan, skills: set[str]) -> set[str]:
    """The skills of `skills` that some question of the plan covers."""
    return {s for p in plan.questions for s in p.question.skills} & skills


LIBRARY = Path(__file__).parent / "data" / "library.yaml"


async def open_planned_app(make_settings: SettingsFactory, **overrides: Any) -> AsyncIterator[RunningApp]:
    """The app planning from the small test library, with a client on the ASGI transport."""
    app = create_app(make_settings(question_library=LIBRARY, **overrides))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield RunningApp(app, client)
