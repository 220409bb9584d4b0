"""Client-side pacing for WebSocket tests: text messages sent below the server's per-socket rate."""

from __future__ import annotations

import asyncio
import time

from websockets.asyncio.client import ClientConnection

from interviewai.api.websocket import MESSAGE_RATE

# 20% under the server's per-socket message rate (MESSAGE_RATE), as a well-behaved client must stay:
# on a quiet machine a cached question comes back in a few milliseconds, so a test that fires requests
# back to back goes over the rate and gets `rate_limited` instead of the reply it waits for.
MESSAGE_INTERVAL_S = MESSAGE_RATE.get_expiry() / MESSAGE_RATE.amount * 1.2
_last_sent: dict[int, float] = {}


async def paced_send(socket_: ClientConnection, text: str | bytes) -> None:
    """Send `text`, first waiting until MESSAGE_INTERVAL_S has passed since this socket's last message."""
    wait = _last_sent.get(id(socket_), 0.0) + MESSAGE_INTERVAL_S - time.monotonic()
    if wait > 0:
        await asyncio.sleep(wait)
    _last_sent[id(socket_)] = time.monotonic()
    await socket_.send(text)
