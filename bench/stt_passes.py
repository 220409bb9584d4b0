"""What one Whisper pass costs, in process CPU seconds (a figure the other work on a shared machine moves
much less than wall-clock time), for each recogniser setting: the passes a live answer makes (over the
pending audio and over the tail at the end) and whole answers, with their word error rate.

    python bench/stt_passes.py                                   # int8, encoder over the audio and over 30 s
    python bench/stt_passes.py --compute-types int8,float32 --windows audio --out passes.json

The clips are bench/data/stt_answers.yaml spoken by the offline piper voice (as in bench/stt.py); the
pieces are the first 1, 2, 4, 8 and 12 s of the 25-34 s ones (a live answer's tail and pending audio).
The 1-minute load average is written next to every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from interviewai.adapters.recognition.whisper import WhisperRecognizer  # noqa: E402
from interviewai.adapters.speech.piper import PiperSynthesizer  # noqa: E402
from interviewai.domain.recognition import SAMPLE_RATE, PcmAudio  # noqa: E402
from spoken_audio import speak_pcm, word_error_rate  # noqa: E402

TEXTS = REPO / "bench" / "data" / "stt_answers.yaml"
PIECES_S = (1, 2, 4, 8, 12)


def load() -> float:
    """The 1-minute load average, written next to every figure."""
    return round(os.getloadavg()[0], 2)


def measure(recognizer: WhisperRecognizer, pcm: bytes, repeat: int = 1) -> tuple[float, float, str]:
    """(process CPU seconds, wall seconds, text) of recognising `pcm`, the least of `repeat` runs."""
    best: tuple[float, float, str] | None = None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        text = recognizer.transcribe_sync(PcmAudio(pcm)).text
        run = (time.process_time() - cpu, time.perf_counter() - wall, text)
        best = run if best is None or run[0] < best[0] else best
    assert best is not None
    return best


def figures(recognizer: WhisperRecognizer, clips: list[tuple[str, str, bytes]]) -> dict[str, Any]:
    """The CPU of one pass over each piece length, and CPU RTF and WER over the whole answers."""
    recognizer.warm_up()
    pieces: dict[str, Any] = {}
    middle = [pcm for _, _, pcm in clips if 25 <= len(pcm) / 2 / SAMPLE_RATE <= 34]
    for seconds in PIECES_S:
        runs = [measure(recognizer, pcm[: seconds * SAMPLE_RATE * 2], repeat=2) for pcm in middle]
        pieces[f"{seconds}s"] = {
            "cpu_s_median": round(statistics.median(r[0] for r in runs), 3),
            "wall_s_median": round(statistics.median(r[1] for r in runs), 3),
            "load_1min": load(),
        }
    rows: list[dict[str, Any]] = []
    for clip_id, text, pcm in clips:
        cpu, wall, heard = measure(recognizer, pcm)
        length = len(pcm) / 2 / SAMPLE_RATE
        rows.append({"clip": clip_id, "seconds": round(length, 1), "cpu_rtf": round(cpu / length, 4),
                     "rtf": round(wall / length, 4), "wer": round(word_error_rate(text, heard), 4),
                     "words": len(text.split())})  # fmt: skip
    words = sum(r["words"] for r in rows)
    return {
        "passes": pieces,
        "cpu_rtf_median": round(statistics.median(r["cpu_rtf"] for r in rows), 4),
        "rtf_median": round(statistics.median(r["rtf"] for r in rows), 4),
        "wer_overall": round(sum(r["wer"] * r["words"] for r in rows) / words, 4),
        "load_1min_at_end": load(),
        "clips": rows,
    }


def main() -> None:
    """Measure every compute type and encoder window asked for; print one JSON line per setting."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny.en", choices=["tiny.en", "base"])
    parser.add_argument("--compute-types", default="int8")
    parser.add_argument("--windows", default="audio,30s")
    parser.add_argument("--threads", type=int, default=0, help="CTranslate2 threads; 0: one per core")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    report: dict[str, Any] = {"load_1min_at_start": load(), "runs": []}
    with tempfile.TemporaryDirectory(prefix="stt-passes-") as folder:
        piper = PiperSynthesizer.load(Path(folder))
        items = yaml.safe_load(TEXTS.read_text())
        clips = [(i["id"], i["text"], speak_pcm(piper, i["text"], pause_s=0.3)) for i in items]
        piper.close()
        for compute_type in args.compute_types.split(","):
            for window in args.windows.split(","):
                recognizer = WhisperRecognizer(
                    args.model, model_dir=Path(folder), compute_type=compute_type, encoder_window=window,
                    threads_per_recognition=args.threads,
                )  # fmt: skip
                run = {"compute_type": compute_type, "encoder_window": window, **figures(recognizer, clips)}
                recognizer.close()
                report["runs"].append(run)
                print(json.dumps({k: v for k, v in run.items() if k != "clips"}), flush=True)
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
