"""Media index entries and the single-flight claim outcomes (the index itself is a port)."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class MediaState(str, enum.Enum):
    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"


@dataclass(frozen=True)
class MediaEntry:
    key: str
    kind: str
    state: MediaState
    owner: str | None
    claimed_at: float | None
    provider_ref: str | None
    blob_name: str | None
    meta: str | None
    error: str | None
    attempts: int
    updated_at: float = 0.0


@dataclass(frozen=True)
class Claim:
    """The outcome of asking to produce a key: we own it now, or someone else has or had it."""

    owned: bool
    entry: MediaEntry
