"""Speech benchmark: real-time factor, first-sentence latency and memory of the offline piper voice.

    python bench/tts.py                          # 10 bank questions x 3 rounds, one at a time, 1 ORT thread
    python bench/tts.py --intra-op-threads 2     # a lone synthesis with 2 ORT threads
    python bench/tts.py --concurrency 2          # 2 syntheses at once, as the server runs them
    python bench/tts.py --server                 # also: RSS of `python main.py` before/after an interview
    python bench/tts.py --edge                   # also: Edge through the simulator, failover latency

RTF = synthesis wall time (phonemes, model, alignment, MP3) / seconds of speech produced.
First audio = time from the call until the first sentence's audio is ready (what streaming would wait for).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import queue
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import psutil
import yaml

from interviewai.adapters.speech.piper import JOE_VOICE, PiperSynthesizer, SentenceProgress
from interviewai.domain.speech import VoiceSettings

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = REPO / "src" / "interviewai" / "resources" / "questions.yaml"


@dataclass(frozen=True)
class Run:
    """One synthesis: wall and speech seconds, the time to the first audio and the first sentence's length."""

    question_id: int
    wall_s: float
    speech_s: float
    first_audio_s: float
    first_sentence_speech_s: float
    sentences: int

    @property
    def rtf(self) -> float:
        """Real-time factor: wall time over speech time (below 1 is faster than speaking)."""
        return self.wall_s / self.speech_s


def load_questions() -> list[tuple[int, str]]:
    """Ids and texts of the packaged bank's questions."""
    bank = yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))
    return [(int(q["id"]), str(q["text"])) for q in bank["questions"]]


def synthesize_once(synth: PiperSynthesizer, question_id: int, text: str) -> Run:
    """Synthesize `text` once with piper, timing each sentence as it is made."""
    progress: list[SentenceProgress] = []
    started = time.perf_counter()
    synth.synthesize_sync(text, VoiceSettings(voice=JOE_VOICE), on_sentence=progress.append)
    wall = time.perf_counter() - started
    return Run(
        question_id=question_id,
        wall_s=wall,
        speech_s=sum(p.audio_s for p in progress),
        first_audio_s=progress[0].elapsed_s,
        first_sentence_speech_s=progress[0].audio_s,
        sentences=len(progress),
    )


def run_benchmark(
    synth: PiperSynthesizer, questions: list[tuple[int, str]], rounds: int, concurrency: int
) -> tuple[list[Run], float]:
    """Every question `rounds` times, `concurrency` at once; returns the runs and the total wall time."""
    jobs: queue.Queue[tuple[int, str]] = queue.Queue()
    for _ in range(rounds):
        for job in questions:
            jobs.put(job)
    runs: list[Run] = []
    lock = threading.Lock()

    def worker() -> None:
        while True:
            try:
                question_id, text = jobs.get_nowait()
            except queue.Empty:
                return
            run = synthesize_once(synth, question_id, text)
            with lock:
                runs.append(run)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, name=f"bench-{n}") for n in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return runs, time.perf_counter() - started


def p90(values: list[float]) -> float:
    """The 90th percentile of `values` (numpy's linear interpolation)."""
    return float(np.percentile(values, 90))


def median(values: list[float]) -> float:
    """The median of `values`."""
    return float(np.median(values))


def report_synthesis(runs: list[Run], total_wall_s: float, args: argparse.Namespace) -> None:
    """Print one row per question (medians over the rounds) and the overall RTF and first-audio figures."""
    print(
        f"\npiper joe-medium: {len(runs)} syntheses ({args.rounds} rounds x {len(runs) // args.rounds} "
        f"questions), concurrency {args.concurrency}, intra_op_num_threads {args.intra_op_threads}, "
        f"{os.cpu_count()} CPUs"
    )
    print(
        f"{'id':>3} {'speech s':>9} {'wall ms':>8} {'RTF':>6} {'1st audio ms':>12} {'1st sent s':>10} {'sent':>4}"
    )
    by_question: dict[int, list[Run]] = {}
    for run in runs:
        by_question.setdefault(run.question_id, []).append(run)
    for question_id in sorted(by_question):
        group = by_question[question_id]
        print(
            f"{question_id:>3} {median([r.speech_s for r in group]):>9.2f} "
            f"{1000 * median([r.wall_s for r in group]):>8.0f} {median([r.rtf for r in group]):>6.3f} "
            f"{1000 * median([r.first_audio_s for r in group]):>12.0f} "
            f"{median([r.first_sentence_speech_s for r in group]):>10.2f} {group[0].sentences:>4}"
        )
    rtf = [r.rtf for r in runs]
    first = [1000 * r.first_audio_s for r in runs]
    speech = sum(r.speech_s for r in runs)
    print(f"RTF                 median {median(rtf):.3f}   p90 {p90(rtf):.3f}")
    print(f"first audio (ms)    median {median(first):.0f}   p90 {p90(first):.0f}")
    print(f"throughput          {speech / total_wall_s:.1f} s of speech per second")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"peak RSS (process)  {peak_mb:.0f} MB")


def prepare_model(model_dir: Path) -> None:
    """Patch the voice in a child process, so this process's peak RSS is a server's with the file present."""
    code = (
        "import sys; from pathlib import Path; "
        "from interviewai.adapters.speech.piper import PiperSynthesizer; "
        "PiperSynthesizer.load(Path(sys.argv[1]), warm_up=False).close()"
    )
    subprocess.run([sys.executable, "-c", code, str(model_dir)], check=True)


# -- the server ---------------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the server binds it later)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of `pid` and its children, in MB, from /proc/<pid>/status."""
    rss = hwm = 0.0
    processes = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    for process in processes:
        fields = {}
        for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            fields[key] = value.strip()
        rss += int(fields["VmRSS"].split()[0]) / 1024
        hwm += int(fields["VmHWM"].split()[0]) / 1024
    return rss, hwm


@contextlib.contextmanager
def running_server(model_dir: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`python main.py` on a free port in a temporary data directory, offline voice only; the process and its
    base URL, stopped on exit."""
    main_py = REPO / "main.py"
    if not main_py.exists():
        raise SystemExit(f"--server: {main_py} does not exist yet")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-server-") as workdir:
        env = {
            **os.environ,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "DATA_DIR": str(Path(workdir) / "data"),
            "MODEL_DIR": str(model_dir),
            "TTS_ENGINES": "piper",
            "DID_API_KEY": "",
            "AVATAR_MODE": "audio_only",
        }
        log_path = Path(workdir) / "server.log"
        with log_path.open("wb") as log:
            # cwd is the temp dir so a developer's .env does not leak into the measurement.
            process = subprocess.Popen(
                [sys.executable, str(main_py)], cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT
            )
            try:
                yield process, f"http://127.0.0.1:{port}"
            except BaseException:
                print(log_path.read_text(errors="replace")[-3000:], file=sys.stderr)
                raise
            finally:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def wait_healthy(
    process: subprocess.Popen[bytes], base: str, client: httpx.Client, timeout_s: float
) -> float:
    """Seconds until the server's /health answers 200; RuntimeError when it exits first or takes over
    `timeout_s`."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout_s:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before it was healthy")
        with contextlib.suppress(httpx.TransportError):
            if client.get(f"{base}/api/v1/health").status_code == 200:
                return time.perf_counter() - started
        time.sleep(0.1)
    raise RuntimeError(f"server not healthy after {timeout_s:.0f} s")


def one_interview(base: str, client: httpx.Client) -> list[tuple[int, float, float]]:
    """Answer every question; returns (question_id, response ms, server latency_ms) per question."""
    start = client.post(f"{base}/api/v1/interview/start")
    start.raise_for_status()
    session = start.json()["session_id"]
    timings: list[tuple[int, float, float]] = []
    began = time.perf_counter()
    reply = client.get(f"{base}/api/v1/interview/{session}/question")
    while True:
        elapsed_ms = 1000 * (time.perf_counter() - began)
        reply.raise_for_status()
        body = reply.json()
        if body.get("type") == "complete":
            return timings
        question_id = int(body["question_id"])
        timings.append((question_id, elapsed_ms, float(body.get("latency_ms") or 0.0)))
        began = time.perf_counter()
        reply = client.post(
            f"{base}/api/v1/interview/{session}/answer",
            json={"question_id": question_id, "answer_text": f"My answer to question {question_id}."},
        )


def report_server(model_dir: Path) -> None:
    """Print the server's RSS at start and after one whole interview, and its question response times."""
    with running_server(model_dir) as (process, base), httpx.Client(timeout=120) as client:
        ready_s = wait_healthy(process, base, client, timeout_s=120)
        rss, hwm = memory_mb(process.pid)
        print(f"\nserver: healthy {ready_s:.1f} s after start; RSS {rss:.0f} MB (peak {hwm:.0f} MB)")
        timings = one_interview(base, client)
        rss, hwm = memory_mb(process.pid)
        print(f"server: after one interview ({len(timings)} questions): RSS {rss:.0f} MB (peak {hwm:.0f} MB)")
        responses = [ms for _, ms, _ in timings]
        latencies = [ms for _, _, ms in timings]
        print(
            f"server: response time per question ms  median {median(responses):.0f}  p90 {p90(responses):.0f}"
            f"  (server latency_ms median {median(latencies):.0f}, p90 {p90(latencies):.0f})"
        )


def main() -> int:
    """Parse the options, run the syntheses and print their figures (with --server, the server's too); exit
    status 0."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="times each question is synthesized (default 3)"
    )
    parser.add_argument(
        "--intra-op-threads", type=int, default=1, help="ORT threads per synthesis (default 1)"
    )
    parser.add_argument("--concurrency", type=int, default=1, help="syntheses at once (default 1)")
    parser.add_argument("--model-dir", type=Path, help="where the patched model lives (default: a temp dir)")
    parser.add_argument("--server", action="store_true", help="also measure `python main.py` over HTTP")
    parser.add_argument(
        "--edge",
        action="store_true",
        help="also measure Edge through the local simulator and failover latency (bench/tts_edge.py)",
    )
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        model_dir = args.model_dir or Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-models-"))
        )
        prepare_model(model_dir)
        started = time.perf_counter()
        synth = PiperSynthesizer.load(
            model_dir, JOE_VOICE, parallelism=args.concurrency, intra_op_threads=args.intra_op_threads
        )
        print(
            f"voice loaded in {time.perf_counter() - started:.2f} s (patched file present, warm-up included)"
        )
        load_before = os.getloadavg()[0]
        try:
            runs, wall = run_benchmark(synth, load_questions(), args.rounds, args.concurrency)
        finally:
            synth.close()
        report_synthesis(runs, wall, args)
        # The numbers mean little on a busy machine: show how busy it was.
        print(f"load average (1 min) {load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
        if args.server:
            report_server(model_dir)
        if args.edge:
            import tts_edge  # beside this script

            print()
            tts_edge.main(["--rounds", str(args.rounds), "--model-dir", str(model_dir)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
