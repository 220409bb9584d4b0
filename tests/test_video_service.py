"""The video service on fakes of its renderer and queue, with the real index, blobs and speech services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from conftest import SettingsFactory
from fakes import FakeRenderer, FakeSynthesizer, HeldJobQueue
from interviewai.adapters.blobs.files import FileBlobStore
from interviewai.adapters.store.media_index import SqlMediaIndex
from interviewai.domain.avatar import ClipStatus, VideoStatus
from interviewai.domain.errors import ProviderCategory, ProviderError
from interviewai.domain.jobs import RenderClip
from interviewai.domain.media import clip_key
from interviewai.domain.speech import VoiceSettings
from interviewai.services.media import SpeechMediaService
from interviewai.services.single_flight import SingleFlight
from interviewai.services.speech import SpeechService
from interviewai.services.video import (
    CREDITS_FRESH_S,
    AvatarService,
    AvatarSettings,
    FailureNote,
)
from interviewai.startup import open_database

TEXT = "Tell me about a project you are proud of."


@dataclass
class Video:
    avatar: AvatarService
    media: SpeechMediaService
    speech: SpeechService
    renderer: FakeRenderer
    jobs: HeldJobQueue
    index: SqlMediaIndex
    now: list[float]
    blobs: FileBlobStore


@pytest.fixture
async def video(make_settings: SettingsFactory) -> AsyncIterator[Video]:
    settings = make_settings()
    settings.resolved_media_dir.mkdir(parents=True, exist_ok=True)
    engine = await open_database(settings)
    try:
        speech = SpeechService(
            [
                (FakeSynthesizer("first"), VoiceSettings("one")),
                (FakeSynthesizer("second"), VoiceSettings("two")),
            ],
            cooldown_s=60,
        )
        blobs = FileBlobStore(settings.resolved_media_dir)
        index = SqlMediaIndex(engine)
        flights = SingleFlight(index, owner_id="test:1:video")
        media = SpeechMediaService(speech, blobs, index, flights)
        renderer, jobs = FakeRenderer(), HeldJobQueue()
        now = [1_000_000.0]
        avatar = AvatarService(
            renderer,
            media,
            blobs,
            index,
            flights,
            jobs,
            AvatarSettings("presenter", True, "voice", 10.0),
            clock=lambda: now[0],
        )
        yield Video(avatar, media, speech, renderer, jobs, index, now, blobs)
    finally:
        await engine.dispose()


async def test_the_render_job_renders_the_key_the_request_waits_on_after_a_breaker_flips(
    video: Video,
) -> None:
    video.speech.breaker("first").record_failure()  # an outage: the second engine speaks
    speech = await video.media.speech_for(TEXT)
    assert speech.audio.engine == "second"
    outcome = await video.avatar.video_for(TEXT, speech, wait_s=0)
    assert outcome.status is VideoStatus.PENDING
    waited_on = clip_key("presenter", speech.key, TEXT, None)
    assert video.jobs.queued == [RenderClip(TEXT, waited_on, speech.key)]
    video.speech.breaker("first").record_success()  # over before the job runs: the first would speak now
    await video.jobs.run_all()
    assert [r.audio_mp3 for r in video.renderer.requests] == [speech.audio.mp3]
    entry = await video.index.get(waited_on)
    assert entry is not None and entry.state.value == "ready"
    ready = await video.avatar.video_for(TEXT, speech, wait_s=0)
    assert ready.status is VideoStatus.READY and ready.from_cache


async def test_status_reports_without_switching_video_off_or_on(video: Video) -> None:
    video.renderer.fail_credits_with = ProviderError(
        "d-id", ProviderCategory.AUTH, "bad key", retryable=False
    )
    report = await video.avatar.report(timeout_s=1)
    assert report.video_on and report.reachable is False and report.credits is None
    assert report.last_failure is None and video.avatar.last_failure is None, (
        "probing is not a failure of work"
    )
    video.avatar.switch_off(FailureNote("quota", "no credits left", video.now[0]))
    video.renderer.fail_credits_with = None
    report = await video.avatar.report(timeout_s=1)
    assert report.reachable is True and report.credits is not None
    assert not video.avatar.video_on, "only the background probe switches video back on"


async def test_status_never_shows_old_credits_as_reachable(video: Video) -> None:
    assert (await video.avatar.report(timeout_s=1)).reachable is True
    video.renderer.fail_credits_with = ProviderError(
        "d-id", ProviderCategory.CONNECTIVITY, "down", retryable=True
    )
    assert (await video.avatar.report(timeout_s=1)).reachable is True, "answered a moment ago"
    video.now[0] += CREDITS_FRESH_S
    later = await video.avatar.report(timeout_s=1)
    assert later.reachable is False and later.credits is None


class BrokenRenderer(FakeRenderer):
    """A renderer that fails while waiting for its clip: with a bug of ours, or as the provider."""

    def __init__(self, failure: Exception) -> None:
        super().__init__()
        self.failure = failure

    async def wait_for_clip(self, clip_id: str, timeout_s: float) -> ClipStatus:
        raise self.failure


def _avatar_with(video: Video, renderer: FakeRenderer, *, cache_enabled: bool) -> AvatarService:
    settings = AvatarSettings("presenter", True, "voice", 10.0, cache_enabled=cache_enabled)
    flights = SingleFlight(video.index, owner_id="test:2:video")
    return AvatarService(renderer, video.media, video.blobs, video.index, flights, HeldJobQueue(), settings)


@pytest.mark.parametrize("cache_enabled", [False, True])
async def test_a_bug_in_the_renderer_costs_the_question_its_clip_but_never_switches_video_off(
    video: Video, cache_enabled: bool
) -> None:
    renderer = BrokenRenderer(TypeError("'NoneType' object is not subscriptable"))
    avatar = _avatar_with(video, renderer, cache_enabled=cache_enabled)
    speech = await video.media.speech_for(TEXT)
    if cache_enabled:
        with pytest.raises(TypeError):  # the render job fails loudly (the queue logs it with its stack)
            await avatar.render(TEXT, speech)
        outcome = await avatar.video_for(TEXT, speech, wait_s=0)
    else:
        outcome = await avatar.video_for(TEXT, speech, wait_s=5)
    assert outcome.status is VideoStatus.FAILED and outcome.blob_name is None, (
        "the question goes out audio-only"
    )
    assert avatar.video_on and avatar.last_failure is None, "a bug is not the provider failing"
    renderer.failure = ProviderError("d-id", ProviderCategory.AUTH, "bad key", retryable=False)
    other = "What would you do differently next time?"
    other_speech = await video.media.speech_for(other)
    if cache_enabled:
        with pytest.raises(ProviderError):
            await avatar.render(other, other_speech)
    else:
        assert (await avatar.video_for(other, other_speech, wait_s=5)).status is VideoStatus.FAILED
    assert not avatar.video_on and avatar.last_failure is not None, "a refused key still switches video off"
