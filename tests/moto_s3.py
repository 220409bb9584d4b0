"""A real S3-compatible server for tests: moto in server mode, as a subprocess on a loopback port.

A subprocess so that stopping it really closes its sockets. Credentials are dummies, the endpoint is explicit
and the AWS config/credential files and the instance-metadata service are switched off, so nothing leaves
loopback.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from live_server import free_port

ACCESS_KEY_ID = "testing-key-id"
SECRET_ACCESS_KEY = "testing-secret"


class MotoServer:
    """`moto_server` in its own process on a loopback port."""

    def __init__(self, **environment: str) -> None:
        self.environment = environment
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start moto_server and wait (up to 20 s) until it answers; RuntimeError when it exits or does
        not."""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, **self.environment},
        )
        deadline = time.monotonic() + 20
        with httpx.Client(trust_env=False, timeout=1) as client:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"moto_server exited with {self.process.returncode}")
                with contextlib.suppress(httpx.TransportError):
                    if client.get(f"{self.url}/moto-api/").status_code < 500:
                        return
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("moto_server did not start within 20 s")
                time.sleep(0.05)

    def stop(self) -> None:
        """Kill the server and wait for it to exit."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture(scope="module", autouse=True)
def offline_aws_environment() -> Iterator[None]:
    """No AWS config, credentials or instance metadata from the machine, and no proxy for loopback."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        patch.setenv("AWS_CONFIG_FILE", os.devnull)
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        for variable in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            patch.delenv(variable, raising=False)
        patch.setenv("NO_PROXY", "127.0.0.1,localhost")
        patch.setenv("no_proxy", "127.0.0.1,localhost")
        yield


@pytest.fixture(scope="module")
def moto_server(offline_aws_environment: None) -> Iterator[MotoServer]:
    """One moto_server per test module, in the offline AWS environment."""
    server = MotoServer()
    server.start()
    yield server
    server.stop()
