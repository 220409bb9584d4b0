"""The JSON the D-ID simulator answers with: clips, presenters, credits, in D-ID's field names and forms."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from interviewai.simulators.did.spec import AUDIOS_BUCKET, CLIPS_BUCKET, OWNER_ID, SimulatedPresenter
from interviewai.simulators.did.state import Clip, Credits

Link = Callable[[str, str, float], str]
"""A presigned link to (bucket, key) valid until the given epoch second."""


def clip_json(clip: Clip, *, base_url: str, link: Link, expired: bool, link_ttl_s: float) -> dict[str, Any]:
    """``GET /clips/{id}``'s answer; links handed out ``expired`` have expired already (the fault)."""
    presenter = clip.presenter
    body: dict[str, Any] = {
        "id": clip.id,
        "owner_id": OWNER_ID,
        "created_by": OWNER_ID,
        "created_at": iso(clip.created_at),
        "modified_at": iso(clip.modified_at),
        "status": clip.status,
        "presenter_id": presenter.presenter_id,
        "driver_id": clip.driver_id,
        "source_url": asset_url(base_url, presenter, "thumbnail.png"),
        "config": clip.config,
        "script": clip.script,
        **clip.extras,
    }
    if clip.started_at is not None:
        body["started_at"] = iso(clip.started_at)
    if not clip.terminal:
        key = f"{OWNER_ID}/{clip.id}/{presenter.presenter_id}.{clip.result_format}"
        body["pending_url"] = f"s3://{CLIPS_BUCKET}/{key}"
    if clip.audio_key is not None:
        expires = time.time() - 60 if expired else clip.created_at + link_ttl_s
        body["audio_url"] = link(AUDIOS_BUCKET, clip.audio_key, expires)
    if clip.completed_at is not None:
        body["completed_at"] = iso(clip.completed_at)
    if clip.duration_s is not None:
        body["duration"] = clip.duration_s
    if clip.status == "done" and clip.result_key is not None and clip.completed_at is not None:
        expires = time.time() - 60 if expired else clip.completed_at + link_ttl_s
        body["result_url"] = link(CLIPS_BUCKET, clip.result_key, expires)
        body["metadata"] = clip.metadata
    if clip.error is not None:
        body["error"] = clip.error
    return body


def presenter_json(presenter: SimulatedPresenter, *, base_url: str, started_at: float) -> dict[str, Any]:
    """One entry of ``GET /clips/presenters``."""
    created = iso(started_at - 90 * 86400)
    thumbnail = asset_url(base_url, presenter, "thumbnail.png")
    idle = asset_url(base_url, presenter, "idle.mp4")
    return {
        "presenter_id": presenter.presenter_id,
        "driver_id": presenter.driver_id,
        "name": presenter.name,
        "gender": presenter.gender,
        "owner_id": "PUBLIC",
        "created_at": created,
        "modified_at": created,
        "image_url": asset_url(base_url, presenter, "image.png"),
        "thumbnail_url": thumbnail,
        "preview_url": thumbnail,
        "talking_preview_url": idle,
        "video_url": idle,
        "idle_video": idle,
        "voice": {"type": "microsoft", "voice_id": "en-US-JennyNeural"},
        "is_streamable": True,
        "is_greenscreen": False,
        "status": "done",
    }


def asset_url(base_url: str, presenter: SimulatedPresenter, asset: str) -> str:
    """Where a presenter's image, thumbnail or idle video is served (a public CDN-like path)."""
    name = presenter.presenter_id.removeprefix("v2_public_").split("@")[0]
    return f"{base_url}/cdn/v2/{name}/{presenter.short_id}/{presenter.driver_id}/{asset}"


def credits_json(credits: Credits, *, started_at: float, none_left: bool) -> dict[str, Any]:
    """``GET /credits``'s answer (``none_left``: the ``no_credits402`` fault shows nothing remaining)."""
    remaining = 0.0 if none_left else credits.remaining
    credit = {
        "owner_id": OWNER_ID,
        "remaining": plain_number(remaining),
        "total": plain_number(credits.total),
        "created_at": iso(started_at),
        "modified_at": iso(credits.modified_at),
        "valid_from": iso(started_at),
        "expire_at": iso(started_at + 30 * 86400),
        "product_billing_interval": "month",
    }
    return {"credits": [credit], "remaining": credit["remaining"], "total": credit["total"]}


def iso(epoch_s: float) -> str:
    """D-ID's timestamp form: 2023-03-22T21:33:52.454Z."""
    return (
        datetime.fromtimestamp(epoch_s, timezone.utc)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def plain_number(value: float) -> float | int:
    """`value` as an int when it is whole (D-ID writes 12, not 12.0), else unchanged."""
    return int(value) if float(value).is_integer() else value
