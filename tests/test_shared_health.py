"""Provider health shared through Redis: one instance's breaker trip reaches the others, and so does recovery."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from conftest import SettingsFactory
from edge_fixtures import FailingSynthesizer
from interviewai.adapters.state.redis_health import RedisHealthBoard
from interviewai.app import create_app
from interviewai.domain.errors import ProviderCategory
from interviewai.domain.speech import VoiceSettings
from interviewai.services.shared_health import SharedHealth
from interviewai.services.speech import BreakerState, SpeechService
from interviewai.services.video import FailureNote

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
pytestmark = pytest.mark.redis


class VideoSwitchFake:
    """The avatar service's on/off switch, without a provider behind it."""

    def __init__(self) -> None:
        self.disabled_by: FailureNote | None = None
        self.paused_until = 0.0

    def pause_until(self, until: float) -> None:
        self.paused_until = max(self.paused_until, until)

    def switch_off(self, note: FailureNote) -> None:
        self.disabled_by = note

    def switch_on(self) -> None:
        self.disabled_by = None


class Instance:
    """One API instance's view: its own speech service, video switch and sync to the shared board."""

    def __init__(self, board: RedisHealthBoard) -> None:
        self.edge = FailingSynthesizer(engine="edge", category=ProviderCategory.CONNECTIVITY)
        self.offline = FailingSynthesizer(engine="piper")
        settings = VoiceSettings(voice="v")
        self.speech = SpeechService([(self.edge, settings), (self.offline, settings)], cooldown_s=60)
        self.video = VideoSwitchFake()
        self.shared = SharedHealth(board, self.speech, self.video)


@pytest.fixture
async def board() -> AsyncIterator[RedisHealthBoard]:
    board = RedisHealthBoard(REDIS_URL, key=f"test-health:{uuid.uuid4().hex}")
    try:
        await board.snapshot()
    except Exception as error:  # noqa: BLE001 - any failure to reach Redis is reported with how to start it
        message = (
            f"Redis at {REDIS_URL} is not reachable ({error}); start it with: redis-server --daemonize yes"
        )
        await board.aclose()
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    yield board
    await board._client.delete(board._key)
    await board.aclose()


async def test_a_trip_on_one_instance_opens_the_breaker_everywhere_and_recovery_closes_it(
    board: RedisHealthBoard,
) -> None:
    first, second = Instance(board), Instance(board)
    first.speech.breaker("edge").record_failure()
    await first.shared.sync()
    await second.shared.sync()
    assert second.speech.breaker("edge").state is BreakerState.OPEN
    retry_first = first.speech.breaker("edge").retry_at
    retry_second = second.speech.breaker("edge").retry_at
    assert retry_first is not None and retry_second is not None
    assert abs(retry_first - retry_second) < 1.0, "both wait until the same moment to probe"
    assert second.speech.breaker("piper").state is BreakerState.CLOSED

    # The second instance now skips Edge without paying for it.
    with pytest.raises(Exception, match="every engine failed"):
        await second.speech.speak("Hello.")
    assert second.edge.calls == 0

    first.speech.breaker("edge").record_success()  # the first instance's probe worked
    await first.shared.sync()
    await second.shared.sync()
    assert second.speech.breaker("edge").state is BreakerState.CLOSED
    await first.shared.sync()
    assert first.speech.breaker("edge").state is BreakerState.CLOSED, "no instance re-opens another"


async def test_video_switched_off_by_one_instance_is_off_everywhere_until_it_is_back(
    board: RedisHealthBoard,
) -> None:
    first, second = Instance(board), Instance(board)
    first.video.switch_off(FailureNote("quota", "no credits left", 0.0))
    await first.shared.sync()
    await second.shared.sync()
    assert second.video.disabled_by is not None
    assert second.video.disabled_by.category == "quota"
    assert second.video.disabled_by.message == "no credits left"

    first.video.switch_on()
    await first.shared.sync()
    await second.shared.sync()
    assert second.video.disabled_by is None


async def test_an_unreachable_board_only_pauses_sharing() -> None:
    board = RedisHealthBoard("redis://127.0.0.1:1/0", timeout_s=0.5)
    instance = Instance(board)
    instance.speech.breaker("edge").record_failure()
    await instance.shared.sync()  # logs and returns
    assert instance.speech.breaker("edge").state is BreakerState.OPEN
    await board.aclose()


async def test_the_app_shares_health_when_redis_url_is_set(
    board: RedisHealthBoard, make_settings: SettingsFactory
) -> None:
    app = create_app(make_settings(redis_url=REDIS_URL))
    async with app.router.lifespan_context(app):
        assert "share-provider-health" in app.state.container.tasks.names
    plain = create_app(make_settings())
    async with plain.router.lifespan_context(plain):
        assert "share-provider-health" not in plain.state.container.tasks.names


async def test_a_provider_rate_limit_pauses_clips_on_every_instance(board: RedisHealthBoard) -> None:
    first, second = Instance(board), Instance(board)
    until = time.time() + 30
    first.video.pause_until(until)
    await first.shared.sync()
    await second.shared.sync()
    assert abs(second.video.paused_until - until) < 0.01
