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


def speech_key(text: str, identity: VoiceIdentity, media_format: str = "mp3") -> str:
    """SHA-256 over a canonical JSON of the text and the voice identity."""
    payload = {
        "text": text,
        "engine": identity.engine,
        "engine_version": identity.engine_version,
        "voice": identity.settings.voice,
        "rate": identity.settings.rate,
        "volume": identity.settings.volume,
        "pitch": identity.settings.pitch,
        "format": media_format,
    }
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
