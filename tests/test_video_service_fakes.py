"""AvatarService's decisions on fakes of every port (renderer, queue, index, blobs): no video, pending, ready,
or a fallback with its reason. tests/test_video_service.py runs the same service on the real index."""

from __future__ import annotations

from fakes import FakeRenderer, MediaOnFakes, media_on_fakes
from interviewai.domain.avatar import VideoStatus
from interviewai.domain.errors import ProviderCategory, ProviderError, StoreUnavailable
from interviewai.domain.jobs import RenderClip
from interviewai.domain.media import clip_key
from interviewai.domain.media_index import MediaState
from interviewai.services.media import QuestionSpeech
from interviewai.services.video import FailureNote

TEXT = "What would you change about your last project?"


async def spoken(fakes: MediaOnFakes) -> QuestionSpeech:
    return await fakes.media.speech_for(TEXT)


async def test_without_a_renderer_video_is_disabled_and_nothing_is_queued() -> None:
    fakes = media_on_fakes()
    outcome = await fakes.avatar.video_for(TEXT, await spoken(fakes), wait_s=5)
    assert outcome.status is VideoStatus.DISABLED and outcome.fallback_reason is None
    assert fakes.jobs.queued == []


async def test_a_miss_queues_one_render_job_and_is_pending_until_it_lands() -> None:
    fakes = media_on_fakes(renderer=FakeRenderer())
    speech = await spoken(fakes)
    first = await fakes.avatar.video_for(TEXT, speech, wait_s=0)
    assert first.status is VideoStatus.PENDING and "rendering" in (first.fallback_reason or "")
    again = await fakes.avatar.video_for(TEXT, speech, wait_s=0)
    assert again.status is VideoStatus.PENDING
    key = clip_key("presenter", speech.key, TEXT, None)
    assert fakes.jobs.queued == [RenderClip(TEXT, key, speech.key)], (
        "one job for the key while this process has it in hand"
    )
    await fakes.jobs.run_all()
    assert fakes.renderer is not None and [r.audio_mp3 for r in fakes.renderer.requests] == [speech.audio.mp3]
    ready = await fakes.avatar.video_for(TEXT, speech, wait_s=0)
    assert ready.status is VideoStatus.READY and ready.from_cache
    assert ready.blob_name == f"video/{key}.mp4" and ready.blob_name in fakes.stored
    assert fakes.avatar.clips_created == 1


async def test_a_damaged_clip_is_not_served_and_is_downloaded_again_not_paid_for_again() -> None:
    fakes = media_on_fakes(renderer=FakeRenderer())
    speech = await spoken(fakes)
    await fakes.avatar.video_for(TEXT, speech, wait_s=0)
    await fakes.jobs.run_all()
    ready = await fakes.avatar.video_for(TEXT, speech, wait_s=0)
    assert ready.blob_name is not None
    whole = fakes.stored[ready.blob_name]
    fakes.stored[ready.blob_name] = b"cut"
    outcome = await fakes.avatar.video_for(TEXT, speech, wait_s=0)
    assert outcome.status is VideoStatus.PENDING
    await fakes.jobs.run_all()
    assert fakes.avatar.clips_created == 1, "the provider's finished clip is fetched again"
    assert fakes.stored[ready.blob_name] == whole
    assert (await fakes.avatar.video_for(TEXT, speech, wait_s=0)).status is VideoStatus.READY


async def failed_once(error: ProviderError) -> tuple[MediaOnFakes, QuestionSpeech]:
    """A question whose clip job failed with `error`; the renderer works again afterwards."""
    renderer = FakeRenderer()
    fakes = media_on_fakes(renderer=renderer)
    speech = await spoken(fakes)
    renderer.fail_clips_with = error
    await fakes.avatar.video_for(TEXT, speech, wait_s=0)
    await fakes.jobs.run_all()
    renderer.fail_clips_with = None
    return fakes, speech


async def test_a_failed_render_is_that_questions_fallback_and_video_stays_on() -> None:
    fakes, speech = await failed_once(ProviderError("d-id", ProviderCategory.SERVER, "boom", retryable=True))
    key = clip_key("presenter", speech.key, TEXT, None)
    assert fakes.index.entries[key].state is MediaState.FAILED
    outcome = await fakes.avatar.video_for(TEXT, speech, wait_s=0)
    assert outcome.status is VideoStatus.FAILED and "boom" in (outcome.fallback_reason or "")
    assert fakes.avatar.video_on and fakes.avatar.last_failure is not None
    await fakes.jobs.run_all()  # the failed key was queued again by that request
    assert (await fakes.avatar.video_for(TEXT, speech, wait_s=0)).status is VideoStatus.READY


async def test_a_permanent_failure_switches_video_off_until_a_probe_succeeds() -> None:
    fakes, speech = await failed_once(
        ProviderError("d-id", ProviderCategory.AUTH, "bad key", retryable=False)
    )
    assert not fakes.avatar.video_on
    off = await fakes.avatar.video_for(TEXT, speech, wait_s=5)
    assert off.status is VideoStatus.FAILED and off.fallback_reason == "d-id: auth: bad key"
    assert fakes.jobs.queued == [], "nothing is queued while video is off"
    assert await fakes.avatar.probe() and fakes.avatar.video_on
    await fakes.avatar.video_for(TEXT, speech, wait_s=0)
    assert [type(job) for job in fakes.jobs.queued] == [RenderClip], "the clip is asked for again"
    await fakes.jobs.run_all()
    assert (await fakes.avatar.video_for(TEXT, speech, wait_s=0)).status is VideoStatus.READY


async def test_another_instances_switch_off_is_a_fallback_with_its_reason() -> None:
    fakes = media_on_fakes(renderer=FakeRenderer())
    fakes.avatar.switch_off(FailureNote("quota", "no credits left", fakes.now[0]))
    outcome = await fakes.avatar.video_for(TEXT, await spoken(fakes), wait_s=5)
    assert outcome.status is VideoStatus.FAILED
    assert outcome.fallback_reason == "d-id: quota: no credits left"


async def test_a_rate_limit_pause_falls_back_until_it_is_over() -> None:
    fakes, speech = await failed_once(
        ProviderError("d-id", ProviderCategory.RATE_LIMIT, "slow down", retryable=True, retry_after_s=30)
    )
    assert fakes.avatar.video_on and fakes.avatar.paused_until == fakes.now[0] + 30
    paused = await fakes.avatar.video_for(TEXT, speech, wait_s=0)
    assert paused.status is VideoStatus.FAILED and "rate_limit" in (paused.fallback_reason or "")
    assert fakes.jobs.queued == []
    fakes.now[0] += 31
    assert (await fakes.avatar.video_for(TEXT, speech, wait_s=0)).status is VideoStatus.FAILED, (
        "the last attempt's failure answers this request; the clip is asked for again"
    )
    await fakes.jobs.run_all()
    assert (await fakes.avatar.video_for(TEXT, speech, wait_s=0)).status is VideoStatus.READY


async def test_the_index_down_is_an_audio_only_question_not_an_error() -> None:
    fakes = media_on_fakes(renderer=FakeRenderer())
    speech = await spoken(fakes)
    fakes.index.fail_with = StoreUnavailable("database down")
    outcome = await fakes.avatar.video_for(TEXT, speech, wait_s=0)
    assert outcome.status is VideoStatus.FAILED
    assert (outcome.fallback_reason or "").startswith("store: unavailable")


async def test_with_the_cache_off_each_request_renders_its_own_clip() -> None:
    renderer = FakeRenderer()
    fakes = media_on_fakes(renderer=renderer, cache_enabled=False)
    speech = await spoken(fakes)
    one = await fakes.avatar.video_for(TEXT, speech, wait_s=5)
    two = await fakes.avatar.video_for(TEXT, speech, wait_s=5)
    assert one.status is VideoStatus.READY and two.status is VideoStatus.READY
    assert one.blob_name != two.blob_name and len(renderer.requests) == 2
    assert fakes.jobs.queued == [] and not one.from_cache


async def test_with_the_providers_voice_the_clip_key_ignores_our_audio() -> None:
    renderer = FakeRenderer()
    fakes = media_on_fakes(renderer=renderer, use_own_audio=False)
    speech = await spoken(fakes)
    await fakes.avatar.video_for(TEXT, speech, wait_s=0)
    await fakes.jobs.run_all()
    request = renderer.requests[0]
    assert request.audio_mp3 is None and request.provider_voice == "provider-voice"
    key = clip_key("presenter", None, TEXT, "provider-voice")
    assert fakes.index.entries[key].state is MediaState.READY
