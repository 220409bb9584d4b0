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
- ms per answer: wall time of one `evaluate` call, after one warm-up pass (median and p95; for llm, after
  one warm-up call, and including the rubric engine that runs first);
- fallbacks (llm): answers the llm engine handed to the rubric engine, with the reasons (the figures above
  are of what the product stores: the model's judgements where they passed, rubric's elsewhere).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from interviewai.adapters.embeddings.minilm import MiniLmEmbedder
from interviewai.adapters.evaluation.vocabulary import english_vocabulary
from interviewai.adapters.llm.openai_chat import OpenAiChatModel
from interviewai.adapters.question_bank import load_question_bank
from interviewai.domain.chat import ChatMessage, JsonReply
from interviewai.domain.evaluation import AnswerToJudge, Evaluation, is_verbatim
from interviewai.domain.ports import AnswerEvaluator, ChatModel
from interviewai.services.llm_evaluator import LlmEvaluator
from interviewai.services.rubric_evaluator import RubricEvaluator
from interviewai.simulators.local_llm import LocalLlmServer

DATA = Path(__file__).parent / "data" / "labelled_answers.yaml"
RANK = {"strong": 3, "adequate": 2, "weak": 1, "off_topic": 0}


@dataclass
class Scored:
    """One labelled answer as an evaluator judged it, with the wall time of its evaluation in ms."""

    question_id: int
    label: str
    kind: str
    answer: str
    evaluation: Evaluation
    ms: float
    raw: Mapping[str, Any] | None = None
    """The chat model's reply as it came (llm engine), before any check."""


def load_answers(path: Path = DATA) -> list[dict[str, Any]]:
    """The labelled answers of the data file, as written (question_id, label, kind, answer)."""
    document = yaml.safe_load(path.read_text("utf-8"))
    answers: list[dict[str, Any]] = document["answers"]
    return answers


class RecordingChat:
    """A ChatModel that keeps the last reply it passed on, so the bench can judge the model's raw output."""

    def __init__(self, chat: ChatModel) -> None:
        self._chat = chat
        self.last: Mapping[str, Any] | None = None

    @property
    def model_name(self) -> str:
        """The wrapped model's name."""
        return self._chat.model_name

    async def complete_json(
        self,
        messages: Sequence[ChatMessage],
        schema: Mapping[str, Any],
        *,
        schema_name: str,
        max_tokens: int,
        timeout_s: float | None = None,
        temperature: float = 0.0,
    ) -> JsonReply:
        """Ask the wrapped model and keep its reply in `last` before passing it on."""
        reply = await self._chat.complete_json(
            messages, schema, schema_name=schema_name, max_tokens=max_tokens, timeout_s=timeout_s,
            temperature=temperature,
        )  # fmt: skip
        self.last = reply.data
        return reply

    def take(self) -> Mapping[str, Any] | None:
        """The reply recorded since the last call (None when there was none), and forget it."""
        last, self.last = self.last, None
        return last


def raw_figures(scored: list[Scored]) -> dict[str, Any]:
    """What the model said before the checks: its criteria's mean as a score, and how many of its quotes
    were verbatim. Replies without a 1-5 score for every criterion count as unusable."""
    usable: list[Scored] = []
    offered = verbatim = 0
    for item in scored:
        criteria = item.raw.get("criteria") if item.raw is not None else None
        if not isinstance(criteria, dict) or not criteria:
            continue
        values = [c.get("score") if isinstance(c, dict) else None for c in criteria.values()]
        for c in criteria.values():
            for quote in c.get("evidence", []) if isinstance(c, dict) else []:
                if isinstance(quote, str) and quote.strip():
                    offered += 1
                    verbatim += is_verbatim(quote.strip(), item.answer)
        if all(isinstance(v, int) and 1 <= v <= 5 for v in values):
            score = round((statistics.fmean(v for v in values if isinstance(v, int)) - 1) / 4 * 100)
            usable.append(replace(item, evaluation=replace(item.evaluation, score=score, criteria=())))
    figures = metrics(usable) if usable else {}
    return {
        "replies": sum(1 for i in scored if i.raw is not None),
        "usable": len(usable),
        "pairs": figures.get("pairs", 0),
        "pairwise_accuracy": figures.get("pairwise_accuracy", 0.0),
        "adversarial": figures.get("adversarial", 0),
        "adversarial_below_adequate": figures.get("adversarial_below_adequate", 0.0),
        "quotes": offered,
        "verbatim": verbatim / offered if offered else 0.0,
        "mean_by_label": {
            label: statistics.fmean(i.evaluation.score for i in usable if i.label == label)
            for label in sorted({i.label for i in usable})
        },
    }


async def run(
    evaluator: AnswerEvaluator,
    answers: list[dict[str, Any]],
    *,
    warm_all: bool = True,
    recorder: RecordingChat | None = None,
) -> list[Scored]:
    """Judge every answer (each question's rubric from the packaged bank), timing each; with a `recorder`,
    keep each reply as the model sent it."""
    bank = load_question_bank(None)
    jobs = []
    for record in answers:
        question = bank.question(int(record["question_id"]))
        assert question is not None, record["question_id"]
        jobs.append((record, AnswerToJudge(question, str(record["answer"] or ""), bank.rubric_for(question))))
    # Warm-up: first calls load caches and the model's arenas (one call for a chat model: seconds each).
    for _, job in jobs if warm_all else jobs[:1]:
        await evaluator.evaluate(job)
    scored: list[Scored] = []
    for record, job in jobs:
        started = time.perf_counter()
        evaluation = await evaluator.evaluate(job)
        elapsed = (time.perf_counter() - started) * 1000
        raw = recorder.take() if recorder is not None else None
        if recorder is not None:  # minutes per run: show progress
            print(
                f"{len(scored) + 1}/{len(jobs)} {elapsed / 1000:.1f} s {evaluation.evaluator}",
                file=sys.stderr,
            )
        scored.append(
            Scored(
                job.question.id,
                record["label"],
                record.get("kind", ""),
                job.answer_text,
                evaluation,
                elapsed,
                raw,
            )
        )
    return scored


def metrics(scored: list[Scored]) -> dict[str, Any]:
    """The figures of docs/benchmarks.md for a scored set: pairwise ranking accuracy, adversarial below
    adequate, verbatim evidence and the time per answer."""
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
    judged = [i for i in scored if not i.evaluation.fallback_reason]
    own_quotes = [(q, i.answer) for i in judged for c in i.evaluation.criteria for q in c.evidence]
    return {
        "answers": len(scored),
        "judged_by_engine": len(judged),
        "engine_quotes": len(own_quotes),
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
    """The rubric evaluator on the packaged MiniLM with `threads` embedding threads; the model is closed on
    exit."""
    embedder = MiniLmEmbedder.load(threads=threads, timeout_s=30.0)
    try:
        bank = load_question_bank(None)
        yield RubricEvaluator(embedder, english_vocabulary(), default_rubrics=dict(bank.rubrics))
    finally:
        embedder.close()


def report(name: str, figures: dict[str, Any], details: bool, scored: list[Scored]) -> None:
    """Print the figures of one engine; with `details`, every answer's score and the wrongly ranked pairs."""
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
    if name != "rubric":
        print(
            f"  judged by {name} itself: {figures['judged_by_engine']} of {figures['answers']} "
            f"({figures['engine_quotes']} of its quotes kept, every one verbatim by construction)"
        )
    if figures["fallbacks"]:
        print(f"  fallbacks to rubric: {sum(figures['fallbacks'].values())}")
        kinds = Counter(": ".join(reason.split(": ")[:2]) for reason in figures["fallbacks"].elements())
        for kind, count in kinds.most_common():
            print(f"    {count} x {kind}")
        if details:
            for reason, count in figures["fallbacks"].most_common():
                print(f"      {count} x {reason}")
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
    """Parse the options, run the chosen engine over the labelled answers and print its figures; exit status 2
    when --engine llm has no model to ask."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engine", choices=["rubric", "llm"], default="rubric")
    parser.add_argument("--threads", type=int, default=1, help="embedding threads (default 1)")
    parser.add_argument("--details", action="store_true")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--llm-url", default="", help="LLM_API_URL of the chat model (llm engine)")
    parser.add_argument("--llm-model", default="", help="LLM_MODEL")
    parser.add_argument("--llm-key", default="", help="LLM_API_KEY (default none)")
    parser.add_argument(
        "--serve-smollm2", action="store_true", help="serve the packaged SmolLM2-135M on loopback and use it"
    )
    parser.add_argument("--llm-threads", type=int, default=1, help="threads of the local model (default 1)")
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="deadline of one judgement (default 120 s)"
    )
    parser.add_argument("--limit", type=int, default=0, help="only the first N answers (0: all)")
    options = parser.parse_args()
    answers = load_answers(options.data)
    if options.limit:
        answers = answers[: options.limit]
    async with rubric_engine(options.threads) as rubric:
        if options.engine == "rubric":
            scored = await run(rubric, answers)
            report("rubric", metrics(scored), options.details, scored)
            return 0
        with contextlib.ExitStack() as stack:
            url, model, key = options.llm_url, options.llm_model, options.llm_key
            if options.serve_smollm2:
                server = stack.enter_context(LocalLlmServer(threads=options.llm_threads))
                url, model, key = server.url, server.model, server.api_key
            if not url or not model:
                print("--engine llm needs --llm-url and --llm-model, or --serve-smollm2", file=sys.stderr)
                return 2
            chat = OpenAiChatModel(url, model, api_key=key, timeout_s=options.timeout)
            try:
                recorder = RecordingChat(chat)
                engine = LlmEvaluator(recorder, rubric, timeout_s=options.timeout)
                started = time.perf_counter()
                scored = await run(engine, answers, warm_all=False, recorder=recorder)
                print(f"model: {model} at {url}; {time.perf_counter() - started:.0f} s in all")
                report("llm", metrics(scored), options.details, scored)
                raw = raw_figures(scored)
                print(f"the model's own replies, before the checks ({raw['replies']} replies):")
                print(f"  with a 1-5 score for every criterion: {raw['usable']}")
                print(
                    f"  pairwise ranking accuracy of its scores: {raw['pairwise_accuracy']:.3f} "
                    f"({raw['pairs']} pairs)"
                )
                print(
                    f"  adversarial below every adequate answer: {raw['adversarial_below_adequate']:.3f} "
                    f"({raw['adversarial']} adversarial)"
                )
                print(f"  quotes verbatim: {raw['verbatim']:.3f} of {raw['quotes']}")
                means = ", ".join(f"{k} {v:.0f}" for k, v in raw["mean_by_label"].items())
                print(f"  mean score by label: {means}")
            finally:
                await chat.aclose()
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
