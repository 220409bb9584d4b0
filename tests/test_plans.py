"""Plans from the library: the rules every plan keeps, tailoring to job ads, seeds, and bad options."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from embedding_fixtures import embedder  # noqa: F401  (a fixture, used by name)
from interviewai.adapters.embeddings.minilm import MiniLmEmbedder
from interviewai.adapters.question_bank import load_packaged_bank, load_question_bank
from interviewai.domain.plans import InvalidPlanOption, JobDescriptionTooLong, PlanRequest
from interviewai.domain.questions import Seniority
from interviewai.services.plans import PlanService, ad_windows
from plan_checks import LIBRARY, assert_plan_rules, on_target_share, skills_covered

ADS = {
    "backend": (
        "Senior back-end developer. You will own our REST APIs on PostgreSQL, put Redis caches where they pay "
        "off, and take part in the on-call rotation for incidents. Python and FastAPI preferred.",
        {"api-design", "postgresql", "caching", "incident-response", "python"},
    ),
    "product-management": (
        "We are looking for a product owner to own the roadmap, prioritise requests with stakeholders across "
        "sales and support, run customer interviews, and define the KPIs each release is judged by.",
        {"roadmapping", "prioritisation", "stakeholder-management", "user-research", "metrics"},
    ),
    "frontend": (
        "Front-end developer (React). Build accessible components that work with screen readers, keep our "
        "CSS tidy, and improve Core Web Vitals on the main pages.",
        {"react", "accessibility", "css", "web-performance"},
    ),
}


@pytest.fixture
async def plans(embedder: MiniLmEmbedder) -> PlanService:
    service = PlanService(load_question_bank(None), load_question_bank(LIBRARY), embedder)
    await service.prepare()
    return service


@pytest.mark.parametrize("role", sorted(ADS))
async def test_a_job_ad_gets_a_plan_for_its_role_and_skills(
    plans: PlanService, embedder: MiniLmEmbedder, role: str
) -> None:
    text, skills = ADS[role]
    for seed in range(5):
        plan = await plans.plan(PlanRequest(job_description=text, seed=seed))
        await assert_plan_rules(plan, embedder, 10)
        assert plan.role == role
        assert set(plan.skills) >= skills - {"python"}, plan.skills
        assert on_target_share(plan, role, skills) >= 0.9
        assert len(skills_covered(plan, skills)) >= 3
        asked = [p for p in plan.questions if set(p.question.skills) & skills]
        assert asked and all(p.why.startswith("The ad asks for ") for p in asked)
        named = {plans.catalog.skill(s).name for s in asked[0].question.skills if s in skills}  # type: ignore[union-attr]
        assert any(name in asked[0].why for name in named)


async def test_backend_and_product_plans_share_only_general_questions(plans: PlanService) -> None:
    for seed in range(5):
        backend = await plans.plan(PlanRequest(job_description=ADS["backend"][0], seed=seed))
        product = await plans.plan(PlanRequest(job_description=ADS["product-management"][0], seed=seed))
        shared = {p.question for p in backend.questions} & {p.question for p in product.questions}
        assert all(q.is_general for q in shared)


@pytest.mark.parametrize("count", [3, 4, 7, 12])
async def test_plans_for_a_role_keep_the_rules_at_any_length(
    plans: PlanService, embedder: MiniLmEmbedder, count: int
) -> None:
    plan = await plans.plan(PlanRequest(role="backend", num_questions=count, seed=count))
    await assert_plan_rules(plan, embedder, count)
    assert all(q.question.is_general or "backend" in q.question.roles for q in plan.questions)
    if count >= 7:
        assert {p.question.type.value for p in plan.questions[1:-1]} == {
            "behavioral",
            "situational",
            "technical",
        }


async def test_the_same_seed_gives_the_same_plan_and_seeds_vary_it(plans: PlanService) -> None:
    request = PlanRequest(role="backend", job_description=ADS["backend"][0], seed=42)
    first, again = await plans.plan(request), await plans.plan(request)
    assert first == again and first.seed == 42
    others = [await plans.plan(PlanRequest(role="backend", seed=s)) for s in range(6)]
    assert len({tuple(p.question.id for p in plan.questions) for plan in others}) > 1
    unseeded = await plans.plan(PlanRequest(role="backend"))
    assert unseeded.seed is not None
    assert await plans.plan(PlanRequest(role="backend", seed=unseeded.seed)) == unseeded


async def test_seniority_keeps_questions_pitched_at_that_level(plans: PlanService) -> None:
    for seed in range(5):
        plan = await plans.plan(PlanRequest(role="backend", seniority=Seniority.JUNIOR, seed=seed))
        assert all(Seniority.JUNIOR in p.question.seniority for p in plan.questions)
        senior = await plans.plan(PlanRequest(role="backend", seniority=Seniority.SENIOR, seed=seed))
        assert 107 not in {p.question.id for p in senior.questions}  # the junior-only index question


async def test_an_ad_with_nothing_recognisable_gets_the_role_or_general_mix(plans: PlanService) -> None:
    gibberish = "Blorp quux zindle frobnicate wibble. " * 5
    general = await plans.plan(PlanRequest(job_description=gibberish, seed=1))
    assert general.role is None and all(p.question.is_general for p in general.questions)
    assert "names no role or skill" in general.notes[0] and "general mix" in general.notes[0]
    for_role = await plans.plan(PlanRequest(role="frontend", job_description=gibberish, seed=1))
    assert for_role.role == "frontend" and "Frontend engineer mix" in for_role.notes[0]
    assert any("frontend" in p.question.roles for p in for_role.questions)


async def test_an_empty_request_is_the_default_bank_in_order(plans: PlanService) -> None:
    plan = await plans.plan(PlanRequest())
    assert [p.question for p in plan.questions] == list(load_question_bank(None).questions)
    assert plan.seed is None and all(p.why == "" for p in plan.questions)


async def test_bad_options_name_the_field_and_what_is_allowed(plans: PlanService) -> None:
    with pytest.raises(InvalidPlanOption) as caught:
        await plans.plan(PlanRequest(role="astronaut"))
    assert caught.value.field == "role" and caught.value.allowed == [
        "backend",
        "frontend",
        "product-management",
    ]
    assert "allowed: backend, frontend, product-management" in caught.value.message
    with pytest.raises(InvalidPlanOption, match="bank_id"):
        await plans.plan(PlanRequest(bank_id="nope"))
    with pytest.raises(JobDescriptionTooLong):
        await plans.plan(PlanRequest(job_description="x" * 10_001))
    assert len((await plans.plan(PlanRequest(job_description="Python " * 1428, seed=1))).questions) == 10


def test_roles_report_counts_and_seniorities(plans: PlanService) -> None:
    roles = {r.id: r for r in plans.roles()}
    assert set(roles) == {"backend", "frontend", "product-management"}
    assert roles["backend"].question_count == 11 and roles["backend"].seniorities == (
        "junior",
        "mid",
        "senior",
    )
    assert roles["frontend"].name == "Frontend engineer"


async def test_the_packaged_library_plans_the_labelled_ads(embedder: MiniLmEmbedder) -> None:
    import yaml

    library = load_packaged_bank("library.yaml")
    assert library is not None
    service = PlanService(load_question_bank(None), library, embedder)
    ads = yaml.safe_load((Path(__file__).parents[1] / "bench" / "data" / "job_ads.yaml").read_text())["ads"]
    picked = {ad["role"]: ad for ad in ads if ad["role"] in {"backend", "product-management", "design"}}
    assert len(picked) == 3
    for ad in picked.values():
        plan = await service.plan(PlanRequest(job_description=ad["text"], seed=11))
        await assert_plan_rules(plan, embedder, 10)
        assert plan.role == ad["role"]
        assert on_target_share(plan, ad["role"], set(ad["skills"])) >= 0.9
        assert len(skills_covered(plan, set(ad["skills"]))) >= 3


class CountingEmbedder:
    """The real embedder, counting the texts it is asked to embed."""

    def __init__(self, inner: MiniLmEmbedder) -> None:
        self.inner = inner
        self.texts: list[str] = []

    @property
    def model_name(self) -> str:
        return self.inner.model_name

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.texts += texts
        return await self.inner.embed(texts)


def no_mentions(text: str) -> list[int]:
    raise AssertionError("an ad that fits in two windows needs no mention count")


def test_a_short_ad_is_one_window_and_a_longer_one_two_halves_cut_between_sentences() -> None:
    assert ad_windows("  \n ", no_mentions) == []
    assert ad_windows("Backend engineer. Python and PostgreSQL.", no_mentions) == [
        "Backend engineer. Python and PostgreSQL."
    ]
    sentences = [f"Sentence {i} has exactly seven words here." for i in range(40)]  # 280 words
    windows = ad_windows(" ".join(sentences), no_mentions)
    assert [len(w.split()) for w in windows] == [140, 140]
    assert " ".join(windows) == " ".join(sentences) and windows[1].startswith("Sentence 20 ")
    no_stops = " ".join(f"w{i}" for i in range(300))
    assert [len(w.split()) for w in ad_windows(no_stops, no_mentions)] == [150, 150]


def test_a_long_ad_keeps_its_opening_and_the_window_naming_most_skills() -> None:
    opening = "Staff backend engineer, payments. " + "We value kindness and long lunches. " * 20
    filler = "Our office has plants and a very good coffee machine. " * 40
    asks = "You know PostgreSQL, Kafka and Go, and you have run incident response. " * 3
    text = opening + filler + asks + filler
    at = text.index(asks)
    first, second = ad_windows(text, lambda _: [at + 9, at + 21, at + 30])
    assert first.startswith("Staff backend engineer, payments.")
    assert "PostgreSQL, Kafka and Go" in second and len(second.split()) <= 160


async def test_a_preview_then_its_start_embed_the_ad_once(embedder: MiniLmEmbedder) -> None:
    counting = CountingEmbedder(embedder)
    service = PlanService(load_question_bank(None), load_question_bank(LIBRARY), counting)
    await service.prepare()
    counting.texts.clear()
    preview = await service.plan(PlanRequest(job_description=ADS["backend"][0], seed=3))
    start = await service.plan(PlanRequest(job_description=ADS["backend"][0], seed=3))
    assert preview == start and len(counting.texts) == 1
    await service.plan(PlanRequest(job_description=ADS["backend"][0], seed=4))
    assert len(counting.texts) == 1
    uncached = PlanService(load_question_bank(None), load_question_bank(LIBRARY), counting, ad_cache=0)
    first = await uncached.plan(PlanRequest(job_description=ADS["backend"][0], seed=3))
    counting.texts.clear()
    assert await uncached.plan(PlanRequest(job_description=ADS["backend"][0], seed=3)) == first == start
    assert len(counting.texts) == 1


async def test_an_ad_at_the_length_limit_is_read_for_its_role(
    plans: PlanService, embedder: MiniLmEmbedder
) -> None:
    text, skills = ADS["backend"]
    filler = " Our office has plants, a roof terrace and a very good coffee machine."
    long_ad = (text + filler * 200)[:10_000]
    plan = await plans.plan(PlanRequest(job_description=long_ad, seed=2))
    await assert_plan_rules(plan, embedder, 10)
    assert plan.role == "backend" and on_target_share(plan, "backend", skills) >= 0.9
