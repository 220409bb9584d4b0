"""Talking-presenter video per question: cached clips, background rendering, per-question fallback."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from interviewai.deadlines import deadline
from interviewai.domain.avatar import CLIP_FETCH_ALLOWANCE_S, ClipRequest, Credits, VideoStatus
from interviewai.domain.errors import PROGRAMMING_ERRORS, ProviderCategory, ProviderError, StoreUnavailable
from interviewai.domain.jobs import RenderClip
from interviewai.domain.media import asset_key, clip_key
from interviewai.domain.media_index import MediaEntry, MediaState
from interviewai.domain.ports import AvatarRenderer, BlobStore, JobQueue, MediaIndex
from interviewai.observability import metrics
from interviewai.observability.tracing import span
from interviewai.services.media import QuestionSpeech, SpeechMediaService, blob_is_intact
from interviewai.services.single_flight import SingleFlight

logger = logging.getLogger(__name__)

CLIP = "clip"
ASSET = "asset"
PROVIDER = "d-id"
# Failures that no retry of the same request can fix: the whole service goes audio-only until a probe works.
PERMANENT = frozenset({ProviderCategory.AUTH, ProviderCategory.QUOTA})
# Credits this recent are shown as they are; older ones are asked for again (the status page polls).
CREDITS_FRESH_S = 5.0
RENDER_REQUEUE_MARGIN_S = 30.0


@dataclass(frozen=True)
class VideoOutcome:
    """What came of a question's clip: its status, its blob name when ready, why there is none
    (`fallback_reason`), and whether the cache had it without waiting."""

    status: VideoStatus
    blob_name: str | None = None
    fallback_reason: str | None = None
    # Served from the media cache without waiting (metrics tell cached deliveries apart).
    from_cache: bool = False


@dataclass(frozen=True)
class FailureNote:
    """A failure of the video provider as the status page and the shared board show it (`at`: epoch seconds)."""

    category: str
    message: str
    at: float

    @property
    def reason(self) -> str:
        """The failure as a question's `fallback_reason`: `d-id: <category>: <message>`."""
        return f"d-id: {self.category}: {self.message}"


@dataclass(frozen=True)
class AvatarSettings:
    """How clips are made: the presenter, whether it speaks our audio or the provider's voice, the generation
    deadline (seconds), whether clips are cached, and how long a 429 without Retry-After pauses new clips
    (seconds)."""

    presenter_id: str
    use_own_audio: bool
    provider_voice: str
    generation_timeout_s: float
    cache_enabled: bool = True
    # A 429 without Retry-After pauses new clips (on every instance, with REDIS_URL) this long.
    rate_limit_pause_s: float = 10.0


@dataclass(frozen=True)
class AvatarReport:
    """The video side as the status page shows it."""

    configured: bool
    video_on: bool
    disabled_by: FailureNote | None
    last_failure: FailureNote | None
    # From an answer of the provider within CREDITS_FRESH_S; None when it did not answer (or no video).
    credits: Credits | None

    @property
    def reachable(self) -> bool | None:
        """Whether the provider answered for credits just now; None when video is not configured."""
        return (self.credits is not None) if self.configured else None


@dataclass
class PresenterAssets:
    """Our copies of the presenter's picture and idle loop (blob names), and the provider's idle-loop URL
    until ours is made; None until fetched."""

    image_blob: str | None = None
    idle_blob: str | None = None
    source_idle_url: str | None = None


class AvatarService:
    """Knows whether video is on, renders clips once per content key, and says why when it cannot."""

    def __init__(
        self,
        renderer: AvatarRenderer | None,
        speech: SpeechMediaService,
        blobs: BlobStore,
        index: MediaIndex,
        flights: SingleFlight,
        jobs: JobQueue,
        settings: AvatarSettings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._renderer = renderer
        self._speech = speech
        self._blobs = blobs
        self._index = index
        self._flights = flights
        self._jobs = jobs
        self._settings = settings
        self._clock = clock
        self._rendering: dict[str, float] = {}
        self._disabled_by: FailureNote | None = None
        self._paused_until = 0.0
        self.last_failure: FailureNote | None = None
        self.assets = PresenterAssets()
        self._credits: tuple[float, Credits | None] = (0.0, None)
        self.clips_created = 0
        """Clips this process asked the provider for (benchmarks and tests read it)."""
        jobs.register(RenderClip, self._render_job)

    @property
    def configured(self) -> bool:
        """Whether a video provider is configured (DID_API_KEY set, AVATAR_MODE not audio_only)."""
        return self._renderer is not None

    @property
    def video_on(self) -> bool:
        """Video is configured and no permanent failure has switched it off."""
        return self._renderer is not None and self._disabled_by is None

    @property
    def longest_wait_s(self) -> float:
        """Long enough for any clip: its generation deadline plus time to fetch the file."""
        return self._settings.generation_timeout_s + CLIP_FETCH_ALLOWANCE_S

    @property
    def disabled_by(self) -> FailureNote | None:
        """The permanent failure that switched video off until a probe succeeds; None while video is on."""
        return self._disabled_by

    async def video_for(self, text: str, speech: QuestionSpeech, wait_s: float) -> VideoOutcome:
        """The clip for this question if it is (or becomes) ready within `wait_s`; otherwise why not."""
        refusal = self._why_no_video()
        if refusal is not None:
            return refusal
        if not self._settings.cache_enabled:
            return await self._render_uncached(text, speech, wait_s)
        try:
            return await self._cached_or_queued(self._key(text, speech), text, speech, wait_s)
        except StoreUnavailable as error:
            # Video is optional: without the index this question goes out audio-only.
            return VideoOutcome(VideoStatus.FAILED, fallback_reason=f"store: unavailable: {error.message}")

    def _why_no_video(self) -> VideoOutcome | None:
        """Not configured, switched off by a permanent failure, or paused by the provider: why no clip."""
        if self._renderer is None:
            return VideoOutcome(VideoStatus.DISABLED)
        if self._disabled_by is not None:
            return VideoOutcome(VideoStatus.FAILED, fallback_reason=self._disabled_by.reason)
        if self._clock() < self._paused_until:
            # The provider asked everyone to slow down: don't add to it until the pause is over.
            return VideoOutcome(
                VideoStatus.FAILED, fallback_reason="d-id: rate_limit: paused by the provider's Retry-After"
            )
        return None

    async def _cached_or_queued(
        self, key: str, text: str, speech: QuestionSpeech, wait_s: float
    ) -> VideoOutcome:
        """The cached clip; else its render job queued (one per key) and waited on for `wait_s`."""
        entry = await self._index.get(key)
        if entry is not None and entry.state is MediaState.READY and await self._is_valid(entry):
            metrics.count_cache(CLIP, hit=True)
            return VideoOutcome(VideoStatus.READY, blob_name=entry.blob_name, from_cache=True)
        metrics.count_cache(CLIP, hit=False)
        asked_at = self._clock()
        await self.request_render(text, speech)
        entry = await self._flights.wait_settled(key, wait_s, since=asked_at, is_valid=self._is_valid)
        if entry is not None and entry.state is MediaState.READY and await self._is_valid(entry):
            return VideoOutcome(VideoStatus.READY, blob_name=entry.blob_name)
        if entry is not None and entry.state is MediaState.FAILED:
            return VideoOutcome(VideoStatus.FAILED, fallback_reason=entry.error or "failed")
        return VideoOutcome(
            VideoStatus.PENDING, fallback_reason="pending: the clip is still rendering; ask again"
        )

    async def request_render(self, text: str, speech: QuestionSpeech) -> None:
        """Queue the clip for this question unless this process already has it in hand."""
        if not self.video_on or not self._settings.cache_enabled:
            return
        key = self._key(text, speech)
        queued_at = self._rendering.get(key)
        # With workers in other processes nobody here hears when a job ends, so a queued key is only
        # trusted for as long as a clip may take; after that it is queued again (single-flight dedupes).
        if (
            queued_at is not None
            and time.monotonic() - queued_at < self.longest_wait_s + RENDER_REQUEUE_MARGIN_S
        ):
            return
        self._rendering[key] = time.monotonic()
        try:
            # The job gets the audio key it must render: re-deriving the speech there could pick another
            # engine's (a breaker changed meanwhile) and render a clip nobody waits on.
            await self._jobs.enqueue(RenderClip(text, key, speech.key))
        except Exception:
            # The queue being down must not fail the question: it goes out without video this time.
            self._rendering.pop(key, None)
            logger.exception("could not queue the clip for %s", key)

    async def _render_job(self, job: RenderClip) -> None:
        try:
            speech = await self._speech.speech_by_key(job.audio_key)
            if speech is None:
                logger.warning(
                    "no stored audio %s for the clip %s; it is queued again when asked",
                    job.audio_key,
                    job.key,
                )
                return
            await self.render(job.text, speech)
        except ProviderError:
            pass  # recorded by render(); the question falls back to audio
        finally:
            self._rendering.pop(job.key, None)

    async def render(self, text: str, speech: QuestionSpeech) -> MediaEntry | None:
        """Produce the clip for this question once (single-flight); records failures for the status page."""
        renderer = self._renderer
        if renderer is None or self._disabled_by is not None:
            return None
        key = self._key(text, speech)
        timeout = self._settings.generation_timeout_s

        async def produce(claimed: MediaEntry) -> MediaEntry:
            with metrics.clip_render_timer(PROVIDER), span("avatar.render", provider=PROVIDER):
                return await render_clip(claimed.provider_ref)

        async def render_clip(clip_id: str | None) -> MediaEntry:
            try:
                async with deadline(timeout):
                    if clip_id is None:
                        clip_id = await renderer.create_clip(self._clip_request(text, speech))
                        self.clips_created += 1
                        # Recorded before waiting: if this process dies, the next owner resumes this clip.
                        await self._index.record_provider_ref(
                            key, self._flights.owner, clip_id, self._clock()
                        )
                    status = await renderer.wait_for_clip(clip_id, timeout)
            except asyncio.TimeoutError:
                raise ProviderError(
                    "d-id", ProviderCategory.TIMEOUT, f"no clip within {timeout:g} s", retryable=True
                ) from None
            except ProviderError as error:
                if error.job_ended:
                    # The clip itself is dead (error, rejected): the next attempt starts afresh.
                    await self._index.record_provider_ref(key, self._flights.owner, None, self._clock())
                raise
            try:
                mp4 = await self._download_result(renderer, clip_id, status.result_url)
            except ProviderError:
                # A result link that expired or broke: the clip is paid for but its file is gone.
                await self._index.record_provider_ref(key, self._flights.owner, None, self._clock())
                raise
            blob = f"video/{key}.mp4"
            await self._blobs.put(blob, mp4)
            meta = json.dumps({"size": len(mp4), "clip_id": clip_id})
            await self._index.mark_ready(key, CLIP, blob, meta, self._clock())
            entry = await self._index.get(key)
            assert entry is not None
            return entry

        try:
            return await self._flights.run(
                key,
                CLIP,
                produce,
                is_valid=self._is_valid,
                stale_after_s=timeout + 30,
                timeout_s=timeout + 30,
            )
        except ProviderError as error:
            self._record_failure(error)
            raise

    @staticmethod
    async def _download_result(renderer: AvatarRenderer, clip_id: str, result_url: str | None) -> bytes:
        if result_url is None:
            raise ProviderError(
                "d-id", ProviderCategory.SERVER, f"clip {clip_id} is done without a result", retryable=True
            )
        return await renderer.download(result_url)

    async def _render_uncached(self, text: str, speech: QuestionSpeech, wait_s: float) -> VideoOutcome:
        """The seed's behaviour: a new clip for every request, waited for in the request."""
        renderer = self._renderer
        assert renderer is not None
        try:
            with metrics.clip_render_timer(PROVIDER), span("avatar.render", provider=PROVIDER):
                async with deadline(wait_s):
                    clip_id = await renderer.create_clip(self._clip_request(text, speech))
                    self.clips_created += 1
                    status = await renderer.wait_for_clip(clip_id, wait_s)
                    mp4 = await self._download_result(renderer, clip_id, status.result_url)
        except ProviderError as error:
            self._record_failure(error)
            return VideoOutcome(VideoStatus.FAILED, fallback_reason=str(error))
        except PROGRAMMING_ERRORS:
            # A bug of ours in the renderer: this question goes out audio-only, logged with its stack, and
            # nothing is recorded against the provider (video stays on).
            logger.exception("rendering a clip failed on a bug, not the provider")
            return VideoOutcome(VideoStatus.FAILED, fallback_reason="internal: the clip could not be made")
        except asyncio.TimeoutError:
            return VideoOutcome(
                VideoStatus.FAILED, fallback_reason=f"d-id: timeout: no clip within {wait_s:g} s"
            )
        blob = f"video/{uuid.uuid4().hex}.mp4"
        await self._blobs.put(blob, mp4)
        return VideoOutcome(VideoStatus.READY, blob_name=blob)

    def _clip_request(self, text: str, speech: QuestionSpeech) -> ClipRequest:
        if self._settings.use_own_audio:
            return ClipRequest(self._settings.presenter_id, text, audio_mp3=speech.audio.mp3)
        return ClipRequest(self._settings.presenter_id, text, provider_voice=self._settings.provider_voice)

    def _key(self, text: str, speech: QuestionSpeech) -> str:
        if self._settings.use_own_audio:
            return clip_key(self._settings.presenter_id, speech.key, text, None)
        return clip_key(self._settings.presenter_id, None, text, self._settings.provider_voice)

    async def _is_valid(self, entry: MediaEntry) -> bool:
        return await blob_is_intact(self._blobs, entry)

    def switch_off(self, note: FailureNote) -> None:
        """Video off until a probe succeeds (another instance saw a permanent failure)."""
        self._disabled_by = note

    def switch_on(self) -> None:
        """Video on again: the shared board no longer says the provider is down (another instance's probe
        succeeded)."""
        self._disabled_by = None

    @property
    def paused_until(self) -> float:
        """Until when (epoch seconds) clips are not asked for because the provider rate-limited us."""
        return self._paused_until

    def pause_until(self, until: float) -> None:
        """Asks for no clip until `until` (epoch seconds); a longer pause already set is kept."""
        self._paused_until = max(self._paused_until, until)

    def _record_failure(self, error: ProviderError) -> None:
        note = FailureNote(error.category.value, error.message, self._clock())
        metrics.count_provider_failure(error)
        self.last_failure = note
        if error.category is ProviderCategory.RATE_LIMIT:
            self.pause_until(self._clock() + (error.retry_after_s or self._settings.rate_limit_pause_s))
        if error.category in PERMANENT:
            if self._disabled_by is None:
                logger.error("video switched off until a probe succeeds: %s", error)
            self._disabled_by = note
            metrics.set_video_on(False)

    # -- probes, credits and presenter assets ------------------------------------------------------

    async def probe(self) -> bool:
        """Ask the provider something cheap; success switches video back on after a permanent failure."""
        if self._renderer is None:
            return False
        try:
            credits = await self._renderer.credits()
        except ProviderError as error:
            self._record_failure(error)
            return False
        self._credits = (self._clock(), credits)
        if credits.remaining <= 0:
            # Answering is not enough after running out: there must be something to spend.
            self._record_failure(
                ProviderError("d-id", ProviderCategory.QUOTA, "no credits left", retryable=False)
            )
            return False
        if self._disabled_by is not None:
            logger.info("video is back on: the provider answered a probe")
        self._disabled_by = None
        return True

    async def probe_while_disabled(self) -> None:
        """For the background loop: probe only while a permanent failure keeps video off."""
        if self._disabled_by is not None:
            await self.probe()

    async def report(self, timeout_s: float) -> AvatarReport:
        """What the status page shows. Asking the provider for credits here changes nothing: only failures of
        real work and the background probe switch video off or on."""
        credits = await self._fresh_credits(timeout_s) if self._renderer is not None else None
        return AvatarReport(
            configured=self.configured,
            video_on=self.video_on,
            disabled_by=self._disabled_by,
            last_failure=self.last_failure,
            credits=credits,
        )

    async def _fresh_credits(self, timeout_s: float) -> Credits | None:
        """Credits the provider gave within the last few seconds, else asked now within `timeout_s`; None when
        it does not answer (so the status page never shows an earlier answer as a sign it is reachable)."""
        renderer = self._renderer
        assert renderer is not None
        fetched_at, credits = self._credits
        if credits is not None and self._clock() - fetched_at < CREDITS_FRESH_S:
            return credits
        try:
            async with deadline(timeout_s):
                credits = await renderer.credits()
        except (ProviderError, asyncio.TimeoutError):
            return None
        self._credits = (self._clock(), credits)
        return credits

    async def fetch_presenter_assets(self) -> PresenterAssets:
        """Download the presenter's image and idle loop once and keep our own copies."""
        renderer = self._renderer
        if renderer is None:
            return self.assets
        presenter = await renderer.presenter(self._settings.presenter_id)
        self.assets.source_idle_url = presenter.idle_video_url
        for url, suffix in ((presenter.image_url, "png"), (presenter.idle_video_url, "mp4")):
            if url is None:
                continue
            blob = await self._fetch_asset(renderer, self._settings.presenter_id + suffix, url, suffix)
            if suffix == "png":
                self.assets.image_blob = blob
            else:
                self.assets.idle_blob = blob
        return self.assets

    async def _fetch_asset(
        self, renderer: AvatarRenderer, identity: str, url: str, suffix: str
    ) -> str | None:
        key = asset_key(identity)

        async def produce(_claimed: MediaEntry) -> MediaEntry:
            data = await renderer.download(url)
            blob = f"presenter/{key}.{suffix}"
            await self._blobs.put(blob, data)
            await self._index.mark_ready(key, ASSET, blob, json.dumps({"size": len(data)}), self._clock())
            entry = await self._index.get(key)
            assert entry is not None
            return entry

        entry = await self._flights.run(
            key, ASSET, produce, is_valid=self._is_valid, stale_after_s=120, timeout_s=120
        )
        return entry.blob_name if entry is not None else None
