"""Ports: the roles outside systems play for the services (implemented in adapters)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from interviewai.domain.session import InterviewSession
from interviewai.domain.speech import SpokenAudio, VoiceInfo, VoiceSettings


class SpeechSynthesizer(Protocol):
    """Turns text into MP3 with measured word timings and visemes."""

    @property
    def engine(self) -> str: ...

    @property
    def engine_version(self) -> str: ...

    async def synthesize(self, text: str, settings: VoiceSettings) -> SpokenAudio:
        """Speak `text`; raises ProviderError when the engine cannot."""
        ...

    async def list_voices(self) -> list[VoiceInfo]: ...


class SessionStore(Protocol):
    """Durable interview sessions with compare-and-set updates."""

    async def create(self, session: InterviewSession) -> None: ...

    async def get(self, session_id: str) -> InterviewSession | None: ...

    async def save(self, session: InterviewSession) -> InterviewSession:
        """Persist `session` if its version is still the stored one; raises ConcurrentUpdate otherwise.

        Returns the session with its new version.
        """
        ...

    async def expire_inactive(self, inactive_since: datetime, forget_before: datetime) -> int:
        """Mark sessions idle since `inactive_since` expired and drop their content; delete tombstones
        idle since `forget_before`. Returns how many sessions were expired."""
        ...


class BlobStore(Protocol):
    """Immutable named blobs (media files); writes are atomic, reads never see a partial blob."""

    async def put(self, name: str, data: bytes) -> None: ...

    async def get(self, name: str) -> bytes | None: ...

    async def exists(self, name: str) -> bool: ...
