"""Speech recognition benchmark: WER and real-time factor of the default engine on known answers spoken by
two voices, streaming latency over the WebSocket at real-time pace, HTTP upload latency, and server RSS.

    python bench/stt.py                      # everything (about 10 minutes on 2 cores)
    python bench/stt.py --skip-server        # only WER and RTF
    python bench/stt.py --model base         # the other packaged model

The test set is made here from bench/data/stt_answers.yaml: each text spoken by the offline piper voice and by
espeak-ng (Debian's `espeak-ng`, a second, robotic voice). Generated audio stays in a temp directory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from interviewai.adapters.audio.decoding import decode_upload, wav_bytes  # noqa: E402
from interviewai.adapters.recognition.whisper import WhisperRecognizer  # noqa: E402
from interviewai.adapters.speech.piper import PiperSynthesizer  # noqa: E402
from interviewai.domain.recognition import SAMPLE_RATE, PcmAudio  # noqa: E402
from live_server import server_process  # noqa: E402
from spoken_audio import speak_pcm, word_error_rate  # noqa: E402

TEXTS = REPO / "bench" / "data" / "stt_answers.yaml"


def make_test_set(work: Path) -> list[tuple[str, str, bytes]]:
    """(clip id, text, 16 kHz PCM) for every text in both voices."""
    piper = PiperSynthesizer.load(work / "models")
    clips = []
    for item in yaml.safe_load(TEXTS.read_text()):
        clips.append((f"{item['id']}/piper", item["text"], speak_pcm(piper, item["text"], pause_s=0.3)))
        wav = work / f"{item['id']}.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "160", "-w", str(wav), item["text"]], check=True)
        clips.append(
            (
                f"{item['id']}/espeak",
                item["text"],
                decode_upload(wav.read_bytes(), None, None, 600).audio.samples,
            )
        )
    piper.close()
    return clips


def accuracy(clips: list[tuple[str, str, bytes]], model: str, work: Path) -> dict[str, object]:
    recognizer = WhisperRecognizer.load(model, model_dir=work / "models")
    rows, errors, words, rtfs = [], 0.0, 0, []
    for clip_id, text, pcm in clips:
        audio = PcmAudio(pcm)
        started = time.perf_counter()
        heard = recognizer.transcribe_sync(audio)
        rtf = (time.perf_counter() - started) / audio.duration_s
        wer = word_error_rate(text, heard.text)
        count = len(text.split())
        errors += wer * count
        words += count
        rtfs.append(rtf)
        rows.append(
            {
                "clip": clip_id,
                "seconds": round(audio.duration_s, 1),
                "wer": round(wer, 3),
                "rtf": round(rtf, 3),
            }
        )
        print(f"{clip_id:28} {audio.duration_s:5.1f} s  WER {wer:6.1%}  RTF {rtf:.3f}", flush=True)
    recognizer.close()
    return {
        "model": model,
        "clips": rows,
        "wer_overall": round(errors / words, 4),
        "rtf_median": round(statistics.median(rtfs), 4),
    }


async def stream_once(ws_url: str, pcm: bytes) -> float:
    """Seconds from answer_audio_end to the next question, the audio sent at real-time pace."""
    from websockets.asyncio.client import connect

    async with connect(ws_url, max_size=16 * 1024 * 1024, open_timeout=30) as socket_:
        json.loads(await socket_.recv())
        await socket_.send(json.dumps({"type": "start"}))
        while json.loads(await socket_.recv())["type"] != "question":
            pass
        await socket_.send(
            json.dumps({"type": "answer_audio_start", "data": {"question_id": 1, "format": "pcm16"}})
        )
        chunk = SAMPLE_RATE * 2 // 10  # 100 ms
        began = time.perf_counter()
        for index, start in enumerate(range(0, len(pcm), chunk)):
            await socket_.send(pcm[start : start + chunk])
            await asyncio.sleep(max(0.0, began + (index + 1) * 0.1 - time.perf_counter()))
        ended = time.perf_counter()
        await socket_.send(json.dumps({"type": "answer_audio_end", "data": {}}))
        while True:
            message = json.loads(await socket_.recv())
            if message["type"] in {"question", "error"}:
                assert message["type"] == "question", message
                return time.perf_counter() - ended


def answer_of(clips: list[tuple[str, str, bytes]], seconds: float) -> bytes:
    """Piper clips joined until `seconds` long."""
    parts, total = [], 0.0
    for _, _, pcm in (c for c in clips if c[0].endswith("/piper")):
        parts.append(pcm)
        total += len(pcm) / 2 / SAMPLE_RATE
        if total >= seconds:
            break
    return b"".join(parts)[: int(seconds * SAMPLE_RATE) * 2]


def server_figures(clips: list[tuple[str, str, bytes]], work: Path, runs: int) -> dict[str, object]:
    results: dict[str, object] = {}
    with server_process(work / "data", work / "models", TTS_ENGINES="piper", LOOKAHEAD="false") as base:
        ws_url = base.replace("http", "ws") + "/api/v1/interview/session"
        for seconds in (30, 90):
            pcm = answer_of(clips, seconds)
            waits = [asyncio.run(stream_once(ws_url, pcm)) for _ in range(runs)]
            results[f"stream_{seconds}s_wait_s"] = [round(w, 3) for w in waits]
            print(f"streamed {seconds} s answer: waits {waits}", flush=True)
        uploads = []
        with httpx.Client(base_url=base, timeout=120) as client:
            session = client.post("/api/v1/interview/start").json()["session_id"]
            question = client.get(f"/api/v1/interview/{session}/question").json()
            for _, _, pcm in [c for c in clips if c[0].endswith("/piper")][:10]:
                if question.get("type") != "question":
                    break
                data = wav_bytes(PcmAudio(pcm))
                started = time.perf_counter()
                response = client.post(
                    f"/api/v1/interview/{session}/answer",
                    data={"question_id": str(question["question_id"])},
                    files={"audio": ("a.wav", data, "audio/wav")},
                    params={"wait": 0},
                )
                uploads.append(
                    {
                        "seconds": round(len(pcm) / 2 / SAMPLE_RATE, 1),
                        "latency_s": round(time.perf_counter() - started, 3),
                    }
                )
                question = response.json()
        results["http_uploads"] = uploads
        server = next(
            p for p in psutil.Process().children(recursive=True) if "main.py" in " ".join(p.cmdline())
        )
        results["server_rss_mb"] = round(server.memory_info().rss / 2**20)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny.en", choices=["tiny.en", "base"])
    parser.add_argument("--skip-server", action="store_true")
    parser.add_argument("--runs", type=int, default=3, help="streamed answers per length")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stt-bench-") as folder:
        work = Path(folder)
        clips = make_test_set(work)
        report = accuracy(clips, args.model, work)
        print(f"overall WER {report['wer_overall']:.1%}, median RTF {report['rtf_median']:.3f}", flush=True)
        if not args.skip_server:
            report.update(server_figures(clips, work, args.runs))
        print(json.dumps({k: v for k, v in report.items() if k != "clips"}, indent=2))


if __name__ == "__main__":
    main()
