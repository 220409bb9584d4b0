"""A local D-ID Clips API on 127.0.0.1: D-ID's paths, JSON and errors, real MP4 results, fault injection.

What it reproduces (facts from ``/work/shared/docs/did-api.md`` and public client code):

* Auth: ``Authorization: Basic <key>`` with the key as given (``base64(email):secret``), and the
  standard ``Basic base64(key)`` form too (the doc infers both work). Anything else answers 401
  ``{"kind":"AuthorizationError","description":"user unauthenticated"}``. Unmapped paths and methods answer
  like D-ID's API gateway: 403 ``{"message":"Missing Authentication Token"}``.
* ``POST /audios`` (multipart field ``audio``; ``audio/*`` or ``video/*``, else 415
  ``UnsupportedMimeTypeError``): the audio is converted to 16 kHz mono WAV as D-ID does and the answer is
  201 ``{"id", "url": "s3://d-id-audios-prod/<owner>/<id>/<name>.wav", "duration"}`` — the same s3:// form
  D-ID returns, which the audio-script pattern accepts, so a client passes it on unchanged.
* ``POST /clips`` validated like the spec (``additionalProperties: false`` at the top level, text 3..40000
  characters, the ``audio_url`` pattern, result format, resolution, presenter and driver, ``"true"``/
  ``"false"`` strings accepted for booleans) → 201 ``{"id":"clp_<21>","object":"clip","created_at",
  "status":"created"}``; 400 ``BadRequestError``/``DriverNotValidError``, 402
  ``InsufficientCreditsError``.
* ``GET /clips/{id}``: ``created`` → ``started`` (after the queue delay) → ``done`` (after the render
  time, ``render_factor`` × the audio's length, or when the real render finishes if later), with
  ``created_at``/``started_at``/``completed_at``/``modified_at``, ``pending_url`` (an ``s3://`` URI, not
  the result) until finished, then ``result_url`` (a presigned link valid ``link_ttl_s`` from
  ``completed_at``; 24 h by default, as D-ID), ``audio_url``, ``duration``, ``metadata``; or ``error`` /
  ``rejected`` with ``{"error": {"kind", "description"}}``. ``GET /clips`` lists (``limit``/``token``
  cursor), ``DELETE /clips/{id}`` answers 200 with the clip, 409 ``NotReadyError`` while rendering, 404.
* ``GET /clips/presenters`` and ``GET /clips/presenters/{id}`` (the same ``{"presenters": [...]}``
  wrapper), with Amber ``v2_public_Amber@0zSz8kflCN``; each has ``image_url``, ``thumbnail_url``,
  ``idle_video`` and ``video_url`` on a public CDN-like path (``/cdn/v2/<Name>/<id>/<driver>/...``).
* ``GET /credits``: ``{"credits": [{...}], "remaining", "total"}``. A clip costs ``clip_cost`` credits when
  created and they are refunded when it ends ``error`` or ``rejected`` ("you are not billed for errors").
* Result and audio links are served from an S3-like path (``/s3/<bucket>/<key>?AWSAccessKeyId&Expires&
  Signature``, HMAC-signed). After ``Expires`` S3's answer is reproduced: 403 XML ``AccessDenied`` /
  ``Request has expired``; a wrong signature is 403 ``SignatureDoesNotMatch``, a deleted object 404
  ``NoSuchKey``.

Results are real media rendered with PyAV in worker threads: the presenter image as H.264 video (25 fps;
a mouth that opens with the audio's loudness for the bundled image) with the clip's audio as AAC, in
MP4 (``mov`` for ``result_format: mov``; VP8 + Opus for ``webm``), exactly as long as the audio. The idle
video is a few silent seconds of the image. Text scripts are spoken by the injected synthesizer (the
offline piper voice) whatever Microsoft voice was asked for; without one they get silence of a plausible
length.

Deviations from D-ID, on purpose: links point at this server over plain http (D-ID: https on S3 and a
CDN); ``audio_url`` may also be an http link to this server (D-ID requires https or s3); an https or s3
URL that is not one of this server's uploads cannot be fetched offline, so the clip ends ``error``;
webhooks are validated and recorded but never called; ``background``, ``logo`` and crop are accepted and
ignored; ``preview_url``/``talking_preview_url`` point at the thumbnail and the idle video.

Faults (``set_fault(name, times=N)`` switches at run time; ``times`` heals it after N uses):

====================  =================================================================================
``auth401``           API requests: 401 ``{"kind":"AuthorizationError","description":"user unauthenticated"}``
``auth401-gateway``   API requests: 401 ``{"message":"Unauthorized"}``
``forbidden403``      API requests: 403 ``{"kind":"PermissionError","description":"user has no permission
                      for clips:write"}``
``forbidden403-deny`` API requests: 403 ``{"Message":"User is not authorized to access this resource with
                      an explicit deny"}``
``no_credits402``     ``POST /clips``: 402 ``InsufficientCreditsError``; ``/credits`` shows none remaining
``rate_limit429``     API requests: 429 ``{"message":"Too Many Requests"}`` with ``Retry-After``
``rate_limit429-bare`` the same without ``Retry-After``
``moderation451``     ``POST /clips``: 451 ``TextModerationError``/``AudioModerationError``
``rejected``          clips created now end ``rejected`` (moderation after the fact; refunded)
``server500``         API requests: 500 ``{"kind":"InternalServerError","description":"internal server error"}``
``gateway502``        API requests: 502 with an HTML page (a load balancer's)
``gateway504``        API requests: 504 with an HTML page
``timeout``           API requests are never answered (until the simulator stops)
``stuck``             clips created now stay ``started`` forever
``error``             clips created now end ``error`` (``UnknownError``; refunded)
``malformed``         API answers keep their status but their JSON is cut in half
``expired``           result and audio links handed out now have already expired
====================  =================================================================================

``PUT /_simulator/fault`` with ``{"fault": name, "times": N, "retry_after_s": S}`` does the same over HTTP,
for a developer running the app against ``interviewai did-sim``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import dataclasses
import enum
import hashlib
import hmac
import io
import json
import logging
import math
import re
import secrets
import string
import sys
import time
import wave
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timezone
from fractions import Fraction
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

import numpy as np
import numpy.typing as npt
from aiohttp import BodyPartReader, web

from interviewai.background import BackgroundTasks
from interviewai.domain.errors import ProviderError
from interviewai.domain.ports import SpeechSynthesizer
from interviewai.domain.speech import VoiceSettings
from interviewai.simulators.http_site import serve_app

if TYPE_CHECKING:
    import av

# base64("developer@interviewai.local") + ":" + secret, the shape of a real D-ID key.
DEFAULT_API_KEY = "ZGV2ZWxvcGVyQGludGVydmlld2FpLmxvY2Fs:did-simulator-secret"
AMBER_ID = "v2_public_Amber@0zSz8kflCN"
OWNER_ID = "google-oauth2|104729663412954736127"
CLIPS_BUCKET = "d-id-clips-prod"
AUDIOS_BUCKET = "d-id-audios-prod"
LINK_TTL_S = 86_400.0
UPLOAD_SAMPLE_RATE = 16_000
FPS = 25
MAX_AUDIO_BYTES = 15 * 1024 * 1024
MODERATION_DESCRIPTION = (
    "Automatic content moderation - contact support if you would like to submit for manual review"
)
_ACCESS_KEY_ID = "AKIAYDIDSIMULATOR000"
_ID_ALPHABET = string.ascii_letters + string.digits + "_-"
_AUDIO_URL = re.compile(r"^(https|s3)://\S+\.(m4a|flac|mp3|mp4|wav)(\?\S*)?$", re.IGNORECASE)
_HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_CLIP_FIELDS = frozenset(
    {
        "presenter_id",
        "driver_id",
        "script",
        "config",
        "presenter_config",
        "background",
        "user_data",
        "name",
        "webhook",
        "result_url",
    }
)
_RESULT_FORMATS = {"mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm"}
_GATEWAY_PAGES = {
    502: "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n",
    504: "<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n"
    "<center><h1>504 Gateway Time-out</h1></center>\r\n</body>\r\n</html>\r\n",
}

_FILES = web.RequestKey("did_sim_files", dict[str, "RecordedFile"])

_log = logging.getLogger(__name__)


class DidFault(enum.Enum):
    """How the simulator misbehaves (see the module docstring); NONE answers faithfully."""

    NONE = "none"
    AUTH_401 = "auth401"
    AUTH_401_GATEWAY = "auth401-gateway"
    FORBIDDEN_403 = "forbidden403"
    FORBIDDEN_403_DENY = "forbidden403-deny"
    NO_CREDITS_402 = "no_credits402"
    RATE_LIMIT_429 = "rate_limit429"
    RATE_LIMIT_429_BARE = "rate_limit429-bare"
    MODERATION_451 = "moderation451"
    REJECTED = "rejected"
    SERVER_500 = "server500"
    GATEWAY_502 = "gateway502"
    GATEWAY_504 = "gateway504"
    TIMEOUT = "timeout"
    STUCK = "stuck"
    ERROR = "error"
    MALFORMED = "malformed"
    EXPIRED = "expired"


# Faults that answer any API request before it is handled.
_REQUEST_FAULTS = frozenset(
    {
        DidFault.AUTH_401,
        DidFault.AUTH_401_GATEWAY,
        DidFault.FORBIDDEN_403,
        DidFault.FORBIDDEN_403_DENY,
        DidFault.RATE_LIMIT_429,
        DidFault.RATE_LIMIT_429_BARE,
        DidFault.SERVER_500,
        DidFault.GATEWAY_502,
        DidFault.GATEWAY_504,
        DidFault.TIMEOUT,
    }
)
# Faults decided when a clip is created: how it ends.
_CLIP_FAULTS = frozenset({DidFault.STUCK, DidFault.ERROR, DidFault.REJECTED})


@dataclasses.dataclass(frozen=True)
class RecordedFile:
    """A multipart file part as received."""

    filename: str | None
    content_type: str | None
    data: bytes


@dataclasses.dataclass
class RecordedRequest:
    """One request the simulator received; ``status`` is None while it is still being answered (or
    never will be: the ``timeout`` fault)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any | None
    fault: DidFault
    files: dict[str, RecordedFile] = dataclasses.field(default_factory=dict)
    status: int | None = None


@dataclasses.dataclass(frozen=True)
class Mouth:
    """Where the presenter image's mouth is (pixels), so the video can open it with the audio."""

    center_x: int
    center_y: int
    half_width: int
    max_half_height: int


BUNDLED_AVATAR_MOUTH = Mouth(center_x=256, center_y=299, half_width=30, max_half_height=13)


@dataclasses.dataclass(frozen=True)
class SimulatedPresenter:
    presenter_id: str
    name: str
    gender: str
    driver_id: str

    @property
    def short_id(self) -> str:
        return self.presenter_id.rsplit("@", 1)[-1]


PRESENTERS = (
    SimulatedPresenter(AMBER_ID, "Amber", "female", "OUM7xZOuD5"),
    SimulatedPresenter("v2_public_amber@Y5K02DLS4m", "amber", "female", "9o3E6z8MPD"),
    SimulatedPresenter("v2_public_Adam@0GLJgELXjc", "Adam", "male", "Ck1XhV8ZzO"),
)


@dataclasses.dataclass
class _Clip:
    id: str
    presenter: SimulatedPresenter
    driver_id: str
    script: dict[str, Any]
    config: dict[str, Any]
    result_format: str
    max_size: int | None
    cost: float
    created_at: float
    extras: dict[str, Any]
    modified_at: float = 0.0
    outcome: DidFault = DidFault.NONE
    status: str = "created"
    started_at: float | None = None
    completed_at: float | None = None
    duration_s: float | None = None
    audio_key: str | None = None
    result_key: str | None = None
    metadata: dict[str, Any] | None = None
    error: dict[str, str] | None = None

    @property
    def terminal(self) -> bool:
        return self.status in ("done", "error", "rejected")


@dataclasses.dataclass(frozen=True)
class _StoredObject:
    data: bytes
    content_type: str

    @property
    def etag(self) -> str:
        return '"' + hashlib.md5(self.data, usedforsecurity=False).hexdigest() + '"'


class _ApiError(Exception):
    """An error answer in D-ID's envelope, raised from deep inside a handler."""

    def __init__(self, status: int, kind: str, description: str, details: Any = None) -> None:
        super().__init__(f"{status} {kind}: {description}")
        self.status = status
        self.kind = kind
        self.description = description
        self.details = details


class _ClipFailure(Exception):
    def __init__(self, kind: str, description: str) -> None:
        super().__init__(description)
        self.kind = kind
        self.description = description


class DidSimulator:
    """The simulator; ``async with DidSimulator() as sim:`` then point DID_API_URL at ``sim.url`` and
    DID_API_KEY at ``sim.api_key``."""

    def __init__(
        self,
        synthesizer: SpeechSynthesizer | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str = DEFAULT_API_KEY,
        fault: DidFault | str = DidFault.NONE,
        queue_delay_s: float = 3.0,
        render_factor: float = 1.5,
        credits: float = 100.0,
        clip_cost: float = 1.0,
        link_ttl_s: float = LINK_TTL_S,
        retry_after_s: float = 1.0,
        hang_s: float = 3600.0,
        idle_duration_s: float = 3.0,
        image_png: bytes | None = None,
        mouth: Mouth | None = None,
        synthesis_voice: str = "en_US-joe-medium",
        render_parallelism: int = 2,
    ) -> None:
        self._synthesizer = synthesizer
        self._host = host
        self._requested_port = port
        self._port = port
        self._api_key = api_key
        self._fault = DidFault(fault)
        self._fault_times: int | None = None
        self._queue_delay_s = queue_delay_s
        self._render_factor = render_factor
        self._credits_total = credits
        self._credits_remaining = credits
        self._clip_cost = clip_cost
        self._link_ttl_s = link_ttl_s
        self._retry_after_s = retry_after_s
        self._hang_s = hang_s
        self._idle_duration_s = idle_duration_s
        if image_png is None:
            image_png = resources.files("interviewai").joinpath("resources/avatar.png").read_bytes()
            mouth = mouth or BUNDLED_AVATAR_MOUTH
        self._image_png = image_png
        self._mouth = mouth
        self._synthesis_voice = synthesis_voice
        self._render_slots = asyncio.Semaphore(max(1, render_parallelism))
        self._signing_key = secrets.token_bytes(32)
        self._started_at = time.time()
        self._credits_modified_at = self._started_at
        self._clips: dict[str, _Clip] = {}
        self._objects: dict[tuple[str, str], _StoredObject] = {}
        self._requests: list[RecordedRequest] = []
        self._clips_created = 0
        self._assets: dict[str, _StoredObject] | None = None
        self._assets_lock = asyncio.Lock()
        self._image: npt.NDArray[np.uint8] | None = None
        self._tasks = BackgroundTasks()
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        require_pyav()
        app = web.Application(middlewares=[self._middleware], client_max_size=MAX_AUDIO_BYTES + 1024 * 1024)
        app.router.add_post("/audios", self._post_audio)
        app.router.add_post("/clips", self._post_clip)
        app.router.add_get("/clips", self._list_clips)
        app.router.add_get("/clips/presenters", self._list_presenters)
        app.router.add_get("/clips/presenters/{presenter_id}", self._get_presenter)
        app.router.add_get("/clips/{clip_id}", self._get_clip)
        app.router.add_delete("/clips/{clip_id}", self._delete_clip)
        app.router.add_get("/credits", self._get_credits)
        app.router.add_get("/s3/{bucket}/{key:.+}", self._get_object)
        app.router.add_get("/cdn/v2/{name}/{short_id}/{driver_id}/{asset}", self._get_asset)
        app.router.add_put("/_simulator/fault", self._put_fault)
        self._stopping.clear()
        # Hanging handlers (the timeout fault) are woken by _stopping; no need to wait long for them.
        self._runner, self._port = await serve_app(app, self._host, self._requested_port)

    async def stop(self) -> None:
        self._stopping.set()
        await self._tasks.aclose()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> DidSimulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- what tests and developers use --------------------------------------------------------

    @property
    def url(self) -> str:
        """The DID_API_URL that reaches this simulator."""
        return f"http://{self._host}:{self._port}"

    @property
    def port(self) -> int:
        return self._port

    @property
    def api_key(self) -> str:
        """A DID_API_KEY it accepts (``user:secret``; ``Basic base64(key)`` is accepted too)."""
        return self._api_key

    @property
    def fault(self) -> DidFault:
        return self._fault

    @property
    def requests(self) -> list[RecordedRequest]:
        """Everything received so far, oldest first (a copy of the list)."""
        return list(self._requests)

    def api_requests(self, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        """Requests to D-ID's API (not links), optionally only one method and/or path prefix."""
        return [
            r
            for r in self._requests
            if _is_api(r.path)
            and (method is None or r.method == method)
            and (path is None or r.path.startswith(path))
        ]

    def clear_requests(self) -> None:
        self._requests.clear()

    @property
    def clips_created(self) -> int:
        """Clips accepted by ``POST /clips`` since start."""
        return self._clips_created

    @property
    def credits_remaining(self) -> float:
        return self._credits_remaining

    @property
    def credits_total(self) -> float:
        return self._credits_total

    def set_credits(self, remaining: float, total: float | None = None) -> None:
        self._credits_remaining = remaining
        if total is not None:
            self._credits_total = total
        self._credits_modified_at = time.time()

    def set_latency(self, *, queue_delay_s: float | None = None, render_factor: float | None = None) -> None:
        if queue_delay_s is not None:
            self._queue_delay_s = queue_delay_s
        if render_factor is not None:
            self._render_factor = render_factor

    def set_fault(
        self, fault: DidFault | str, *, times: int | None = None, retry_after_s: float | None = None
    ) -> None:
        """Misbehave from now on; ``times`` heals the fault after that many requests (clips for
        ``stuck``/``error``/``rejected``, clip answers for ``expired``)."""
        self._fault = DidFault(fault)
        self._fault_times = times if self._fault is not DidFault.NONE else None
        if retry_after_s is not None:
            self._retry_after_s = retry_after_s

    def clip_status(self, clip_id: str) -> str | None:
        clip = self._clips.get(clip_id)
        return clip.status if clip is not None else None

    def signed_url(self, bucket: str, key: str, expires: float) -> str:
        """A presigned link to a stored object, valid until ``expires`` (epoch seconds)."""
        expires_at = math.ceil(expires)
        query = (
            f"AWSAccessKeyId={_ACCESS_KEY_ID}&Expires={expires_at}"
            f"&Signature={quote(self._signature(bucket, key, expires_at), safe='')}"
        )
        return f"{self.url}/s3/{bucket}/{quote(key, safe='/@')}?{query}"

    # -- request plumbing ---------------------------------------------------------------------

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        body: Any = None
        if request.content_type == "application/json" and request.can_read_body:
            raw = await request.read()  # cached by aiohttp, the handler reads it again
            with contextlib.suppress(ValueError):
                body = json.loads(raw)
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers=dict(request.headers),
            json=body,
            fault=self._fault,
        )
        self._requests.append(record)
        try:
            response = await self._dispatch(request, handler)
        finally:
            record.files = request.get(_FILES, record.files)
        record.status = response.status
        return response

    async def _dispatch(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if not _is_api(request.path):
            return await handler(request)
        if isinstance(request.match_info.http_exception, web.HTTPException):
            return _json(403, {"message": "Missing Authentication Token"})
        fault = self._take_fault(_REQUEST_FAULTS)
        if fault is not None:
            return await self._fault_answer(fault, request)
        if not self._authorized(request.headers.get("Authorization")):
            return _error(401, "AuthorizationError", "user unauthenticated")
        try:
            response = await handler(request)
        except _ApiError as error:
            response = _error(error.status, error.kind, error.description, error.details)
        if self._take_fault({DidFault.MALFORMED}) is not None and isinstance(response, web.Response):
            body = response.body if isinstance(response.body, bytes) else b"{}"
            return web.Response(
                status=response.status, body=body[: len(body) // 2], content_type="application/json"
            )
        return response

    def _take_fault(self, kinds: frozenset[DidFault] | set[DidFault]) -> DidFault | None:
        """The current fault if it is one of ``kinds``, counting one use of it."""
        fault = self._fault
        if fault not in kinds:
            return None
        if self._fault_times is not None:
            self._fault_times -= 1
            if self._fault_times <= 0:
                self._fault, self._fault_times = DidFault.NONE, None
        return fault

    async def _fault_answer(self, fault: DidFault, request: web.Request) -> web.StreamResponse:
        if fault is DidFault.AUTH_401:
            return _error(401, "AuthorizationError", "user unauthenticated")
        if fault is DidFault.AUTH_401_GATEWAY:
            return _json(401, {"message": "Unauthorized"})
        if fault is DidFault.FORBIDDEN_403:
            resource = request.path.strip("/").split("/", 1)[0]
            access = "read" if request.method == "GET" else "write"
            return _error(403, "PermissionError", f"user has no permission for {resource}:{access}")
        if fault is DidFault.FORBIDDEN_403_DENY:
            return _json(
                403, {"Message": "User is not authorized to access this resource with an explicit deny"}
            )
        if fault in (DidFault.RATE_LIMIT_429, DidFault.RATE_LIMIT_429_BARE):
            headers = None
            if fault is DidFault.RATE_LIMIT_429:
                headers = {"Retry-After": str(max(0, math.ceil(self._retry_after_s)))}
            return _json(429, {"message": "Too Many Requests"}, headers=headers)
        if fault is DidFault.SERVER_500:
            return _error(500, "InternalServerError", "internal server error")
        if fault in (DidFault.GATEWAY_502, DidFault.GATEWAY_504):
            status = 502 if fault is DidFault.GATEWAY_502 else 504
            return web.Response(status=status, text=_GATEWAY_PAGES[status], content_type="text/html")
        # TIMEOUT: say nothing until the client gives up or the simulator stops.
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), self._hang_s)
        return web.Response(status=504, text=_GATEWAY_PAGES[504], content_type="text/html")

    def _authorized(self, header: str | None) -> bool:
        scheme, _, credentials = (header or "").strip().partition(" ")
        credentials = credentials.strip()
        if scheme.lower() != "basic" or not credentials:
            return False
        if hmac.compare_digest(credentials.encode(), self._api_key.encode()):
            return True
        try:
            decoded = base64.b64decode(credentials, validate=True)
        except ValueError:
            return False
        return hmac.compare_digest(decoded, self._api_key.encode())

    async def _put_fault(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            self.set_fault(body["fault"], times=body.get("times"), retry_after_s=body.get("retry_after_s"))
        except (ValueError, KeyError, TypeError) as error:
            return _json(
                400, {"error": f"expected {{'fault': one of {[f.value for f in DidFault]}}}: {error}"}
            )
        return _json(200, {"fault": self._fault.value, "times": self._fault_times})

    # -- POST /audios -------------------------------------------------------------------------

    async def _post_audio(self, request: web.Request) -> web.Response:
        if not request.content_type.startswith("multipart/"):
            raise _ApiError(400, "BadRequestError", "expected multipart/form-data with an audio file")
        files: dict[str, RecordedFile] = {}
        request[_FILES] = files
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            data = bytes(await part.read(decode=False))
            files[part.name] = RecordedFile(part.filename, part.headers.get("Content-Type"), data)
        audio = files.get("audio")
        if audio is None or not audio.data:
            raise _ApiError(400, "BadRequestError", '"audio" is required')
        mime = (audio.content_type or "application/octet-stream").split(";")[0].strip().lower()
        if not mime.startswith(("audio/", "video/")):
            raise _ApiError(
                415,
                "UnsupportedMimeTypeError",
                "unsupported mime type",
                {"received": mime, "supported": ["audio/", "video/"]},
            )
        try:
            samples, rate = await asyncio.to_thread(decode_audio, audio.data, UPLOAD_SAMPLE_RATE)
        except ValueError as error:
            raise _ApiError(400, "BadRequestError", f"invalid audio file: {error}") from error
        audio_id = _random_id()
        key = f"{OWNER_ID}/{audio_id}/{_safe_stem(audio.filename)}.wav"
        self._objects[(AUDIOS_BUCKET, key)] = _StoredObject(encode_wav(samples, rate), "audio/wav")
        duration = round(len(samples) / rate, 3)
        return _json(201, {"id": audio_id, "url": f"s3://{AUDIOS_BUCKET}/{key}", "duration": duration})

    # -- POST /clips --------------------------------------------------------------------------

    async def _post_clip(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read())
        except ValueError as error:
            raise _ApiError(400, "BadRequestError", "invalid JSON body") from error
        clip = self._validated_clip(body)
        if self._take_fault({DidFault.MODERATION_451}) is not None:
            kind = "TextModerationError" if clip.script["type"] == "text" else "AudioModerationError"
            raise _ApiError(451, kind, MODERATION_DESCRIPTION)
        no_credits = self._take_fault({DidFault.NO_CREDITS_402}) is not None
        if no_credits or self._credits_remaining < clip.cost:
            raise _ApiError(402, "InsufficientCreditsError", "not enough credits")
        self._credits_remaining -= clip.cost
        self._credits_modified_at = clip.created_at
        clip.outcome = self._take_fault(_CLIP_FAULTS) or DidFault.NONE
        self._clips[clip.id] = clip
        self._clips_created += 1
        self._tasks.spawn(f"did-sim-clip-{clip.id}", self._render_clip(clip))
        return _json(
            201, {"id": clip.id, "object": "clip", "created_at": _iso(clip.created_at), "status": "created"}
        )

    def _validated_clip(self, body: Any) -> _Clip:
        if not isinstance(body, dict):
            raise _ApiError(400, "BadRequestError", "request body must be an object")
        unknown = sorted(set(body) - _CLIP_FIELDS)
        if unknown:
            raise _ApiError(400, "BadRequestError", f'"{unknown[0]}" is not allowed')
        presenter_id = body.get("presenter_id", "jack-Pt27VkP3hW")
        presenter = next((p for p in PRESENTERS if p.presenter_id == presenter_id), None)
        if presenter is None:
            raise _ApiError(400, "BadRequestError", f"presenter not found: {presenter_id}")
        driver_id = body.get("driver_id", presenter.driver_id)
        if driver_id != presenter.driver_id:
            raise _ApiError(400, "DriverNotValidError", "driver is not valid")
        script = self._validated_script(body.get("script"))
        config = body.get("config", {})
        if not isinstance(config, dict):
            raise _ApiError(400, "BadRequestError", '"config" must be an object')
        result_format = config.get("result_format", "mp4")
        if result_format not in _RESULT_FORMATS:
            raise _ApiError(400, "BadRequestError", '"config.result_format" must be one of mp4, mov, webm')
        resolution = config.get("output_resolution")
        if resolution is not None and (
            not isinstance(resolution, int | float)
            or isinstance(resolution, bool)
            or not 150 <= resolution <= 1080
        ):
            raise _ApiError(400, "BadRequestError", '"config.output_resolution" must be 150..1080')
        background = body.get("background")
        if background is not None:
            color = background.get("color") if isinstance(background, dict) else None
            if (
                color is not None
                and color is not False
                and not (isinstance(color, str) and _HEX_COLOR.match(color))
            ):
                raise _ApiError(400, "BadRequestError", '"background.color" must be #rrggbb or false')
            if color is False and result_format != "webm":
                raise _ApiError(400, "BadRequestError", "a transparent background needs result_format webm")
        extras: dict[str, Any] = {}
        user_data = body.get("user_data")
        if user_data is not None:
            if not isinstance(user_data, str) or not user_data.strip() or len(user_data) > 1000:
                raise _ApiError(400, "BadRequestError", '"user_data" must be 1..1000 characters, not blank')
            extras["user_data"] = user_data
        webhook = body.get("webhook")
        if webhook:
            if not isinstance(webhook, str) or not re.match(r"^https://\S+$", webhook):
                raise _ApiError(400, "BadRequestError", '"webhook" must be an https URL')
            extras["webhook"] = webhook
        if isinstance(body.get("name"), str):
            extras["name"] = body["name"]
        now = time.time()
        return _Clip(
            id="clp_" + _random_id(),
            presenter=presenter,
            driver_id=driver_id,
            script=script,
            config={
                "result_format": f".{result_format}",
                **({"output_resolution": resolution} if resolution else {}),
            },
            result_format=result_format,
            max_size=int(resolution) if resolution else None,
            cost=self._clip_cost,
            created_at=now,
            modified_at=now,
            extras=extras,
        )

    def _validated_script(self, script: Any) -> dict[str, Any]:
        if not isinstance(script, dict):
            raise _ApiError(400, "BadRequestError", '"script" is required')
        kind = script.get("type")
        subtitles = _flag(script.get("subtitles", False), "script.subtitles")
        if kind == "text":
            text = script.get("input")
            if not isinstance(text, str) or not 3 <= len(text) <= 40000:
                raise _ApiError(400, "BadRequestError", '"script.input" must be 3..40000 characters')
            provider = script.get("provider", {"type": "microsoft", "voice_id": "en-US-JennyNeural"})
            if not isinstance(provider, dict) or provider.get("type") not in (
                "microsoft",
                "elevenlabs",
                "amazon",
                "google",
                "azure-openai",
            ):
                raise _ApiError(400, "BadRequestError", '"script.provider.type" is not a known provider')
            if provider["type"] in ("microsoft", "amazon") and not isinstance(provider.get("voice_id"), str):
                raise _ApiError(400, "BadRequestError", '"script.provider.voice_id" is required')
            return {
                "type": "text",
                "input": text,
                "ssml": _flag(script.get("ssml", False), "script.ssml"),
                "subtitles": subtitles,
                "provider": provider,
            }
        if kind == "audio":
            audio_url = script.get("audio_url")
            own = isinstance(audio_url, str) and audio_url.startswith(self.url + "/")
            if not isinstance(audio_url, str) or not (own or _AUDIO_URL.match(audio_url)):
                raise _ApiError(
                    400,
                    "BadRequestError",
                    '"script.audio_url" must be an https or s3 URL of an m4a, flac, mp3, mp4 or wav file',
                )
            return {"type": "audio", "audio_url": audio_url, "subtitles": subtitles}
        raise _ApiError(400, "BadRequestError", '"script.type" must be "text" or "audio"')

    # -- rendering ----------------------------------------------------------------------------

    async def _render_clip(self, clip: _Clip) -> None:
        try:
            await self._sleep_until(clip.created_at + self._queue_delay_s)
            clip.status, clip.started_at = "started", time.time()
            clip.modified_at = clip.started_at
            samples, rate = await self._clip_audio(clip)
            clip.duration_s = round(len(samples) / rate, 3)
            started_at = clip.started_at or time.time()
            finish_at = started_at + self._render_factor * clip.duration_s
            if clip.outcome is DidFault.STUCK:
                await self._stopping.wait()
                return
            if clip.outcome in (DidFault.REJECTED, DidFault.ERROR):
                await self._sleep_until(finish_at)
                if clip.outcome is DidFault.REJECTED:
                    kind = "TextModerationError" if clip.script["type"] == "text" else "AudioModerationError"
                    raise _ClipFailure(kind, MODERATION_DESCRIPTION)
                raise _ClipFailure("UnknownError", "Failed to render the clip")
            image = await self._presenter_image()
            async with self._render_slots:
                video, frames, size = await asyncio.to_thread(
                    render_video,
                    image,
                    samples,
                    rate,
                    result_format=clip.result_format,
                    max_size=clip.max_size,
                    mouth=self._mouth,
                )
            await self._sleep_until(finish_at)
            key = f"{OWNER_ID}/{clip.id}/{clip.presenter.presenter_id}.{clip.result_format}"
            self._objects[(CLIPS_BUCKET, key)] = _StoredObject(video, _RESULT_FORMATS[clip.result_format])
            completed = time.time()
            clip.result_key = key
            clip.metadata = {
                "num_frames": frames,
                "processing_fps": round(frames / max(completed - started_at, 1e-3), 1),
                "resolution": list(size),
                "size_kib": round(len(video) / 1024, 2),
            }
            clip.status, clip.completed_at, clip.modified_at = "done", completed, completed
        except asyncio.CancelledError:
            raise
        except _ClipFailure as failure:
            self._finish_failed(clip, failure)
        except Exception as error:  # the simulator's own bug: the clip fails like D-ID's would
            _log.exception("simulated clip %s failed", clip.id)
            self._finish_failed(clip, _ClipFailure("UnknownError", f"internal error: {error}"))

    def _finish_failed(self, clip: _Clip, failure: _ClipFailure) -> None:
        clip.error = {"kind": failure.kind, "description": failure.description}
        self._credits_remaining += clip.cost  # "you are not billed for errors; credits are returned"
        self._credits_modified_at = time.time()
        clip.status = "rejected" if failure.kind.endswith("ModerationError") else "error"
        clip.completed_at = clip.modified_at = time.time()

    async def _clip_audio(self, clip: _Clip) -> tuple[npt.NDArray[np.float32], int]:
        """The clip's audio at 16 kHz, stored in the audios bucket so ``audio_url`` can serve it."""
        script = clip.script
        if script["type"] == "audio":
            key = self._own_audio_key(script["audio_url"])
            stored = self._objects.get((AUDIOS_BUCKET, key)) if key is not None else None
            if stored is None:
                raise _ClipFailure(
                    "UnknownError", "could not download audio_url (the simulator has only its own uploads)"
                )
            clip.audio_key = key
            try:
                return await asyncio.to_thread(decode_audio, stored.data, UPLOAD_SAMPLE_RATE)
            except ValueError as error:
                raise _ClipFailure("UnknownError", f"invalid audio: {error}") from error
        text = script["input"]
        if script["ssml"]:
            text = re.sub(r"<[^>]+>", " ", text)
        if self._synthesizer is None:
            # No voice loaded: silence about as long as the words would take (150 words a minute).
            seconds = max(1.0, len(text.split()) / 2.5)
            samples = np.zeros(int(seconds * UPLOAD_SAMPLE_RATE), dtype=np.float32)
        else:
            try:
                spoken = await self._synthesizer.synthesize(text, VoiceSettings(voice=self._synthesis_voice))
            except ProviderError as error:
                raise _ClipFailure("UnknownError", f"text to speech failed: {error.message}") from error
            samples, _ = await asyncio.to_thread(decode_audio, spoken.mp3, UPLOAD_SAMPLE_RATE)
        key = f"{OWNER_ID}/{clip.id}/audio.wav"
        wav = await asyncio.to_thread(encode_wav, samples, UPLOAD_SAMPLE_RATE)
        self._objects[(AUDIOS_BUCKET, key)] = _StoredObject(wav, "audio/wav")
        clip.audio_key = key
        return samples, UPLOAD_SAMPLE_RATE

    def _own_audio_key(self, url: str) -> str | None:
        prefix = f"s3://{AUDIOS_BUCKET}/"
        if url.startswith(prefix):
            return url[len(prefix) :]
        own = f"{self.url}/s3/{AUDIOS_BUCKET}/"
        if url.startswith(own):
            return unquote(urlsplit(url).path)[len(f"/s3/{AUDIOS_BUCKET}/") :]
        return None

    async def _sleep_until(self, when: float) -> None:
        delay = when - time.time()
        if delay > 0:
            await asyncio.sleep(delay)

    async def _presenter_image(self) -> npt.NDArray[np.uint8]:
        if self._image is None:
            self._image = await asyncio.to_thread(decode_image, self._image_png)
        return self._image

    # -- GET/DELETE /clips --------------------------------------------------------------------

    async def _get_clip(self, request: web.Request) -> web.Response:
        clip = self._clip_or_404(request.match_info["clip_id"])
        return _json(200, self._clip_json(clip))

    async def _list_clips(self, request: web.Request) -> web.Response:
        clips = sorted(self._clips.values(), key=lambda c: c.created_at, reverse=True)
        page, token = _page(clips, request, default_limit=100, key=lambda c: c.id)
        body: dict[str, Any] = {"clips": [self._clip_json(c) for c in page]}
        if token is not None:
            body["token"] = token
        return _json(200, body)

    async def _delete_clip(self, request: web.Request) -> web.Response:
        clip = self._clip_or_404(request.match_info["clip_id"])
        if not clip.terminal:
            raise _ApiError(409, "NotReadyError", "clip is in process, try again later")
        body = self._clip_json(clip)
        del self._clips[clip.id]
        if clip.result_key is not None:
            self._objects.pop((CLIPS_BUCKET, clip.result_key), None)
        return _json(200, body)

    def _clip_or_404(self, clip_id: str) -> _Clip:
        clip = self._clips.get(clip_id)
        if clip is None:
            raise _ApiError(404, "NotFoundError", "not found")
        return clip

    def _clip_json(self, clip: _Clip) -> dict[str, Any]:
        presenter = clip.presenter
        body: dict[str, Any] = {
            "id": clip.id,
            "owner_id": OWNER_ID,
            "created_by": OWNER_ID,
            "created_at": _iso(clip.created_at),
            "modified_at": _iso(clip.modified_at),
            "status": clip.status,
            "presenter_id": presenter.presenter_id,
            "driver_id": clip.driver_id,
            "source_url": self._asset_url(presenter, "thumbnail.png"),
            "config": clip.config,
            "script": clip.script,
            **clip.extras,
        }
        if clip.started_at is not None:
            body["started_at"] = _iso(clip.started_at)
        if not clip.terminal:
            key = f"{OWNER_ID}/{clip.id}/{presenter.presenter_id}.{clip.result_format}"
            body["pending_url"] = f"s3://{CLIPS_BUCKET}/{key}"
        expired = False
        if clip.audio_key is not None or clip.result_key is not None:
            expired = self._take_fault({DidFault.EXPIRED}) is not None
        if clip.audio_key is not None:
            expires = time.time() - 60 if expired else clip.created_at + self._link_ttl_s
            body["audio_url"] = self.signed_url(AUDIOS_BUCKET, clip.audio_key, expires)
        if clip.completed_at is not None:
            body["completed_at"] = _iso(clip.completed_at)
        if clip.duration_s is not None:
            body["duration"] = clip.duration_s
        if clip.status == "done" and clip.result_key is not None and clip.completed_at is not None:
            expires = time.time() - 60 if expired else clip.completed_at + self._link_ttl_s
            body["result_url"] = self.signed_url(CLIPS_BUCKET, clip.result_key, expires)
            body["metadata"] = clip.metadata
        if clip.error is not None:
            body["error"] = clip.error
        return body

    # -- presenters and credits ---------------------------------------------------------------

    async def _list_presenters(self, request: web.Request) -> web.Response:
        page, token = _page(list(PRESENTERS), request, default_limit=1000, key=lambda p: p.presenter_id)
        body: dict[str, Any] = {"presenters": [self._presenter_json(p) for p in page]}
        if token is not None:
            body["token"] = token
        return _json(200, body)

    async def _get_presenter(self, request: web.Request) -> web.Response:
        presenter_id = request.match_info["presenter_id"]
        presenter = next((p for p in PRESENTERS if p.presenter_id == presenter_id), None)
        if presenter is None:
            raise _ApiError(404, "NotFoundError", "presenter not found")
        return _json(200, {"presenters": [self._presenter_json(presenter)]})

    def _presenter_json(self, presenter: SimulatedPresenter) -> dict[str, Any]:
        created = _iso(self._started_at - 90 * 86400)
        thumbnail = self._asset_url(presenter, "thumbnail.png")
        idle = self._asset_url(presenter, "idle.mp4")
        return {
            "presenter_id": presenter.presenter_id,
            "driver_id": presenter.driver_id,
            "name": presenter.name,
            "gender": presenter.gender,
            "owner_id": "PUBLIC",
            "created_at": created,
            "modified_at": created,
            "image_url": self._asset_url(presenter, "image.png"),
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

    def _asset_url(self, presenter: SimulatedPresenter, asset: str) -> str:
        name = presenter.presenter_id.removeprefix("v2_public_").split("@")[0]
        return f"{self.url}/cdn/v2/{name}/{presenter.short_id}/{presenter.driver_id}/{asset}"

    async def _get_credits(self, request: web.Request) -> web.Response:
        remaining = 0.0 if self._fault is DidFault.NO_CREDITS_402 else self._credits_remaining
        credit = {
            "owner_id": OWNER_ID,
            "remaining": _plain_number(remaining),
            "total": _plain_number(self._credits_total),
            "created_at": _iso(self._started_at),
            "modified_at": _iso(self._credits_modified_at),
            "valid_from": _iso(self._started_at),
            "expire_at": _iso(self._started_at + 30 * 86400),
            "product_billing_interval": "month",
        }
        return _json(200, {"credits": [credit], "remaining": credit["remaining"], "total": credit["total"]})

    # -- links: S3-like presigned objects and the public CDN ----------------------------------

    async def _get_object(self, request: web.Request) -> web.Response:
        bucket, key = request.match_info["bucket"], request.match_info["key"]
        expires_text = request.query.get("Expires", "")
        signature = request.query.get("Signature", "")
        if not expires_text.isdigit() or not signature or "AWSAccessKeyId" not in request.query:
            return _s3_error(
                403,
                "AccessDenied",
                "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters",
            )
        expires = int(expires_text)
        if not hmac.compare_digest(signature, self._signature(bucket, key, expires)):
            return _s3_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. "
                "Check your key and signing method.",
            )
        now = time.time()
        if now > expires:
            return _s3_error(
                403,
                "AccessDenied",
                "Request has expired",
                Expires=_iso_seconds(expires),
                ServerTime=_iso_seconds(now),
            )
        stored = self._objects.get((bucket, key))
        if stored is None:
            return _s3_error(404, "NoSuchKey", "The specified key does not exist.", Key=key)
        return web.Response(body=stored.data, content_type=stored.content_type, headers={"ETag": stored.etag})

    async def _get_asset(self, request: web.Request) -> web.Response:
        presenter = next(
            (
                p
                for p in PRESENTERS
                if p.short_id == request.match_info["short_id"]
                and p.driver_id == request.match_info["driver_id"]
            ),
            None,
        )
        assets = await self._presenter_assets()
        stored = assets.get(request.match_info["asset"])
        if presenter is None or stored is None:
            return _s3_error(403, "AccessDenied", "Access Denied")  # what a CDN over S3 says for a miss
        return web.Response(
            body=stored.data,
            content_type=stored.content_type,
            headers={"ETag": stored.etag, "Cache-Control": "max-age=31536000"},
        )

    async def _presenter_assets(self) -> dict[str, _StoredObject]:
        """image.png, thumbnail.png and idle.mp4 (rendered once, in a thread; every presenter shares them)."""
        async with self._assets_lock:
            if self._assets is None:
                image = await self._presenter_image()
                thumbnail = await asyncio.to_thread(encode_png, image, 128)
                idle = await asyncio.to_thread(render_idle_video, image, self._idle_duration_s)
                self._assets = {
                    "image.png": _StoredObject(self._image_png, "image/png"),
                    "thumbnail.png": _StoredObject(thumbnail, "image/png"),
                    "idle.mp4": _StoredObject(idle, "video/mp4"),
                }
            return self._assets

    def _signature(self, bucket: str, key: str, expires: int) -> str:
        to_sign = f"GET\n\n\n{expires}\n/{bucket}/{key}".encode()
        return base64.b64encode(hmac.new(self._signing_key, to_sign, hashlib.sha1).digest()).decode()


# -- media: decoding, WAV/PNG encoding, video rendering (blocking; run in threads) -----------------
# PyAV is imported where it is used, so that this module (and the CLI that lists its options) loads
# without it; it is an optional dependency, needed only to run the simulator.


def require_pyav() -> None:
    """Fail with an install hint when PyAV (FFmpeg for Python) is missing."""
    try:
        import av  # noqa: F401
    except ImportError as error:
        raise RuntimeError(
            "the D-ID simulator renders video with PyAV: pip install 'interviewai[sim]' (or 'av')"
        ) from error


def decode_audio(data: bytes, sample_rate: int | None = None) -> tuple[npt.NDArray[np.float32], int]:
    """Mono float samples of the first audio stream of any file FFmpeg reads (MP3, WAV, MP4...),
    resampled to ``sample_rate`` when given. Raises ValueError when there is no decodable audio."""
    import av

    chunks: list[npt.NDArray[np.float32]] = []
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.audio:
                raise ValueError("no audio stream")
            stream = container.streams.audio[0]
            rate = sample_rate or stream.codec_context.sample_rate
            resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
            for frame in container.decode(stream):
                chunks.extend(_mono(f) for f in resampler.resample(frame))
            chunks.extend(_mono(f) for f in resampler.resample(None))
    except av.FFmpegError as error:
        raise ValueError(str(error)) from error
    if not chunks:
        raise ValueError("no audio samples")
    return np.concatenate(chunks).astype(np.float32, copy=False), rate


def _mono(frame: av.AudioFrame) -> npt.NDArray[np.float32]:
    return np.asarray(frame.to_ndarray(), dtype=np.float32).reshape(-1)


def encode_wav(samples: npt.NDArray[np.float32], sample_rate: int) -> bytes:
    """16-bit mono PCM WAV."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


def decode_image(data: bytes) -> npt.NDArray[np.uint8]:
    """An image file (PNG, JPEG...) as an RGB array, cropped to even dimensions (H.264 needs them)."""
    import av

    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            frame = next(container.decode(video=0))
    except (av.FFmpegError, StopIteration) as error:
        raise ValueError(f"unreadable presenter image: {error}") from error
    rgb = np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)
    height, width = rgb.shape[0] // 2 * 2, rgb.shape[1] // 2 * 2
    return np.ascontiguousarray(rgb[:height, :width])


def encode_png(image: npt.NDArray[np.uint8], max_size: int | None = None) -> bytes:
    import av

    width, height = _fit(image.shape[1], image.shape[0], max_size)
    frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(width=width, height=height)
    codec = av.CodecContext.create("png", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "rgb24"
    return b"".join(bytes(p) for p in [*codec.encode(frame), *codec.encode(None)])


def render_video(
    image: npt.NDArray[np.uint8],
    samples: npt.NDArray[np.float32] | None,
    sample_rate: int,
    *,
    duration_s: float | None = None,
    result_format: str = "mp4",
    max_size: int | None = None,
    mouth: Mouth | None = None,
    fps: int = FPS,
) -> tuple[bytes, int, tuple[int, int]]:
    """The image as video (a mouth opening with the loudness when ``mouth`` is given) with ``samples``
    as its audio track, as long as the audio (or ``duration_s`` of silent video without samples).

    Returns the file, its number of frames and its (width, height).
    """
    import av

    if samples is not None:
        duration_s = len(samples) / sample_rate
    if not duration_s or duration_s <= 0:
        raise ValueError("nothing to render: no audio and no duration")
    frames = max(1, math.ceil(duration_s * fps - 1e-6))
    width, height = _fit(image.shape[1], image.shape[0], max_size)
    levels = (
        _mouth_levels(samples, sample_rate, frames, fps)
        if mouth is not None and samples is not None
        else None
    )
    webm = result_format == "webm"
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mov" if result_format == "mov" else result_format) as container:
        if webm:
            video = container.add_stream(
                "libvpx", rate=fps, options={"deadline": "realtime", "cpu-used": "8", "b": "600k"}
            )
        else:
            video = container.add_stream(
                "libx264", rate=fps, options={"preset": "ultrafast", "tune": "stillimage", "crf": "26"}
            )
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        audio = None
        if samples is not None:
            audio = container.add_stream("libopus" if webm else "aac", rate=sample_rate)
            audio.layout = "mono"
        cache: dict[int, av.VideoFrame] = {}
        for index in range(frames):
            level = int(levels[index]) if levels is not None else 0
            if level not in cache:
                picture = _with_open_mouth(image, mouth, level / _MOUTH_LEVELS) if mouth and level else image
                cache[level] = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(
                    width=width, height=height, format="yuv420p"
                )
            frame = cache[level]
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if audio is not None and samples is not None:
            sound = av.AudioFrame.from_ndarray(
                samples.reshape(1, -1).astype(np.float32), format="flt", layout="mono"
            )
            sound.sample_rate = sample_rate
            sound.pts = 0
            sound.time_base = Fraction(1, sample_rate)
            container.mux(audio.encode(sound))
            container.mux(audio.encode(None))
    return buffer.getvalue(), frames, (width, height)


def render_idle_video(image: npt.NDArray[np.uint8], duration_s: float = 3.0) -> bytes:
    """A few silent seconds of the presenter, for the loop between clips."""
    video, _, _ = render_video(image, None, 0, duration_s=duration_s)
    return video


_MOUTH_LEVELS = 6


def _mouth_levels(
    samples: npt.NDArray[np.float32], sample_rate: int, frames: int, fps: int
) -> npt.NDArray[np.int64]:
    """How open the mouth is in each frame (0 = closed .. _MOUTH_LEVELS), from the frame's loudness."""
    per_frame = sample_rate / fps
    rms = np.zeros(frames, dtype=np.float64)
    for index in range(frames):
        window = samples[int(index * per_frame) : int((index + 1) * per_frame)]
        if len(window):
            rms[index] = float(np.sqrt(np.mean(np.square(window, dtype=np.float64))))
    loud = float(np.percentile(rms, 95)) if frames else 0.0
    if loud <= 1e-4:
        return np.zeros(frames, dtype=np.int64)
    openness = np.clip(rms / loud, 0.0, 1.0)
    openness[openness < 0.15] = 0.0  # pauses keep the mouth shut rather than trembling
    return np.rint(openness * _MOUTH_LEVELS).astype(np.int64)


def _with_open_mouth(image: npt.NDArray[np.uint8], mouth: Mouth, openness: float) -> npt.NDArray[np.uint8]:
    picture = image.copy()
    half_height = max(1.0, mouth.max_half_height * openness)
    top = max(0, int(mouth.center_y - half_height))
    bottom = min(picture.shape[0], int(mouth.center_y + half_height) + 1)
    left = max(0, mouth.center_x - mouth.half_width)
    right = min(picture.shape[1], mouth.center_x + mouth.half_width + 1)
    ys, xs = np.mgrid[top:bottom, left:right]
    inside = ((xs - mouth.center_x) / mouth.half_width) ** 2 + (
        (ys - mouth.center_y) / half_height
    ) ** 2 <= 1.0
    region = picture[top:bottom, left:right]
    region[inside] = (92, 28, 36)
    return picture


def _fit(width: int, height: int, max_size: int | None) -> tuple[int, int]:
    """Scale down to ``max_size`` on the longer side (aspect kept, even numbers); never up."""
    scale = 1.0 if not max_size else min(1.0, max_size / max(width, height))
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


# -- small helpers -------------------------------------------------------------------------------


def _is_api(path: str) -> bool:
    return not path.startswith(("/s3/", "/cdn/", "/_simulator/"))


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps(body, separators=(",", ":")),
        content_type="application/json",
        charset="utf-8",
        headers=headers,
    )


def _error(status: int, kind: str, description: str, details: Any = None) -> web.Response:
    body: dict[str, Any] = {"kind": kind, "description": description}
    if details is not None:
        body["details"] = details
    return _json(status, body)


def _s3_error(status: int, code: str, message: str, **extra: str) -> web.Response:
    fields = "".join(f"<{name}>{_xml_escape(value)}</{name}>" for name, value in extra.items())
    request_id = secrets.token_hex(8).upper()
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{_xml_escape(message)}</Message>{fields}"
        f"<RequestId>{request_id}</RequestId><HostId>{base64.b64encode(secrets.token_bytes(48)).decode()}</HostId></Error>"
    )
    return web.Response(
        status=status, body=text.encode(), content_type="application/xml"
    )  # S3 sends no charset


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _page(
    items: Sequence[Any], request: web.Request, *, default_limit: int, key: Callable[[Any], str]
) -> tuple[list[Any], str | None]:
    """One page of ``items`` after ``token`` (the key of the last item of the previous page)."""
    try:
        limit = max(1, int(request.query.get("limit", default_limit)))
    except ValueError as error:
        raise _ApiError(400, "BadRequestError", '"limit" must be a number') from error
    start = 0
    token = request.query.get("token")
    if token:
        keys = [key(item) for item in items]
        if token not in keys:
            raise _ApiError(400, "BadRequestError", "invalid token")
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
    raise _ApiError(400, "BadRequestError", f'"{name}" must be a boolean')


def _random_id(length: int = 21) -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def _safe_stem(filename: str | None) -> str:
    stem = Path(filename or "").stem
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "", stem)[:46]
    return cleaned or "audio"


def _iso(epoch_s: float) -> str:
    """D-ID's timestamp form: 2023-03-22T21:33:52.454Z."""
    return (
        datetime.fromtimestamp(epoch_s, timezone.utc)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def _iso_seconds(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _plain_number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


# -- command line ------------------------------------------------------------------------------


async def run(
    *,
    port: int,
    host: str = "127.0.0.1",
    api_key: str = DEFAULT_API_KEY,
    fault: DidFault | str = DidFault.NONE,
    latency_s: float = 3.0,
    render_factor: float = 1.5,
    credits: float = 100.0,
    render_parallelism: int = 2,
    model_dir: Path | None = None,
    voice: bool = True,
    on_ready: Callable[[DidSimulator], None] | None = None,
) -> None:
    """Serve until cancelled, printing the DID_API_URL and DID_API_KEY to use.

    With ``voice`` the offline piper voice is loaded to speak text scripts (D-ID's own voice).
    """
    synthesizer = None
    closer: Callable[[], None] | None = None
    if voice:
        # Imported here: the simulator itself runs with any SpeechSynthesizer, or none.
        from interviewai.adapters.speech.piper import PiperSynthesizer
        from interviewai.settings import load_settings

        piper = await PiperSynthesizer.open(model_dir or load_settings().resolved_model_dir)
        synthesizer, closer = piper, piper.close
    try:
        async with DidSimulator(
            synthesizer,
            host=host,
            port=port,
            api_key=api_key,
            fault=fault,
            queue_delay_s=latency_s,
            render_factor=render_factor,
            credits=credits,
            render_parallelism=render_parallelism,
        ) as sim:
            print(f"D-ID simulator on {sim.url} (fault: {sim.fault.value})", flush=True)
            print(f"DID_API_URL={sim.url}", flush=True)
            print(f"DID_API_KEY={sim.api_key}", flush=True)
            if on_ready is not None:
                on_ready(sim)
            await asyncio.Event().wait()
    finally:
        if closer is not None:
            await asyncio.to_thread(closer)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``did-sim`` options, for the ``interviewai`` command's subparser."""
    parser.add_argument("--port", type=int, default=8766, help="TCP port (default 8766; 0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--latency-s",
        type=float,
        default=3.0,
        help="queue delay before a clip starts rendering (default 3 s)",
    )
    parser.add_argument(
        "--render-factor",
        type=float,
        default=1.5,
        help="render time per second of audio, after the queue delay (default 1.5)",
    )
    parser.add_argument(
        "--fault",
        choices=[f.value for f in DidFault if f is not DidFault.NONE],
        default=None,
        help="misbehave from the start (switch later with PUT /_simulator/fault)",
    )
    parser.add_argument("--api-key", default=DEFAULT_API_KEY, help="the DID_API_KEY to accept")
    parser.add_argument("--credits", type=float, default=100.0, help="credits available (one per clip)")
    parser.add_argument(
        "--render-parallelism", type=int, default=2, help="clips rendered at once; the rest queue (default 2)"
    )
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=None,
        help="where the aligned voice model is kept (default: MODEL_DIR)",
    )
    parser.add_argument(
        "--no-voice", action="store_true", help="don't load the offline voice; text scripts render silence"
    )


def handle(args: argparse.Namespace) -> int:
    """Run the simulator from parsed ``add_arguments`` options until Ctrl-C."""
    try:
        require_pyav()
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            run(
                port=args.port,
                host=args.host,
                api_key=args.api_key,
                fault=args.fault or DidFault.NONE,
                latency_s=args.latency_s,
                render_factor=args.render_factor,
                credits=args.credits,
                render_parallelism=args.render_parallelism,
                model_dir=args.model_dir,
                voice=not args.no_voice,
            )
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``interviewai did-sim --port N [--latency-s X] [--fault NAME]``: run the simulator until Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="interviewai did-sim", description="Serve a local D-ID Clips API simulator."
    )
    add_arguments(parser)
    return handle(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
