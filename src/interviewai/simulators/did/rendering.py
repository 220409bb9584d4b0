"""How the D-ID simulator renders a clip: queue delay, audio (uploaded or spoken), video, stored result."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import time
from urllib.parse import unquote, urlsplit

import numpy as np
import numpy.typing as npt

from interviewai.domain.errors import ProviderError
from interviewai.domain.ports import SpeechSynthesizer
from interviewai.domain.speech import VoiceSettings
from interviewai.simulators.did.media import (
    decode_audio,
    decode_image,
    encode_png,
    encode_wav,
    render_idle_video,
    render_video,
)
from interviewai.simulators.did.objects import ObjectStore, StoredObject
from interviewai.simulators.did.spec import (
    AUDIOS_BUCKET,
    CLIPS_BUCKET,
    MODERATION_DESCRIPTION,
    OWNER_ID,
    RESULT_FORMATS,
    UPLOAD_SAMPLE_RATE,
    DidFault,
    Mouth,
)
from interviewai.simulators.did.state import Clip, ClipFailure, Credits

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class Latency:
    """How long clips take: ``queue_delay_s`` before rendering, then ``render_factor`` x the audio's length."""

    queue_delay_s: float
    render_factor: float


class ClipRendering:
    """Renders clips in the background (at most ``parallelism`` videos at once) and the presenter's assets."""

    def __init__(
        self,
        *,
        objects: ObjectStore,
        credits: Credits,
        latency: Latency,
        stopping: asyncio.Event,
        synthesizer: SpeechSynthesizer | None,
        synthesis_voice: str,
        image_png: bytes,
        mouth: Mouth | None,
        parallelism: int,
        idle_duration_s: float,
    ) -> None:
        self._objects = objects
        self._credits = credits
        self._latency = latency
        self._stopping = stopping
        self._synthesizer = synthesizer
        self._synthesis_voice = synthesis_voice
        self._image_png = image_png
        self._mouth = mouth
        self._render_slots = asyncio.Semaphore(max(1, parallelism))
        self._idle_duration_s = idle_duration_s
        self._image: npt.NDArray[np.uint8] | None = None
        self._assets: dict[str, StoredObject] | None = None
        self._assets_lock = asyncio.Lock()

    async def render(self, clip: Clip, base_url: str) -> None:
        """Take the clip from ``created`` through ``started`` to its end, as its outcome says."""
        try:
            await self._sleep_until(clip.created_at + self._latency.queue_delay_s)
            clip.status, clip.started_at = "started", time.time()
            clip.modified_at = clip.started_at
            samples, rate = await self._clip_audio(clip, base_url)
            clip.duration_s = round(len(samples) / rate, 3)
            started_at = clip.started_at or time.time()
            finish_at = started_at + self._latency.render_factor * clip.duration_s
            if clip.outcome is DidFault.STUCK:
                await self._stopping.wait()
                return
            if clip.outcome in (DidFault.REJECTED, DidFault.ERROR):
                await self._sleep_until(finish_at)
                if clip.outcome is DidFault.REJECTED:
                    kind = "TextModerationError" if clip.script["type"] == "text" else "AudioModerationError"
                    raise ClipFailure(kind, MODERATION_DESCRIPTION)
                raise ClipFailure("UnknownError", "Failed to render the clip")
            image = await self.presenter_image()
            async with self._render_slots:
                video, frames, size = await asyncio.to_thread(
                    render_video,
                    image,
                    samples,
                    rate,
                    result_format=clip.result_format,
                    max_size=clip.max_size,
                    mouth=self._mouth,
                )
            await self._sleep_until(finish_at)
            key = f"{OWNER_ID}/{clip.id}/{clip.presenter.presenter_id}.{clip.result_format}"
            self._objects.put(CLIPS_BUCKET, key, video, RESULT_FORMATS[clip.result_format])
            completed = time.time()
            clip.result_key = key
            clip.metadata = {
                "num_frames": frames,
                "processing_fps": round(frames / max(completed - started_at, 1e-3), 1),
                "resolution": list(size),
                "size_kib": round(len(video) / 1024, 2),
            }
            clip.status, clip.completed_at, clip.modified_at = "done", completed, completed
        except asyncio.CancelledError:
            raise
        except ClipFailure as failure:
            self._finish_failed(clip, failure)
        except Exception as error:
            logger.exception("simulated clip %s failed", clip.id)
            self._finish_failed(clip, ClipFailure("UnknownError", f"internal error: {error}"))

    def _finish_failed(self, clip: Clip, failure: ClipFailure) -> None:
        clip.error = {"kind": failure.kind, "description": failure.description}
        self._credits.refund(clip.cost)
        clip.status = "rejected" if failure.kind.endswith("ModerationError") else "error"
        clip.completed_at = clip.modified_at = time.time()

    async def _clip_audio(self, clip: Clip, base_url: str) -> tuple[npt.NDArray[np.float32], int]:
        """The clip's audio at 16 kHz, stored in the audios bucket so ``audio_url`` can serve it."""
        script = clip.script
        if script["type"] == "audio":
            key = _own_audio_key(script["audio_url"], base_url)
            stored = self._objects.get(AUDIOS_BUCKET, key) if key is not None else None
            if stored is None:
                raise ClipFailure(
                    "UnknownError", "could not download audio_url (the simulator has only its own uploads)"
                )
            clip.audio_key = key
            try:
                return await asyncio.to_thread(decode_audio, stored.data, UPLOAD_SAMPLE_RATE)
            except ValueError as error:
                raise ClipFailure("UnknownError", f"invalid audio: {error}") from error
        text = script["input"]
        if script["ssml"]:
            text = re.sub(r"<[^>]+>", " ", text)
        if self._synthesizer is None:
            # No voice loaded: silence about as long as the words would take (150 words a minute).
            seconds = max(1.0, len(text.split()) / 2.5)
            samples = np.zeros(int(seconds * UPLOAD_SAMPLE_RATE), dtype=np.float32)
        else:
            try:
                spoken = await self._synthesizer.synthesize(text, VoiceSettings(voice=self._synthesis_voice))
            except ProviderError as error:
                raise ClipFailure("UnknownError", f"text to speech failed: {error.message}") from error
            samples, _ = await asyncio.to_thread(decode_audio, spoken.mp3, UPLOAD_SAMPLE_RATE)
        key = f"{OWNER_ID}/{clip.id}/audio.wav"
        wav = await asyncio.to_thread(encode_wav, samples, UPLOAD_SAMPLE_RATE)
        self._objects.put(AUDIOS_BUCKET, key, wav, "audio/wav")
        clip.audio_key = key
        return samples, UPLOAD_SAMPLE_RATE

    async def _sleep_until(self, when: float) -> None:
        delay = when - time.time()
        if delay > 0:
            await asyncio.sleep(delay)

    async def presenter_image(self) -> npt.NDArray[np.uint8]:
        """The presenter's picture as an RGB array, decoded once (in a thread) and shared by every clip."""
        if self._image is None:
            self._image = await asyncio.to_thread(decode_image, self._image_png)
        return self._image

    async def presenter_assets(self) -> dict[str, StoredObject]:
        """image.png, thumbnail.png and idle.mp4 (rendered once, in a thread; every presenter shares them)."""
        async with self._assets_lock:
            if self._assets is None:
                image = await self.presenter_image()
                thumbnail = await asyncio.to_thread(encode_png, image, 128)
                idle = await asyncio.to_thread(render_idle_video, image, self._idle_duration_s)
                self._assets = {
                    "image.png": StoredObject(self._image_png, "image/png"),
                    "thumbnail.png": StoredObject(thumbnail, "image/png"),
                    "idle.mp4": StoredObject(idle, "video/mp4"),
                }
            return self._assets


def _own_audio_key(url: str, base_url: str) -> str | None:
    """The key of one of this simulator's uploads, from its s3:// URL or its link here."""
    prefix = f"s3://{AUDIOS_BUCKET}/"
    if url.startswith(prefix):
        return url[len(prefix) :]
    own = f"{base_url}/s3/{AUDIOS_BUCKET}/"
    if url.startswith(own):
        return unquote(urlsplit(url).path)[len(f"/s3/{AUDIOS_BUCKET}/") :]
    return None
