"""How a spoken answer (words, metrics, recording) is kept in the `answer_speech` JSON column."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from interviewai.domain.recognition import RecognizedWord, SpeechMetrics, SpokenAnswer


def speech_to_json(speech: SpokenAnswer | None) -> str | None:
    """The JSON column of a spoken answer (words as compact lists, metrics, engine, recording); None for a
    typed answer."""
    if speech is None:
        return None
    record: dict[str, Any] = {
        # Lists, not objects: an answer of 90 s has about 250 words.
        "words": [[w.word, w.start, w.end, w.confidence] for w in speech.words],
        "metrics": asdict(speech.metrics),
        "engine": speech.engine,
        "audio_sha256": speech.audio_sha256,
        "audio_blob": speech.audio_blob,
        "audio_type": speech.audio_type,
    }
    return json.dumps(record, separators=(",", ":"))


def speech_from_json(raw: str | None) -> SpokenAnswer | None:
    """The SpokenAnswer of a stored column; None (or empty) for a typed answer."""
    if not raw:
        return None
    record = json.loads(raw)
    return SpokenAnswer(
        words=tuple(RecognizedWord(str(w), float(s), float(e), float(c)) for w, s, e, c in record["words"]),
        metrics=SpeechMetrics(**record["metrics"]),
        engine=record["engine"],
        audio_sha256=record["audio_sha256"],
        audio_blob=record.get("audio_blob"),
        audio_type=record.get("audio_type"),
    )
