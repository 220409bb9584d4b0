"""Slow and hoarding clients: uvicorn's HTTP protocol with a header deadline and a per-address connection cap.

uvicorn waits forever for a request's headers (its keep-alive timeout is cancelled by the first byte), so a
client that sends a partial header can hold a connection as long as it likes, and nothing stops one address
from opening hundreds of them. `guarded_protocol` wraps uvicorn's own protocol class (httptools or h11) so
that a connection still waiting for a complete header after `header_timeout_s` is closed, and an address
already holding `max_per_client` HTTP connections has its next one closed at once. Upgraded WebSockets leave
the count: they have their own heartbeat and throttle.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Any

logger = logging.getLogger(__name__)


def guarded_protocol(  # noqa: C901 - builds the protocol class; its methods count as this function's
    base: type[asyncio.Protocol], header_timeout_s: float, max_per_client: int
) -> type[asyncio.Protocol]:
    """A subclass of uvicorn's `base` protocol enforcing the two limits (0 turns either off).

    Each call makes a class with its own connection counts, so one server's counts never mix with another's.
    """
    open_connections: Counter[str] = Counter()

    class GuardedHttpProtocol(base):  # type: ignore[valid-type,misc]
        _guard_address: str | None = None
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)
            client = self.client
            address = str(client[0]) if client else ""
            if max_per_client and open_connections[address] >= max_per_client:
                logger.warning("closing a connection from %s: it holds %d already", address, max_per_client)
                self.transport.close()
                return
            self._guard_address = address
            open_connections[address] += 1
            self._arm_header_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            self._release()
            super().connection_lost(exc)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            # Waiting for the next request's header starts now (uvicorn's keep-alive timer stops at its
            # first byte).
            self._arm_header_timer()

        def handle_websocket_upgrade(self, *args: Any) -> None:
            # The socket now belongs to the WebSocket protocol, which never calls our connection_lost.
            self._release()
            super().handle_websocket_upgrade(*args)

        def _arm_header_timer(self) -> None:
            if not header_timeout_s:
                return
            if self._header_timer is not None:
                self._header_timer.cancel()
            self._header_timer = self.loop.call_later(header_timeout_s, self._header_deadline)

        def _header_deadline(self) -> None:
            self._header_timer = None
            cycle = self.cycle
            waiting_for_header = cycle is None or cycle.response_complete
            if waiting_for_header and not self.transport.is_closing():
                self.transport.close()

        def _release(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None
            address, self._guard_address = self._guard_address, None
            if address is not None:
                open_connections[address] -= 1
                if open_connections[address] <= 0:
                    del open_connections[address]

    return GuardedHttpProtocol


def http_protocol(header_timeout_s: float, max_per_client: int) -> type[asyncio.Protocol] | str:
    """What `uvicorn.run(http=...)` gets: uvicorn's default, guarded when either limit is set."""
    if not header_timeout_s and not max_per_client:
        return "auto"
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    return guarded_protocol(AutoHTTPProtocol, header_timeout_s, max_per_client)
