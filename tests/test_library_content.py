"""The packaged library and the labelled job ads follow the content rules of issue 13."""

from __future__ import annotations

import re
from collections import Counter
from importlib.resources import files
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
JOB_ADS = ROOT / "bench" / "data" / "job_ads.yaml"

REQUIRED_ROLES = (
    "backend",
    "frontend",
    "data-science",
    "machine-learning",
    "devops-sre",
    "product-management",
    "design",
    "customer-success",
)
# Each role's questions take ids from its own block of a thousand; general questions take 1001-1099.
ID_BLOCKS = {None: (1001, 1099)} | {
    role: (base, base + 998) for role, base in zip(REQUIRED_ROLES, range(2001, 10_000, 1000), strict=True)
}
TYPES = {"introduction", "behavioral", "situational", "technical", "closing"}
SENIORITIES = {"junior", "mid", "senior"}
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
CRITERION_SLUG = re.compile(r"^[a-z0-9_]+$")
# Texts are spoken by a TTS voice: no symbols it would read out oddly, no code, no lists.
UNSPEAKABLE = re.compile(r"[/\\&%#+=<>*_{}\[\]|`~^@$]|\d\.\d|\n")
# Words that say nothing about a question's topic; words of two letters or fewer are dropped anyway.
STOPWORDS = frozenset(
    re.findall(
        r"[a-z]+",
        "and are but can could does for from had has have how into its that the their them then there "
        "they this was were what when where which while who why will with would you your about after "
        "before did",
    )
)

TOP_FIELDS = {"format", "name", "roles", "skills", "rubrics", "questions"}
ROLE_FIELDS = {"id", "name", "aliases"}
SKILL_FIELDS = {"id", "name", "aliases", "roles"}
QUESTION_FIELDS = {"id", "type", "text", "roles", "skills", "seniority", "key_points", "rubric"}
CRITERION_FIELDS = {"name", "label", "description", "score_1", "score_5", "weight"}
AD_FIELDS = {"id", "role", "skills", "text"}


@pytest.fixture(scope="module")
def library() -> dict[str, Any]:
    text = files("interviewai.resources").joinpath("library.yaml").read_text(encoding="utf-8")
    document = yaml.safe_load(text)
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def ads() -> list[dict[str, Any]]:
    document = yaml.safe_load(JOB_ADS.read_text(encoding="utf-8"))
    assert isinstance(document, dict) and set(document) == {"ads"}
    return list(document["ads"])


def _roles_of(question: dict[str, Any]) -> list[str]:
    return list(question.get("roles") or [])


def _seniorities(question: dict[str, Any]) -> set[str]:
    value = question["seniority"]
    return set(SENIORITIES) if value == "any" else {value} if isinstance(value, str) else set(value)


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]+", text.lower()) if w not in STOPWORDS and len(w) > 2}


def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    # Whole-word, case-insensitive, as docs/question-bank.md says job-ad matching works.
    return re.compile(r"(?<![a-z0-9])" + re.escape(phrase.lower()) + r"(?![a-z0-9])")


def _mentions(text: str, phrases: list[str]) -> bool:
    lowered = text.lower()
    return any(_phrase_pattern(p).search(lowered) for p in phrases)


# Aliases only: a display name such as "Go" or "R" would match ordinary words in an ad.
def _skill_phrases(library: dict[str, Any]) -> dict[str, list[str]]:
    return {s["id"]: list(s["aliases"]) for s in library["skills"]}


def _role_phrases(library: dict[str, Any]) -> dict[str, list[str]]:
    return {r["id"]: list(r["aliases"]) for r in library["roles"]}


def test_document_has_only_format_two_fields(library: dict[str, Any]) -> None:
    assert set(library) <= TOP_FIELDS
    assert library["format"] == 2
    assert isinstance(library["name"], str) and library["name"]


def test_roles_cover_the_required_eight_with_job_ad_aliases(library: dict[str, Any]) -> None:
    roles = library["roles"]
    ids = [r["id"] for r in roles]
    assert len(ids) == len(set(ids))
    assert set(REQUIRED_ROLES) <= set(ids)
    aliases: Counter[str] = Counter()
    for role in roles:
        assert set(role) == ROLE_FIELDS, role["id"]
        assert SLUG.match(role["id"]) and role["name"]
        assert 4 <= len(role["aliases"]) <= 8, role["id"]
        aliases.update(a.lower() for a in role["aliases"])
    assert [a for a, n in aliases.items() if n > 1] == []


def test_skills_vocabulary_is_well_formed(library: dict[str, Any]) -> None:
    skills = library["skills"]
    role_ids = {r["id"] for r in library["roles"]}
    assert 80 <= len(skills) <= 150
    ids = [s["id"] for s in skills]
    assert len(ids) == len(set(ids))
    aliases: Counter[str] = Counter()
    for skill in skills:
        assert set(skill) == SKILL_FIELDS, skill["id"]
        assert SLUG.match(skill["id"]) and skill["name"], skill["id"]
        assert skill["aliases"] and all(isinstance(a, str) and a.strip() for a in skill["aliases"])
        assert skill["roles"] and set(skill["roles"]) <= role_ids, skill["id"]
        aliases.update(a.lower() for a in skill["aliases"])
    # One phrase in an ad must point at one skill.
    assert [a for a, n in aliases.items() if n > 1] == []
    for role in REQUIRED_ROLES:
        assert sum(role in s["roles"] for s in skills) >= 8, role


def test_every_question_is_well_formed(library: dict[str, Any]) -> None:
    role_ids = {r["id"] for r in library["roles"]}
    skill_ids = {s["id"] for s in library["skills"]}
    problems = []
    for q in library["questions"]:
        where = f"question {q.get('id')}"
        if not set(q) <= QUESTION_FIELDS or not {"id", "type", "text", "seniority", "key_points"} <= set(q):
            problems.append(f"{where}: fields {sorted(q)}")
            continue
        text = q["text"]
        if not isinstance(q["id"], int) or q["type"] not in TYPES:
            problems.append(f"{where}: id or type")
        if not 60 <= len(text) <= 250 or UNSPEAKABLE.search(text) or not text.endswith(("?", ".")):
            problems.append(f"{where}: text is not one speakable question of 60-250 characters")
        if not set(_roles_of(q)) <= role_ids or len(_roles_of(q)) > 1:
            problems.append(f"{where}: roles {q.get('roles')}")
        skills = q.get("skills") or []
        if not set(skills) <= skill_ids or len(skills) != len(set(skills)) or len(skills) > 3:
            problems.append(f"{where}: skills {skills}")
        if q["type"] == "technical" and not skills:
            problems.append(f"{where}: a technical question names 1-3 skills")
        seniority = q["seniority"]
        levels = [seniority] if isinstance(seniority, str) else list(seniority)
        if not levels or not set(levels) <= SENIORITIES | {"any"} or (len(levels) > 1 and "any" in levels):
            problems.append(f"{where}: seniority {seniority}")
        points = q["key_points"]
        if not 3 <= len(points) <= 5 or not all(isinstance(p, str) and 10 <= len(p) <= 160 for p in points):
            problems.append(f"{where}: key_points")
    assert problems == []


def test_ids_are_unique_and_in_their_role_block(library: dict[str, Any]) -> None:
    ids = [q["id"] for q in library["questions"]]
    assert len(ids) == len(set(ids))
    for q in library["questions"]:
        roles = _roles_of(q)
        low, high = ID_BLOCKS[roles[0] if roles else None]
        assert low <= q["id"] <= high, q["id"]


def test_rubric_overrides_are_complete(library: dict[str, Any]) -> None:
    with_rubric = [q for q in library["questions"] if "rubric" in q]
    assert len(with_rubric) >= 6
    for q in with_rubric:
        criteria = q["rubric"]
        assert 2 <= len(criteria) <= 4, q["id"]
        names = [c["name"] for c in criteria]
        assert len(names) == len(set(names)), q["id"]
        for c in criteria:
            assert set(c) <= CRITERION_FIELDS and {"name", "label", "score_1", "score_5"} <= set(c), q["id"]
            assert CRITERION_SLUG.match(c["name"]) and all(c[f] for f in ("label", "score_1", "score_5"))
    # Design and estimation questions are the ones the default rubrics fit worst.
    for q in library["questions"]:
        if re.match(r"(Design a|Roughly how much|How would you estimate)", q["text"]):
            assert "rubric" in q, q["id"]


def test_counts_per_role_type_and_seniority(library: dict[str, Any]) -> None:
    questions = library["questions"]
    assert len(questions) >= 170
    for role in REQUIRED_ROLES:
        mine = [q for q in questions if role in _roles_of(q)]
        assert len(mine) >= 16, role
        types = Counter(q["type"] for q in mine)
        assert types["technical"] >= 8 and types["behavioral"] >= 2 and types["situational"] >= 3, role
        for level in SENIORITIES:
            # Counting only questions written for that level, not "any", so every level is really served.
            assert sum(q["seniority"] != "any" and level in _seniorities(q) for q in mine) >= 3, (role, level)


def test_general_questions_open_close_and_probe_behaviour(library: dict[str, Any]) -> None:
    general = [q for q in library["questions"] if not _roles_of(q)]
    assert len(general) >= 25
    types = Counter(q["type"] for q in general)
    assert types["introduction"] >= 6 and types["closing"] >= 6
    assert types["behavioral"] >= 6 and types["situational"] >= 5
    # Openings and closings only come from the general block, or a role's own introduction.
    for q in library["questions"]:
        if q["type"] == "closing":
            assert not _roles_of(q), q["id"]


def test_no_two_questions_are_near_duplicates(library: dict[str, Any]) -> None:
    words = {q["id"]: _words(q["text"]) for q in library["questions"]}
    close = []
    for (a, wa), (b, wb) in combinations(words.items(), 2):
        overlap = len(wa & wb) / len(wa | wb)
        if overlap >= 0.4:
            close.append((a, b, round(overlap, 2)))
    assert close == []


def test_job_ads_are_labelled_with_the_vocabulary(library: dict[str, Any], ads: list[dict[str, Any]]) -> None:
    role_ids = {r["id"] for r in library["roles"]}
    skill_phrases = _skill_phrases(library)
    ids = [ad["id"] for ad in ads]
    assert len(ids) == len(set(ids))
    labelled = [ad for ad in ads if ad["role"] is not None]
    assert len(labelled) >= 24
    for ad in ads:
        assert set(ad) == AD_FIELDS, ad["id"]
        assert isinstance(ad["id"], str) and SLUG.match(ad["id"])
    for ad in labelled:
        assert ad["role"] in role_ids, ad["id"]
        assert len(ad["skills"]) == 5 and len(set(ad["skills"])) == 5, ad["id"]
        assert set(ad["skills"]) <= set(skill_phrases), ad["id"]
        assert 150 <= len(ad["text"].split()) <= 600, (ad["id"], len(ad["text"].split()))
        # The labels are what the ad asks for, so the ad has to name them.
        named = [s for s in ad["skills"] if _mentions(ad["text"], skill_phrases[s])]
        assert named == ad["skills"], (ad["id"], sorted(set(ad["skills"]) - set(named)))
    per_role = Counter(ad["role"] for ad in labelled)
    assert all(per_role[role] >= 2 for role in REQUIRED_ROLES), per_role


def test_job_ads_name_their_role(library: dict[str, Any], ads: list[dict[str, Any]]) -> None:
    role_phrases = _role_phrases(library)
    for ad in ads:
        if ad["role"] is not None:
            assert _mentions(ad["text"], role_phrases[ad["role"]]), ad["id"]


def test_bad_input_ads_have_nothing_to_recognise(library: dict[str, Any], ads: list[dict[str, Any]]) -> None:
    unlabelled = [ad for ad in ads if ad["role"] is None]
    assert len(unlabelled) >= 2
    phrases = [*(p for ps in _skill_phrases(library).values() for p in ps)]
    phrases += [p for ps in _role_phrases(library).values() for p in ps]
    for ad in unlabelled:
        assert ad["skills"] == [], ad["id"]
        assert not _mentions(ad["text"], phrases), ad["id"]


def test_each_ad_skill_set_can_be_covered_by_the_library(
    library: dict[str, Any], ads: list[dict[str, Any]]
) -> None:
    # bench/plans.py asks for 3 of an ad's 5 skills in its plan: the library must make that possible.
    for ad in ads:
        if ad["role"] is None:
            continue
        usable = [q for q in library["questions"] if not _roles_of(q) or ad["role"] in _roles_of(q)]
        tested = {s for q in usable for s in q.get("skills") or []}
        assert len(set(ad["skills"]) & tested) >= 3, ad["id"]
