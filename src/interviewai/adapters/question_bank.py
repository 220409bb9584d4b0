"""Loads the question bank from a YAML or JSON file (the packaged default or a team's own)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from interviewai.domain.questions import InvalidQuestionBank, QuestionBank


def load_question_bank(path: Path | None) -> QuestionBank:
    """Read and validate a bank; `None` means the bank shipped in the package."""
    if path is None:
        text = resources.files("interviewai.resources").joinpath("questions.yaml").read_text("utf-8")
        source = "the packaged question bank"
    else:
        try:
            text = path.read_text("utf-8")
        except OSError as error:
            raise InvalidQuestionBank(f"cannot read {path}: {error.strerror}") from None
        source = str(path)
    try:
        document: Any = (
            json.loads(text) if path is not None and path.suffix == ".json" else yaml.safe_load(text)
        )
    except (yaml.YAMLError, json.JSONDecodeError) as error:
        raise InvalidQuestionBank(f"{source} is not valid YAML/JSON: {error}") from None
    records = document.get("questions") if isinstance(document, dict) else document
    if not isinstance(records, list):
        raise InvalidQuestionBank(f"{source} must hold a list of questions (or a 'questions:' list)")
    try:
        return QuestionBank.from_records(records)
    except InvalidQuestionBank as error:
        raise InvalidQuestionBank(f"{source}: {error}") from None
