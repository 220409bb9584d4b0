"""Soak: N candidates interviewing for M minutes against `python main.py` while Edge and D-ID misbehave.

    python bench/soak.py --candidates 6 --minutes 4              # prints a table per interval and a verdict

The Edge simulator runs inside this process (so its faults switch at run time) and the D-ID simulator as
its own process (faults over `PUT /_simulator/fault`). The server runs the seed's media path
(`MEDIA_CACHE=false`, `LOOKAHEAD=false`, `VIDEO_WAIT_S=0`) so that every question goes to the providers and
meets the faults: Edge drops, goes silent, stalls past its deadline or refuses connections (failover to the
offline voice, breaker trips and probes); D-ID answers 429/500, hangs or fails clips (audio-only fallback).
Every candidate loops: start, all questions with a short think, end, again. Each interval reports the
requests, the errors (any 5xx or transport failure; a fault must never reach the candidate) and the
server's RSS; the verdict compares the RSS after the warm-up with the RSS at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from interviews import free_port, process, server_environment, simulator_command

from interviewai.adapters.speech.piper import PiperSynthesizer
from interviewai.simulators.edge_tts import EdgeTtsSimulator

# (provider, fault) for each phase, in turn; "none" phases let breakers close and video come back.
FAULT_CYCLE: tuple[tuple[str, str], ...] = (
    ("edge", "none"),
    ("edge", "drop"),
    ("did", "rate_limit429"),
    ("edge", "no-audio"),
    ("did", "server500"),
    ("edge", "delay"),
    ("did", "error"),
    ("edge", "refuse"),
    ("did", "timeout"),
    ("edge", "none"),
)


@dataclass
class Interval:
    """The figures of one reporting interval: requests, errors, latencies, interviews, degraded questions,
    server RSS and the faults on."""

    started_s: float
    requests: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    interviews: int = 0
    audio_only: int = 0
    offline_voice: int = 0
    rss_mb: float = 0.0
    faults: str = ""


@dataclass
class Soak:
    """Everything the soak measured: its intervals in order and the first error messages."""

    intervals: list[Interval] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)

    @property
    def now(self) -> Interval:
        """The interval being recorded now (the last)."""
        return self.intervals[-1]

    def record(self, started: float, ok: bool, detail: str = "") -> None:
        """Record one request in the current interval: its latency from `started`, and an error (with a sample
        of `detail`) when not ok."""
        interval = self.now
        interval.requests += 1
        interval.latencies.append(time.perf_counter() - started)
        if not ok:
            interval.errors += 1
            if len(self.error_samples) < 10:
                self.error_samples.append(detail)


async def request(client: httpx.AsyncClient, soak: Soak, method: str, path: str, **kw: Any) -> Any:
    """Send one request and record it; its JSON when it answered 200, None otherwise (5xx and transport errors
    count as errors)."""
    started = time.perf_counter()
    try:
        response = await client.request(method, path, **kw)
    except httpx.HTTPError as error:
        soak.record(started, False, f"{method} {path}: {type(error).__name__}")
        return None
    ok = response.status_code < 500
    soak.record(started, ok, f"{method} {path}: {response.status_code} {response.text[:120]}")
    return response.json() if ok and response.status_code == 200 else None


async def candidate(client: httpx.AsyncClient, soak: Soak, think_s: float, stop_at: float) -> None:
    """Interview again and again until `stop_at` (monotonic), thinking `think_s` before each answer."""
    while time.monotonic() < stop_at:
        started = await request(client, soak, "POST", "/api/v1/interview/start")
        if started is None:
            await asyncio.sleep(think_s)
            continue
        session = started["session_id"]
        body = await request(client, soak, "GET", f"/api/v1/interview/{session}/question")
        while body is not None and body.get("type") == "question" and time.monotonic() < stop_at:
            soak.now.audio_only += body["avatar_mode"] == "audio_only"
            soak.now.offline_voice += str(body.get("voice", "")).startswith("piper:")
            await asyncio.sleep(think_s)
            answer = {"question_id": body["question_id"], "answer_text": "A considered answer, with detail."}
            body = await request(client, soak, "POST", f"/api/v1/interview/{session}/answer", json=answer)
        await request(client, soak, "DELETE", f"/api/v1/interview/{session}")
        soak.now.interviews += 1


async def inject_faults(edge: EdgeTtsSimulator, did_url: str, phase_s: float, soak: Soak) -> None:
    """Cycle through FAULT_CYCLE, switching Edge's fault in process and D-ID's over HTTP every `phase_s`
    seconds."""
    async with httpx.AsyncClient(base_url=did_url, timeout=10) as did:
        for provider, fault in itertools.cycle(FAULT_CYCLE):
            if provider == "edge":
                await edge.set_fault(fault, delay_s=12.0)
            else:
                await did.put("/_simulator/fault", json={"fault": fault, "times": 20})
            label = f"{provider}:{fault}"
            soak.now.faults = f"{soak.now.faults},{label}".strip(",")
            await asyncio.sleep(phase_s)
            if provider == "edge":
                await edge.set_fault("none")


async def sample(server: psutil.Process, soak: Soak, interval_s: float, origin: float) -> None:
    """Every `interval_s` seconds: note the server's RSS and start a new interval."""
    while True:
        await asyncio.sleep(interval_s)
        soak.now.rss_mb = server.memory_info().rss / 2**20
        soak.intervals.append(Interval(time.monotonic() - origin, faults=soak.now.faults.split(",")[-1]))


async def drive(args: argparse.Namespace, base: str, edge: EdgeTtsSimulator, did_url: str, pid: int) -> Soak:
    """Run the candidates, the fault injector and the sampler against the server until the soak's time is
    up."""
    soak = Soak([Interval(0.0)])
    server = psutil.Process(pid)
    origin = time.monotonic()
    stop_at = origin + args.minutes * 60
    timeout = httpx.Timeout(120, connect=10)
    async with httpx.AsyncClient(base_url=base, timeout=timeout) as client:
        background = [
            asyncio.create_task(inject_faults(edge, did_url, args.phase_s, soak), name="soak-faults"),
            asyncio.create_task(sample(server, soak, args.interval_s, origin), name="soak-rss"),
        ]
        try:
            await asyncio.gather(
                *(candidate(client, soak, args.think_s, stop_at) for _ in range(args.candidates))
            )
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
    soak.now.rss_mb = server.memory_info().rss / 2**20
    return soak


def report(soak: Soak, args: argparse.Namespace) -> int:
    """Print the interval table and the RSS growth after the warm-up; exit status 1 when any request
    failed."""
    print(
        f"\n{args.candidates} candidates, {args.minutes} min, think {args.think_s} s, faults every {args.phase_s} s"
    )
    print(
        "| t (s) | requests | errors | p50 ms | p95 ms | interviews | audio-only q | offline-voice q | RSS MB | faults |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for interval in soak.intervals:
        ordered = sorted(interval.latencies) or [float("nan")]
        p50 = ordered[len(ordered) // 2] * 1000
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000
        print(
            f"| {interval.started_s:.0f} | {interval.requests} | {interval.errors} | {p50:.0f} | {p95:.0f} | "
            f"{interval.interviews} | {interval.audio_only} | {interval.offline_voice} | {interval.rss_mb:.0f} | "
            f"{interval.faults} |"
        )
    total = sum(i.requests for i in soak.intervals)
    errors = sum(i.errors for i in soak.intervals)
    warm = [i.rss_mb for i in soak.intervals if i.started_s >= args.warmup_s and i.rss_mb]
    print(f"\nrequests {total}, errors {errors}, interviews {sum(i.interviews for i in soak.intervals)}")
    if len(warm) >= 2:
        growth = warm[-1] - warm[0]
        times = [i.started_s for i in soak.intervals if i.started_s >= args.warmup_s and i.rss_mb]
        slope = statistics.linear_regression(times, warm).slope * 60 if len(warm) >= 3 else float("nan")
        print(f"RSS after warm-up ({args.warmup_s:.0f} s): {warm[0]:.0f} MB -> {warm[-1]:.0f} MB "
              f"({growth:+.1f} MB; trend {slope:+.1f} MB/min; max {max(warm):.0f} MB)")  # fmt: skip
    for sample_ in soak.error_samples:
        print("error:", sample_)
    return 1 if errors else 0


async def with_edge(args: argparse.Namespace, model_dir: Path, work: Path) -> int:
    """Run the soak with the Edge simulator speaking with piper in this process's loop."""
    piper = await PiperSynthesizer.open(model_dir)
    try:
        async with EdgeTtsSimulator(piper, port=free_port()) as edge:
            return await asyncio.to_thread(
                run_server, args, model_dir, work, edge, asyncio.get_running_loop()
            )
    finally:
        await asyncio.to_thread(piper.close)


def run_server(
    args: argparse.Namespace,
    model_dir: Path,
    work: Path,
    edge: EdgeTtsSimulator,
    loop: asyncio.AbstractEventLoop,
) -> int:
    """Start the D-ID simulator and the server in the seed's media path, and drive the soak from this thread
    on `loop`; the exit status."""
    sim_port, app_port = free_port(), free_port()
    base_env = {**os.environ, "MODEL_DIR": str(model_dir), "PYTHONUNBUFFERED": "1"}
    app_env = {
        **base_env,
        **server_environment(args, sim_port),
        "DATA_DIR": str(work / "data"),
        "HOST": "127.0.0.1",
        "PORT": str(app_port),
        "TTS_ENGINES": "edge,piper",
        "EDGE_TTS_URL": edge.url,
        "EDGE_TTS_TIMEOUT_S": "8",
        "TTS_BREAKER_COOLDOWN_S": "5",
        "AVATAR_GENERATION_TIMEOUT_S": "20",
        "AVATAR_PROBE_INTERVAL_S": "10",
        "DID_RATE_LIMIT_PAUSE_S": "3",
        "MEDIA_CACHE": "false",
        "LOOKAHEAD": "false",
        "VIDEO_WAIT_S": "0",
    }
    did_url = f"http://127.0.0.1:{sim_port}"
    with process(
        simulator_command(args, sim_port), base_env, f"{did_url}/clips/presenters", work / "did.log"
    ):
        health = f"http://127.0.0.1:{app_port}/api/v1/health"
        with process([sys.executable, "main.py"], app_env, health, work / "app.log") as server:
            coroutine = drive(args, f"http://127.0.0.1:{app_port}", edge, did_url, server.pid)
            soak = asyncio.run_coroutine_threadsafe(coroutine, loop).result()
    return report(soak, args)


def main() -> int:
    """Parse the options and run the soak in a fresh work directory; the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--candidates", type=int, default=6)
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument("--think-s", type=float, default=1.0, help="time a candidate spends per answer")
    parser.add_argument("--phase-s", type=float, default=15.0, help="how long each fault phase lasts")
    parser.add_argument("--interval-s", type=float, default=20.0, help="reporting interval")
    parser.add_argument("--warmup-s", type=float, default=60.0, help="RSS is compared from here on")
    parser.add_argument("--did-latency-s", type=float, default=1.0, help="D-ID queue delay per clip")
    parser.add_argument("--render-factor", type=float, default=0.3, help="D-ID render time per s of audio")
    parser.add_argument("--did-parallelism", type=int, default=4, help="clips D-ID renders at once")
    parser.add_argument(
        "--model-dir", type=Path, default=Path(tempfile.gettempdir()) / "interviewai-bench-models"
    )
    parser.add_argument("--work-dir", type=Path, help="keep the data and the logs (app.log, did.log) here")
    args = parser.parse_args()
    args.model_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack, contextlib.suppress(KeyboardInterrupt):
        if args.work_dir is None:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="interviewai-soak-")))
        else:
            work = args.work_dir
            work.mkdir(parents=True, exist_ok=True)
        return asyncio.run(with_edge(args, args.model_dir, work))
    return 130


if __name__ == "__main__":
    raise SystemExit(main())
