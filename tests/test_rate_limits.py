"""Rate limits: off by default; per client (key, else address, X-Forwarded-For from trusted proxies only);
in memory or shared through Redis."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from limits import parse
from redis.asyncio import Redis
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from conftest import SettingsFactory
from interviewai.api.rate_limits import RateLimiter
from interviewai.app import create_app
from live_server import free_port, serve_app

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
START = "/api/v1/interview/start"


@contextlib.asynccontextmanager
async def app_running(settings: Any) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


def client_for(app: FastAPI, address: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def assert_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["code"] == "rate_limited"
    assert 1 <= int(response.headers["retry-after"]) <= 60


async def test_without_limits_nothing_is_refused(make_settings: SettingsFactory) -> None:
    async with app_running(make_settings()) as app, client_for(app) as client:
        codes = {(await client.post(START)).status_code for _ in range(12)}
        codes |= {(await client.get("/api/v1/interview/info")).status_code for _ in range(30)}
    assert codes == {200}


async def test_new_sessions_are_limited_per_client(make_settings: SettingsFactory) -> None:
    async with (
        app_running(make_settings(rate_limit_sessions="3/minute")) as app,
        client_for(app, "10.0.0.1") as first,
        client_for(app, "10.0.0.2") as second,
    ):
        for _ in range(3):
            assert (await first.post(START)).status_code == 200
        assert_limited(await first.post(START))
        # Other requests are not sessions, and another address has its own allowance.
        assert (await first.get("/api/v1/interview/info")).status_code == 200
        assert (await second.post(START)).status_code == 200


async def test_all_requests_are_limited_but_health_is_not(make_settings: SettingsFactory) -> None:
    async with app_running(make_settings(rate_limit_requests="5/minute")) as app, client_for(app) as client:
        for _ in range(5):
            assert (await client.get("/api/v1/voices")).status_code == 200
        assert_limited(await client.get("/api/v1/interview/info"))
        assert_limited(await client.post(START))
        assert_limited(await client.get("/api/v1/no-such-route"))
        for _ in range(10):
            assert (await client.get("/api/v1/health")).status_code == 200
        assert (await client.get("/")).status_code == 200, "the web page is not an API request"


async def test_with_keys_a_client_is_its_key_not_its_address(make_settings: SettingsFactory) -> None:
    key_a, key_b = "limits-key-a-0123456789", "limits-key-b-0123456789"
    settings = make_settings(api_keys=f"{key_a},{key_b}", rate_limit_sessions="2/minute")
    async with app_running(settings) as app, client_for(app) as client:
        for _ in range(2):
            assert (await client.post(START, headers={"X-API-Key": key_a})).status_code == 200
        assert_limited(await client.post(START, headers={"X-API-Key": key_a}))
        # Same address, other key: its own allowance.
        assert (await client.post(START, headers={"X-API-Key": key_b})).status_code == 200


async def test_forwarded_for_counts_only_behind_a_trusted_proxy(make_settings: SettingsFactory) -> None:
    settings = make_settings(rate_limit_sessions="1/minute", trusted_proxies="10.9.0.0/16")
    async with (
        app_running(settings) as app,
        client_for(app, "10.9.0.5") as proxy,
        client_for(app, "203.0.113.7") as direct,
    ):
        # Behind the proxy: each forwarded client is its own, read from the right.
        for address in ("198.51.100.1", "198.51.100.2"):
            forwarded = {"X-Forwarded-For": f"1.2.3.4, {address}, 10.9.0.1"}
            assert (await proxy.post(START, headers=forwarded)).status_code == 200
        forwarded = {"X-Forwarded-For": "9.9.9.9, 198.51.100.1"}
        assert_limited(await proxy.post(START, headers=forwarded))
        # A client that is not a trusted proxy cannot pick its own address.
        assert (await direct.post(START, headers={"X-Forwarded-For": "192.0.2.1"})).status_code == 200
        assert_limited(await direct.post(START, headers={"X-Forwarded-For": "192.0.2.2"}))


async def test_websocket_sessions_count_and_resuming_does_not(make_settings: SettingsFactory) -> None:
    async with serve_app(make_settings(rate_limit_sessions="1/minute")) as live:
        async with connect(live.url(), open_timeout=30) as socket_:
            info = json.loads(await asyncio.wait_for(socket_.recv(), 30))
        assert info["type"] == "session_info"
        session_id = info["data"]["session_id"]

        async with connect(live.url(), open_timeout=30) as socket_:
            refused = json.loads(await asyncio.wait_for(socket_.recv(), 30))
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(socket_.recv(), 30)
        assert refused["type"] == "error"
        assert refused["data"]["code"] == "rate_limited"
        assert refused["data"]["retry_after"] >= 1
        assert socket_.close_code == 1008

        async with connect(live.url(f"session_id={session_id}"), open_timeout=30) as socket_:
            resumed = json.loads(await asyncio.wait_for(socket_.recv(), 30))
        assert resumed["type"] == "session_info"
        async with httpx.AsyncClient(base_url=live.http) as client:
            assert_limited(await client.post(START))


@pytest.fixture
async def redis_url() -> str:
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        await client.ping()
    except Exception as error:  # noqa: BLE001 - any failure to reach Redis is reported with how to start it
        message = (
            f"Redis at {REDIS_URL} is not reachable ({error}); start it with: redis-server --daemonize yes"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    finally:
        await client.aclose()
    return REDIS_URL


@pytest.mark.redis
async def test_instances_share_limits_through_redis(make_settings: SettingsFactory, redis_url: str) -> None:
    # A key of its own per run, so the shared counters of earlier runs do not count.
    key = f"redis-limits-{uuid.uuid4().hex}"
    settings = make_settings(api_keys=key, rate_limit_sessions="3/minute", redis_url=redis_url)
    headers = {"Authorization": f"Bearer {key}"}
    async with (
        app_running(settings) as one,
        app_running(settings) as two,
        client_for(one) as first,
        client_for(two) as second,
    ):
        assert (await first.post(START, headers=headers)).status_code == 200
        assert (await second.post(START, headers=headers)).status_code == 200
        assert (await first.post(START, headers=headers)).status_code == 200
        assert_limited(await second.post(START, headers=headers))
        assert_limited(await first.post(START, headers=headers))
    redis = Redis.from_url(redis_url)
    try:
        stored = [name async for name in redis.scan_iter(match="interviewai:limits*")]
    finally:
        await redis.aclose()
    assert stored, "the counters live in Redis"
    assert not any(key.encode() in name for name in stored), "buckets are named by a key id, not the key"


async def test_an_unreachable_limit_store_lets_requests_through() -> None:
    limiter = RateLimiter(parse("1/minute"), None, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    await limiter.open()
    try:
        verdicts = [await limiter.hit(limiter.sessions, "sessions", "ip:192.0.2.1") for _ in range(3)]
    finally:
        await limiter.aclose()
    assert all(verdict.allowed for verdict in verdicts)


async def test_memory_limits_refuse_past_the_limit_and_say_when_to_retry() -> None:
    limiter = RateLimiter(parse("2/minute"), None)
    await limiter.open()
    try:
        verdicts = [await limiter.hit(limiter.sessions, "sessions", "ip:192.0.2.1") for _ in range(3)]
        other = await limiter.hit(limiter.sessions, "sessions", "ip:192.0.2.2")
    finally:
        await limiter.aclose()
    assert [v.allowed for v in verdicts] == [True, True, False]
    assert 1 <= verdicts[2].retry_after_s <= 60
    assert other.allowed
