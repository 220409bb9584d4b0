"""Reads a bank document (YAML or JSON bytes) into plain data plus the line of every field in it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import yaml

from interviewai.domain.questions import BankProblem, InvalidQuestionBank

Path = tuple[str | int, ...]


@dataclass
class BankDocument:
    """A parsed bank document: the plain data, the line of every field (for problem messages) and the keys
    given twice."""

    data: Any
    lines: dict[Path, int] = field(default_factory=dict)
    """1-based line of each mapping key / sequence item, by its path from the root."""
    duplicate_keys: list[tuple[Path, int]] = field(default_factory=list)

    def line_of(self, path: Path) -> int | None:
        """The line of `path`, or of its nearest ancestor that is in the document."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None


def _decode(content: bytes, source: str) -> str:
    if b"\x00" in content[:8192]:
        raise InvalidQuestionBank(f"{source} is a binary file, not a YAML or JSON text")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidQuestionBank(
            f"{source} is not UTF-8 text (byte 0x{content[error.start]:02x} at offset {error.start})"
        ) from None
    return text.removeprefix("\ufeff")


def _one_line(error: yaml.YAMLError, source: str) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    if mark is not None:
        return f"{source} line {mark.line + 1}: not valid YAML: {problem}"
    return f"{source} is not valid YAML: {problem}"


def _index_marks(node: yaml.Node, path: Path, document: BankDocument) -> None:
    """Record where each key and item starts, walking the composed node tree alongside the data."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = (*path, key)
            line = key_node.start_mark.line + 1
            if key in seen:
                document.duplicate_keys.append((child, line))
            seen.add(key)
            document.lines.setdefault(child, line)
            _index_marks(value_node, child, document)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            document.lines[child] = item.start_mark.line + 1
            _index_marks(item, child, document)


def _yaml_document(text: str, source: str) -> BankDocument:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as error:
        raise InvalidQuestionBank(_one_line(error, source)) from None
    finally:
        loader.dispose()
    document = BankDocument(data=data)
    if node is not None:
        _index_marks(node, (), document)
    return document


def read_bank_document(content: bytes, source: str, *, json_format: bool = False) -> BankDocument:
    """Parse `content`; a JSON document gets its lines from YAML's parser when it can read it."""
    text = _decode(content, source)
    if not json_format:
        return _yaml_document(text, source)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidQuestionBank(f"{source} line {error.lineno}: not valid JSON: {error.msg}") from None
    try:
        document = _yaml_document(text, source)
    except InvalidQuestionBank:
        # Valid JSON that YAML 1.1 cannot read (rare escapes): the problems just carry no lines.
        return BankDocument(data=data)
    document.data = data
    return document


def duplicate_key_problems(document: BankDocument) -> list[BankProblem]:
    """One BankProblem per key given twice in the document, with its line."""
    return [
        BankProblem(field=format_path(path), message="is given twice", line=line)
        for path, line in document.duplicate_keys
    ]


def format_path(path: Path) -> str:
    """`questions[3].seniority` style."""
    out = ""
    for part in path:
        if part == "[key]":  # pydantic's marker for a bad mapping key: the key's own path says it
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
