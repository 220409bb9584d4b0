"""Each outside system's adapter built from settings (voices, recognisers, D-ID, chat model, blobs, tracing)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from interviewai.adapters.avatar.did import DidClipRenderer
    from interviewai.adapters.llm.openai_chat import OpenAiChatModel
    from interviewai.observability.tracing_sdk import Tracing

from interviewai.adapters.blobs.files import FileBlobStore
from interviewai.adapters.speech.edge import (
    EdgeSynthesizer,
    TextPhonemizer,
    WordPhonemizer,
    word_phonemizer,
)
from interviewai.domain.ports import (
    BlobReader,
    BlobStore,
    SessionStore,
    SpeechRecognizer,
    SpeechSynthesizer,
)
from interviewai.domain.speech import VoiceSettings
from interviewai.services.interview import InterviewService
from interviewai.services.recognition import RecognitionService
from interviewai.services.speech import SpeechService
from interviewai.services.transcription import SpokenAnswerService, TranscriptionSettings
from interviewai.settings import AvatarMode, Settings, SettingsError


def build_speech_service(
    settings: Settings,
    piper: SpeechSynthesizer,
    *,
    phonemize_word: WordPhonemizer | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> SpeechService:
    """Edge (created here) and the caller's piper voice, in ``TTS_ENGINES`` order.

    Edge's visemes need per-word phonemes: by default they come from ``piper.phonemize``. Raises
    SettingsError when edge-tts would reject the voice or prosody, or EDGE_TTS_URL is not ws:// or wss://.
    """
    prosody = {"rate": settings.tts_rate, "volume": settings.tts_volume, "pitch": settings.tts_pitch}
    engines: list[tuple[SpeechSynthesizer, VoiceSettings]] = []
    for name in settings.engine_order:
        if name == "edge":
            edge_settings = VoiceSettings(voice=settings.tts_voice, **prosody)
            try:
                EdgeSynthesizer.validate(edge_settings)
            except ValueError as error:
                raise SettingsError(f"Invalid configuration: TTS_VOICE: {error}") from None
            if phonemize_word is None:
                if not isinstance(piper, TextPhonemizer):
                    raise TypeError("Edge visemes need phonemize_word or a piper voice with phonemize()")
                phonemize_word = word_phonemizer(piper)
            try:
                edge = EdgeSynthesizer(
                    phonemize_word=phonemize_word,
                    endpoint_url=settings.edge_tts_url,
                    timeout_s=settings.edge_tts_timeout_s,
                )
            except ValueError as error:
                raise SettingsError(f"Invalid configuration: EDGE_TTS_URL: {error}") from None
            engines.append((edge, edge_settings))
        elif name == "piper":
            engines.append((piper, VoiceSettings(voice=settings.local_voice, **prosody)))
    return SpeechService(
        engines,
        cooldown_s=settings.tts_breaker_cooldown_s,
        clock=clock,
        attempt_timeout_s=settings.tts_attempt_timeout_s,
    )


def build_tracing(settings: Settings) -> Tracing | None:
    """The tracing pipeline (not exporting yet) when OTEL_EXPORTER_OTLP_ENDPOINT is set, else None: only
    then is the OpenTelemetry SDK imported."""
    if not settings.tracing_enabled:
        return None
    from interviewai.observability.tracing_sdk import Tracing

    return Tracing(settings)


def build_avatar_renderer(settings: Settings) -> DidClipRenderer | None:
    """D-ID when video is on (a key is set and AVATAR_MODE is not audio_only); None means audio-only."""
    if settings.effective_avatar_mode is not AvatarMode.VIDEO:
        return None
    # Imported here: an audio-only server never loads the D-ID client.
    from interviewai.adapters.avatar.did import DidClipRenderer, PollPolicy

    return DidClipRenderer(
        api_url=settings.did_api_url,
        api_key=settings.did_api_key.get_secret_value(),
        use_own_audio=settings.did_use_own_audio,
        provider_voice=settings.tts_voice,
        max_parallel=settings.did_max_parallel,
        poll=PollPolicy(
            initial_s=settings.did_poll_initial_s,
            max_s=max(settings.did_poll_max_s, settings.did_poll_initial_s),
        ),
    )


def build_chat_model(settings: Settings) -> OpenAiChatModel | None:
    """The OpenAI-compatible chat model of LLM_API_URL / LLM_MODEL; None when no URL is set."""
    if not settings.llm_api_url:
        return None
    from interviewai.adapters.llm.openai_chat import OpenAiChatModel

    return OpenAiChatModel(
        settings.llm_api_url,
        settings.llm_model,
        api_key=settings.llm_api_key.get_secret_value(),
        timeout_s=settings.llm_timeout_s,
        max_parallel=settings.llm_max_parallel,
    )


def packaged_media_reader() -> BlobReader:
    """The package's resources directory as a read-only media source."""
    return FileBlobStore(Path(str(resources.files("interviewai.resources"))))


async def open_blob_store(settings: Settings, stack: contextlib.AsyncExitStack) -> BlobStore:
    """Local files (embedded default) or an S3-compatible bucket (BLOB_STORE=s3), closed with the stack."""
    if settings.blob_store == "files":
        return FileBlobStore(settings.resolved_media_dir)
    from interviewai.adapters.blobs.s3 import S3BlobStore

    store = S3BlobStore(
        settings.s3_endpoint_url,
        settings.s3_bucket,
        settings.s3_access_key_id,
        settings.s3_secret_access_key.get_secret_value(),
        settings.s3_region,
    )
    stack.push_async_callback(store.aclose)
    await store.ensure_bucket()
    return store


async def open_spoken_answers(
    settings: Settings,
    stack: contextlib.AsyncExitStack,
    interviews: InterviewService,
    store: SessionStore,
    blobs: BlobStore,
    given: Mapping[str, SpeechRecognizer] | None = None,
) -> SpokenAnswerService:
    """The recognisers in STT_ENGINES order behind failover, the audio decoder, and the spoken-answer use
    cases on top; closed with the stack. `given` engines by name are used as they are (their owner, e.g.
    a test session sharing one loaded model, closes them)."""
    from interviewai.adapters.audio.decoding import PyAvAudioDecoder
    from interviewai.adapters.recognition.whisper import WhisperRecognizer

    decoder = PyAvAudioDecoder(upload_parallelism=os.cpu_count() or 1)
    stack.push_async_callback(asyncio.to_thread, decoder.close)
    engines: list[SpeechRecognizer] = []
    for name in settings.stt_engine_order:
        if given is not None and name in given:
            engines.append(given[name])
        elif name == "whisper":
            whisper = await WhisperRecognizer.open(
                settings.stt_whisper_model,
                model_dir=settings.resolved_model_dir,
                parallelism=settings.stt_max_parallel,
                threads_per_recognition=settings.stt_threads_per_recognition,
                beam_size=settings.stt_beam_size,
                compute_type=settings.stt_compute_type,
                encoder_window=settings.stt_encoder_window,
                timeout_s=settings.stt_timeout_s,
                preload=settings.stt_preload,
            )
            # close() waits for running recognitions, so it runs off the event loop.
            stack.push_async_callback(asyncio.to_thread, whisper.close)
            engines.append(whisper)
        elif name == "openai":
            from interviewai.adapters.recognition.openai import OpenAiRecognizer

            remote = OpenAiRecognizer(
                settings.stt_api_url,
                settings.stt_api_key.get_secret_value(),
                settings.stt_model,
                as_wav=decoder.as_wav,
                timeout_s=settings.stt_timeout_s,
            )
            stack.push_async_callback(remote.aclose)
            engines.append(remote)
    recognition = RecognitionService(engines, cooldown_s=settings.stt_breaker_cooldown_s)
    return SpokenAnswerService(
        interviews,
        store,
        recognition,
        decoder,
        blobs,
        TranscriptionSettings(
            max_audio_s=settings.max_answer_audio_s,
            max_audio_bytes=settings.max_answer_audio_bytes,
            keep_audio=settings.keep_answer_audio,
        ),
    )
