"""The composition root: picks implementations from settings and owns their lifetimes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from interviewai.adapters.blobs.files import FileBlobStore
from interviewai.adapters.question_bank import load_question_bank
from interviewai.adapters.speech.piper import PiperSynthesizer
from interviewai.adapters.store.database import create_engine, migrate
from interviewai.adapters.store.sql import SqlSessionStore
from interviewai.background import BackgroundTasks
from interviewai.domain.media import VoiceIdentity
from interviewai.domain.ports import SpeechSynthesizer
from interviewai.domain.speech import SpokenAudio, VoiceInfo, VoiceSettings
from interviewai.services.interview import InterviewService
from interviewai.services.media import SpeechMediaService
from interviewai.settings import Settings

logger = logging.getLogger(__name__)


class SingleEngineSpeaker:
    """A Speaker with one engine and no failover."""

    def __init__(self, synthesizer: SpeechSynthesizer, settings: VoiceSettings) -> None:
        self._synthesizer = synthesizer
        self._identity = VoiceIdentity(synthesizer.engine, synthesizer.engine_version, settings)

    def cache_candidates(self) -> list[VoiceIdentity]:
        return [self._identity]

    async def speak_with_identity(self, text: str) -> tuple[SpokenAudio, VoiceIdentity]:
        return await self._synthesizer.synthesize(text, self._identity.settings), self._identity

    async def list_voices(self) -> list[VoiceInfo]:
        return await self._synthesizer.list_voices()


@dataclass
class Container:
    settings: Settings
    engine: AsyncEngine
    interviews: InterviewService
    speech: SingleEngineSpeaker
    blobs: FileBlobStore
    tasks: BackgroundTasks


@contextlib.asynccontextmanager
async def build_container(settings: Settings) -> AsyncIterator[Container]:
    """Open every resource the app needs and close them in reverse order on exit."""
    bank = load_question_bank(settings.question_bank)
    async with contextlib.AsyncExitStack() as stack:
        engine = create_engine(settings.resolved_database_url)
        stack.push_async_callback(engine.dispose)
        await migrate(engine)

        piper = await PiperSynthesizer.open(
            model_dir=settings.resolved_model_dir,
            voice_name=settings.local_voice,
            parallelism=settings.synthesis_parallelism,
            intra_op_threads=settings.tts_threads_per_synthesis,
        )
        # close() waits for running syntheses, so it runs off the event loop.
        stack.push_async_callback(asyncio.to_thread, piper.close)
        local_voice = VoiceSettings(
            settings.local_voice, settings.tts_rate, settings.tts_volume, settings.tts_pitch
        )
        speech = SingleEngineSpeaker(piper, local_voice)

        blobs = FileBlobStore(settings.resolved_media_dir)
        interviews = InterviewService(
            store=SqlSessionStore(engine),
            bank=bank,
            media=SpeechMediaService(speech, blobs),
            session_timeout=timedelta(seconds=settings.session_timeout_s),
        )
        tasks = BackgroundTasks()
        stack.push_async_callback(tasks.aclose)
        tasks.every(
            "expire-idle-sessions", settings.session_sweep_interval_s, interviews.expire_idle_sessions
        )
        yield Container(
            settings=settings, engine=engine, interviews=interviews, speech=speech, blobs=blobs, tasks=tasks
        )
