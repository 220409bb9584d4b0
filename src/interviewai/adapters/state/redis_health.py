"""HealthBoard on a Redis hash: provider -> {until, reason}; every call under a short deadline."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import redis.asyncio as redis
from redis.exceptions import RedisError

from interviewai.deadlines import deadline
from interviewai.domain.errors import ProviderCategory, ProviderError


class RedisHealthBoard:
    """HealthBoard on one Redis hash shared by every instance; each call has a short deadline and any Redis
    failure is a ProviderError (connectivity)."""

    def __init__(self, url: str, key: str = "interviewai:provider-health", timeout_s: float = 1.0) -> None:
        self._client = redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        self._key = key
        self._timeout_s = timeout_s

    async def mark_down(self, provider: str, until: float, reason: str) -> None:
        """HSET of {until, reason} (the reason cut to 500 characters)."""
        value = json.dumps({"until": until, "reason": reason[:500]})
        await self._call(self._client.hset(self._key, provider, value))

    async def mark_up(self, provider: str) -> None:
        """HDEL of the provider's field."""
        await self._call(self._client.hdel(self._key, provider))

    async def snapshot(self) -> dict[str, tuple[float, str]]:
        """HGETALL; a field that does not parse (written by something else) is skipped."""
        raw: dict[Any, Any] = await self._call(self._client.hgetall(self._key))
        entries: dict[str, tuple[float, str]] = {}
        for name, value in raw.items():
            try:
                document = json.loads(value)
                entries[name.decode() if isinstance(name, bytes) else str(name)] = (
                    float(document["until"]),
                    str(document["reason"]),
                )
            except (ValueError, KeyError, TypeError):
                continue  # written by something else; ignore rather than break every instance
        return entries

    async def clear(self) -> None:
        """Forget every entry (a fresh deployment, or a test's scratch key)."""
        await self._call(self._client.delete(self._key))

    async def aclose(self) -> None:
        """Close the Redis connection pool."""
        await self._client.aclose()

    async def _call(self, operation: Any) -> Any:
        # redis-py types its commands for both its sync and async clients; on this client they are awaitable.
        try:
            async with deadline(self._timeout_s):
                return await operation
        except (RedisError, OSError, asyncio.TimeoutError) as error:
            raise ProviderError("redis", ProviderCategory.CONNECTIVITY, str(error), retryable=True) from error
