"""Speech for a question: served from the content-addressed blob store, else synthesized and stored."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from interviewai.domain.media import VoiceIdentity, speech_key
from interviewai.domain.ports import BlobStore
from interviewai.domain.speech import SpokenAudio, VisemeTiming, WordTiming

logger = logging.getLogger(__name__)


class Speaker(Protocol):
    """Speaks text with the best engine available now (failover lives behind this)."""

    def cache_candidates(self) -> list[VoiceIdentity]:
        """Voices whose cached audio may be served, in the order the speaker would use them now."""
        ...

    async def speak_with_identity(self, text: str) -> tuple[SpokenAudio, VoiceIdentity]: ...


@dataclass(frozen=True)
class QuestionSpeech:
    audio: SpokenAudio
    audio_name: str
    from_cache: bool
    latency_ms: int


def _audio_name(key: str) -> str:
    return f"audio/{key}.mp3"


def _timings_name(key: str) -> str:
    return f"audio/{key}.json"


def _encode_timings(audio: SpokenAudio) -> bytes:
    document = {
        "duration_s": audio.duration_s,
        "engine": audio.engine,
        "voice": audio.voice,
        "word_timings": [asdict(w) for w in audio.word_timings],
        "visemes": [asdict(v) for v in audio.visemes],
    }
    return json.dumps(document, separators=(",", ":")).encode("utf-8")


def _decode_timings(mp3: bytes, raw: bytes) -> SpokenAudio:
    document: dict[str, Any] = json.loads(raw)
    return SpokenAudio(
        mp3=mp3,
        duration_s=float(document["duration_s"]),
        word_timings=tuple(WordTiming(**w) for w in document["word_timings"]),
        visemes=tuple(VisemeTiming(**v) for v in document["visemes"]),
        engine=str(document["engine"]),
        voice=str(document["voice"]),
    )


class SpeechMediaService:
    def __init__(self, speaker: Speaker, blobs: BlobStore) -> None:
        self._speaker = speaker
        self._blobs = blobs

    async def speech_for(self, text: str) -> QuestionSpeech:
        started = time.perf_counter()
        for identity in self._speaker.cache_candidates():
            cached = await self._load(speech_key(text, identity))
            if cached is not None:
                return QuestionSpeech(cached[0], cached[1], True, _elapsed_ms(started))
        audio, identity = await self._speaker.speak_with_identity(text)
        key = speech_key(text, identity)
        # The MP3 goes first: a timings file is the marker that a complete entry exists.
        await self._blobs.put(_audio_name(key), audio.mp3)
        await self._blobs.put(_timings_name(key), _encode_timings(audio))
        return QuestionSpeech(audio, _audio_name(key), False, _elapsed_ms(started))

    async def _load(self, key: str) -> tuple[SpokenAudio, str] | None:
        raw_timings = await self._blobs.get(_timings_name(key))
        if raw_timings is None:
            return None
        mp3 = await self._blobs.get(_audio_name(key))
        if not mp3:
            return None
        try:
            audio = _decode_timings(mp3, raw_timings)
        except (ValueError, KeyError, TypeError):
            logger.warning("discarding unreadable cached timings for %s", key)
            return None
        return audio, _audio_name(key)


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
