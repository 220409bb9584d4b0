"""Guards the evaluator benchmark's labelled answers: shape, coverage of the default bank, and kind rules."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from interviewai.adapters.question_bank import load_question_bank

DATA = Path(__file__).resolve().parent.parent / "bench" / "data" / "labelled_answers.yaml"
LABELS = {"strong", "adequate", "weak", "off_topic", "adversarial"}
KINDS = {"empty", "gibberish", "repeat", "keywords", "ramble", "injection"}
# The fewest answers of each label per question, and of each adversarial kind overall.
PER_QUESTION = {"strong": 2, "adequate": 2, "weak": 2, "off_topic": 1, "adversarial": 2}
PER_KIND = 3
WORD = re.compile(r"[a-z0-9']+")


def _answers() -> list[dict[str, Any]]:
    document = yaml.safe_load(DATA.read_text("utf-8"))
    assert isinstance(document, dict) and set(document) == {"answers"}
    answers = document["answers"]
    assert isinstance(answers, list)
    return answers


def _words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def test_every_entry_has_the_documented_shape() -> None:
    bank_ids = {q.id for q in load_question_bank(None).questions}
    for position, entry in enumerate(_answers()):
        where = f"answers[{position}]"
        assert isinstance(entry, dict), where
        expected = {"question_id", "label", "answer"} | (
            {"kind"} if entry.get("label") == "adversarial" else set()
        )
        assert set(entry) == expected, f"{where}: fields {sorted(entry)}"
        assert entry["question_id"] in bank_ids, (
            f"{where}: question {entry['question_id']} is not in the bank"
        )
        assert entry["label"] in LABELS, where
        assert isinstance(entry["answer"], str), where
        if entry["label"] == "adversarial":
            assert entry["kind"] in KINDS, where


def test_there_are_at_least_a_hundred_distinct_answers() -> None:
    answers = _answers()
    assert len(answers) >= 100
    texts = [" ".join(_words(a["answer"])) for a in answers if a.get("kind") != "empty"]
    assert len(set(texts)) == len(texts), "an answer appears twice"


def test_every_question_has_every_label() -> None:
    counts = Counter((a["question_id"], a["label"]) for a in _answers())
    for question in load_question_bank(None).questions:
        for label, least in PER_QUESTION.items():
            assert counts[(question.id, label)] >= least, f"question {question.id}: too few {label}"


def test_every_adversarial_kind_is_used_often_enough() -> None:
    kinds = Counter(a["kind"] for a in _answers() if a["label"] == "adversarial")
    assert set(kinds) == KINDS
    assert min(kinds.values()) >= PER_KIND, kinds


def test_answer_lengths_fit_their_labels() -> None:
    for entry in _answers():
        count = len(entry["answer"].split())
        if entry["label"] == "strong":
            assert 80 <= count <= 250, entry["answer"][:60]
        elif entry["label"] == "weak":
            assert count <= 45, entry["answer"][:60]
        elif entry.get("kind") == "ramble":
            assert count >= 120, entry["answer"][:60]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_adversarial_answers_are_what_their_kind_says(kind: str) -> None:
    questions = {q.id: q.text for q in load_question_bank(None).questions}
    entries = [a for a in _answers() if a.get("kind") == kind]
    for entry in entries:
        text = entry["answer"]
        if kind == "empty":
            # Silence, or what a transcriber makes of it: no word of three letters or more.
            assert not re.search(r"[a-z]{3,}", text.lower()), text
        elif kind == "repeat":
            asked = set(_words(questions[entry["question_id"]])) - {"you", "your", "i", "me", "my"}
            assert len(asked & set(_words(text))) >= 0.7 * len(asked), text
        elif kind == "keywords":
            items = [item.strip() for item in text.rstrip(".").split(",")]
            assert len(items) >= 8 and all(len(item.split()) <= 4 for item in items), text
        elif kind == "injection":
            assert re.search(r"\b(score|marks)\b", text.lower()), text
    if kind == "injection":
        # Some injections hide inside an otherwise ordinary (weak) answer rather than standing alone.
        embedded = [e for e in entries if not re.match(r"(ignore|evaluator|hello)", e["answer"].lower())]
        assert len(embedded) >= 2
