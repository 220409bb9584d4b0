"""D-ID's request checks as the simulator applies them: ``POST /clips`` bodies, scripts, list pages, ids."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from interviewai.simulators.did.spec import (
    AUDIO_URL,
    CLIP_FIELDS,
    HEX_COLOR,
    ID_ALPHABET,
    PRESENTERS,
    RESULT_FORMATS,
    ApiError,
)
from interviewai.simulators.did.state import Clip


def validated_clip(body: Any, *, base_url: str, cost: float) -> Clip:
    """The clip a ``POST /clips`` body asks for, checked as D-ID's spec checks it (ApiError 400 if not)."""
    if not isinstance(body, dict):
        raise ApiError(400, "BadRequestError", "request body must be an object")
    unknown = sorted(set(body) - CLIP_FIELDS)
    if unknown:
        raise ApiError(400, "BadRequestError", f'"{unknown[0]}" is not allowed')
    presenter_id = body.get("presenter_id", "jack-Pt27VkP3hW")
    presenter = next((p for p in PRESENTERS if p.presenter_id == presenter_id), None)
    if presenter is None:
        raise ApiError(400, "BadRequestError", f"presenter not found: {presenter_id}")
    driver_id = body.get("driver_id", presenter.driver_id)
    if driver_id != presenter.driver_id:
        raise ApiError(400, "DriverNotValidError", "driver is not valid")
    script = _validated_script(body.get("script"), base_url)
    result_format, resolution = _validated_config(body.get("config", {}))
    _check_background(body.get("background"), result_format)
    extras = _extras(body)
    now = time.time()
    return Clip(
        id="clp_" + random_id(),
        presenter=presenter,
        driver_id=driver_id,
        script=script,
        config={
            "result_format": f".{result_format}",
            **({"output_resolution": resolution} if resolution else {}),
        },
        result_format=result_format,
        max_size=int(resolution) if resolution else None,
        cost=cost,
        created_at=now,
        modified_at=now,
        extras=extras,
    )


def _validated_config(config: Any) -> tuple[str, float | None]:
    """The result format and output resolution (None: the presenter's own)."""
    if not isinstance(config, dict):
        raise ApiError(400, "BadRequestError", '"config" must be an object')
    result_format = config.get("result_format", "mp4")
    if result_format not in RESULT_FORMATS:
        raise ApiError(400, "BadRequestError", '"config.result_format" must be one of mp4, mov, webm')
    resolution = config.get("output_resolution")
    if resolution is not None and (
        not isinstance(resolution, int | float)
        or isinstance(resolution, bool)
        or not 150 <= resolution <= 1080
    ):
        raise ApiError(400, "BadRequestError", '"config.output_resolution" must be 150..1080')
    return result_format, resolution


def _check_background(background: Any, result_format: str) -> None:
    """Accepted and ignored, but checked: a #rrggbb colour, or false (transparent) with webm only."""
    if background is None:
        return
    color = background.get("color") if isinstance(background, dict) else None
    if color is not None and color is not False and not (isinstance(color, str) and HEX_COLOR.match(color)):
        raise ApiError(400, "BadRequestError", '"background.color" must be #rrggbb or false')
    if color is False and result_format != "webm":
        raise ApiError(400, "BadRequestError", "a transparent background needs result_format webm")


def _extras(body: dict[str, Any]) -> dict[str, Any]:
    """``user_data``, ``webhook`` and ``name``, checked and echoed back in the clip's JSON."""
    extras: dict[str, Any] = {}
    user_data = body.get("user_data")
    if user_data is not None:
        if not isinstance(user_data, str) or not user_data.strip() or len(user_data) > 1000:
            raise ApiError(400, "BadRequestError", '"user_data" must be 1..1000 characters, not blank')
        extras["user_data"] = user_data
    webhook = body.get("webhook")
    if webhook:
        if not isinstance(webhook, str) or not re.match(r"^https://\S+$", webhook):
            raise ApiError(400, "BadRequestError", '"webhook" must be an https URL')
        extras["webhook"] = webhook
    if isinstance(body.get("name"), str):
        extras["name"] = body["name"]
    return extras


def _validated_script(script: Any, base_url: str) -> dict[str, Any]:
    if not isinstance(script, dict):
        raise ApiError(400, "BadRequestError", '"script" is required')
    kind = script.get("type")
    subtitles = _flag(script.get("subtitles", False), "script.subtitles")
    if kind == "text":
        text = script.get("input")
        if not isinstance(text, str) or not 3 <= len(text) <= 40000:
            raise ApiError(400, "BadRequestError", '"script.input" must be 3..40000 characters')
        provider = script.get("provider", {"type": "microsoft", "voice_id": "en-US-JennyNeural"})
        if not isinstance(provider, dict) or provider.get("type") not in (
            "microsoft",
            "elevenlabs",
            "amazon",
            "google",
            "azure-openai",
        ):
            raise ApiError(400, "BadRequestError", '"script.provider.type" is not a known provider')
        if provider["type"] in ("microsoft", "amazon") and not isinstance(provider.get("voice_id"), str):
            raise ApiError(400, "BadRequestError", '"script.provider.voice_id" is required')
        return {
            "type": "text",
            "input": text,
            "ssml": _flag(script.get("ssml", False), "script.ssml"),
            "subtitles": subtitles,
            "provider": provider,
        }
    if kind == "audio":
        audio_url = script.get("audio_url")
        own = isinstance(audio_url, str) and audio_url.startswith(base_url + "/")
        if not isinstance(audio_url, str) or not (own or AUDIO_URL.match(audio_url)):
            raise ApiError(
                400,
                "BadRequestError",
                '"script.audio_url" must be an https or s3 URL of an m4a, flac, mp3, mp4 or wav file',
            )
        return {"type": "audio", "audio_url": audio_url, "subtitles": subtitles}
    raise ApiError(400, "BadRequestError", '"script.type" must be "text" or "audio"')


def page(
    items: Sequence[Any], request: web.Request, *, default_limit: int, key: Callable[[Any], str]
) -> tuple[list[Any], str | None]:
    """One page of ``items`` after ``token`` (the key of the last item of the previous page)."""
    try:
        limit = max(1, int(request.query.get("limit", default_limit)))
    except ValueError as error:
        raise ApiError(400, "BadRequestError", '"limit" must be a number') from error
    start = 0
    token = request.query.get("token")
    if token:
        keys = [key(item) for item in items]
        if token not in keys:
            raise ApiError(400, "BadRequestError", "invalid token")
        start = keys.index(token) + 1
    page = list(items[start : start + limit])
    more = start + limit < len(items)
    return page, key(page[-1]) if more and page else None


def _flag(value: Any, name: str) -> bool:
    """A boolean, also from "true"/"false" strings (D-ID's docs and forum bodies send those)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ApiError(400, "BadRequestError", f'"{name}" must be a boolean')


def random_id(length: int = 21) -> str:
    """A random id of `length` characters from D-ID's alphabet (letters, digits, "_" and "-")."""
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(length))


def safe_stem(filename: str | None) -> str:
    """The upload's file name stem kept to at most 46 safe characters (letters, digits, "._-"), or "audio"."""
    stem = Path(filename or "").stem
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "", stem)[:46]
    return cleaned or "audio"
