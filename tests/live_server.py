"""Servers for tests on loopback: the app under uvicorn in the test's loop, or `python main.py` as a process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from interviewai.api import websocket as ws_module
from interviewai.app import create_app
from interviewai.container import Container
from interviewai.settings import Settings

REPO = Path(__file__).resolve().parents[1]
PATH = "/api/v1/interview/session"
# Short keep-alive so a peer that stops answering protocol pings is found within a second.
KEEPALIVE_S = 0.5


class QuietServer(uvicorn.Server):
    """uvicorn inside the test's event loop, leaving pytest's signal handlers alone."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Install no signal handlers: pytest owns them."""
        yield


@dataclass
class Live:
    """A running app under uvicorn: its HTTP and WebSocket base URLs and its container."""

    http: str
    ws: str
    container: Container

    def url(self, query: str = "") -> str:
        """The WebSocket interview URL, with `query` when given."""
        return self.ws + PATH + (f"?{query}" if query else "")

    def socket_tasks(self) -> list[str]:
        """Names of the app's WebSocket tasks still registered (`ws:` prefix), to see that sockets leave
        nothing behind."""
        return [name for name in self.container.tasks.names if name.startswith("ws:")]


@contextlib.asynccontextmanager
async def serve_app(settings: Settings, **app_options: Any) -> AsyncIterator[Live]:
    """The app under uvicorn on a free loopback port, in the test's event loop (`app_options` go to
    create_app, e.g. shared recognisers)."""
    app = create_app(settings, **app_options)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level="warning",
        lifespan="on",
        ws_max_size=ws_module.TRANSPORT_MAX_MESSAGE_BYTES,
        # Short keep-alive so a peer that stops answering protocol pings is found within a second.
        ws_ping_interval=KEEPALIVE_S,
        ws_ping_timeout=KEEPALIVE_S,
    )
    server = QuietServer(config)
    serving = asyncio.ensure_future(server.serve(sockets=[listener]))
    try:
        while not server.started:
            if serving.done():
                serving.result()
                raise AssertionError("uvicorn stopped before it started")
            await asyncio.sleep(0.02)
        yield Live(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}", app.state.container)
    finally:
        server.should_exit = True
        try:
            await serving
        finally:
            # Even when uvicorn failed or the test was cancelled: a listener left to the GC is reported as
            # an unclosed socket in whichever later test happens to run then.
            listener.close()


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (another process may still take it before it is used)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def server_process(data_dir: Path, model_dir: Path, **env: str) -> Iterator[str]:
    """`python main.py` as a separate process, the way a user runs it (offline voice, no D-ID key).

    Its output goes to a log file beside the data directory (a pipe nobody reads could fill and stall it).
    """
    port = free_port()
    environment = {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "MODEL_DIR": str(model_dir),
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "TTS_ENGINES": "piper",
        "DID_API_KEY": "",
        **env,
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir.parent / f"server-{port}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "main.py"], cwd=REPO, env=environment, stdout=output, stderr=output
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise AssertionError(f"server exited early:\n{log.read_text()}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise AssertionError("server did not become healthy in 60 s")
            time.sleep(0.2)
        yield base
    finally:
        stop_process(process)


def stop_process(process: subprocess.Popen[bytes], timeout_s: float = 20) -> None:
    """SIGINT (a clean shutdown, as Ctrl-C), then SIGKILL if it has not exited within `timeout_s`."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
