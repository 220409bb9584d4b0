"""Small fakes of the ports, and counting wrappers around real adapters, for tests about a service's logic."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime

from interviewai.domain.avatar import ClipRequest, ClipStatus, Credits, Presenter
from interviewai.domain.errors import ProviderError
from interviewai.domain.media_index import Claim, MediaEntry
from interviewai.domain.ports import BlobStore, JobHandler, MediaIndex, SessionStore
from interviewai.domain.session import InterviewSession
from interviewai.domain.speech import SpokenAudio, VisemeTiming, VoiceInfo, VoiceSettings, WordTiming


class FakeSynthesizer:
    """A SpeechSynthesizer that speaks instantly: fake MP3 bytes derived from the text, one timing a word.

    `fail_with` (set it any time) makes the next syntheses raise it instead.
    """

    def __init__(self, engine: str = "fake", version: str = "1") -> None:
        self._engine = engine
        self._version = version
        self.spoken: list[str] = []
        self.fail_with: Exception | None = None

    @property
    def engine(self) -> str:
        return self._engine

    @property
    def engine_version(self) -> str:
        return self._version

    async def synthesize(self, text: str, settings: VoiceSettings) -> SpokenAudio:
        if self.fail_with is not None:
            raise self.fail_with
        self.spoken.append(text)
        words = text.split()
        return SpokenAudio(
            mp3=b"ID3" + f"{self._engine}:{settings.voice}:{text}".encode() * 40,
            duration_s=0.4 * len(words),
            word_timings=tuple(WordTiming(w, 0.4 * i, 0.4 * i + 0.35) for i, w in enumerate(words)),
            visemes=tuple(VisemeTiming("aa", 0.4 * i, 0.4 * i + 0.2) for i in range(len(words))),
            engine=self._engine,
            voice=settings.voice,
        )

    async def list_voices(self) -> list[VoiceInfo]:
        return [VoiceInfo("Fake", "fake", "Female", "en-US", self._engine, True)]


class CountingBlobStore:
    """A real BlobStore with its calls counted by method name (`reads` sums get, size and exists)."""

    def __init__(self, inner: BlobStore) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()

    @property
    def reads(self) -> int:
        return self.calls["get"] + self.calls["size"] + self.calls["exists"]

    async def put(self, name: str, data: bytes) -> None:
        self.calls["put"] += 1
        await self.inner.put(name, data)

    async def get(self, name: str) -> bytes | None:
        self.calls["get"] += 1
        return await self.inner.get(name)

    async def exists(self, name: str) -> bool:
        self.calls["exists"] += 1
        return await self.inner.exists(name)

    async def size(self, name: str) -> int | None:
        self.calls["size"] += 1
        return await self.inner.size(name)

    async def delete(self, name: str) -> None:
        self.calls["delete"] += 1
        await self.inner.delete(name)

    async def names(self, prefix: str) -> list[str]:
        self.calls["names"] += 1
        return await self.inner.names(prefix)


class CountingSessionStore:
    """A real SessionStore with its calls counted by method name."""

    def __init__(self, inner: SessionStore) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()

    async def create(self, session: InterviewSession) -> None:
        self.calls["create"] += 1
        await self.inner.create(session)

    async def get(self, session_id: str) -> InterviewSession | None:
        self.calls["get"] += 1
        return await self.inner.get(session_id)

    async def save(self, session: InterviewSession) -> InterviewSession:
        self.calls["save"] += 1
        return await self.inner.save(session)

    async def expire_inactive(self, inactive_since: datetime, forget_before: datetime) -> int:
        self.calls["expire_inactive"] += 1
        return await self.inner.expire_inactive(inactive_since, forget_before)


class CountingMediaIndex:
    """A real MediaIndex with its calls counted by method name; `before_get` runs before each `get`."""

    def __init__(self, inner: MediaIndex) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()
        self.before_get: Callable[[str], None] | None = None

    async def get(self, key: str) -> MediaEntry | None:
        self.calls["get"] += 1
        if self.before_get is not None:
            self.before_get(key)
        return await self.inner.get(key)

    async def claim(self, key: str, kind: str, owner: str, now: float, stale_after_s: float) -> Claim:
        self.calls["claim"] += 1
        return await self.inner.claim(key, kind, owner, now, stale_after_s)

    async def take_over(self, key: str, gone_owner: str, owner: str, now: float) -> bool:
        self.calls["take_over"] += 1
        return await self.inner.take_over(key, gone_owner, owner, now)

    async def heartbeat(self, key: str, owner: str, now: float) -> bool:
        self.calls["heartbeat"] += 1
        return await self.inner.heartbeat(key, owner, now)

    async def record_provider_ref(self, key: str, owner: str, provider_ref: str | None, now: float) -> None:
        self.calls["record_provider_ref"] += 1
        await self.inner.record_provider_ref(key, owner, provider_ref, now)

    async def mark_ready(self, key: str, kind: str, blob_name: str, meta: str, now: float) -> None:
        self.calls["mark_ready"] += 1
        await self.inner.mark_ready(key, kind, blob_name, meta, now)

    async def mark_failed(self, key: str, owner: str, error: str, now: float) -> None:
        self.calls["mark_failed"] += 1
        await self.inner.mark_failed(key, owner, error, now)

    async def release(self, key: str, owner: str) -> None:
        self.calls["release"] += 1
        await self.inner.release(key, owner)

    async def invalidate(self, key: str, reason: str, now: float) -> None:
        self.calls["invalidate"] += 1
        await self.inner.invalidate(key, reason, now)


class FakeRenderer:
    """An AvatarRenderer that finishes every clip at once; `requests` keeps what each clip was asked for."""

    def __init__(self) -> None:
        self.requests: list[ClipRequest] = []
        self.credit_checks = 0
        self.fail_credits_with: ProviderError | None = None

    async def create_clip(self, request: ClipRequest) -> str:
        self.requests.append(request)
        return f"clip-{len(self.requests)}"

    async def wait_for_clip(self, clip_id: str, timeout_s: float) -> ClipStatus:
        return ClipStatus(clip_id, "done", result_url=f"https://clips.invalid/{clip_id}.mp4")

    async def download(self, url: str) -> bytes:
        return b"\x00\x00\x00\x18ftypmp42" + url.encode()

    async def presenter(self, presenter_id: str) -> Presenter:
        return Presenter(presenter_id, "Fake", None, None, None)

    async def credits(self) -> Credits:
        self.credit_checks += 1
        if self.fail_credits_with is not None:
            raise self.fail_credits_with
        return Credits(remaining=10, total=20)


class HeldJobQueue:
    """A JobQueue that keeps queued jobs until `run_all()`, so a test can change things in between."""

    def __init__(self) -> None:
        self.handlers: dict[str, JobHandler] = {}
        self.queued: list[tuple[str, dict[str, str | int | float | bool]]] = []

    def register(self, name: str, handler: JobHandler) -> None:
        self.handlers[name] = handler

    async def enqueue(self, name: str, **arguments: str | int | float | bool) -> None:
        self.queued.append((name, arguments))

    async def run_all(self) -> None:
        while self.queued:
            name, arguments = self.queued.pop(0)
            await self.handlers[name](**arguments)
