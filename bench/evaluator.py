"""How well the answer evaluators rank the labelled answers in bench/data/labelled_answers.yaml.

    python bench/evaluator.py                                   # the rubric engine
    python bench/evaluator.py --engine llm --llm-url http://127.0.0.1:8080/v1 --llm-model smollm2
    python bench/evaluator.py --engine llm --serve-smollm2      # starts the packaged SmolLM2 on loopback
    python bench/evaluator.py --details                         # every answer's score, worst pairs

Figures (docs/benchmarks.md):
- pairwise ranking accuracy: over pairs of answers to the same question whose labels differ (strong >
  adequate > weak > off_topic), the share where the better one scores strictly higher;
- adversarial below adequate: the share of adversarial answers that score below every adequate answer to
  the same question (target 100%);
- verbatim: the share of evidence quotes that are exact substrings of their answer (target 100%);
- ms per answer: wall time of one `evaluate` call, after one warm-up pass (median and p95);
- fallbacks (llm): answers the llm engine handed to the rubric engine, with the reasons.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from interviewai.adapters.embeddings.minilm import MiniLmEmbedder
from interviewai.adapters.evaluation.vocabulary import english_vocabulary
from interviewai.adapters.question_bank import load_question_bank
from interviewai.domain.evaluation import AnswerToJudge, Evaluation, is_verbatim
from interviewai.domain.ports import AnswerEvaluator
from interviewai.services.rubric_evaluator import RubricEvaluator

DATA = Path(__file__).parent / "data" / "labelled_answers.yaml"
RANK = {"strong": 3, "adequate": 2, "weak": 1, "off_topic": 0}


@dataclass
class Scored:
    question_id: int
    label: str
    kind: str
    answer: str
    evaluation: Evaluation
    ms: float


def load_answers(path: Path = DATA) -> list[dict[str, Any]]:
    document = yaml.safe_load(path.read_text("utf-8"))
    answers: list[dict[str, Any]] = document["answers"]
    return answers


async def run(evaluator: AnswerEvaluator, answers: list[dict[str, Any]]) -> list[Scored]:
    bank = load_question_bank(None)
    jobs = []
    for record in answers:
        question = bank.question(int(record["question_id"]))
        assert question is not None, record["question_id"]
        jobs.append((record, AnswerToJudge(question, str(record["answer"] or ""), bank.rubric_for(question))))
    for _, job in jobs:  # warm-up: first calls load caches and the model's arenas
        await evaluator.evaluate(job)
    scored = []
    for record, job in jobs:
        started = time.perf_counter()
        evaluation = await evaluator.evaluate(job)
        elapsed = (time.perf_counter() - started) * 1000
        scored.append(
            Scored(
                job.question.id,
                record["label"],
                record.get("kind", ""),
                job.answer_text,
                evaluation,
                elapsed,
            )
        )
    return scored


def metrics(scored: list[Scored]) -> dict[str, Any]:
    by_question: dict[int, list[Scored]] = defaultdict(list)
    for item in scored:
        by_question[item.question_id].append(item)
    pairs = correct = 0
    wrong: list[tuple[Scored, Scored]] = []
    adversarial = adversarial_ok = 0
    breaches: list[tuple[Scored, Scored]] = []
    for items in by_question.values():
        ranked = [i for i in items if i.label in RANK]
        for a in ranked:
            for b in ranked:
                if RANK[a.label] > RANK[b.label]:
                    pairs += 1
                    if a.evaluation.score > b.evaluation.score:
                        correct += 1
                    else:
                        wrong.append((a, b))
        adequate = [i for i in items if i.label == "adequate"]
        for item in (i for i in items if i.label == "adversarial"):
            adversarial += 1
            beaten = [a for a in adequate if a.evaluation.score <= item.evaluation.score]
            if not beaten:
                adversarial_ok += 1
            breaches.extend((item, a) for a in beaten)
    quotes = [(q, i.answer) for i in scored for c in i.evaluation.criteria for q in c.evidence]
    verbatim = sum(1 for q, text in quotes if is_verbatim(q, text))
    times = sorted(i.ms for i in scored)
    return {
        "answers": len(scored),
        "pairs": pairs,
        "pairwise_accuracy": correct / pairs if pairs else 1.0,
        "adversarial": adversarial,
        "adversarial_below_adequate": adversarial_ok / adversarial if adversarial else 1.0,
        "quotes": len(quotes),
        "verbatim": verbatim / len(quotes) if quotes else 1.0,
        "ms_median": statistics.median(times),
        "ms_p95": times[min(len(times) - 1, int(0.95 * len(times)))],
        "ms_mean": statistics.fmean(times),
        "fallbacks": Counter(i.evaluation.fallback_reason for i in scored if i.evaluation.fallback_reason),
        "wrong": wrong,
        "breaches": breaches,
    }


@contextlib.asynccontextmanager
async def rubric_engine(threads: int) -> AsyncIterator[RubricEvaluator]:
    embedder = MiniLmEmbedder.load(threads=threads, timeout_s=30.0)
    try:
        bank = load_question_bank(None)
        yield RubricEvaluator(embedder, english_vocabulary(), default_rubrics=dict(bank.rubrics))
    finally:
        embedder.close()


def report(name: str, figures: dict[str, Any], details: bool, scored: list[Scored]) -> None:
    print(f"engine: {name}")
    print(f"  answers: {figures['answers']}, pairs: {figures['pairs']}, quotes: {figures['quotes']}")
    print(f"  pairwise ranking accuracy: {figures['pairwise_accuracy']:.3f}")
    print(
        f"  adversarial below every adequate answer: {figures['adversarial_below_adequate']:.3f} "
        f"({figures['adversarial']} adversarial)"
    )
    print(f"  verbatim evidence: {figures['verbatim']:.3f}")
    print(
        f"  ms per answer: median {figures['ms_median']:.1f}, p95 {figures['ms_p95']:.1f}, "
        f"mean {figures['ms_mean']:.1f}"
    )
    if figures["fallbacks"]:
        print(f"  fallbacks to rubric: {sum(figures['fallbacks'].values())}")
        for reason, count in figures["fallbacks"].most_common():
            print(f"    {count} x {reason}")
    if details:
        for item in sorted(scored, key=lambda i: (i.question_id, -RANK.get(i.label, -1))):
            print(f"  q{item.question_id:<2} {item.label:<11} {item.kind:<9} {item.evaluation.score:>3}")
        for a, b in figures["wrong"][:40]:
            print(
                f"  misranked q{a.question_id}: {a.label} {a.evaluation.score} <= {b.label} {b.evaluation.score}"
            )
        for adv, ade in figures["breaches"]:
            print(
                f"  breach q{adv.question_id}: {adv.kind} {adv.evaluation.score} >= adequate {ade.evaluation.score}"
            )


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engine", choices=["rubric", "llm"], default="rubric")
    parser.add_argument("--threads", type=int, default=1, help="embedding threads (default 1)")
    parser.add_argument("--details", action="store_true")
    parser.add_argument("--data", type=Path, default=DATA)
    options = parser.parse_args()
    answers = load_answers(options.data)
    async with rubric_engine(options.threads) as rubric:
        if options.engine == "rubric":
            scored = await run(rubric, answers)
            report("rubric", metrics(scored), options.details, scored)
            return 0
    print("the llm engine is not wired into this bench yet", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
