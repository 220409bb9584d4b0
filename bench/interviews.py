"""Interview load benchmark: N simulated candidates through full interviews, seed mode vs the pipeline.

    python bench/interviews.py                                   # 20 candidates, 5 s think, 8 s D-ID queue
    python bench/interviews.py --candidates 5 --think-s 2 --did-latency-s 2 --render-factor 0.5

Each run starts the D-ID simulator (`interviewai did-sim`) and the server (`python main.py`) as separate
processes on loopback, with a fresh data directory, then runs every candidate at once: start, GET the first
question, then for each question think and POST the answer (which returns the next question). A question's
"wait" is the response time of the request that delivered it. Two modes, same load:

* seed: MEDIA_CACHE=false, LOOKAHEAD=false. Every request speaks its question and renders a new clip, and
  waits for it (the seed's behaviour).
* distributed (`--modes pipeline,distributed`): the pipeline on two API instances and two workers with
  PostgreSQL, the Redis broker and shared provider health (one machine, so one media directory), the
  candidates alternating between the instances request by request.
* pipeline: cache, single-flight and look-ahead on; VIDEO_WAIT_S bounds how long a question waits for its
  clip (default 0: at once), after which it is delivered with audio and `video_status: pending`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
SIM_KEY = "YmVuY2hAaW50ZXJ2aWV3YWkuaW52YWxpZA:bench-secret"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the child process that gets it binds it later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def process(
    args: list[str], env: dict[str, str], health_url: str | None, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `args` as a child process logging to `log`, and wait (up to 90 s) until `health_url` answers below
    500 (None: alive for 2 s); SIGINT on exit, then kill after 30 s."""
    with log.open("wb") as out:
        child = subprocess.Popen(args, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 90
            while True:
                if child.poll() is not None:
                    raise SystemExit(f"{args[1:3]} exited early; see {log}")
                if health_url is None:  # a worker has no port: alive after a moment is enough
                    time.sleep(2)
                    if child.poll() is not None:
                        raise SystemExit(f"{args[1:3]} exited early; see {log}")
                    break
                with contextlib.suppress(httpx.TransportError):
                    if httpx.get(health_url, timeout=1).status_code < 500:
                        break
                if time.monotonic() > deadline:
                    raise SystemExit(f"{args[1:3]} did not start in 90 s; see {log}")
                time.sleep(0.2)
            yield child
        finally:
            child.send_signal(signal.SIGINT)
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


@dataclass
class ModeResult:
    """The figures of one mode: each question's wait in seconds, how many came with video, errors, wall time
    and the server's syntheses and clips."""

    mode: str
    waits: list[float] = field(default_factory=list)
    with_video: int = 0
    errors: int = 0
    wall_s: float = 0.0
    syntheses: int = 0
    clips_created: int = 0

    def pct(self, q: float) -> float:
        """The `q` quantile (0-1) of the waits, nearest rank; NaN when there are none."""
        ordered = sorted(self.waits)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


async def candidate(clients: list[httpx.AsyncClient], think_s: float, result: ModeResult) -> None:
    """One candidate's whole interview: start, then think and answer each question, recording each question's
    wait; a failed request counts as an error and ends it."""
    # Request by request the candidate alternates between the instances (one with a single instance).
    turn = iter(range(1_000_000))

    def client() -> httpx.AsyncClient:
        return clients[next(turn) % len(clients)]

    response = await client().post("/api/v1/interview/start")
    if response.status_code != 200:
        result.errors += 1
        return
    session_id = response.json()["session_id"]
    asked = time.perf_counter()
    response = await client().get(f"/api/v1/interview/{session_id}/question")
    while True:
        result.waits.append(time.perf_counter() - asked)
        if response.status_code != 200:
            result.errors += 1
            return
        body: dict[str, Any] = response.json()
        if body["type"] == "complete":
            result.waits.pop()  # the completion is not a question
            return
        result.with_video += body["video_status"] == "ready"
        await asyncio.sleep(think_s)
        asked = time.perf_counter()
        response = await client().post(
            f"/api/v1/interview/{session_id}/answer",
            json={"question_id": body["question_id"], "answer_text": "A considered answer."},
        )


async def load(base_urls: list[str], candidates: int, think_s: float, result: ModeResult) -> None:
    """Run `candidates` candidates at once against `base_urls` (each alternating between them) and record the
    wall time."""
    timeout = httpx.Timeout(600, connect=10)
    limits = httpx.Limits(max_connections=candidates * 2)
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits))
            for url in base_urls
        ]
        started = time.perf_counter()
        await asyncio.gather(*(candidate(clients, think_s, result) for _ in range(candidates)))
        result.wall_s = time.perf_counter() - started
        for client in clients:
            metrics = (await client.get("/api/v1/metrics")).json()
            result.syntheses += metrics["syntheses"]
            result.clips_created += metrics["clips_created"]


def simulator_command(args: argparse.Namespace, port: int) -> list[str]:
    """`interviewai did-sim` with the benchmark's latency, enough credits and no voice (clips use our MP3)."""
    return [
        sys.executable, "-m", "interviewai", "did-sim", "--port", str(port), "--no-voice",
        "--latency-s", str(args.did_latency_s), "--render-factor", str(args.render_factor),
        "--credits", "100000", "--render-parallelism", str(args.did_parallelism), "--api-key", SIM_KEY,
    ]  # fmt: skip


def server_environment(args: argparse.Namespace, sim_port: int) -> dict[str, str]:
    """What every server process of the benchmark shares: the offline voice and the D-ID simulator."""
    return {
        "TTS_ENGINES": "piper",
        "DID_API_URL": f"http://127.0.0.1:{sim_port}",
        "DID_API_KEY": SIM_KEY,
        "DID_MAX_PARALLEL": str(args.did_parallelism),
        "DID_POLL_INITIAL_S": "0.5",
        "DID_POLL_MAX_S": "2",
        "AVATAR_GENERATION_TIMEOUT_S": "600",
    }


def run_mode(mode: str, args: argparse.Namespace, model_dir: Path, work: Path) -> ModeResult:
    """Start the D-ID simulator and one server for `mode` (seed: no cache, no look-ahead), run the load and
    collect the server's counters."""
    sim_port, app_port = free_port(), free_port()
    data_dir = work / mode
    data_dir.mkdir()
    base_env = {**os.environ, "MODEL_DIR": str(model_dir), "PYTHONUNBUFFERED": "1"}
    sim_args = simulator_command(args, sim_port)
    app_env = {
        **base_env,
        "DATA_DIR": str(data_dir),
        "HOST": "127.0.0.1",
        "PORT": str(app_port),
        **server_environment(args, sim_port),
        "MEDIA_CACHE": "false" if mode == "seed" else "true",
        "LOOKAHEAD": "false" if mode == "seed" else "true",
        "VIDEO_WAIT_S": "" if mode == "seed" else str(args.video_wait_s),
    }
    result = ModeResult(mode)
    sim_health = f"http://127.0.0.1:{sim_port}/clips/presenters"
    with process(sim_args, base_env, sim_health, work / f"{mode}-did.log"):
        app_health = f"http://127.0.0.1:{app_port}/api/v1/health"
        with process([sys.executable, "main.py"], app_env, app_health, work / f"{mode}-app.log"):
            asyncio.run(load([f"http://127.0.0.1:{app_port}"], args.candidates, args.think_s, result))
    return result


def run_distributed(args: argparse.Namespace, model_dir: Path, work: Path) -> ModeResult:
    """Two API instances and two workers on PostgreSQL and Redis, sharing one media directory."""
    database = f"bench_{uuid.uuid4().hex[:10]}"
    queue = f"bench:{database}"
    psql = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-q", "-c"]
    subprocess.run([*psql, f"CREATE DATABASE {database}"], check=True)
    sim_port, ports = free_port(), [free_port(), free_port()]
    base_env = {**os.environ, "MODEL_DIR": str(model_dir), "PYTHONUNBUFFERED": "1"}
    shared_env = {
        **base_env,
        "DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}",
        "BROKER_URL": "redis://127.0.0.1:6379/0",
        "BROKER_QUEUE": queue,
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "MEDIA_DIR": str(work / "distributed-media"),
        "HOST": "127.0.0.1",
        **server_environment(args, sim_port),
        "VIDEO_WAIT_S": str(args.video_wait_s),
    }
    sim_args = simulator_command(args, sim_port)
    result = ModeResult("distributed")
    try:
        with contextlib.ExitStack() as stack:
            stack.enter_context(
                process(
                    sim_args, base_env, f"http://127.0.0.1:{sim_port}/clips/presenters", work / "dist-did.log"
                )
            )
            for index, port in enumerate(ports):
                env = {**shared_env, "DATA_DIR": str(work / f"api-{index}"), "PORT": str(port)}
                health = f"http://127.0.0.1:{port}/api/v1/health"
                stack.enter_context(
                    process([sys.executable, "main.py"], env, health, work / f"api-{index}.log")
                )
            for index in range(2):
                env = {**shared_env, "DATA_DIR": str(work / f"worker-{index}")}
                stack.enter_context(
                    process(
                        [sys.executable, "-m", "interviewai", "worker"],
                        env,
                        None,
                        work / f"worker-{index}.log",
                    )
                )
            urls = [f"http://127.0.0.1:{port}" for port in ports]
            asyncio.run(load(urls, args.candidates, args.think_s, result))
        # The workers do the rendering: count what exists rather than what each process says it did.
        counts = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-t", "-A", "-c",
             "SELECT count(*) FILTER (WHERE kind = 'speech'), count(*) FILTER (WHERE kind = 'clip') FROM media"],
            check=True, capture_output=True, text=True,
        ).stdout.strip().split("|")  # fmt: skip
        result.syntheses, result.clips_created = int(counts[0]), int(counts[1])
    finally:
        subprocess.run([*psql, f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"], check=False)
        subprocess.run(["redis-cli", "-h", "127.0.0.1", "DEL", queue], check=False, capture_output=True)
    return result


def report(results: list[ModeResult], args: argparse.Namespace) -> None:
    """Print one table row per mode: the waits' p50, p95 and max, the share with video, clips, syntheses,
    errors and wall time."""
    print(
        f"\n{args.candidates} candidates x the bank, think {args.think_s:g} s, D-ID queue {args.did_latency_s:g} s"
        f" + {args.render_factor:g} x audio, D-ID parallelism {args.did_parallelism}"
    )
    header = f"{'mode':<10}{'p50 s':>8}{'p95 s':>8}{'max s':>8}{'video':>8}{'clips':>7}{'synth':>7}{'errors':>8}{'wall s':>8}"
    print(header)
    for r in results:
        share = f"{100 * r.with_video / max(1, len(r.waits)):.0f}%"
        print(
            f"{r.mode:<10}{statistics.median(r.waits):>8.2f}{r.pct(0.95):>8.2f}{max(r.waits):>8.2f}"
            f"{share:>8}{r.clips_created:>7}{r.syntheses:>7}{r.errors:>8}{r.wall_s:>8.0f}"
        )
    if len(results) == 2 and results[0].mode == "seed":
        seed, pipe = results
        print(
            f"ratios (pipeline / seed): p50 {statistics.median(pipe.waits) / statistics.median(seed.waits):.3f},"
            f" p95 {pipe.pct(0.95) / seed.pct(0.95):.3f}, clips {pipe.clips_created}/{seed.clips_created}"
        )


def main() -> int:
    """Parse the options, run each mode in a fresh work directory and print the table; exit status 0."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--candidates", type=int, default=20)
    parser.add_argument("--think-s", type=float, default=5.0, help="time a candidate spends per answer")
    parser.add_argument("--did-latency-s", type=float, default=8.0, help="D-ID queue delay per clip")
    parser.add_argument("--render-factor", type=float, default=1.5, help="D-ID render time per s of audio")
    parser.add_argument("--did-parallelism", type=int, default=20, help="clips D-ID renders at once")
    parser.add_argument("--video-wait-s", type=float, default=0.0, help="VIDEO_WAIT_S in pipeline mode")
    parser.add_argument("--modes", default="seed,pipeline")
    parser.add_argument(
        "--model-dir", type=Path, default=Path(tempfile.gettempdir()) / "interviewai-bench-models"
    )
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-interviews-") as work:
        for mode in args.modes.split(","):
            print(f"running {mode} ...", flush=True)
            if mode == "distributed":
                results.append(run_distributed(args, args.model_dir, Path(work)))
            else:
                results.append(run_mode(mode, args, args.model_dir, Path(work)))
    report(results, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
