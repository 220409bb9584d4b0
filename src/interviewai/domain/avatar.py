"""Talking-presenter video types: clip requests, presenters and credits."""

from __future__ import annotations

import enum
from dataclasses import dataclass


@dataclass(frozen=True)
class ClipRequest:
    """What the presenter should say: our own MP3 (default) or text for the provider's own voice."""

    presenter_id: str
    text: str
    audio_mp3: bytes | None = None
    provider_voice: str | None = None


@dataclass(frozen=True)
class ClipStatus:
    """A clip as the provider reports it; `result_url` is set once `status == "done"`."""

    clip_id: str
    status: str
    result_url: str | None = None
    duration_s: float | None = None
    error: str | None = None


@dataclass(frozen=True)
class Presenter:
    """A D-ID presenter as the provider describes it; the URLs are the provider's, None when it has none."""

    presenter_id: str
    name: str
    image_url: str | None
    thumbnail_url: str | None
    idle_video_url: str | None


@dataclass(frozen=True)
class Credits:
    """The D-ID account's credits: what is left and what its plan grants; each clip spends some."""

    remaining: float
    total: float


# Time to fetch a finished clip's file, on top of its generation deadline: a question waits this much longer.
CLIP_FETCH_ALLOWANCE_S = 5.0


class VideoStatus(str, enum.Enum):
    """What became of a question's clip in one delivery (the API's `video_status`)."""

    READY = "ready"
    PENDING = "pending"
    FAILED = "failed"
    DISABLED = "disabled"
