"""Loads and validates question banks (format 2, YAML or JSON), naming the line and field of every problem."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from interviewai.adapters.bank_document import (
    BankDocument,
    duplicate_key_problems,
    format_path,
    read_bank_document,
)
from interviewai.adapters.bank_schema import (
    BankHeaderDoc,
    CriterionDoc,
    QuestionDoc,
    RoleDoc,
    RubricDoc,
    RubricsFileDoc,
    SkillDoc,
)
from interviewai.domain.questions import (
    ANY_SENIORITY,
    BankProblem,
    Criterion,
    InvalidQuestionBank,
    Question,
    QuestionBank,
    QuestionType,
    Role,
    Rubric,
    Seniority,
    Skill,
)

M = TypeVar("M", bound=BaseModel)
_RUBRIC = TypeAdapter(RubricDoc)
# At most this many problems go into the error's message; `problems` keeps them all.
_MESSAGE_PROBLEMS = 25
_SHOULD = re.compile(r"^(Input|String|List|Value|Dictionary|Object) should( be)?")


def _message(error: Mapping[str, Any], model: type[BaseModel] | None) -> str:
    kind = error["type"]
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        if model is not None and len(error["loc"]) == 1:
            return f"unknown field; allowed: {', '.join(model.model_fields)}"
        return "unknown field"
    if kind == "enum":
        return "must be one of " + str(error["ctx"]["expected"]).replace("'", "").replace(" or ", ", ")
    if kind == "string_pattern_mismatch":
        return "must be a lowercase slug (letters, digits and single hyphens, like 'data-science')"
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    message = _SHOULD.sub(lambda m: "must be" if m.group(2) else "must", str(error["msg"]))
    return message[0].lower() + message[1:] if message else kind


class _Checker:
    """Collects every problem of one document, each with the field's path and line."""

    def __init__(self, document: BankDocument) -> None:
        self.document = document
        self.problems: list[BankProblem] = duplicate_key_problems(document)

    def add(self, path: tuple[str | int, ...], message: str) -> None:
        self.problems.append(
            BankProblem(field=format_path(path), message=message, line=self.document.line_of(path))
        )

    def validate(self, model: type[M], raw: Any, path: tuple[str | int, ...]) -> M | None:
        try:
            return model.model_validate(raw)
        except ValidationError as error:
            self._add_errors(error, path, model)
            return None

    def rubric(self, raw: Any, path: tuple[str | int, ...]) -> Rubric | None:
        try:
            criteria: list[CriterionDoc] = _RUBRIC.validate_python(raw)
        except ValidationError as error:
            self._add_errors(error, path, None)
            return None
        self.unique((c.name for c in criteria), path, "name", "criterion")
        return Rubric(criteria=tuple(_criterion(c) for c in criteria))

    def unique(self, values: Iterable[object], path: tuple[str | int, ...], key: str, what: str) -> None:
        seen: set[object] = set()
        for index, value in enumerate(values):
            if not isinstance(value, (int, str)) or isinstance(value, bool):
                continue  # a wrong type is the schema's problem, reported there
            if value in seen:
                self.add((*path, index, key), f"{what} {value!r} is used twice")
            seen.add(value)

    def _add_errors(
        self, error: ValidationError, path: tuple[str | int, ...], model: type[BaseModel] | None
    ) -> None:
        for item in error.errors():
            self.add((*path, *item["loc"]), _message(item, model))


def _criterion(doc: CriterionDoc) -> Criterion:
    return Criterion(
        name=doc.name,
        label=doc.label,
        score_1=doc.score_1,
        score_5=doc.score_5,
        description=doc.description,
        weight=float(doc.weight),
        signals=tuple(doc.signals),
    )


def _seniority(value: Any) -> frozenset[Seniority]:
    if value == "any":
        return ANY_SENIORITY
    return frozenset(Seniority(v) for v in ([value] if isinstance(value, str) else value))


def _fail(source: str, problems: list[BankProblem]) -> InvalidQuestionBank:
    problems.sort(key=lambda p: p.line or 0)
    shown = [
        f"{source} {p}" if p.line is not None else f"{source}: {p}" for p in problems[:_MESSAGE_PROBLEMS]
    ]
    if len(problems) > _MESSAGE_PROBLEMS:
        shown.append(f"... and {len(problems) - _MESSAGE_PROBLEMS} more problems")
    return InvalidQuestionBank("\n".join(shown), tuple(problems))


def _references(
    checker: _Checker, raw: Any, known: Mapping[str, object], path: tuple[str | int, ...], what: str
) -> None:
    """Check references straight from the raw data, so they are reported even when other fields fail."""
    for index, ref in enumerate(raw if isinstance(raw, list) else ()):
        if isinstance(ref, str) and ref not in known:
            checker.add((*path, index), f"unknown {what} {ref!r}; define it under '{what}s'")


def _field(raw: Any, name: str) -> Any:
    return raw.get(name) if isinstance(raw, dict) else None


class _BankReader:
    """Reads one document section by section, sharing the vocabulary and the problem list."""

    def __init__(self, checker: _Checker, data: dict[str, Any], vocabulary: QuestionBank | None) -> None:
        self.checker = checker
        self.data = data
        self.roles: dict[str, Role] = {r.id: r for r in (vocabulary.roles if vocabulary else ())}
        self.skills: dict[str, Skill] = {s.id: s for s in (vocabulary.skills if vocabulary else ())}

    def section(self, name: str) -> list[Any]:
        value = self.data.get(name)
        return value if isinstance(value, list) else []

    def own_roles(self) -> list[Role]:
        own: list[Role] = []
        for index, raw in enumerate(self.section("roles")):
            if (doc := self.checker.validate(RoleDoc, raw, ("roles", index))) is not None:
                own.append(Role(id=doc.id, name=doc.name, aliases=tuple(doc.aliases)))
        self.checker.unique((_field(raw, "id") for raw in self.section("roles")), ("roles",), "id", "role")
        self.roles.update((r.id, r) for r in own)
        return own

    def own_skills(self) -> list[Skill]:
        own: list[Skill] = []
        for index, raw in enumerate(self.section("skills")):
            _references(self.checker, _field(raw, "roles"), self.roles, ("skills", index, "roles"), "role")
            if (doc := self.checker.validate(SkillDoc, raw, ("skills", index))) is not None:
                own.append(Skill(doc.id, doc.name, tuple(doc.aliases), tuple(doc.roles)))
        self.checker.unique((_field(raw, "id") for raw in self.section("skills")), ("skills",), "id", "skill")
        self.skills.update((s.id, s) for s in own)
        return own

    def rubrics(self, defaults: Mapping[QuestionType, Rubric]) -> dict[QuestionType, Rubric]:
        rubrics = dict(defaults)
        raw_rubrics = self.data.get("rubrics")
        types = {t.value for t in QuestionType}
        for key, raw in raw_rubrics.items() if isinstance(raw_rubrics, dict) else ():
            # A key that is not a type was reported by the header's schema.
            rubric = self.checker.rubric(raw, ("rubrics", key)) if key in types else None
            if rubric is not None:
                rubrics[QuestionType(key)] = rubric
        return rubrics

    def questions(self) -> list[Question]:
        questions: list[Question] = []
        for index, raw in enumerate(self.section("questions")):
            path: tuple[str | int, ...] = ("questions", index)
            _references(self.checker, _field(raw, "roles"), self.roles, (*path, "roles"), "role")
            _references(self.checker, _field(raw, "skills"), self.skills, (*path, "skills"), "skill")
            if (doc := self.checker.validate(QuestionDoc, raw, path)) is None:
                continue
            rubric = self.checker.rubric(doc.rubric, (*path, "rubric")) if doc.rubric is not None else None
            questions.append(
                Question(
                    id=doc.id,
                    text=doc.text,
                    type=doc.type,
                    roles=tuple(doc.roles),
                    skills=tuple(doc.skills),
                    seniority=_seniority(doc.seniority),
                    key_points=tuple(" ".join(p.split()) for p in doc.key_points),
                    rubric=rubric,
                )
            )
        ids = (_field(raw, "id") for raw in self.section("questions"))
        self.checker.unique(ids, ("questions",), "id", "question id")
        return questions


def parse_bank(
    content: bytes,
    source: str,
    *,
    json_format: bool = False,
    vocabulary: QuestionBank | None = None,
    default_rubrics: Mapping[QuestionType, Rubric] | None = None,
) -> QuestionBank:
    """Validate a whole document; raise InvalidQuestionBank listing every problem with its line.

    `vocabulary` (the packaged library) supplies roles and skills the document uses without defining.
    """
    document = read_bank_document(content, source, json_format=json_format)
    data = {"questions": document.data} if isinstance(document.data, list) else document.data
    if not isinstance(data, dict):
        raise InvalidQuestionBank(f"{source} must hold a list of questions (or a 'questions:' list)")
    checker = _Checker(document)
    header = checker.validate(BankHeaderDoc, data, ())
    reader = _BankReader(checker, data, vocabulary)
    own_roles = reader.own_roles()
    own_skills = reader.own_skills()
    rubrics = reader.rubrics(default_rubrics or {})
    questions = reader.questions()
    if header is not None and not header.questions:
        checker.add(("questions",), "the bank has no questions")
    if checker.problems:
        raise _fail(source, checker.problems)
    # Vocabulary entries the document borrowed come along, so the bank describes itself.
    used_roles = {r for q in questions for r in q.roles} | {r for s in own_skills for r in s.roles}
    used_skills = {s for q in questions for s in q.skills}
    own_role_ids = {r.id for r in own_roles}
    own_skill_ids = {s.id for s in own_skills}
    borrowed_roles = (r for i, r in reader.roles.items() if i in used_roles and i not in own_role_ids)
    borrowed_skills = (s for i, s in reader.skills.items() if i in used_skills and i not in own_skill_ids)
    return QuestionBank(
        questions=tuple(questions),
        name=header.name if header else "",
        roles=(*own_roles, *borrowed_roles),
        skills=(*own_skills, *borrowed_skills),
        rubrics=MappingProxyType(rubrics),
    )


def _packaged(name: str) -> bytes | None:
    resource = resources.files("interviewai.resources").joinpath(name)
    return resource.read_bytes() if resource.is_file() else None


def load_packaged_rubrics() -> Mapping[QuestionType, Rubric]:
    """The per-type rubrics shipped in the package (`resources/rubrics.yaml`); empty if it is absent."""
    content = _packaged("rubrics.yaml")
    if content is None:
        return MappingProxyType({})
    source = "rubrics.yaml"
    document = read_bank_document(content, source)
    checker = _Checker(document)
    rubrics: dict[QuestionType, Rubric] = {}
    if (doc := checker.validate(RubricsFileDoc, document.data, ())) is not None:
        for question_type, raw in doc.rubrics.items():
            if (rubric := checker.rubric(raw, ("rubrics", question_type.value))) is not None:
                rubrics[question_type] = rubric
    if checker.problems:
        raise _fail(source, checker.problems)
    return MappingProxyType(rubrics)


class YamlBankParser:
    """BankParser for uploads: roles and skills a document uses without defining come from `vocabulary` (the
    packaged library), rubrics it does not define from the packaged per-type rubrics."""

    def __init__(self, vocabulary: QuestionBank | None) -> None:
        self._vocabulary = vocabulary
        self._rubrics = load_packaged_rubrics()

    def parse(self, content: bytes, source: str, *, json_format: bool) -> QuestionBank:
        """`parse_bank` with this parser's vocabulary and the packaged rubrics (read once, when it is built)."""
        return parse_bank(
            content,
            source,
            json_format=json_format,
            vocabulary=self._vocabulary,
            default_rubrics=self._rubrics,
        )


def load_packaged_bank(name: str, *, vocabulary: QuestionBank | None = None) -> QuestionBank | None:
    """A bank shipped in the package (`questions.yaml`, `library.yaml`), or None if it is absent."""
    content = _packaged(name)
    if content is None:
        return None
    return parse_bank(content, name, vocabulary=vocabulary, default_rubrics=load_packaged_rubrics())


def load_question_bank(path: Path | None, *, vocabulary: QuestionBank | None = None) -> QuestionBank:
    """Read and validate a bank; `None` means the default bank shipped in the package."""
    if path is None:
        bank = load_packaged_bank("questions.yaml", vocabulary=vocabulary)
        assert bank is not None, "the package always ships questions.yaml"
        return bank
    try:
        content = path.read_bytes()
    except OSError as error:
        raise InvalidQuestionBank(f"cannot read {path}: {error.strerror}") from None
    return parse_bank(
        content,
        str(path),
        json_format=path.suffix.lower() == ".json",
        vocabulary=vocabulary,
        default_rubrics=load_packaged_rubrics(),
    )
