"""Deadlines (defect 7): one speech-engine attempt, the wait for an offline-voice slot, and every job enqueue;
a broker that stalls or goes down never fails `start`."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import redis.asyncio as aioredis

from conftest import SettingsFactory
from edge_fixtures import QUESTION, piper, simulator
from fault_proxy import Fault, FaultProxy
from interviewai.adapters.speech.piper import PiperSynthesizer
from interviewai.app import create_app
from interviewai.domain.errors import ProviderCategory, ProviderError
from interviewai.domain.speech import VoiceSettings
from interviewai.providers import build_speech_service
from interviewai.settings import Settings
from interviewai.simulators.edge_tts import EdgeTtsSimulator
from test_redis_worker import REDIS_URL, broker_queue

__all__ = ["broker_queue", "piper", "simulator"]  # fixtures

# Far longer than every deadline under test: a deadline that does not fire makes the test fail, not hang.
STALL_S = 60.0
GIVE_UP_S = 30.0


async def test_a_stalled_engine_attempt_is_abandoned_at_its_deadline(
    simulator: EdgeTtsSimulator, piper: PiperSynthesizer, tmp_path: Path
) -> None:
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path,
        tts_engines="edge,piper",
        edge_tts_url=simulator.url,
        # Edge's own timeout out of the way: only the attempt deadline can end the stalled attempt.
        edge_tts_timeout_s=120,
        tts_attempt_timeout_s=1.0,
    )
    service = build_speech_service(settings, piper)
    await simulator.set_fault("delay", delay_s=STALL_S)  # accepts the request, then says nothing
    started = time.monotonic()
    audio = await asyncio.wait_for(service.speak(QUESTION), GIVE_UP_S)
    elapsed = time.monotonic() - started
    assert audio.engine == "piper", "the next engine spoke"
    edge = service.health()[0]
    assert edge.last_failure is not None
    assert edge.last_failure.category is ProviderCategory.TIMEOUT
    assert "TTS_ATTEMPT_TIMEOUT_S" in edge.last_failure.message
    assert elapsed < STALL_S / 2, "the attempt was abandoned, not waited out"


async def test_the_wait_for_a_free_offline_voice_slot_has_a_deadline(model_dir: Path) -> None:
    voice = await PiperSynthesizer.open(model_dir, parallelism=1, slot_wait_s=0.2)
    settings = VoiceSettings(voice="en_US-joe-medium")
    try:
        # Seconds of CPU on the only slot (a short question takes about 0.2 s).
        long_text = " ".join([QUESTION] * 15)
        holder = asyncio.get_running_loop().create_task(voice.synthesize(long_text, settings))
        await asyncio.sleep(0)  # the holder takes the slot
        with pytest.raises(ProviderError) as refused:
            await voice.synthesize(QUESTION, settings)
        assert refused.value.category is ProviderCategory.TIMEOUT and refused.value.retryable
        assert "TTS_SLOT_WAIT_S" in str(refused.value)
        assert holder.done() is False, "refused while the slot was still busy"
        assert (await holder).word_timings, "the synthesis holding the slot is not disturbed"
        assert (await voice.synthesize(QUESTION, settings)).word_timings, "a free slot is taken at once"
    finally:
        await asyncio.to_thread(voice.close)


async def _stream_length(queue: str) -> int:
    client = aioredis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        return int(await client.xlen(queue))
    finally:
        await client.aclose()


@pytest.mark.redis
@pytest.mark.parametrize("fault", ["stall", "down"])
async def test_a_broker_that_stalls_or_goes_down_never_fails_start(
    make_settings: SettingsFactory, broker_queue: str, caplog: pytest.LogCaptureFixture, fault: Fault
) -> None:
    redis_address = urlsplit(REDIS_URL)
    async with FaultProxy(redis_address.hostname or "127.0.0.1", redis_address.port or 6379) as proxy:
        settings = make_settings(
            lookahead=True, broker_url=proxy.url(), broker_queue=broker_queue, job_enqueue_timeout_s=0.5
        )
        app = create_app(settings)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
        ):
            await proxy.set_fault(fault)
            with caplog.at_level(logging.ERROR, logger="interviewai.services.interview"):
                response = await asyncio.wait_for(client.post("/api/v1/interview/start"), GIVE_UP_S)
            assert response.status_code == 200, response.text
            session_id = response.json()["session_id"]
            assert (await client.get(f"/api/v1/interview/{session_id}/status")).status_code == 200
            [logged] = [r for r in caplog.records if "could not queue the look-ahead" in r.getMessage()]
            if fault == "stall":
                # Given up at our deadline, not at whatever the Redis client would have waited.
                assert logged.exc_info is not None and "JOB_ENQUEUE_TIMEOUT_S" in str(logged.exc_info[1])
            assert await _stream_length(broker_queue) == 0

            # The broker is back: the next start queues its look-ahead again.
            await proxy.set_fault("none")
            again = await asyncio.wait_for(client.post("/api/v1/interview/start"), GIVE_UP_S)
            assert again.status_code == 200, again.text
            assert await _stream_length(broker_queue) == 1
