"""Serving a simulator's aiohttp app on a loopback port (the port picked by binding, so 0 means any free one)."""

from __future__ import annotations

import socket

from aiohttp import web


async def serve_app(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Start `app` on (host, port); returns the runner (``await runner.cleanup()`` stops it) and the port.

    Handlers that hang on purpose must be woken by their simulator's stop event: shutdown waits 1 s only.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    bound: int = sock.getsockname()[1]
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
    try:
        await runner.setup()
        await web.SockSite(runner, sock).start()
    except BaseException:
        await runner.cleanup()
        sock.close()
        raise
    return runner, bound
