"""What every simulator server shares: a loopback port, start with a deadline, stop, faults, the CLI's loop.

A :class:`LoopbackServer` binds its socket itself (port 0 picks a free one, kept for the server's life, so
a simulator that stops listening for a ``refuse`` fault listens again on the same port), serves on the
running event loop, and is an async context manager. Handlers that hang on purpose wait with
:meth:`LoopbackServer.wait_stopping`, which ``stop()`` wakes, so shutdown never waits for them.
"""

from __future__ import annotations

import abc
import argparse
import asyncio
import contextlib
import enum
import socket
from collections.abc import Awaitable, Callable, Collection, Coroutine, Sequence
from types import TracebackType
from typing import Any, Generic, TypeVar

from aiohttp import web

from interviewai.deadlines import deadline

Close = Callable[[], Awaitable[None]]
F = TypeVar("F", bound=enum.Enum)
R = TypeVar("R")
S = TypeVar("S", bound="LoopbackServer[Any]")


def bind_loopback(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port), not yet listening; port 0 picks a free one."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


async def serve_app(app: web.Application, sock: socket.socket) -> Close:
    """Serve an aiohttp app on a bound socket; returns what stops it.

    Shutdown waits 1 s only: handlers that hang on purpose must be woken by their server's stop.
    """
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
    try:
        await runner.setup()
        await web.SockSite(runner, sock).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner.cleanup


class LoopbackServer(abc.ABC, Generic[R]):
    """Start (within ``start_timeout_s``), stop, ``async with``, a log of the requests received (``R``);
    subclasses say how they serve a socket."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, start_timeout_s: float = 10.0) -> None:
        self._host = host
        self._port = port
        self._start_timeout_s = start_timeout_s
        self._close: Close | None = None
        self._stopping = asyncio.Event()
        self._requests: list[R] = []

    @abc.abstractmethod
    async def _serve(self, sock: socket.socket) -> Close:
        """Start serving on ``sock`` (bound, not listening); return what stops it."""

    def _listens_at_start(self) -> bool:
        """False while a fault says nothing listens (the port is still chosen at start)."""
        return True

    @property
    def host(self) -> str:
        """The address the server listens on."""
        return self._host

    @property
    def port(self) -> int:
        """The port listened on (the one chosen once started, when 0 was asked for)."""
        return self._port

    @property
    def listening(self) -> bool:
        """True while the server accepts connections (not under a refuse fault, not stopped)."""
        return self._close is not None

    @property
    def requests(self) -> list[R]:
        """Everything received so far, oldest first (a copy)."""
        return list(self._requests)

    def clear_requests(self) -> None:
        """Forget the requests received so far."""
        self._requests.clear()

    async def start(self) -> None:
        """Choose the port (when 0) and listen, unless a fault says not to; ready when this returns."""
        self._stopping.clear()
        async with deadline(self._start_timeout_s):
            if self._listens_at_start():
                await self._listen()
            elif self._port == 0:
                with bind_loopback(self._host, 0) as probe:
                    self._port = probe.getsockname()[1]

    async def stop(self) -> None:
        """Wake the handlers that hang on purpose, then close the listener and its connections."""
        self._stopping.set()
        await self._unlisten()

    async def __aenter__(self: S) -> S:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def wait_stopping(self, timeout_s: float) -> None:
        """Wait ``timeout_s``, or less if the server stops meanwhile."""
        with contextlib.suppress(asyncio.TimeoutError):
            async with deadline(timeout_s):
                await self._stopping.wait()

    async def _set_listening(self, listening: bool) -> None:
        """Listen again on the same port, or stop listening (a ``refuse`` fault) while still running."""
        await (self._listen() if listening else self._unlisten())

    async def _listen(self) -> None:
        if self._close is not None or self._stopping.is_set():
            return
        sock = bind_loopback(self._host, self._port)
        self._port = sock.getsockname()[1]
        try:
            self._close = await self._serve(sock)
        except BaseException:
            sock.close()
            raise

    async def _unlisten(self) -> None:
        close, self._close = self._close, None
        if close is not None:
            await close()


class FaultSwitch(Generic[F]):
    """The fault a simulator plays now, healed after ``times`` uses (None: until changed)."""

    def __init__(self, none: F, fault: F) -> None:
        self._none = none
        self.current = fault
        self.times: int | None = None

    def set(self, fault: F, times: int | None = None) -> None:
        """Make `fault` the current one for the next `times` uses (None: until changed)."""
        self.current = fault
        self.times = times if fault is not self._none else None

    def take(self, kinds: Collection[F] | None = None) -> F | None:
        """The current fault if it is one of ``kinds`` (any, when None), counting one use of it."""
        fault = self.current
        if kinds is not None and fault not in kinds:
            return None
        if self.times is not None:
            self.times -= 1
            if self.times <= 0:
                self.current, self.times = self._none, None
        return fault


# -- the command line of every simulator ---------------------------------------------------------


def add_listen_arguments(parser: argparse.ArgumentParser, default_port: int) -> None:
    """``--port`` and ``--host``."""
    parser.add_argument(
        "--port",
        type=int,
        default=default_port,
        help=f"TCP port (default {default_port}; 0 picks a free one)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")


def print_settings(banner: str, settings: dict[str, str]) -> None:
    """What the developer sets to point the server at the simulator, one ``NAME=value`` a line."""
    print(banner, flush=True)
    for name, value in settings.items():
        print(f"{name}={value}", flush=True)


async def serve_forever() -> None:
    """Until the task is cancelled (Ctrl-C)."""
    await asyncio.Event().wait()


def run_until_interrupted(main: Coroutine[Any, Any, None]) -> int:
    """Run a simulator's ``run(...)`` until Ctrl-C; the exit status."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main)
    return 0


def simulator_main(
    argv: Sequence[str] | None,
    *,
    prog: str,
    description: str,
    add_arguments: Callable[[argparse.ArgumentParser], None],
    handle: Callable[[argparse.Namespace], int],
) -> int:
    """A simulator's ``main``: parse its options and run it until Ctrl-C."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    add_arguments(parser)
    return handle(parser.parse_args(argv))
