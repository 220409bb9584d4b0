"""What tracing costs: a cached GET /question with tracing off and on, and a manual span when off.

    python bench/tracing.py                    # 2000 requests per mode, 3 rounds
    python bench/tracing.py --requests 5000 --rounds 5

Each round builds the app twice in this process (offline voice, audio-only, fresh data directory): once
without OTEL_EXPORTER_OTLP_ENDPOINT, once with it pointing at a loopback OTLP/HTTP sink (http.server in a
thread, answering 200 to every export). It starts an interview, asks its first question (spoken, then
cached) and times `--requests` sequential GETs of it over the ASGI transport (no sockets, so the figure is
the app's own cost per request: FastAPI's server span, the database spans of the session lookup, and the
batch processor's queue). The report gives the mean per request in each mode, their ratio, and the cost of
one `span()` call when tracing is off. The machine is shared: compare the modes of the same round.
"""

from __future__ import annotations

import argparse
import asyncio
import http.server
import statistics
import tempfile
import threading
import time
import timeit
from pathlib import Path

import httpx

from interviewai.app import create_app
from interviewai.observability.tracing import span
from interviewai.settings import Settings


class _Sink(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


async def _per_request_us(endpoint: str, requests: int, model_dir: Path) -> float:
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(
            _env_file=None,
            data_dir=Path(data_dir),
            model_dir=model_dir,
            tts_engines="piper",
            lookahead=False,
            plans_embed_at_start=False,
            stt_preload=False,
            otel_exporter_otlp_endpoint=endpoint,
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                session = (await client.post("/api/v1/interview/start")).json()["session_id"]
                url = f"/api/v1/interview/{session}/question"
                assert (await client.get(url)).status_code == 200
                started = time.perf_counter()
                for _ in range(requests):
                    assert (await client.get(url)).status_code == 200
                return (time.perf_counter() - started) / requests * 1e6


def main() -> None:
    """Parse the options, start a sink for the exported spans and print what tracing costs per request, per
    round."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--model-dir", type=Path, default=Path(tempfile.gettempdir()) / "interviewai-bench-models"
    )
    args = parser.parse_args()
    sink = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{sink.server_address[1]}"
    off_span_ns = min(timeit.repeat(lambda: span("x", engine="piper").__enter__(), number=100_000, repeat=5))
    print(f"span() with tracing off: {off_span_ns / 100_000 * 1e9:.0f} ns a call (enter only, best of 5)")
    offs, ons = [], []
    for round_ in range(1, args.rounds + 1):
        off = asyncio.run(_per_request_us("", args.requests, args.model_dir))
        on = asyncio.run(_per_request_us(endpoint, args.requests, args.model_dir))
        offs.append(off)
        ons.append(on)
        print(f"round {round_}: off {off:.0f} us/request, on {on:.0f} us/request, on/off {on / off:.2f}")
    print(
        f"median: off {statistics.median(offs):.0f} us, on {statistics.median(ons):.0f} us,"
        f" on/off {statistics.median(ons) / statistics.median(offs):.2f}"
    )
    sink.shutdown()


if __name__ == "__main__":
    main()
