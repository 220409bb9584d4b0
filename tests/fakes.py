"""Small fakes of the ports, and counting wrappers around real adapters, for tests about a service's logic."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from interviewai.domain.avatar import ClipRequest, ClipStatus, Credits, Presenter
from interviewai.domain.blobs import ByteRange, ByteSpan
from interviewai.domain.errors import ConcurrentUpdate, ProviderError
from interviewai.domain.jobs import Job
from interviewai.domain.media_index import Claim, MediaEntry, MediaState
from interviewai.domain.ports import BlobRead, BlobStore, JobHandler, JobT, MediaIndex, SessionStore
from interviewai.domain.session import InterviewSession, SessionState
from interviewai.domain.speech import SpokenAudio, VisemeTiming, VoiceInfo, VoiceSettings, WordTiming
from interviewai.services.media import SpeechMediaService
from interviewai.services.single_flight import SingleFlight
from interviewai.services.speech import SpeechService
from interviewai.services.video import AvatarService, AvatarSettings


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
    """A real BlobStore with its calls counted by method name (`reads` sums get, size, exists and open)."""

    def __init__(self, inner: BlobStore) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()

    @property
    def reads(self) -> int:
        return self.calls["get"] + self.calls["size"] + self.calls["exists"] + self.calls["open"]

    async def put(self, name: str, data: bytes) -> None:
        self.calls["put"] += 1
        await self.inner.put(name, data)

    async def get(self, name: str) -> bytes | None:
        self.calls["get"] += 1
        return await self.inner.get(name)

    async def open(self, name: str, wanted: ByteRange | None = None) -> BlobRead | None:
        self.calls["open"] += 1
        return await self.inner.open(name, wanted)

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
    """An AvatarRenderer that finishes every clip at once; `requests` keeps what each clip was asked for.

    `fail_clips_with` / `fail_credits_with` (set them any time) make the next clips / credit checks raise.
    """

    def __init__(self) -> None:
        self.requests: list[ClipRequest] = []
        self.credit_checks = 0
        self.fail_clips_with: ProviderError | None = None
        self.fail_credits_with: ProviderError | None = None

    async def create_clip(self, request: ClipRequest) -> str:
        if self.fail_clips_with is not None:
            raise self.fail_clips_with
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
    """A JobQueue that keeps queued jobs until `run_all()`, so a test can change things in between.

    `fail_with` (set it any time) makes the next enqueues raise it (a broker that is down).
    """

    def __init__(self) -> None:
        self.handlers: dict[str, JobHandler[Any]] = {}
        self.queued: list[Job] = []
        self.fail_with: Exception | None = None

    def register(self, job_type: type[JobT], handler: JobHandler[JobT]) -> None:
        self.handlers[job_type.name] = handler

    async def enqueue(self, job: Job) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.queued.append(job)

    async def run_all(self) -> None:
        while self.queued:
            job = self.queued.pop(0)
            await self.handlers[job.name](job)


class MemorySessionStore:
    """A SessionStore in a dict, with the SQL store's rules: saves compare-and-set on `version` (bumping it),
    and expiry leaves a tombstone without the questions, forgotten after `forget_before`.

    `conflicts` (set it any time) makes that many of the next saves lose to another writer: the stored
    version moves on and the save raises ConcurrentUpdate, as when two requests answer at once.
    """

    def __init__(self) -> None:
        self.sessions: dict[str, InterviewSession] = {}
        self.saves = 0
        self.conflicts = 0

    async def create(self, session: InterviewSession) -> None:
        if session.id in self.sessions:
            raise ValueError(f"session {session.id} exists")
        self.sessions[session.id] = session

    async def get(self, session_id: str) -> InterviewSession | None:
        return self.sessions.get(session_id)

    async def save(self, session: InterviewSession) -> InterviewSession:
        stored = self.sessions.get(session.id)
        if stored is not None and self.conflicts > 0:
            self.conflicts -= 1
            self.sessions[session.id] = replace(stored, version=stored.version + 1)
            stored = self.sessions[session.id]
        if stored is None or stored.version != session.version:
            raise ConcurrentUpdate(f"Session {session.id} was changed by another request; try again.")
        saved = replace(session, version=session.version + 1)
        self.sessions[session.id] = saved
        self.saves += 1
        return saved

    async def expire_inactive(self, inactive_since: datetime, forget_before: datetime) -> int:
        expired = 0
        for session_id, session in list(self.sessions.items()):
            if session.updated_at >= inactive_since:
                continue
            if session.state is not SessionState.EXPIRED:
                expired += 1
                session = replace(session, state=SessionState.EXPIRED, version=session.version + 1)
            if session.updated_at < forget_before:
                del self.sessions[session_id]
            else:
                self.sessions[session_id] = replace(session, questions=())
        return expired


class MemoryRead:
    """A BlobRead of bytes in memory: one chunk."""

    def __init__(self, span: ByteSpan, data: bytes) -> None:
        self.span = span
        self._data = data
        self.closed = False

    async def chunks(self) -> AsyncIterator[bytes]:
        if self._data and not self.closed:
            yield self._data
        await self.aclose()

    async def aclose(self) -> None:
        self.closed = True


class MemoryBlobStore:
    """A BlobStore in a dict (`data`); wrap it in CountingBlobStore to count its calls."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    async def put(self, name: str, data: bytes) -> None:
        self.data[name] = data

    async def get(self, name: str) -> bytes | None:
        return self.data.get(name)

    async def open(self, name: str, wanted: ByteRange | None = None) -> BlobRead | None:
        found = self.data.get(name)
        if found is None:
            return None
        span = ByteSpan.whole(len(found)) if wanted is None else wanted.within(name, len(found))
        return MemoryRead(span, found[span.first : span.last + 1])

    async def exists(self, name: str) -> bool:
        return name in self.data

    async def size(self, name: str) -> int | None:
        found = self.data.get(name)
        return len(found) if found is not None else None

    async def delete(self, name: str) -> None:
        self.data.pop(name, None)

    async def names(self, prefix: str) -> list[str]:
        folder = prefix.rstrip("/") + "/"
        return sorted(name for name in self.data if name.startswith(folder))


class MemoryMediaIndex:
    """A MediaIndex in a dict with the SQL index's transitions: a claim inserts, or takes over a failed or
    stale entry; an owner's transitions apply only while it holds the key pending.

    `fail_with` (set it any time) makes every `get` raise it (a database that is down).
    """

    def __init__(self) -> None:
        self.entries: dict[str, MediaEntry] = {}
        self.fail_with: Exception | None = None

    def _pending_of(self, key: str, owner: str) -> MediaEntry | None:
        entry = self.entries.get(key)
        if entry is None or entry.owner != owner or entry.state is not MediaState.PENDING:
            return None
        return entry

    async def get(self, key: str) -> MediaEntry | None:
        if self.fail_with is not None:
            raise self.fail_with
        return self.entries.get(key)

    async def claim(self, key: str, kind: str, owner: str, now: float, stale_after_s: float) -> Claim:
        entry = self.entries.get(key)
        if entry is None:
            entry = MediaEntry(key, kind, MediaState.PENDING, owner, now, None, None, None, None, 1, now)
            self.entries[key] = entry
            return Claim(owned=True, entry=entry)
        stale = entry.state is MediaState.PENDING and (entry.claimed_at or 0.0) < now - stale_after_s
        if entry.state is MediaState.FAILED or stale:
            entry = replace(
                entry,
                state=MediaState.PENDING,
                owner=owner,
                claimed_at=now,
                error=None,
                attempts=entry.attempts + 1,
                updated_at=now,
            )
            self.entries[key] = entry
            return Claim(owned=True, entry=entry)
        return Claim(owned=False, entry=entry)

    async def take_over(self, key: str, gone_owner: str, owner: str, now: float) -> bool:
        entry = self._pending_of(key, gone_owner)
        if entry is None:
            return False
        self.entries[key] = replace(
            entry, owner=owner, claimed_at=now, error=None, attempts=entry.attempts + 1, updated_at=now
        )
        return True

    async def heartbeat(self, key: str, owner: str, now: float) -> bool:
        entry = self._pending_of(key, owner)
        if entry is None:
            return False
        self.entries[key] = replace(entry, claimed_at=now, updated_at=now)
        return True

    async def record_provider_ref(self, key: str, owner: str, provider_ref: str | None, now: float) -> None:
        entry = self._pending_of(key, owner)
        if entry is not None:
            self.entries[key] = replace(entry, provider_ref=provider_ref, claimed_at=now, updated_at=now)

    async def mark_ready(self, key: str, kind: str, blob_name: str, meta: str, now: float) -> None:
        entry = self.entries.get(key) or MediaEntry(
            key, kind, MediaState.READY, None, None, None, None, None, None, 1, now
        )
        self.entries[key] = replace(
            entry, state=MediaState.READY, blob_name=blob_name, meta=meta, error=None, updated_at=now
        )

    async def mark_failed(self, key: str, owner: str, error: str, now: float) -> None:
        entry = self._pending_of(key, owner)
        if entry is not None:
            self.entries[key] = replace(entry, state=MediaState.FAILED, error=error[:2000], updated_at=now)

    async def release(self, key: str, owner: str) -> None:
        if self._pending_of(key, owner) is not None:
            del self.entries[key]

    async def invalidate(self, key: str, reason: str, now: float) -> None:
        entry = self.entries.get(key)
        if entry is not None and entry.state is MediaState.READY:
            self.entries[key] = replace(entry, state=MediaState.FAILED, error=reason, updated_at=now)


@dataclass
class MediaOnFakes:
    """The speech-media and video services wired on in-memory fakes: two fake voices in failover order
    (`first`, then `second`), a dict blob store (calls counted) and media index, a held job queue, a settable
    clock."""

    first: FakeSynthesizer
    second: FakeSynthesizer
    speech: SpeechService
    blobs: CountingBlobStore
    stored: dict[str, bytes]
    index: MemoryMediaIndex
    flights: SingleFlight
    media: SpeechMediaService
    avatar: AvatarService
    jobs: HeldJobQueue
    renderer: FakeRenderer | None
    now: list[float]

    def new_process(self) -> SpeechMediaService:
        """Another process's speech-media service on the same index and blobs (its memory empty)."""
        return SpeechMediaService(
            self.speech, self.blobs, self.index, SingleFlight(self.index, owner_id="fakes:other")
        )


def media_on_fakes(
    *,
    renderer: FakeRenderer | None = None,
    cache_enabled: bool = True,
    use_own_audio: bool = True,
    clip_timeout_s: float = 10.0,
) -> MediaOnFakes:
    """The services of a question's media with nothing real below them (no database, files or network)."""
    first, second = FakeSynthesizer("first"), FakeSynthesizer("second")
    now = [1_000_000.0]
    speech = SpeechService([(first, VoiceSettings("one")), (second, VoiceSettings("two"))], cooldown_s=60)
    memory = MemoryBlobStore()
    blobs, index, jobs = CountingBlobStore(memory), MemoryMediaIndex(), HeldJobQueue()
    flights = SingleFlight(index, owner_id="fakes:first", clock=lambda: now[0])
    media = SpeechMediaService(speech, blobs, index, flights, cache_enabled=cache_enabled)
    avatar = AvatarService(
        renderer,
        media,
        blobs,
        index,
        flights,
        jobs,
        AvatarSettings("presenter", use_own_audio, "provider-voice", clip_timeout_s, cache_enabled),
        clock=lambda: now[0],
    )
    return MediaOnFakes(
        first, second, speech, blobs, memory.data, index, flights, media, avatar, jobs, renderer, now
    )
