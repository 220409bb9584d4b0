"""Plan quality and speed on the labelled job ads (bench/data/job_ads.yaml) against the packaged library.

    python bench/plans.py               # 5 seeds per ad
    python bench/plans.py --seeds 10

For every labelled ad and seed: the share of the plan's role-specific questions that belong to the ad's role
or test one of its labelled skills (target >= 90%), how many of its five labelled skills some question covers
(target >= 3), near-duplicate pairs (cosine >= DUPLICATE_COSINE; target 0), whether the ad's role was read
right, and the time `PlanService.plan` takes (target <= 100 ms). Every timed plan embeds its ad afresh (the
service's ad cache is off; a preview then a start of the same ad pays once, shown apart), and the library's
one-time embedding is reported apart. Backend and product-management plans of the same seed must share only
general questions. The worst case is timed too: each labelled ad grown to the 10,000-character limit with
the text of the other ads of its role (so its labels still hold). The embedder's memory is the process's
resident set before the model loads and after all of it (Linux /proc; the load average is printed with it).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from interviewai.adapters.embeddings.minilm import MiniLmEmbedder
from interviewai.adapters.question_bank import load_packaged_bank, load_question_bank
from interviewai.domain.plans import MAX_JOB_DESCRIPTION_CHARS, Plan, PlanRequest
from interviewai.domain.questions import QuestionBank
from interviewai.services.plan_builder import DUPLICATE_COSINE
from interviewai.services.plans import PlanService

ADS = Path(__file__).parent / "data" / "job_ads.yaml"


def rss_mb() -> float:
    """Resident set size now, in MB (0 where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def load_average() -> str:
    """The 1-, 5- and 15-minute load averages, for the report's header."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def percentiles(times: list[float]) -> str:
    """p50, p95 and max of `times` (ms) as one phrase."""
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms, max {ordered[-1]:.1f} ms"


def on_target(plan: Plan, role: str, skills: set[str]) -> float:
    """The share of the plan's role-specific questions that are for `role` or test one of `skills` (1.0 when
    it has none)."""
    specific = [p.question for p in plan.questions if not p.question.is_general]
    fitting = [q for q in specific if role in q.roles or set(q.skills) & skills]
    return len(fitting) / len(specific) if specific else 1.0


async def duplicate_pairs(plan: Plan, embedder: MiniLmEmbedder) -> int:
    """How many pairs of the plan's questions are near-duplicates (cosine >= DUPLICATE_COSINE)."""
    vectors = await embedder.embed([p.question.text for p in plan.questions])
    similarity = np.triu(vectors @ vectors.T, k=1)
    return int((similarity >= DUPLICATE_COSINE).sum())


async def timed(plans: PlanService, request: PlanRequest, times: list[float]) -> Plan:
    """Plan `request`, appending its wall time in ms to `times`."""
    begin = time.perf_counter()
    plan = await plans.plan(request)
    times.append((time.perf_counter() - begin) * 1000)
    return plan


def grown(ad: dict[str, Any], ads: list[dict[str, Any]]) -> str:
    """The ad followed by the other ads of its role, cut at the length limit."""
    others = [a["text"] for a in ads if a["role"] == ad["role"] and a is not ad] or [ad["text"]]
    text: str = ad["text"]
    while len(text) < MAX_JOB_DESCRIPTION_CHARS:
        text += "\n" + "\n".join(others)
    return text[:MAX_JOB_DESCRIPTION_CHARS]


async def quality(
    plans: PlanService, embedder: MiniLmEmbedder, ads: list[dict[str, Any]], seeds: int
) -> None:
    """Plan every labelled ad with each seed and print the quality rows (on target, skills covered,
    duplicates, role read right, time)."""
    times: list[float] = []
    # (ad, on-target share min, skills covered min, duplicate pairs, role read right, ms p50/max);
    # the labelled numbers are None for an ad with no role.
    rows: list[tuple[str, float | None, int | None, int, float | None, tuple[float, float]]] = []
    by_role: dict[str, list[dict[int, Plan]]] = {}
    for ad in ads:
        labelled = set(ad["skills"])
        per_seed: dict[int, Plan] = {}
        shares: list[float] = []
        covered: list[int] = []
        ad_times: list[float] = []
        duplicates, role_right = 0, 0
        for seed in range(seeds):
            plan = await timed(plans, PlanRequest(job_description=ad["text"], seed=seed), ad_times)
            per_seed[seed] = plan
            duplicates += await duplicate_pairs(plan, embedder)
            if ad["role"] is None:
                continue
            shares.append(on_target(plan, ad["role"], labelled))
            covered.append(len({s for p in plan.questions for s in p.question.skills} & labelled))
            role_right += plan.role == ad["role"]
        times += ad_times
        timing = (statistics.median(ad_times), max(ad_times))
        if ad["role"] is not None:
            by_role.setdefault(ad["role"], []).append(per_seed)
            rows.append((ad["id"], min(shares), min(covered), duplicates, role_right / seeds, timing))
        else:
            rows.append((ad["id"], None, None, duplicates, None, timing))
    print(
        f"{'ad':34} {'on-target min':>13} {'skills min':>10} {'dup pairs':>9} {'role read':>9} {'ms p50/max':>12}"
    )
    for ad_id, share, skills, dups, role, (median, most) in rows:
        ms = f"{median:.0f}/{most:.0f}"
        if share is None:
            print(f"{ad_id:34} {'-':>13} {'-':>10} {dups:>9} {'(none)':>9} {ms:>12}")
        else:
            print(f"{ad_id:34} {share:>12.0%} {skills:>10} {dups:>9} {role:>8.0%} {ms:>12}")
    labelled_rows = [
        (share, skills, role)
        for _, share, skills, _, role, _ in rows
        if share is not None and skills is not None and role is not None
    ]
    overlap = 0
    for backend in by_role.get("backend", []):
        for product in by_role.get("product-management", []):
            for seed in range(seeds):
                shared = {p.question for p in backend[seed].questions} & {
                    p.question for p in product[seed].questions
                }
                overlap += sum(1 for q in shared if not q.is_general)
    print(
        f"\nads: {len(labelled_rows)} labelled, plans: {len(times)}; "
        f"on-target (min over plans): {min(r[0] for r in labelled_rows):.0%}; "
        f"ads with every plan >= 90%: {sum(r[0] >= 0.9 for r in labelled_rows)}/{len(labelled_rows)}; "
        f"labelled skills covered (min): {min(r[1] for r in labelled_rows)}; "
        f"near-duplicate pairs: {sum(r[3] for r in rows)}; "
        f"role read right: {statistics.mean(r[2] for r in labelled_rows):.0%}; "
        f"backend/product shared non-general questions: {overlap}"
    )
    print(f"plan time per ad plan (ad embedded every time): {percentiles(times)}")


async def worst_case(plans: PlanService, ads: list[dict[str, Any]], seeds: int) -> None:
    """Time and score plans of each labelled ad grown to the job-description limit, for `seeds` seeds each."""
    times: list[float] = []
    shares, covered, right = [], [], 0
    labelled = [ad for ad in ads if ad["role"] is not None]
    for ad in labelled:
        text = grown(ad, ads)
        for seed in range(seeds):
            plan = await timed(plans, PlanRequest(job_description=text, seed=seed), times)
            shares.append(on_target(plan, ad["role"], set(ad["skills"])))
            covered.append(len({s for p in plan.questions for s in p.question.skills} & set(ad["skills"])))
            right += plan.role == ad["role"]
    print(
        f"plan time for {MAX_JOB_DESCRIPTION_CHARS:,}-character ads ({len(times)} plans): {percentiles(times)}; "
        f"on-target min {min(shares):.0%}, labelled skills covered min {min(covered)}, "
        f"role read right {right / len(times):.0%}"
    )


async def main(seeds: int) -> None:
    """Load the library and the embedder, then print the load figures, the quality table and the worst
    case."""
    ads = yaml.safe_load(ADS.read_text())["ads"]
    library = load_packaged_bank("library.yaml")
    assert library is not None, "the package ships no library.yaml"
    default: QuestionBank = load_question_bank(None)
    print(f"load average at start: {load_average()}")
    before = rss_mb()
    started = time.perf_counter()
    embedder = MiniLmEmbedder.load(threads=2, timeout_s=60.0)
    load_s = time.perf_counter() - started
    loaded = rss_mb()
    plans = PlanService(default, library, embedder, ad_cache=0)
    started = time.perf_counter()
    await plans.prepare()
    index_s = time.perf_counter() - started
    print(
        f"model loaded in {load_s:.2f} s; library: {len(library)} questions, embedded once in {index_s:.1f} s"
    )
    await quality(plans, embedder, ads, seeds)
    await worst_case(plans, ads, seeds)
    cached = PlanService(default, library, embedder)
    await cached.prepare()
    first: list[float] = []
    again: list[float] = []
    for ad in ads:
        await timed(cached, PlanRequest(job_description=ad["text"], seed=0), first)
        await timed(cached, PlanRequest(job_description=ad["text"], seed=0), again)
    print(f"the same ad again (a preview, then its start): {percentiles(again)}")
    role_times: list[float] = []
    for role in library.roles:
        for seed in range(seeds):
            await timed(plans, PlanRequest(role=role.id, seed=seed), role_times)
    print(f"plan time without an ad (role only, nothing to embed): {percentiles(role_times)}")
    after = rss_mb()
    print(
        f"embedder memory (resident set): +{loaded - before:.0f} MB for the model, "
        f"+{after - before:.0f} MB after every plan above"
    )
    print(f"load average at the end: {load_average()}")
    embedder.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    asyncio.run(main(parser.parse_args().seeds))
