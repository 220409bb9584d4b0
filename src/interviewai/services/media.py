"""Speech for a question: from the content-addressed media index, else synthesized once and stored."""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from interviewai.domain.media import VoiceIdentity, speech_key
from interviewai.domain.media_index import MediaEntry, MediaState
from interviewai.domain.ports import BlobStore, MediaIndex
from interviewai.domain.speech import SpokenAudio, VisemeTiming, WordTiming
from interviewai.observability import metrics
from interviewai.services.single_flight import SingleFlight

logger = logging.getLogger(__name__)

SPEECH = "speech"
# The owner of a synthesis beats every third of this; a claim this quiet belongs to a process that died, and
# a candidate waiting on that question's audio waits at most this long before another process takes over.
SPEECH_STALE_AFTER_S = 10.0
SPEECH_TIMEOUT_S = 120.0


class Speaker(Protocol):
    """Speaks text with the best engine available now (failover lives behind this)."""

    def cache_candidates(self) -> list[VoiceIdentity]:
        """Voices whose cached audio may be served, in order; the last is the one that would speak now."""
        ...

    async def speak_with_identity(self, text: str) -> tuple[SpokenAudio, VoiceIdentity]: ...


@dataclass(frozen=True)
class QuestionSpeech:
    audio: SpokenAudio
    audio_name: str
    key: str
    from_cache: bool
    latency_ms: int


def audio_blob_name(key: str) -> str:
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


def _decode_audio(mp3: bytes, meta: str) -> SpokenAudio:
    document: dict[str, Any] = json.loads(meta)
    return SpokenAudio(
        mp3=mp3,
        duration_s=float(document["duration_s"]),
        word_timings=tuple(WordTiming(**w) for w in document["word_timings"]),
        visemes=tuple(VisemeTiming(**v) for v in document["visemes"]),
        engine=str(document["engine"]),
        voice=str(document["voice"]),
    )


class SpeechMediaService:
    def __init__(
        self,
        speaker: Speaker,
        blobs: BlobStore,
        index: MediaIndex,
        flights: SingleFlight,
        *,
        cache_enabled: bool = True,
    ) -> None:
        self._speaker = speaker
        self._blobs = blobs
        self._index = index
        self._flights = flights
        self._cache_enabled = cache_enabled
        self.syntheses = 0
        """How many syntheses this process ran (benchmarks and tests read it)."""

    async def speech_for(self, text: str) -> QuestionSpeech:
        started = time.perf_counter()
        if not self._cache_enabled:
            audio, _ = await self._speak(text)
            key = uuid.uuid4().hex
            await self._blobs.put(audio_blob_name(key), audio.mp3)
            return QuestionSpeech(audio, audio_blob_name(key), key, False, _elapsed_ms(started))
        # The flight may end with the audio stored under another engine's key (failover), so look again.
        for _ in range(4):
            candidates = self._speaker.cache_candidates()
            for identity in candidates:
                found = await self._load(speech_key(text, identity))
                if found is not None:
                    metrics.count_cache(SPEECH, hit=True)
                    return QuestionSpeech(
                        found[0], found[1].blob_name or "", found[1].key, True, _elapsed_ms(started)
                    )
            flight_key = speech_key(text, candidates[-1])
            produced: list[bool] = []

            async def produce(
                _claimed: MediaEntry, flight_key: str = flight_key, produced: list[bool] = produced
            ) -> MediaEntry:
                produced.append(True)
                return await self._produce(text, flight_key)

            entry = await self._flights.run(
                flight_key,
                SPEECH,
                produce,
                is_valid=self._is_valid,
                stale_after_s=SPEECH_STALE_AFTER_S,
                timeout_s=SPEECH_TIMEOUT_S,
            )
            if entry is not None:
                mp3 = await self._blobs.get(entry.blob_name or "")
                if mp3 is not None and entry.meta is not None:
                    audio = _decode_audio(mp3, entry.meta)
                    # Waiting for another request's synthesis of the same text is a hit too: nothing was spent.
                    metrics.count_cache(SPEECH, hit=not produced)
                    return QuestionSpeech(
                        audio, entry.blob_name or "", entry.key, not produced, _elapsed_ms(started)
                    )
        raise RuntimeError(f"speech for {text[:40]!r} kept moving between keys")

    async def _speak(self, text: str) -> tuple[SpokenAudio, VoiceIdentity]:
        self.syntheses += 1
        return await self._speaker.speak_with_identity(text)

    async def _produce(self, text: str, flight_key: str) -> MediaEntry:
        audio, identity = await self._speak(text)
        key = speech_key(text, identity)
        await self._blobs.put(audio_blob_name(key), audio.mp3)
        await self._index.mark_ready(key, SPEECH, audio_blob_name(key), _encode_meta(audio), time.time())
        if key != flight_key:
            # Another engine spoke (failover): its audio lives under its own key; free ours.
            await self._index.release(flight_key, self._flights.owner)
        entry = await self._index.get(key)
        assert entry is not None
        return entry

    async def _load(self, key: str) -> tuple[SpokenAudio, MediaEntry] | None:
        entry = await self._index.get(key)
        if entry is None or entry.state is not MediaState.READY or not await self._is_valid(entry):
            return None
        mp3 = await self._blobs.get(entry.blob_name or "")
        if mp3 is None or entry.meta is None:
            return None
        return _decode_audio(mp3, entry.meta), entry

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
