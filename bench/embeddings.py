"""Embedding latency of the packaged MiniLM: one text and a batch of 16, through the async adapter.

    python bench/embeddings.py                # 30 rounds, default threads
    python bench/embeddings.py --rounds 50 --threads 1

Rows: median and p90 wall time of `MiniLmEmbedder.embed` (queueing in the pool, tokenizing, the model,
pooling) for 1 text and for 16 texts of interview-answer length, plus the model's load time and RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import time

from interviewai.adapters.embeddings.minilm import MiniLmEmbedder

ANSWER = (
    "In my last role I owned the billing service. When invoices started failing at month end I traced it "
    "to a lock held by a nightly job, moved the job to a replica and added an alert, and failures dropped "
    "from about two hundred a month to none."
)


async def measure(embedder: MiniLmEmbedder, count: int, rounds: int) -> list[float]:
    """Wall times in ms of `rounds` embeds of `count` answer-length texts, after one warm-up embed."""
    texts = [f"{ANSWER} ({i})" for i in range(count)]
    await embedder.embed(texts)  # warm-up
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        await embedder.embed(texts)
        times.append((time.perf_counter() - start) * 1000)
    return times


def p90(values: list[float]) -> float:
    """The 90th percentile of `values` (statistics' exclusive method)."""
    return statistics.quantiles(values, n=10)[-1]


async def main() -> None:
    """Parse the options, load the embedder and print the load time, RSS and the 1-text and 16-text rows."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--threads", type=int, default=0, help="worker threads; 0: one per core")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    start = time.perf_counter()
    embedder = await MiniLmEmbedder.open(threads=args.threads, timeout_s=60.0)
    print(f"load {(time.perf_counter() - start) * 1000:.0f} ms, model {embedder.model_name}")
    try:
        for count in (1, 16):
            times = await measure(embedder, count, args.rounds)
            print(f"{count:>2} texts: median {statistics.median(times):.1f} ms, p90 {p90(times):.1f} ms")
    finally:
        embedder.close()
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    asyncio.run(main())
