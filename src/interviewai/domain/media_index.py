"""Media index entries and the single-flight claim outcomes (the index itself is a port)."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class MediaState(str, enum.Enum):
    """Where a media key stands: being produced by its claim's owner, stored and servable, or failed."""

    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"


@dataclass(frozen=True)
class MediaEntry:
    """The index row of one media key. `kind` is "speech", "clip" or "asset"; `owner` and `claimed_at` (epoch
    seconds) belong to the current claim; `provider_ref` is the provider's job id (a D-ID clip id) kept for
    resuming; `blob_name` and `meta` (JSON: size, sha256, timings) are set once ready; `attempts` counts
    claims."""

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
