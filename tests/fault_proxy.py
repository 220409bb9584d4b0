"""A TCP proxy on loopback in front of a real server (Redis in the tests) that can stall or go down on cue."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Literal

Fault = Literal["none", "stall", "down"]


class FaultProxy:
    """Forwards bytes both ways to `upstream`. `stall`: keeps connections open but drops every byte from then
    on (a server that hangs: nothing sent meanwhile is ever answered); `down`: stops listening and drops every
    connection (a server that is gone); `none`: forwards again (listening on the same port)."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._server: asyncio.Server | None = None
        self._port = 0
        self._flowing = True
        self._pipes: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def port(self) -> int:
        """The loopback port the proxy listens on (0 before it starts)."""
        return self._port

    def url(self, database: int = 0) -> str:
        """A Redis URL through the proxy, for database `database`."""
        return f"redis://127.0.0.1:{self._port}/{database}"

    async def __aenter__(self) -> FaultProxy:
        await self._listen()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._stop_listening()
        self._drop_connections()
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def set_fault(self, fault: Fault) -> None:
        """Switch the proxy's behaviour at once: "stall" holds traffic, "down" stops listening and drops
        connections, "none" forwards again."""
        if fault == "stall":
            self._flowing = False
        elif fault == "down":
            await self._stop_listening()
            self._drop_connections()
        else:
            self._flowing = True
            if self._server is None:
                await self._listen()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self._port)
        self._port = self._server.sockets[0].getsockname()[1]

    async def _stop_listening(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()

    def _drop_connections(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        for source, target in ((reader, up_writer), (up_reader, writer)):
            pipe = asyncio.get_running_loop().create_task(self._pipe(source, target), name="fault-proxy-pipe")
            self._pipes.add(pipe)
            pipe.add_done_callback(self._pipes.discard)

    async def _pipe(self, source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                if not self._flowing:
                    continue
                target.write(data)
                await target.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._writers.discard(target)
            with contextlib.suppress(Exception):
                target.transport.abort()
