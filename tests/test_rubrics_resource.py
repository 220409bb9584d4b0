"""The packaged judging content: per-type rubrics with the fields evaluators rely on, and key points per question."""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

import pytest
import yaml

from interviewai.adapters.question_bank import load_question_bank
from interviewai.domain.questions import QuestionType

REQUIRED = ("name", "label", "description", "score_1", "score_5")
OPTIONAL = ("weight", "signals")
SLUG = re.compile(r"^[a-z][a-z0-9_]*$")


def _rubrics() -> dict[str, Any]:
    text = resources.files("interviewai.resources").joinpath("rubrics.yaml").read_text("utf-8")
    document = yaml.safe_load(text)
    assert isinstance(document, dict) and set(document) == {"rubrics"}
    rubrics = document["rubrics"]
    assert isinstance(rubrics, dict)
    return rubrics


def test_every_question_type_has_a_rubric_and_nothing_else() -> None:
    assert set(_rubrics()) == {t.value for t in QuestionType}


@pytest.mark.parametrize("question_type", [t.value for t in QuestionType])
def test_criteria_have_the_required_fields(question_type: str) -> None:
    criteria = _rubrics()[question_type]
    assert isinstance(criteria, list) and len(criteria) >= 3
    names = [c["name"] for c in criteria]
    assert len(set(names)) == len(names), f"{question_type}: criterion names repeat"
    for criterion in criteria:
        assert set(criterion) <= set(REQUIRED + OPTIONAL), f"{question_type}: unknown field in {criterion}"
        for field in REQUIRED:
            value = criterion.get(field)
            assert isinstance(value, str) and value.strip(), (
                f"{question_type}.{criterion.get('name')}: {field} is missing"
            )
        assert SLUG.match(criterion["name"]), criterion["name"]
        weight = criterion.get("weight", 1.0)
        assert isinstance(weight, int | float) and not isinstance(weight, bool) and weight > 0


@pytest.mark.parametrize("question_type", [t.value for t in QuestionType])
def test_signals_are_short_plain_lowercase_cues(question_type: str) -> None:
    for criterion in _rubrics()[question_type]:
        signals = criterion.get("signals", [])
        assert isinstance(signals, list) and len(signals) <= 50
        assert len(set(signals)) == len(signals), f"{criterion['name']}: a signal repeats"
        for cue in signals:
            assert isinstance(cue, str) and cue.strip() == cue and 0 < len(cue) <= 40, repr(cue)
            assert cue == cue.lower(), f"{criterion['name']}: {cue!r} is not lowercase"


def test_behavioral_rubric_judges_star_specificity_ownership_and_reflection() -> None:
    names = {c["name"] for c in _rubrics()["behavioral"]}
    assert {"situation", "task", "action", "result", "specificity", "ownership", "reflection"} <= names


def test_situational_and_technical_rubrics_cover_what_the_issue_names() -> None:
    rubrics = _rubrics()
    assert {"priorities", "first_steps", "communication"} <= {c["name"] for c in rubrics["situational"]}
    assert {"key_points", "reasoning", "clarity"} <= {c["name"] for c in rubrics["technical"]}


def test_every_default_question_has_three_to_six_key_points_and_a_rubric() -> None:
    bank = load_question_bank(None)
    for question in bank.questions:
        assert 3 <= len(question.key_points) <= 6, question.id
        assert len(set(question.key_points)) == len(question.key_points), question.id
        rubric = bank.rubric_for(question)
        assert rubric is not None and rubric.criteria, question.id
