"""Bank format 2: loading, the domain types it builds, and problems reported with their line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from interviewai.adapters.question_bank import load_packaged_rubrics, load_question_bank, parse_bank
from interviewai.domain.questions import (
    ANY_SENIORITY,
    InvalidQuestionBank,
    QuestionBank,
    QuestionType,
    Seniority,
)

FULL = """\
format: 2
name: Platform team
roles:
  - id: backend
    name: Backend engineer
    aliases: [server-side engineer]
skills:
  - id: postgresql
    name: PostgreSQL
    aliases: [postgres, psql]
    roles: [backend]
rubrics:
  technical:
    - name: depth
      label: Depth
      score_1: Names a tool.
      score_5: Explains the trade-off.
      weight: 2
      signals: [trade-off, because]
questions:
  - id: 1
    type: introduction
    text: Tell me about yourself.
  - id: 101
    type: technical
    text: "How would you   make a slow\\n PostgreSQL query fast again?"
    roles: [backend]
    skills: [postgresql]
    seniority: [mid, senior]
    key_points: [reads the plan with EXPLAIN ANALYZE]
  - id: 102
    type: technical
    text: What is a transaction?
    seniority: junior
    rubric:
      - name: accuracy
        label: Accuracy
        description: Says what it guarantees.
        score_1: Wrong.
        score_5: Right, with an example.
"""


def _problems(content: str, **kwargs: object) -> list[str]:
    with pytest.raises(InvalidQuestionBank) as caught:
        parse_bank(content.encode(), "bank.yaml", **kwargs)  # type: ignore[arg-type]
    return [str(p) for p in caught.value.problems]


def test_the_default_bank_loads_unchanged() -> None:
    bank = load_question_bank(None)
    raw = yaml.safe_load(Path("src/interviewai/resources/questions.yaml").read_text())["questions"]
    assert [(q.id, q.type.value, q.text) for q in bank.questions] == [
        (r["id"], r["type"], r["text"]) for r in raw
    ]
    assert all(q.is_general and q.seniority == ANY_SENIORITY and q.rubric is None for q in bank.questions)


def test_a_format_2_bank_builds_every_domain_type() -> None:
    bank = parse_bank(FULL.encode(), "bank.yaml")
    assert bank.name == "Platform team"
    assert [(r.id, r.aliases) for r in bank.roles] == [("backend", ("server-side engineer",))]
    assert bank.skills[0].roles == ("backend",) and bank.skills[0].aliases == ("postgres", "psql")
    intro, slow, transaction = bank.questions
    assert intro.is_general and intro.suits(Seniority.JUNIOR)
    assert slow.text == "How would you make a slow PostgreSQL query fast again?"
    assert slow.seniority == {Seniority.MID, Seniority.SENIOR} and not slow.suits(Seniority.JUNIOR)
    assert slow.key_points == ("reads the plan with EXPLAIN ANALYZE",)
    technical = bank.rubrics[QuestionType.TECHNICAL]
    assert bank.rubric_for(slow) is technical
    assert technical.criteria[0].weight == 2.0 and technical.criteria[0].signals == ("trade-off", "because")
    own = bank.rubric_for(transaction)
    assert own is not None and own.criteria[0].name == "accuracy" and own.total_weight == 1.0
    assert transaction.seniority == {Seniority.JUNIOR}


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("questions: []", "questions: the bank has no questions"),
        ("questions:\n  - {id: 1, type: chatty, text: 'Hi?'}", "line 2: questions[0].type: must be one of intro"),
        ("questions:\n  - {id: 1, type: closing, text: ''}", "line 2: questions[0].text: must be a non-empty"),
        ("questions:\n  - {id: 1, type: closing, text: 'A?'}\n  - {id: 1, type: closing, text: 'B?'}",
         "line 3: questions[1].id: question id 1 is used twice"),
        ("questions:\n  - {id: -3, type: closing, text: 'A?'}", "questions[0].id: must be greater than or equal to 1"),
        ("questions:\n  - {id: '7', type: closing, text: 'A?'}", "questions[0].id: must be a valid integer"),
        ("questions:\n  - {id: 1000000, type: closing, text: 'A?'}", "questions[0].id: must be less than"),
        ("questions:\n  - {id: 1, type: closing, text: 'A?', extra: 1}", "line 2: questions[0].extra: unknown field"),
        ("questions:\n  - id: 1\n    type: closing\n    text: " + "x" * 1001, "line 4: questions[0].text: is longer"),
        ("questions:\n  - id: 1\n    type: closing\n    text: A?\n    seniority: guru",
         "line 5: questions[0].seniority: must be one of junior, mid, senior, any"),
        ("questions:\n  - id: 1\n    type: closing\n    text: A?\n    roles: [backend]",
         "line 5: questions[0].roles[0]: unknown role 'backend'"),
        ("questions:\n  - id: 1\n    type: closing\n    text: A?\n    skills: [Go]",
         "line 5: questions[0].skills[0]: must be a lowercase slug"),
        ("rubrics:\n  closing:\n    - {name: x, label: X, score_1: a}\nquestions:\n  - {id: 1, type: closing, text: 'A?'}",
         "line 3: rubrics.closing[0].score_5: is required"),
        ("rubrics:\n  chatty: []\nquestions:\n  - {id: 1, type: closing, text: 'A?'}",
         "line 2: rubrics.chatty: must be one of introduction"),
        ("nmae: X\nquestions:\n  - {id: 1, type: closing, text: 'A?'}", "line 1: nmae: unknown field; allowed: format"),
        ("questions:\n  - id: 1\n    id: 2\n    type: closing\n    text: A?", "line 3: questions[0].id: is given twice"),
    ],
)  # fmt: skip
def test_each_problem_names_its_line_and_field(content: str, problem: str) -> None:
    assert any(p.startswith(problem) or problem in p for p in _problems(content)), _problems(content)


def test_every_problem_is_listed_with_its_line(tmp_path: Path) -> None:
    content = (
        "questions:\n"
        "  - {id: 1, type: introduction, text: 'Hi?', roles: [nobody]}\n"
        "  - {id: 2, type: chatty, text: 'Why?'}\n"
        "  - {id: 3, type: closing}\n"
        "  - {id: 1, type: closing, text: 'Bye?', seniority: [junior, guru]}\n"
    )
    problems = _problems(content)
    assert [p.split(":")[0] for p in problems] == ["line 2", "line 3", "line 4", "line 5", "line 5"]
    path = tmp_path / "team.yaml"
    path.write_text(content)
    with pytest.raises(InvalidQuestionBank) as caught:
        load_question_bank(path)
    lines = str(caught.value).splitlines()
    assert len(lines) == 5 and all(line.startswith(f"{path} line ") for line in lines)


def test_json_banks_report_lines_too(tmp_path: Path) -> None:
    document = {
        "questions": [{"id": 1, "type": "closing", "text": "Bye?"}, {"id": 2, "type": "x", "text": "?"}]
    }
    path = tmp_path / "bank.json"
    path.write_text(json.dumps(document, indent=2))
    with pytest.raises(InvalidQuestionBank, match=r"bank\.json line 10: questions\[1\].type: must be one of"):
        load_question_bank(path)
    path.write_text(json.dumps(document["questions"][:1]))
    assert load_question_bank(path).questions[0].text == "Bye?"
    path.write_text('{"questions": [')
    with pytest.raises(InvalidQuestionBank, match=r"bank\.json line 1: not valid JSON"):
        load_question_bank(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is a binary file, not a YAML or JSON text"),
        ("questions:\n  - {id: 1, type: closing, text: Caf\u00e9?}".encode("latin-1"), "is not UTF-8 text"),
        (b"{{{", "not valid YAML"),
        (b"questions:\n  - id: 1\n   type: x", "line 3: not valid YAML"),
        (b"just a string", "must hold a list"),
    ],
)
def test_unreadable_files_fail_with_one_line(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bank.yaml"
    path.write_bytes(content)
    with pytest.raises(InvalidQuestionBank) as caught:
        load_question_bank(path)
    assert message in str(caught.value) and len(str(caught.value).splitlines()) == 1


def test_missing_bank_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(InvalidQuestionBank, match="cannot read"):
        load_question_bank(tmp_path / "absent.yaml")


def test_uploaded_banks_may_use_the_vocabulary_they_are_given() -> None:
    vocabulary = parse_bank(FULL.encode(), "library.yaml")
    upload = (
        "questions:\n  - {id: 5, type: technical, text: 'Why index?', roles: [backend], skills: [postgresql]}"
    )
    assert _problems(upload)[0].startswith("line 2: questions[0].roles[0]: unknown role 'backend'")
    bank = parse_bank(upload.encode(), "upload", vocabulary=vocabulary)
    assert [r.id for r in bank.roles] == ["backend"] and [s.id for s in bank.skills] == ["postgresql"]


def test_packaged_rubrics_are_the_defaults_a_bank_can_override() -> None:
    packaged = load_packaged_rubrics()
    assert set(packaged) == set(QuestionType)
    assert all(r.criteria and all(c.weight > 0 for c in r.criteria) for r in packaged.values())
    bank = parse_bank(FULL.encode(), "bank.yaml", default_rubrics=packaged)
    expected = {**packaged, QuestionType.TECHNICAL: bank.rubrics[QuestionType.TECHNICAL]}
    assert dict(bank.rubrics) == expected
    assert bank.rubrics[QuestionType.TECHNICAL].criteria[0].name == "depth"


def test_banks_compare_by_content() -> None:
    assert parse_bank(FULL.encode(), "a") == parse_bank(FULL.encode(), "b")
    assert isinstance(parse_bank(FULL.encode(), "a"), QuestionBank)
