"""Optional per-client rate limits (`limits`, async API) on new sessions and on all API requests.

A client is its API key when keys are on, else its address; the address comes from `X-Forwarded-For` only
when the peer is one of `TRUSTED_PROXIES`. Counters live in memory, or in Redis when `REDIS_URL` is set so
that every instance shares them.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from starlette.types import ASGIApp, Receive, Scope, Send

from interviewai.api.errors import WS_POLICY_VIOLATION, error_response
from interviewai.api.security import (
    API_PREFIX,
    OPEN_PATHS,
    WEBSOCKET_PATH,
    ApiKeys,
    key_id,
    presented_key,
    refuse_websocket,
)
from interviewai.deadlines import deadline

logger = logging.getLogger(__name__)

START_PATH = "/api/v1/interview/start"
REDIS_PREFIX = "interviewai:limits"
# A limit check must never hold a request up for long: past this the request goes through (fail open).
CHECK_DEADLINE_S = 0.5
_WARN_EVERY_S = 30.0
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(value: str) -> list[Network]:
    """`TRUSTED_PROXIES`: comma-separated addresses or CIDR networks."""
    return [ipaddress.ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip()]


def parse_limit(value: str) -> RateLimitItem | None:
    """`30/minute`, `600 per hour`, ... (the `limits` notation); empty means no limit."""
    return parse(value) if value.strip() else None


def _is_trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in trusted)


def client_address(scope: Scope, trusted: Sequence[Network]) -> str:
    """The peer's address, or the nearest untrusted hop of `X-Forwarded-For` when the peer is a trusted proxy.

    Hops are read from the right: each trusted proxy appends the address it saw, so everything left of the
    first untrusted hop may have been written by the client itself.
    """
    peer = scope.get("client")
    address = str(peer[0]) if peer else ""
    if not trusted or not _is_trusted(address, trusted):
        return address
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    forwarded = ",".join(value.decode("latin-1") for name, value in headers if name == b"x-forwarded-for")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return hop
    return hops[0] if hops else address


@dataclass(frozen=True)
class Verdict:
    """The limiter's answer for one request: allowed, or the whole seconds until one is allowed again and the
    limit that refused it ("60 per 1 minute")."""

    allowed: bool
    retry_after_s: int = 0
    limit: str = ""


class RateLimiter:
    """The two limits and their storage; the app's lifespan opens and closes it."""

    def __init__(
        self,
        sessions: RateLimitItem | None,
        requests: RateLimitItem | None,
        redis_url: str = "",
        key_prefix: str = REDIS_PREFIX,
    ) -> None:
        self.sessions = sessions
        self.requests = requests
        self._redis_url = redis_url
        self._key_prefix = key_prefix
        self._storage: Storage | None = None
        self._limiter: SlidingWindowCounterRateLimiter | None = None
        self._pool: object | None = None
        self._warned_at = -math.inf

    @property
    def enabled(self) -> bool:
        """Whether either limit is set; with neither, the middleware is not installed."""
        return self.sessions is not None or self.requests is not None

    async def open(self) -> None:
        """Opens the storage: Redis at `redis_url` (shared by every instance, each call under the check
        deadline), else this process's memory."""
        if self._redis_url:
            from redis.asyncio import ConnectionPool

            # Our own pool, so the lifespan can close it and every call has a socket deadline.
            pool = ConnectionPool.from_url(
                self._redis_url, socket_timeout=CHECK_DEADLINE_S, socket_connect_timeout=CHECK_DEADLINE_S
            )
            self._pool = pool
            self._storage = RedisStorage(
                "async+" + self._redis_url,
                implementation="redispy",
                key_prefix=self._key_prefix,
                wrap_exceptions=True,
                connection_pool=pool,  # type: ignore[arg-type]
            )
        else:
            self._storage = MemoryStorage()
        self._limiter = SlidingWindowCounterRateLimiter(self._storage)

    async def aclose(self) -> None:
        """Closes the Redis pool; later hits are let through uncounted."""
        pool, self._pool = self._pool, None
        if pool is not None:
            from redis.asyncio import ConnectionPool

            assert isinstance(pool, ConnectionPool)
            await pool.disconnect()
        self._limiter = None

    async def hit(self, item: RateLimitItem | None, kind: str, client: str) -> Verdict:
        """Count one request of `kind` for `client`; refused with the seconds until one is allowed again."""
        if item is None or self._limiter is None:
            return Verdict(True)
        try:
            async with deadline(CHECK_DEADLINE_S):
                if await self._limiter.hit(item, kind, client):
                    return Verdict(True)
                stats = await self._limiter.get_window_stats(item, kind, client)
        except Exception as error:  # noqa: BLE001 - the limiter's store failing must not refuse requests: it fails open
            self._warn(error)
            return Verdict(True)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        return Verdict(False, retry_after, str(item))

    def _warn(self, error: BaseException) -> None:
        now = time.monotonic()
        if now - self._warned_at >= _WARN_EVERY_S:
            self._warned_at = now
            logger.warning("rate-limit storage failed (%s); letting requests through", type(error).__name__)


class RateLimit:
    """ASGI middleware: RATE_LIMIT_REQUESTS on every /api/v1 request but the health checks, and
    RATE_LIMIT_SESSIONS on `POST /interview/start` and on WebSockets that start a session."""

    def __init__(
        self, app: ASGIApp, limiter: RateLimiter, keys: ApiKeys, trusted_proxies: Sequence[Network]
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.keys = keys
        self.trusted = list(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Counts every /api/v1 request and socket but the health checks: one over a limit gets 429
        `rate_limited` with Retry-After (a socket: an `error` message, then close 1008). Other scopes pass
        through."""
        path = scope.get("path", "")
        if scope["type"] not in ("http", "websocket") or not path.startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        if path.rstrip("/") in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        client = self._client(scope)
        verdict = await self.limiter.hit(self.limiter.requests, "requests", client)
        if verdict.allowed and _starts_session(scope):
            verdict = await self.limiter.hit(self.limiter.sessions, "sessions", client)
        if verdict.allowed:
            await self.app(scope, receive, send)
        elif scope["type"] == "http":
            message = f"Too many requests; at most {verdict.limit}. Retry in {verdict.retry_after_s} s."
            response = error_response(
                429, "rate_limited", message, headers={"Retry-After": str(verdict.retry_after_s)}
            )
            await response(scope, receive, send)
        else:
            error = {
                "code": "rate_limited",
                "message": f"Too many requests; at most {verdict.limit}.",
                "retry_after": verdict.retry_after_s,
            }
            await refuse_websocket(receive, send, error, WS_POLICY_VIOLATION)

    def _client(self, scope: Scope) -> str:
        key = self.keys.match(presented_key(scope)) if self.keys.enabled else None
        if key is not None:
            return "key:" + key_id(key)
        return "ip:" + client_address(scope, self.trusted)


def _starts_session(scope: Scope) -> bool:
    if scope["type"] == "http":
        return bool(scope["method"] == "POST" and scope["path"].rstrip("/") == START_PATH)
    query: bytes = scope.get("query_string", b"")
    # A WebSocket without `?session_id=` starts a new session as it connects.
    fields = {name for name, _ in parse_qsl(query.decode("latin-1"), keep_blank_values=True)}
    return bool(scope["path"] == WEBSOCKET_PATH and "session_id" not in fields)
