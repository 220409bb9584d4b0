"""Speech for a question: from the content-addressed media index, else synthesized once and stored."""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from dataclasses import asdict, dataclass, replace
from typing import Any

from interviewai.domain.media import VoiceIdentity, speech_key
from interviewai.domain.media_index import MediaEntry, MediaState
from interviewai.domain.ports import BlobStore, MediaIndex, Speaker
from interviewai.domain.speech import SpokenAudio, VisemeTiming, WordTiming
from interviewai.observability import metrics
from interviewai.services.memory_cache import BytesBoundedLru
from interviewai.services.single_flight import SingleFlight

logger = logging.getLogger(__name__)

SPEECH = "speech"
# The owner of a synthesis beats every third of this; a claim this quiet belongs to a process that died, and
# a candidate waiting on that question's audio waits at most this long before another process takes over.
SPEECH_STALE_AFTER_S = 10.0
SPEECH_TIMEOUT_S = 120.0
# Speech a session was already given is served from memory (a minute of MP3 is about 1 MB).
MEMORY_CACHE_BYTES = 64 * 1024 * 1024
# What a timing costs in memory beyond the MP3, roughly (a frozen dataclass of a str and two floats).
_TIMING_BYTES = 120


@dataclass(frozen=True)
class QuestionSpeech:
    """A question's speech as served: the audio, its blob name and content key (a random key when the cache is
    off), whether a cache had it, and how long getting it took in milliseconds."""

    audio: SpokenAudio
    audio_name: str
    key: str
    from_cache: bool
    latency_ms: int


def audio_blob_name(key: str) -> str:
    """Where the MP3 under content key `key` lives in the blob store."""
    return f"audio/{key}.mp3"


def _encode_meta(audio: SpokenAudio) -> str:
    document = {
        "duration_s": audio.duration_s,
        "engine": audio.engine,
        "voice": audio.voice,
        "size": len(audio.mp3),
        "sha256": hashlib.sha256(audio.mp3).hexdigest(),
        "word_timings": [asdict(w) for w in audio.word_timings],
        "visemes": [asdict(v) for v in audio.visemes],
    }
    return json.dumps(document, separators=(",", ":"))


def _decode_audio(mp3: bytes, document: dict[str, Any]) -> SpokenAudio:
    return SpokenAudio(
        mp3=mp3,
        duration_s=float(document["duration_s"]),
        word_timings=tuple(WordTiming(**w) for w in document["word_timings"]),
        visemes=tuple(VisemeTiming(**v) for v in document["visemes"]),
        engine=str(document["engine"]),
        voice=str(document["voice"]),
    )


@dataclass(frozen=True)
class _Remembered:
    audio: SpokenAudio
    blob_name: str
    sha256: str


class SpeechMediaService:
    """Speech per question text: content-addressed in the media index and blob store, produced once.

    A question's media walk (docs/architecture.md): the voices whose cache counts are decided once per
    request (`Speaker.cache_candidates`); a session asking again is served from memory; otherwise the
    index entry and its blob are checked; a miss is produced under single-flight, and the producer returns
    what it spoke as it is (one blob write, no read back).
    """

    def __init__(
        self,
        speaker: Speaker,
        blobs: BlobStore,
        index: MediaIndex,
        flights: SingleFlight,
        *,
        cache_enabled: bool = True,
        memory_cache_bytes: int = MEMORY_CACHE_BYTES,
    ) -> None:
        self._speaker = speaker
        self._blobs = blobs
        self._index = index
        self._flights = flights
        self._cache_enabled = cache_enabled
        # Content key -> the audio stored under it (and its SHA-256, which tells a regenerated blob apart).
        self._memory: BytesBoundedLru[str, _Remembered] = BytesBoundedLru(memory_cache_bytes)
        self.syntheses = 0
        """How many syntheses this process ran (benchmarks and tests read it)."""

    async def speech_for(self, text: str, *, served_before: bool = False) -> QuestionSpeech:
        """The speech of `text`: from memory when `served_before` (the session was given it already, and it
        was checked then), else from the media index with its blob checked, else synthesized once."""
        started = time.perf_counter()
        if not self._cache_enabled:
            audio, _ = await self._speak(text)
            key = uuid.uuid4().hex
            await self._blobs.put(audio_blob_name(key), audio.mp3)
            return QuestionSpeech(audio, audio_blob_name(key), key, False, _elapsed_ms(started))
        keys = self._keys_that_count(text)
        if served_before:
            for key in keys:
                remembered = self._memory.get(key)
                if remembered is not None:
                    return self._hit(key, remembered, started)
        # Only a flight this request waited on (another producer's) can end under a key it did not know.
        for _ in range(4):
            for key in keys:
                found = await self._load(key)
                if found is not None:
                    return self._hit(key, found, started)
            speech = await self._produce_once(text, keys[-1], started)
            if speech is not None:
                return speech
            keys = self._keys_that_count(text)
        raise RuntimeError(f"speech for {text[:40]!r} kept moving between keys")

    async def speech_by_key(self, key: str) -> QuestionSpeech | None:
        """The stored speech under `key` (a render job's audio), from memory or the index; None if gone."""
        started = time.perf_counter()
        found = self._memory.get(key) or await self._load(key)
        return self._hit(key, found, started) if found is not None else None

    def _keys_that_count(self, text: str) -> list[str]:
        """The content keys whose cached audio may be served for `text` now, best first; the last is the key
        of the engine that would speak (the one decision about breakers a lookup makes)."""
        return [speech_key(text, identity) for identity in self._speaker.cache_candidates()]

    def _hit(self, key: str, found: _Remembered, started: float) -> QuestionSpeech:
        metrics.count_cache(SPEECH, hit=True)
        return QuestionSpeech(found.audio, found.blob_name, key, True, _elapsed_ms(started))

    async def _produce_once(self, text: str, flight_key: str, started: float) -> QuestionSpeech | None:
        """Speak `text` under single-flight: ours is returned as spoken; another producer's is read from the
        store (memory first); None when its claim was released (the audio went under another key)."""
        spoken: list[QuestionSpeech] = []

        async def produce(_claimed: MediaEntry) -> MediaEntry:
            entry, audio = await self._produce(text, flight_key)
            spoken.append(QuestionSpeech(audio, entry.blob_name or "", entry.key, False, 0))
            return entry

        entry = await self._flights.run(
            flight_key,
            SPEECH,
            produce,
            is_valid=self._is_valid,
            stale_after_s=SPEECH_STALE_AFTER_S,
            timeout_s=SPEECH_TIMEOUT_S,
        )
        if spoken:
            metrics.count_cache(SPEECH, hit=False)
            return replace(spoken[0], latency_ms=_elapsed_ms(started))
        if entry is None:
            return None
        # Waiting for another request's synthesis of the same text is a hit too: nothing was spent.
        found = self._remembered_for(entry) or await self._read(entry)
        return self._hit(entry.key, found, started) if found is not None else None

    async def _speak(self, text: str) -> tuple[SpokenAudio, VoiceIdentity]:
        self.syntheses += 1
        return await self._speaker.speak_with_identity(text)

    async def _produce(self, text: str, flight_key: str) -> tuple[MediaEntry, SpokenAudio]:
        audio, identity = await self._speak(text)
        key = speech_key(text, identity)
        blob_name = audio_blob_name(key)
        meta = _encode_meta(audio)
        await self._blobs.put(blob_name, audio.mp3)
        await self._index.mark_ready(key, SPEECH, blob_name, meta, time.time())
        self._remember(key, _Remembered(audio, blob_name, json.loads(meta)["sha256"]))
        if key != flight_key:
            # Another engine spoke (failover): its audio lives under its own key; free ours.
            await self._index.release(flight_key, self._flights.owner)
        entry = await self._index.get(key)
        assert entry is not None
        return entry, audio

    async def _load(self, key: str) -> _Remembered | None:
        entry = await self._index.get(key)
        if entry is None or entry.state is not MediaState.READY or not await self._is_valid(entry):
            return None
        return self._remembered_for(entry) or await self._read(entry)

    def _remembered_for(self, entry: MediaEntry) -> _Remembered | None:
        """What memory has for this entry, if it is the same audio (a regenerated blob is not)."""
        remembered = self._memory.get(entry.key)
        if remembered is None or entry.meta is None or remembered.blob_name != entry.blob_name:
            return None
        try:
            same = json.loads(entry.meta).get("sha256") == remembered.sha256
        except ValueError:
            return None
        return remembered if same else None

    async def _read(self, entry: MediaEntry) -> _Remembered | None:
        mp3 = await self._blobs.get(entry.blob_name or "")
        if mp3 is None or entry.meta is None:
            return None
        document: dict[str, Any] = json.loads(entry.meta)
        found = _Remembered(_decode_audio(mp3, document), entry.blob_name or "", str(document.get("sha256")))
        self._remember(entry.key, found)
        return found

    def _remember(self, key: str, found: _Remembered) -> None:
        audio = found.audio
        size = len(audio.mp3) + _TIMING_BYTES * (len(audio.word_timings) + len(audio.visemes))
        self._memory.put(key, found, size)

    async def _is_valid(self, entry: MediaEntry) -> bool:
        return await blob_is_intact(self._blobs, entry)


async def blob_is_intact(blobs: BlobStore, entry: MediaEntry) -> bool:
    """The entry's blob exists and has the size recorded when it was made (a truncated file is not)."""
    if entry.blob_name is None or entry.meta is None:
        return False
    try:
        expected = int(json.loads(entry.meta)["size"])
    except (ValueError, KeyError, TypeError):
        return False
    return await blobs.size(entry.blob_name) == expected


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
