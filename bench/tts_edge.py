"""Edge benchmark through the local simulator: first audio, total time, and what a failover adds.

    python bench/tts_edge.py                     # 10 bank questions x 3 rounds
    python bench/tts_edge.py --rounds 5 --edge-timeout 2

Rows (median and p90 over every question and round):
* edge first audio: from the request until edge-tts yields the first MP3 bytes (raw edge-tts stream).
  The simulator synthesizes the whole text with piper before it streams, so this is close to the total;
  Microsoft's own latency is not measured here (no network on this machine).
* edge total: EdgeSynthesizer.synthesize, i.e. the whole stream plus word mapping and visemes.
* offline alone: SpeechService with only the piper voice, the baseline for the failover rows.
* edge refused, error only: how long Edge takes to fail when nothing listens (the failover's own cost).
* failover, breaker closed / open (refused): SpeechService [edge, piper] with Edge refused; closed = a
  fresh breaker per request (pays the connection attempt), open = Edge skipped after the first failure.
* failover, breaker closed (timeout): the simulator accepts and never answers; bounded by the timeout.
"added" = the median over requests of (failover time - offline-alone time for the same question in
the same round), so that the two share the machine's momentary load.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import yaml

from interviewai.adapters.speech.edge import EdgeSynthesizer, word_phonemizer
from interviewai.adapters.speech.piper import JOE_VOICE, PiperSynthesizer
from interviewai.domain.errors import ProviderError
from interviewai.domain.speech import VoiceSettings
from interviewai.services.speech import SpeechService
from interviewai.simulators.edge_tts import EdgeTtsSimulator

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = REPO / "src" / "interviewai" / "resources" / "questions.yaml"
JENNY = VoiceSettings(voice="en-US-JennyNeural")
OFFLINE = VoiceSettings(voice=JOE_VOICE)


def load_questions(limit: int) -> list[str]:
    """The first `limit` question texts of the packaged bank."""
    bank = yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))
    return [str(q["text"]) for q in bank["questions"]][:limit]


async def timed(samples: list[float], work: Awaitable[object]) -> None:
    """Await `work`, appending its wall time in seconds to `samples`."""
    started = time.perf_counter()
    await work
    samples.append(time.perf_counter() - started)


async def _failing(work: Awaitable[object]) -> None:
    try:
        await work
    except ProviderError:
        return
    raise AssertionError("Edge was expected to fail")


async def first_audio_s(edge: EdgeSynthesizer, text: str) -> float:
    """Seconds from the request to Edge's first audio chunk for `text`."""
    started = time.perf_counter()
    first = None
    async for chunk in edge.communicate(text, JENNY).stream():
        if chunk["type"] == "audio" and first is None:
            first = time.perf_counter() - started
    assert first is not None
    return first


async def main_async(args: argparse.Namespace) -> dict[str, list[float]]:
    """Run every row's requests (Edge alone, offline alone, each failover) and collect their times in
    seconds."""
    questions = load_questions(args.questions)
    piper = await PiperSynthesizer.open(args.model_dir, parallelism=1)
    rows: dict[str, list[float]] = {
        name: []
        for name in (
            "edge first audio",
            "edge total",
            "offline alone",
            "edge refused, error only",
            "failover, breaker closed (refused)",
            "failover, breaker open (refused)",
            "failover, breaker closed (timeout)",
        )
    }
    try:
        async with EdgeTtsSimulator(piper) as sim:
            edge = EdgeSynthesizer(
                phonemize_word=word_phonemizer(piper), endpoint_url=sim.url, timeout_s=args.edge_timeout
            )
            offline = SpeechService([(piper, OFFLINE)], cooldown_s=60)
            await edge.synthesize("Warm up.", JENNY)

            def failover_service() -> SpeechService:
                return SpeechService([(edge, JENNY), (piper, OFFLINE)], cooldown_s=3600)

            steps: list[tuple[str, Callable[[str], Awaitable[object]]]] = [
                ("edge total", lambda text: edge.synthesize(text, JENNY)),
                ("offline alone", offline.speak),
            ]
            open_breaker = failover_service()
            await sim.set_fault("refuse")
            await open_breaker.speak("Open the breaker.")
            for _ in range(args.rounds):
                for text in questions:
                    await sim.set_fault("none")
                    rows["edge first audio"].append(await first_audio_s(edge, text))
                    for name, step in steps:
                        await timed(rows[name], step(text))
                    await sim.set_fault("refuse")
                    await timed(rows["edge refused, error only"], _failing(edge.synthesize(text, JENNY)))
                    await timed(rows["failover, breaker closed (refused)"], failover_service().speak(text))
                    await timed(rows["failover, breaker open (refused)"], open_breaker.speak(text))
            await sim.set_fault("delay", delay_s=60)
            for text in questions[: args.timeout_samples]:
                await timed(rows["failover, breaker closed (timeout)"], failover_service().speak(text))
    finally:
        await asyncio.to_thread(piper.close)
    return rows


def p90(values: list[float]) -> float:
    """The 90th percentile of `values`, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def report(rows: dict[str, list[float]], edge_timeout: float) -> None:
    """Print each row's count, median and p90, and for failovers the median added over offline alone."""
    baseline = rows["offline alone"]
    print(f"{'row':<38} {'n':>4} {'median ms':>10} {'p90 ms':>8} {'added ms':>9}")
    for name, values in rows.items():
        added = ""
        if name.startswith("failover"):
            added = f"{statistics.median(v - b for v, b in zip(values, baseline, strict=False)) * 1000:9.1f}"
        median, high = statistics.median(values) * 1000, p90(values) * 1000
        print(f"{name:<38} {len(values):>4} {median:10.1f} {high:8.1f} {added:>9}")
    print(f"(EDGE_TTS_TIMEOUT_S={edge_timeout:g}; added = median of paired differences with offline alone)")


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the rows against the simulator and print the table; exit status 0."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--questions", type=int, default=10, help="how many bank questions (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over the questions (default 3)")
    parser.add_argument("--edge-timeout", type=float, default=2.0, help="EDGE_TTS_TIMEOUT_S for the run")
    parser.add_argument("--timeout-samples", type=int, default=3, help="requests in the timeout row")
    parser.add_argument(
        "--model-dir", type=Path, default=Path(tempfile.gettempdir()) / "interviewai-bench-models"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)  # the failover warnings are expected here
    rows = asyncio.run(main_async(args))
    report(rows, args.edge_timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
