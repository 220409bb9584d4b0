"""Media claims: every transition is conditional on the entry's current state, and a claim whose owner is
known to be gone (a dead pid on this host, or an earlier incarnation of this process) is taken over at once."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import time

import pytest

from conftest import RunningApp
from interviewai.adapters.store.media_index import SqlMediaIndex
from interviewai.domain.media import speech_key
from interviewai.domain.media_index import MediaState
from interviewai.domain.ports import MediaIndex
from interviewai.services.media import SPEECH
from interviewai.services.single_flight import new_owner_id, owner_is_gone
from test_store_contract import backend, index

__all__ = ["backend", "index"]

NOW = 1_000_000.0
STALE_S = 60.0


async def test_a_failed_heartbeat_cannot_flip_a_ready_entry_to_failed(index: MediaIndex) -> None:
    claim = await index.claim("k", SPEECH, "owner-a", NOW, STALE_S)
    assert claim.owned
    await index.mark_ready("k", SPEECH, "audio/k.mp3", "{}", NOW + 1)
    # The owner's heartbeat loop gives up late and reports the claim as failed: the entry must stay ready.
    assert not await index.heartbeat("k", "owner-a", NOW + 2)
    await index.mark_failed("k", "owner-a", "lost the claim", NOW + 2)
    await index.record_provider_ref("k", "owner-a", None, NOW + 2)
    entry = await index.get("k")
    assert entry is not None and entry.state is MediaState.READY and entry.error is None


async def test_a_previous_owner_cannot_fail_or_touch_a_claim_taken_over(index: MediaIndex) -> None:
    await index.claim("k", SPEECH, "owner-a", NOW, STALE_S)
    await index.mark_failed("k", "owner-a", "boom", NOW + 1)
    taken = await index.claim("k", SPEECH, "owner-b", NOW + 2, STALE_S)
    assert taken.owned and taken.entry.owner == "owner-b"
    await index.mark_failed("k", "owner-a", "late failure", NOW + 3)
    await index.record_provider_ref("k", "owner-a", "clip-of-a", NOW + 3)
    entry = await index.get("k")
    assert entry is not None and entry.state is MediaState.PENDING and entry.provider_ref is None


async def test_take_over_moves_only_a_pending_claim_of_that_owner(index: MediaIndex) -> None:
    await index.claim("k", SPEECH, "dead", NOW, STALE_S)
    assert not await index.take_over("k", "someone-else", "me", NOW + 1)
    assert await index.take_over("k", "dead", "me", NOW + 1)
    entry = await index.get("k")
    assert entry is not None and entry.owner == "me" and entry.attempts == 2
    assert not await index.take_over("k", "dead", "other", NOW + 2)
    await index.mark_ready("k", SPEECH, "audio/k.mp3", "{}", NOW + 3)
    assert not await index.take_over("k", "me", "other", NOW + 4)


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_owner_liveness() -> None:
    me = new_owner_id()
    host = socket.gethostname()
    assert not owner_is_gone(me, me)
    assert owner_is_gone(f"{host}:{_dead_pid()}:0badcafe", me)
    # Our own pid under another id: an earlier process that had our pid (a restarted container's pid 1).
    assert owner_is_gone(f"{host}:{os.getpid()}:0badcafe", me)
    # Alive here, or on another host (nothing can be known about it): not gone.
    assert not owner_is_gone(f"{host}:{os.getppid()}:0badcafe", me)
    assert not owner_is_gone(f"elsewhere-{host}:{_dead_pid()}:0badcafe", me)
    assert not owner_is_gone("not an owner id", me)


CLAIMER = """
import asyncio, os, socket, sys
from interviewai.adapters.store.database import create_engine
from interviewai.adapters.store.media_index import SqlMediaIndex

async def main() -> None:
    engine = create_engine(sys.argv[1])
    owner = f"{socket.gethostname()}:{os.getpid()}:deadbeef"
    claim = await SqlMediaIndex(engine).claim(sys.argv[2], "speech", owner, __import__("time").time(), 10.0)
    assert claim.owned
    print("claimed", flush=True)
    await asyncio.sleep(600)

asyncio.run(main())
"""


async def test_a_claim_of_a_process_killed_mid_synthesis_is_taken_over_at_once(
    running: RunningApp, caplog: pytest.LogCaptureFixture
) -> None:
    container = running.container
    text = container.interviews.bank.questions[0].text
    key = speech_key(text, container.speech.cache_candidates()[-1])
    claimer = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CLAIMER,
        container.settings.resolved_database_url,
        key,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert claimer.stdout is not None
        assert (await asyncio.wait_for(claimer.stdout.readline(), 60)).strip() == b"claimed"
    finally:
        claimer.kill()  # kill -9: no chance to release its claim
        await claimer.wait()
    dead = await SqlMediaIndex(container.engine).get(key)
    assert dead is not None and dead.state is MediaState.PENDING
    assert dead.owner is not None and dead.owner.endswith(":deadbeef")
    session_id = await running.start()
    started = time.monotonic()
    with caplog.at_level(logging.INFO, logger="interviewai.services.single_flight"):
        question = await running.question(session_id)
    elapsed = time.monotonic() - started
    assert question["question_text"] == text
    entry = await SqlMediaIndex(container.engine).get(key)
    assert entry is not None and entry.state is MediaState.READY and entry.attempts == 2
    assert any("is gone" in record.getMessage() for record in caplog.records)
    # Not after the dead claim's staleness (10 s): the takeover did not wait for it.
    assert elapsed < 10.0, elapsed
