"""Content keys for generated media: equal inputs give equal keys, any change gives a new one."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from interviewai.domain.speech import VoiceSettings


@dataclass(frozen=True)
class VoiceIdentity:
    """Everything that changes what an engine produces for a text."""

    engine: str
    engine_version: str
    settings: VoiceSettings


def _digest(payload: dict[str, object]) -> str:
    """SHA-256 over a canonical JSON of the payload."""
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def speech_key(text: str, identity: VoiceIdentity, media_format: str = "mp3") -> str:
    """Content key of one synthesis: a hex SHA-256 over the text, the engine and its version, the voice
    settings and the format."""
    return _digest(
        {
            "text": text,
            "engine": identity.engine,
            "engine_version": identity.engine_version,
            "voice": identity.settings.voice,
            "rate": identity.settings.rate,
            "volume": identity.settings.volume,
            "pitch": identity.settings.pitch,
            "format": media_format,
        }
    )


def clip_key(presenter_id: str, audio_key: str | None, text: str, provider_voice: str | None) -> str:
    """A presenter clip: of our own audio (by its content key) or of the text in the provider's voice."""
    payload: dict[str, object] = {"kind": "clip", "presenter": presenter_id, "format": "mp4"}
    if audio_key is not None:
        payload["audio"] = audio_key
    else:
        payload["text"] = text
        payload["provider_voice"] = provider_voice
    return _digest(payload)


def asset_key(source: str) -> str:
    """A presenter asset (image, idle loop) fetched once and re-hosted, keyed by where it came from."""
    return _digest({"kind": "asset", "source": source})
