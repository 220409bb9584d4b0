"""Speech recognition benchmark: WER and real-time factor of the default engine on known answers spoken by
two voices, streaming latency over the WebSocket at real-time pace, HTTP upload latency, and server RSS.

    python bench/stt.py                      # everything, about 8-10 minutes on 2 cores (--runs 3)
    python bench/stt.py --skip-server        # only WER and RTF (about 2 minutes)
    python bench/stt.py --model base         # the other packaged model
    python bench/stt.py --out figures.json   # also write every figure as JSON

The test set is made here from bench/data/stt_answers.yaml: each text spoken by the offline piper voice and
by espeak-ng's formant voice (bench/espeak_voice.py, the library inside the piper-tts wheel), 5-90 s per
clip. Generated audio stays in a temp directory. The server runs as `python main.py` with its defaults (the
offline voice, look-ahead on) and is given the answers the way clients send them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from interviewai.adapters.audio.decoding import decode_upload, wav_bytes  # noqa: E402
from interviewai.adapters.recognition.whisper import WhisperRecognizer  # noqa: E402
from interviewai.adapters.speech.piper import PiperSynthesizer  # noqa: E402
from interviewai.domain.recognition import SAMPLE_RATE, PcmAudio  # noqa: E402
from interviewai.settings import Settings  # noqa: E402
from live_server import server_process  # noqa: E402
from spoken_audio import speak_pcm, word_error_rate  # noqa: E402

TEXTS = REPO / "bench" / "data" / "stt_answers.yaml"
ESPEAK_RATE = 175  # words per minute: keeps the longest text under 90 s in espeak's voice
CHUNK_S = 0.1  # the WebSocket client sends 100 ms frames, as a MediaRecorder with a 100 ms timeslice
Clip = tuple[str, str, bytes]  # (clip id, text, 16 kHz PCM)


def seconds(pcm: bytes) -> float:
    """Length in seconds of 16-bit mono PCM at the recognisers' rate."""
    return len(pcm) / 2 / SAMPLE_RATE


def make_test_set(work: Path) -> list[Clip]:
    """Every text in both voices."""
    items = yaml.safe_load(TEXTS.read_text())
    piper = PiperSynthesizer.load(work / "models")
    clips = [(f"{i['id']}/piper", i["text"], speak_pcm(piper, i["text"], pause_s=0.3)) for i in items]
    piper.close()
    jobs = [(i["text"], str(work / f"{i['id']}.wav")) for i in items]
    subprocess.run(
        [sys.executable, str(REPO / "bench" / "espeak_voice.py"), "--rate", str(ESPEAK_RATE)],
        input=json.dumps(jobs).encode(), check=True,
    )  # fmt: skip
    for item, (_, wav) in zip(items, jobs, strict=True):
        pcm = decode_upload(Path(wav).read_bytes(), None, None, 600).audio.samples
        clips.append((f"{item['id']}/espeak", item["text"], pcm))
    return clips


def accuracy(clips: list[Clip], model: str, work: Path, options: dict[str, Any]) -> dict[str, Any]:
    """WER and real-time factor of `model` on every clip, recognised one at a time in this process: the
    real-time factor twice, wall-clock seconds per audio second and the process's CPU seconds per audio
    second (less sensitive to other work on a shared machine)."""
    recognizer = WhisperRecognizer.load(model, model_dir=work / "models", **options)
    rows: list[dict[str, Any]] = []
    rtfs: list[float] = []
    cpu_rtfs: list[float] = []
    for clip_id, text, pcm in clips:
        audio = PcmAudio(pcm)
        started, cpu_started = time.perf_counter(), time.process_time()
        heard = recognizer.transcribe_sync(audio)
        rtf = (time.perf_counter() - started) / audio.duration_s
        cpu_rtf = (time.process_time() - cpu_started) / audio.duration_s
        wer = word_error_rate(text, heard.text)
        rtfs.append(rtf)
        cpu_rtfs.append(cpu_rtf)
        rows.append({"clip": clip_id, "seconds": round(audio.duration_s, 1), "words": len(text.split()),
                     "wer": round(wer, 4), "rtf": round(rtf, 4), "cpu_rtf": round(cpu_rtf, 4),
                     "load_1min": round(os.getloadavg()[0], 2)})  # fmt: skip
        print(f"{clip_id:24} {audio.duration_s:5.1f} s  WER {wer:6.1%}  RTF {rtf:.3f}  CPU RTF {cpu_rtf:.3f}  "
              f"load {os.getloadavg()[0]:.2f}", flush=True)  # fmt: skip
    recognizer.close()

    def overall(selected: list[dict[str, Any]]) -> float:
        words: int = sum(r["words"] for r in selected)
        errors: float = sum(r["wer"] * r["words"] for r in selected)
        return round(errors / words, 4)

    return {
        "model": model,
        "clips": rows,
        "clip_seconds": [min(r["seconds"] for r in rows), max(r["seconds"] for r in rows)],
        "wer_overall": overall(rows),
        "wer_piper": overall([r for r in rows if r["clip"].endswith("/piper")]),
        "wer_espeak": overall([r for r in rows if r["clip"].endswith("/espeak")]),
        "rtf_median": round(statistics.median(rtfs), 4),
        "cpu_rtf_median": round(statistics.median(cpu_rtfs), 4),
        "load_1min_during_accuracy": [min(r["load_1min"] for r in rows), max(r["load_1min"] for r in rows)],
    }


async def stream_once(ws_url: str, pcm: bytes) -> dict[str, Any]:
    """One spoken answer streamed at real-time pace: the wait from answer_audio_end to the next question,
    the partial transcripts seen while speaking, and the final text."""
    from websockets.asyncio.client import connect

    async with connect(ws_url, max_size=16 * 1024 * 1024, open_timeout=30) as socket_:
        json.loads(await socket_.recv())
        await socket_.send(json.dumps({"type": "start"}))
        while json.loads(await socket_.recv())["type"] != "question":
            pass
        await socket_.send(
            json.dumps({"type": "answer_audio_start", "data": {"question_id": 1, "format": "pcm16"}})
        )
        partials: list[float] = []
        final, final_at, next_type = "", 0.0, ""

        async def listen() -> float:
            nonlocal final, final_at, next_type
            while True:
                message = json.loads(await socket_.recv())
                kind, data = message["type"], message.get("data", {})
                if kind == "transcript" and not data["final"]:
                    partials.append(time.perf_counter() - began)
                elif kind == "transcript":
                    final, final_at = data["text"], time.perf_counter()
                elif kind in {"question", "error"}:
                    assert kind == "question", message
                    next_type = data.get("question_type", "")
                    return time.perf_counter()

        chunk = int(SAMPLE_RATE * CHUNK_S) * 2
        began = time.perf_counter()
        listener = asyncio.create_task(listen())
        for index, start in enumerate(range(0, len(pcm), chunk)):
            await socket_.send(pcm[start : start + chunk])
            await asyncio.sleep(max(0.0, began + (index + 1) * CHUNK_S - time.perf_counter()))
        ended = time.perf_counter()
        await socket_.send(json.dumps({"type": "answer_audio_end", "data": {}}))
        answered = await asyncio.wait_for(listener, 120)
        gaps = [b - a for a, b in zip([0.0, *partials], partials, strict=False)]
        return {
            "wait_s": round(answered - ended, 3),
            "final_transcript_after_s": round(final_at - ended, 3),
            "next_question_type": next_type,
            "partials": len(partials),
            "first_partial_s": round(partials[0], 2) if partials else None,
            "longest_gap_s": round(max(gaps), 2) if gaps else None,
            "final": final,
        }


def p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile (the largest value for fewer than 20 runs)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def nearest(clips: list[Clip], target_s: float) -> Clip:
    """The piper clip whose length is closest to `target_s`: a whole answer, not a cut one."""
    return min((c for c in clips if c[0].endswith("/piper")), key=lambda c: abs(seconds(c[2]) - target_s))


def streaming(base: str, clips: list[Clip], runs: int) -> dict[str, Any]:
    """Stream the clips nearest 30 s and 90 s over the WebSocket at real-time pace, `runs` times each: how
    long the final transcript took after the last audio."""
    ws_url = base.replace("http", "ws") + "/api/v1/interview/session"
    results: dict[str, Any] = {}
    for target in (30, 90):
        clip_id, text, pcm = nearest(clips, target)
        outcomes = [asyncio.run(stream_once(ws_url, pcm)) for _ in range(runs)]
        waits = [o["wait_s"] for o in outcomes]
        results[f"stream_{target}s"] = {
            "clip": clip_id,
            "seconds": round(seconds(pcm), 1),
            "waits_s": waits,
            "wait_p95_s": p95(waits),
            "final_transcript_after_s": [o["final_transcript_after_s"] for o in outcomes],
            "next_question_type": [o["next_question_type"] for o in outcomes],
            "partials": [o["partials"] for o in outcomes],
            "first_partial_s": [o["first_partial_s"] for o in outcomes],
            "longest_gap_between_partials_s": [o["longest_gap_s"] for o in outcomes],
            "streamed_wer": [round(word_error_rate(text, o["final"]), 4) for o in outcomes],
        }
        print(f"streamed {clip_id} ({seconds(pcm):.1f} s): {results[f'stream_{target}s']}", flush=True)
    return results


def spoken_interview(base: str, clips: list[Clip]) -> list[dict[str, Any]]:
    """A whole interview answered by WAV uploads, each timed from the request to the response."""
    answers = [c for c in clips if c[0].endswith("/piper")]
    uploads = []
    with httpx.Client(base_url=base, timeout=120) as client:
        session = client.post("/api/v1/interview/start").json()["session_id"]
        question = client.get(f"/api/v1/interview/{session}/question").json()
        index = 0
        while question.get("type") == "question":
            clip_id, _, pcm = answers[index % len(answers)]
            index += 1
            data = wav_bytes(PcmAudio(pcm))
            started = time.perf_counter()
            response = client.post(
                f"/api/v1/interview/{session}/answer",
                data={"question_id": str(question["question_id"])},
                files={"audio": ("a.wav", data, "audio/wav")},
                params={"wait": 0},
            )
            latency = time.perf_counter() - started
            assert response.status_code == 200, response.text
            audio_s = seconds(pcm)
            uploads.append({"clip": clip_id, "seconds": round(audio_s, 1), "latency_s": round(latency, 3),
                            "target_s": round(0.1 * audio_s + 0.3, 2)})  # fmt: skip
            print(f"upload {clip_id:24} {audio_s:5.1f} s -> {latency:.3f} s", flush=True)
            question = response.json()
    return uploads


def server_rss_mb() -> int:
    """RSS in MB of the `main.py` server started by this bench."""
    server = next(p for p in psutil.Process().children(recursive=True) if "main.py" in " ".join(p.cmdline()))
    return round(server.memory_info().rss / 2**20)


def server_figures(
    clips: list[Clip], work: Path, runs: int, env: dict[str, str], *, http: bool = True
) -> dict[str, Any]:
    """Start the server and measure what runs through it: RSS at start, a spoken interview over HTTP (unless
    `http` is False), streaming, RSS after."""
    results: dict[str, Any] = {}
    with server_process(work / "data", work / "models", TTS_ENGINES="piper", **env) as base:
        time.sleep(5)  # let the start-up work (warm-up runs, the library's embedding) settle
        results["server_rss_at_start_mb"] = server_rss_mb()
        if http:
            uploads = spoken_interview(base, clips)
            results["http_uploads"] = uploads
            results["http_uploads_within_target"] = sum(u["latency_s"] <= u["target_s"] for u in uploads)
            results["server_rss_after_spoken_interview_mb"] = rss = server_rss_mb()
            print(f"RSS after a spoken interview: {rss} MB", flush=True)
        results.update(streaming(base, clips, runs))
        results["server_rss_after_streaming_mb"] = server_rss_mb()
    return results


def main() -> None:
    """Parse the options, run the selected parts and print (and optionally write) the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny.en", choices=["tiny.en", "base"])
    parser.add_argument("--skip-server", action="store_true")
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--skip-http", action="store_true", help="no spoken interview over HTTP")
    parser.add_argument("--runs", type=int, default=3, help="streamed answers per length (30 s and 90 s)")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the server, repeatable")
    parser.add_argument("--out", type=Path, help="write the figures here as JSON")
    args = parser.parse_args()
    started = time.monotonic()
    report: dict[str, Any] = {"load_average_at_start": [round(x, 2) for x in os.getloadavg()]}
    with tempfile.TemporaryDirectory(prefix="stt-bench-") as folder:
        work = Path(folder)
        clips = make_test_set(work)
        env = dict(item.split("=", 1) for item in args.env)
        if not args.skip_accuracy:
            # The recogniser the server would build from the same --env settings.
            fields = Settings.model_fields
            options = {
                "compute_type": env.get("STT_COMPUTE_TYPE", fields["stt_compute_type"].default),
                "encoder_window": env.get("STT_ENCODER_WINDOW", fields["stt_encoder_window"].default),
            }
            report["whisper_options"] = options
            report.update(accuracy(clips, args.model, work, options))
            print(
                f"overall WER {report['wer_overall']:.1%}, median RTF {report['rtf_median']:.3f}", flush=True
            )
        if not args.skip_server:
            if args.model != "tiny.en":
                env["STT_WHISPER_MODEL"] = args.model
            report.update(server_figures(clips, work, args.runs, env, http=not args.skip_http))
    report["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    report["runtime_s"] = round(time.monotonic() - started)
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k not in {"clips", "http_uploads"}}, indent=2))


if __name__ == "__main__":
    main()
