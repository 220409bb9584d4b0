"""Plan quality and speed on the labelled job ads (bench/data/job_ads.yaml) against the packaged library.

    python bench/plans.py               # 5 seeds per ad
    python bench/plans.py --seeds 10

For every labelled ad and seed: the share of the plan's role-specific questions that belong to the ad's role
or test one of its labelled skills (target >= 90%), how many of its five labelled skills some question covers
(target >= 3), near-duplicate pairs (cosine >= DUPLICATE_COSINE; target 0), whether the ad's role was read
right, and the time `PlanService.plan` takes (ad embedding included; the library's one-time embedding is
reported apart). Backend and product-management plans of the same seed must share only general questions.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

import numpy as np
import yaml

from interviewai.adapters.embeddings.minilm import MiniLmEmbedder
from interviewai.adapters.question_bank import load_packaged_bank, load_question_bank
from interviewai.domain.plans import Plan, PlanRequest
from interviewai.services.plan_builder import DUPLICATE_COSINE
from interviewai.services.plans import PlanService

ADS = Path(__file__).parent / "data" / "job_ads.yaml"


def on_target(plan: Plan, role: str, skills: set[str]) -> float:
    specific = [p.question for p in plan.questions if not p.question.is_general]
    fitting = [q for q in specific if role in q.roles or set(q.skills) & skills]
    return len(fitting) / len(specific) if specific else 1.0


async def duplicate_pairs(plan: Plan, embedder: MiniLmEmbedder) -> int:
    vectors = await embedder.embed([p.question.text for p in plan.questions])
    similarity = np.triu(vectors @ vectors.T, k=1)
    return int((similarity >= DUPLICATE_COSINE).sum())


async def main(seeds: int) -> None:
    ads = yaml.safe_load(ADS.read_text())["ads"]
    embedder = MiniLmEmbedder.load(threads=2, timeout_s=60.0)
    library = load_packaged_bank("library.yaml")
    assert library is not None, "the package ships no library.yaml"
    plans = PlanService(load_question_bank(None), library, embedder)
    started = time.perf_counter()
    await plans.prepare()
    index_s = time.perf_counter() - started
    times: list[float] = []
    rows = []
    by_role: dict[str, list[dict[int, Plan]]] = {}
    for ad in ads:
        labelled = set(ad["skills"])
        per_seed: dict[int, Plan] = {}
        shares, covered, duplicates, role_right = [], [], 0, 0
        for seed in range(seeds):
            begin = time.perf_counter()
            plan = await plans.plan(PlanRequest(job_description=ad["text"], seed=seed))
            times.append((time.perf_counter() - begin) * 1000)
            per_seed[seed] = plan
            duplicates += await duplicate_pairs(plan, embedder)
            if ad["role"] is None:
                continue
            shares.append(on_target(plan, ad["role"], labelled))
            covered.append(len({s for p in plan.questions for s in p.question.skills} & labelled))
            role_right += plan.role == ad["role"]
        if ad["role"] is not None:
            by_role.setdefault(ad["role"], []).append(per_seed)
            rows.append((ad["id"], min(shares), min(covered), duplicates, role_right / seeds))
        else:
            rows.append((ad["id"], None, None, duplicates, None))
    print(f"library: {len(library)} questions, embedded once in {index_s:.1f} s")
    print(f"{'ad':34} {'on-target min':>13} {'skills min':>10} {'dup pairs':>9} {'role read':>9}")
    for ad_id, share, skills, dups, role in rows:
        if share is None:
            print(f"{ad_id:34} {'-':>13} {'-':>10} {dups:>9} {'(none)':>9}")
        else:
            print(f"{ad_id:34} {share:>12.0%} {skills:>10} {dups:>9} {role:>8.0%}")
    labelled_rows = [r for r in rows if r[1] is not None]
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
        f"on-target (min over plans): {min(r[1] for r in labelled_rows):.0%}; "  # type: ignore[type-var]
        f"ads with every plan >= 90%: {sum(r[1] >= 0.9 for r in labelled_rows)}/{len(labelled_rows)}; "  # type: ignore[operator]
        f"labelled skills covered (min): {min(r[2] for r in labelled_rows)}; "  # type: ignore[type-var]
        f"near-duplicate pairs: {sum(r[3] for r in rows)}; "
        f"role read right: {statistics.mean(r[4] for r in labelled_rows):.0%}; "  # type: ignore[misc]
        f"backend/product shared non-general questions: {overlap}"
    )
    times.sort()
    print(
        f"plan time: median {statistics.median(times):.1f} ms, p90 {times[int(len(times) * 0.9)]:.1f} ms, "
        f"max {times[-1]:.1f} ms"
    )
    role_times = []
    for role in library.roles:
        for seed in range(seeds):
            begin = time.perf_counter()
            await plans.plan(PlanRequest(role=role.id, seed=seed))
            role_times.append((time.perf_counter() - begin) * 1000)
    print(
        f"plan time without an ad (role only, nothing to embed): median {statistics.median(role_times):.1f} ms, "
        f"max {max(role_times):.1f} ms"
    )
    embedder.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    asyncio.run(main(parser.parse_args().seeds))
