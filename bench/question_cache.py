"""What a cached question costs: wrk against a cached GET /question and a bare endpoint serving its bytes.

    python bench/question_cache.py                  # 8 connections, 10 s per target, 2 rounds
    python bench/question_cache.py --duration-s 20 --rounds 3 --connections 8

One round runs the server (`python main.py`: offline voice, audio-only, fresh data directory), starts an
interview, asks its first question twice (the first request speaks it, the second is served from the
cache) and keeps the bytes of the cached answer; then wrk (`apt-get install wrk`) hammers that GET with
`--connections` connections for `--duration-s` seconds. The bare target is a FastAPI app with one GET
route returning the same bytes as a prebuilt Response, under uvicorn with the same options
(`log_config=None`, no access log), run with the same wrk command right after. Both are one process on
loopback. The report gives requests/s and p50 for both, their ratio, and the 1-minute load average: the
machine is shared, so the ratio of the same round says more than either figure.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from interviews import free_port, process  # the benches' one way to start and stop a server

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class WrkResult:
    """What wrk measured for one target: requests per second and the median latency in ms."""

    requests_per_s: float
    p50_ms: float


def run_wrk(url: str, connections: int, duration_s: float) -> WrkResult:
    """Run wrk against `url` (`connections` connections, up to two threads, `duration_s` seconds) and parse
    its summary."""
    threads = max(1, min(2, connections))
    completed = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration_s:g}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    )
    text = completed.stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)\b", text)
    if rate is None or p50 is None or "Non-2xx" in text:
        raise SystemExit(f"unexpected wrk output:\n{text}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p50.group(2)]
    return WrkResult(float(rate.group(1)), float(p50.group(1)) * scale)


def server_env(data_dir: Path, port: int) -> dict[str, str]:
    """The environment of a server that serves questions offline: piper only, audio-only, fresh data directory
    on `port`."""
    env = dict(os.environ)
    env.update(
        {
            "PORT": str(port),
            "HOST": "127.0.0.1",
            "DATA_DIR": str(data_dir),
            "TTS_ENGINES": "piper",
            "AVATAR_MODE": "audio_only",
            "DID_API_KEY": "",
            "LOOKAHEAD": "false",
            "STT_PRELOAD": "false",
            "PLANS_EMBED_AT_START": "false",
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(REPO / "src"),
        }
    )
    return env


def measure_round(work: Path, connections: int, duration_s: float) -> tuple[WrkResult, WrkResult, int]:
    """One round: the server on a cached question, then the bare endpoint with its bytes; the two results and
    the body size."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    body_file = work / "question.json"
    with process(
        [sys.executable, "main.py"],
        server_env(work / "data", port),
        f"{base}/api/v1/health",
        work / "app.log",
    ):
        started = httpx.post(f"{base}/api/v1/interview/start", timeout=60).json()
        url = f"{base}/api/v1/interview/{started['session_id']}/question"
        first = httpx.get(url, timeout=120)
        first.raise_for_status()
        cached = httpx.get(url, timeout=60)
        cached.raise_for_status()
        body_file.write_bytes(cached.content)
        app_result = run_wrk(url, connections, duration_s)
    bare_port = free_port()
    bare = f"http://127.0.0.1:{bare_port}"
    with process(
        [sys.executable, __file__, "--serve-bare", str(body_file), "--port", str(bare_port)],
        dict(os.environ),
        f"{bare}/health",
        work / "bare.log",
    ):
        bare_result = run_wrk(f"{bare}/question", connections, duration_s)
    return app_result, bare_result, len(cached.content)


def serve_bare(body_file: Path, port: int) -> None:
    """The bare endpoint: one route returning the cached question's bytes, nothing else in the way."""
    import uvicorn
    from fastapi import FastAPI, Response

    body = body_file.read_bytes()
    app = FastAPI()

    @app.get("/question")
    async def question() -> Response:
        return Response(body, media_type="application/json")

    @app.get("/health")
    async def health() -> Response:
        return Response(b"{}", media_type="application/json")

    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False, log_level="warning")


def main() -> None:
    """Parse the options; serve the bare endpoint (when run as its child) or run the rounds and print the
    comparison."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--duration-s", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--serve-bare", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare is not None:
        serve_bare(args.serve_bare, args.port)
        return
    rows = []
    with tempfile.TemporaryDirectory(prefix="question-cache-") as temp:
        for number in range(1, args.rounds + 1):
            work = Path(temp) / f"round{number}"
            work.mkdir()
            load = os.getloadavg()[0]
            app_result, bare_result, size = measure_round(work, args.connections, args.duration_s)
            ratio = app_result.requests_per_s / bare_result.requests_per_s
            rows.append(ratio)
            print(
                json.dumps(
                    {
                        "round": number,
                        "body_bytes": size,
                        "connections": args.connections,
                        "duration_s": args.duration_s,
                        "load_1min": round(load, 2),
                        "question_rps": round(app_result.requests_per_s, 1),
                        "question_p50_ms": round(app_result.p50_ms, 2),
                        "bare_rps": round(bare_result.requests_per_s, 1),
                        "bare_p50_ms": round(bare_result.p50_ms, 2),
                        "ratio": round(ratio, 3),
                    }
                ),
                flush=True,
            )
    print(json.dumps({"median_ratio": round(statistics.median(rows), 3), "rounds": len(rows)}))


if __name__ == "__main__":
    main()
