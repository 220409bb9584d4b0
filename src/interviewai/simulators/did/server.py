"""The D-ID simulator's HTTP server: D-ID's routes over aiohttp, request recording, faults, what tests use."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from aiohttp import BodyPartReader, web

from interviewai.background import BackgroundTasks
from interviewai.domain.ports import SpeechSynthesizer
from interviewai.simulators.did.answers import (
    authorized,
    error_response,
    fault_answer,
    gateway_page,
    is_api,
    json_response,
    malformed,
)
from interviewai.simulators.did.media import decode_audio, encode_wav, require_pyav
from interviewai.simulators.did.objects import ObjectStore, s3_error
from interviewai.simulators.did.rendering import ClipRendering, Latency
from interviewai.simulators.did.spec import (
    AUDIOS_BUCKET,
    BUNDLED_AVATAR_MOUTH,
    CLIP_FAULTS,
    CLIPS_BUCKET,
    DEFAULT_API_KEY,
    LINK_TTL_S,
    MAX_AUDIO_BYTES,
    MODERATION_DESCRIPTION,
    OWNER_ID,
    PRESENTERS,
    REQUEST_FAULTS,
    UPLOAD_SAMPLE_RATE,
    ApiError,
    DidFault,
    Mouth,
)
from interviewai.simulators.did.state import Clip, Credits, RecordedFile, RecordedRequest
from interviewai.simulators.did.validation import page, random_id, safe_stem, validated_clip
from interviewai.simulators.did.views import clip_json, credits_json, iso, presenter_json
from interviewai.simulators.loopback import Close, FaultSwitch, LoopbackServer, serve_app

_FILES = web.RequestKey("did_sim_files", dict[str, RecordedFile])
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class DidSimulator(LoopbackServer[RecordedRequest]):
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
        super().__init__(host=host, port=port)
        self._api_key = api_key
        self._faults = FaultSwitch(DidFault.NONE, DidFault(fault))
        self._latency = Latency(queue_delay_s, render_factor)
        self._credits = Credits(total=credits, remaining=credits)
        self._clip_cost = clip_cost
        self._link_ttl_s = link_ttl_s
        self._retry_after_s = retry_after_s
        self._hang_s = hang_s
        if image_png is None:
            image_png = resources.files("interviewai").joinpath("resources/avatar.png").read_bytes()
            mouth = mouth or BUNDLED_AVATAR_MOUTH
        self._started_at = time.time()
        self._objects = ObjectStore()
        self._rendering = ClipRendering(
            objects=self._objects,
            credits=self._credits,
            latency=self._latency,
            stopping=self._stopping,
            synthesizer=synthesizer,
            synthesis_voice=synthesis_voice,
            image_png=image_png,
            mouth=mouth,
            parallelism=render_parallelism,
            idle_duration_s=idle_duration_s,
        )
        self._clips: dict[str, Clip] = {}
        self._clips_created = 0
        self._tasks = BackgroundTasks()

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen (see the loopback base); RuntimeError with an install hint when PyAV is missing."""
        require_pyav()
        await super().start()

    async def stop(self) -> None:
        """Wake clips that wait, end the render tasks, then stop listening."""
        self._stopping.set()  # wakes stuck clips, so the render tasks end
        await self._tasks.aclose()
        await super().stop()

    async def _serve(self, sock: socket.socket) -> Close:
        app = web.Application(middlewares=[self._middleware], client_max_size=MAX_AUDIO_BYTES + 1024 * 1024)
        app.router.add_post("/audios", self._post_audio)
        app.router.add_post("/clips", self._post_clip)
        app.router.add_get("/clips", self._list_clips)
        app.router.add_get("/clips/presenters", self._list_presenters)
        app.router.add_get("/clips/presenters/{presenter_id}", self._get_presenter)
        app.router.add_get("/clips/{clip_id}", self._get_clip)
        app.router.add_delete("/clips/{clip_id}", self._delete_clip)
        app.router.add_get("/credits", self._get_credits)
        app.router.add_get("/s3/{bucket}/{key:.+}", self._objects.handle_get)
        app.router.add_get("/cdn/v2/{name}/{short_id}/{driver_id}/{asset}", self._get_asset)
        app.router.add_put("/_simulator/fault", self._put_fault)
        return await serve_app(app, sock)

    # -- what tests and developers use --------------------------------------------------------

    @property
    def url(self) -> str:
        """The DID_API_URL that reaches this simulator."""
        return f"http://{self.host}:{self.port}"

    @property
    def api_key(self) -> str:
        """A DID_API_KEY it accepts (``user:secret``; ``Basic base64(key)`` is accepted too)."""
        return self._api_key

    @property
    def fault(self) -> DidFault:
        """The fault requests get now (DidFault.NONE when it behaves)."""
        return self._faults.current

    def api_requests(self, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        """Requests to D-ID's API (not links), optionally only one method and/or path prefix."""
        return [
            r
            for r in self._requests
            if is_api(r.path)
            and (method is None or r.method == method)
            and (path is None or r.path.startswith(path))
        ]

    @property
    def clips_created(self) -> int:
        """Clips accepted by ``POST /clips`` since start."""
        return self._clips_created

    @property
    def credits_remaining(self) -> float:
        """Credits left now (a clip is charged when created, refunded when it fails)."""
        return self._credits.remaining

    @property
    def credits_total(self) -> float:
        """The account's credit allowance, as GET /credits reports it."""
        return self._credits.total

    def set_credits(self, remaining: float, total: float | None = None) -> None:
        """Set the credits (and the allowance when `total` is given), as if the account had changed."""
        self._credits.set(remaining, total)

    def set_latency(self, *, queue_delay_s: float | None = None, render_factor: float | None = None) -> None:
        """Change when clips start (`queue_delay_s` after creation) and how long they render (`render_factor`
        x the audio's length); None keeps a value."""
        if queue_delay_s is not None:
            self._latency.queue_delay_s = queue_delay_s
        if render_factor is not None:
            self._latency.render_factor = render_factor

    def set_fault(
        self, fault: DidFault | str, *, times: int | None = None, retry_after_s: float | None = None
    ) -> None:
        """Misbehave from now on; ``times`` heals the fault after that many requests (clips for
        ``stuck``/``error``/``rejected``, clip answers for ``expired``)."""
        self._faults.set(DidFault(fault), times)
        if retry_after_s is not None:
            self._retry_after_s = retry_after_s

    def clip_status(self, clip_id: str) -> str | None:
        """The clip's status now ("created", "started", "done", "error", "rejected"), None for an unknown
        id."""
        clip = self._clips.get(clip_id)
        return clip.status if clip is not None else None

    def signed_url(self, bucket: str, key: str, expires: float) -> str:
        """A presigned link to a stored object, valid until ``expires`` (epoch seconds)."""
        return self._objects.signed_url(self.url, bucket, key, expires)

    # -- request plumbing ---------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
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
            fault=self.fault,
        )
        self._requests.append(record)
        try:
            response = await self._dispatch(request, handler)
        finally:
            record.files = request.get(_FILES, record.files)
        record.status = response.status
        return response

    async def _dispatch(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not is_api(request.path):
            return await handler(request)
        if isinstance(request.match_info.http_exception, web.HTTPException):
            return json_response(403, {"message": "Missing Authentication Token"})
        fault = self._faults.take(REQUEST_FAULTS)
        if fault is not None:
            answer = fault_answer(fault, request, self._retry_after_s)
            if answer is None:  # timeout: say nothing until the client gives up or the simulator stops
                await self.wait_stopping(self._hang_s)
                answer = gateway_page(504)
            return answer
        if not authorized(request.headers.get("Authorization"), self._api_key):
            return error_response(401, "AuthorizationError", "user unauthenticated")
        try:
            response = await handler(request)
        except ApiError as error:
            response = error_response(error.status, error.kind, error.description, error.details)
        if self._faults.take({DidFault.MALFORMED}) is not None and isinstance(response, web.Response):
            return malformed(response)
        return response

    async def _put_fault(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            self.set_fault(body["fault"], times=body.get("times"), retry_after_s=body.get("retry_after_s"))
        except (ValueError, KeyError, TypeError) as error:
            return json_response(
                400, {"error": f"expected {{'fault': one of {[f.value for f in DidFault]}}}: {error}"}
            )
        return json_response(200, {"fault": self.fault.value, "times": self._faults.times})

    # -- POST /audios, POST /clips ------------------------------------------------------------

    async def _post_audio(self, request: web.Request) -> web.Response:
        if not request.content_type.startswith("multipart/"):
            raise ApiError(400, "BadRequestError", "expected multipart/form-data with an audio file")
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
            raise ApiError(400, "BadRequestError", '"audio" is required')
        mime = (audio.content_type or "application/octet-stream").split(";")[0].strip().lower()
        if not mime.startswith(("audio/", "video/")):
            raise ApiError(
                415,
                "UnsupportedMimeTypeError",
                "unsupported mime type",
                {"received": mime, "supported": ["audio/", "video/"]},
            )
        try:
            samples, rate = await asyncio.to_thread(decode_audio, audio.data, UPLOAD_SAMPLE_RATE)
        except ValueError as error:
            raise ApiError(400, "BadRequestError", f"invalid audio file: {error}") from error
        audio_id = random_id()
        key = f"{OWNER_ID}/{audio_id}/{safe_stem(audio.filename)}.wav"
        self._objects.put(AUDIOS_BUCKET, key, encode_wav(samples, rate), "audio/wav")
        duration = round(len(samples) / rate, 3)
        return json_response(
            201, {"id": audio_id, "url": f"s3://{AUDIOS_BUCKET}/{key}", "duration": duration}
        )

    async def _post_clip(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read())
        except ValueError as error:
            raise ApiError(400, "BadRequestError", "invalid JSON body") from error
        clip = validated_clip(body, base_url=self.url, cost=self._clip_cost)
        if self._faults.take({DidFault.MODERATION_451}) is not None:
            kind = "TextModerationError" if clip.script["type"] == "text" else "AudioModerationError"
            raise ApiError(451, kind, MODERATION_DESCRIPTION)
        no_credits = self._faults.take({DidFault.NO_CREDITS_402}) is not None
        if no_credits or self._credits.remaining < clip.cost:
            raise ApiError(402, "InsufficientCreditsError", "not enough credits")
        self._credits.charge(clip.cost, clip.created_at)
        clip.outcome = self._faults.take(CLIP_FAULTS) or DidFault.NONE
        self._clips[clip.id] = clip
        self._clips_created += 1
        self._tasks.spawn(f"did-sim-clip-{clip.id}", self._rendering.render(clip, self.url))
        return json_response(
            201, {"id": clip.id, "object": "clip", "created_at": iso(clip.created_at), "status": "created"}
        )

    # -- GET/DELETE /clips --------------------------------------------------------------------

    async def _get_clip(self, request: web.Request) -> web.Response:
        clip = self._clip_or_404(request.match_info["clip_id"])
        return json_response(200, self._clip_json(clip))

    async def _list_clips(self, request: web.Request) -> web.Response:
        clips = sorted(self._clips.values(), key=lambda c: c.created_at, reverse=True)
        items, token = page(clips, request, default_limit=100, key=lambda c: c.id)
        body: dict[str, Any] = {"clips": [self._clip_json(c) for c in items]}
        if token is not None:
            body["token"] = token
        return json_response(200, body)

    async def _delete_clip(self, request: web.Request) -> web.Response:
        clip = self._clip_or_404(request.match_info["clip_id"])
        if not clip.terminal:
            raise ApiError(409, "NotReadyError", "clip is in process, try again later")
        body = self._clip_json(clip)
        del self._clips[clip.id]
        if clip.result_key is not None:
            self._objects.delete(CLIPS_BUCKET, clip.result_key)
        return json_response(200, body)

    def _clip_or_404(self, clip_id: str) -> Clip:
        clip = self._clips.get(clip_id)
        if clip is None:
            raise ApiError(404, "NotFoundError", "not found")
        return clip

    def _clip_json(self, clip: Clip) -> dict[str, Any]:
        expired = False
        if clip.audio_key is not None or clip.result_key is not None:
            expired = self._faults.take({DidFault.EXPIRED}) is not None
        return clip_json(
            clip, base_url=self.url, link=self.signed_url, expired=expired, link_ttl_s=self._link_ttl_s
        )

    # -- presenters, their assets and credits -------------------------------------------------

    async def _list_presenters(self, request: web.Request) -> web.Response:
        items, token = page(list(PRESENTERS), request, default_limit=1000, key=lambda p: p.presenter_id)
        body: dict[str, Any] = {
            "presenters": [presenter_json(p, base_url=self.url, started_at=self._started_at) for p in items]
        }
        if token is not None:
            body["token"] = token
        return json_response(200, body)

    async def _get_presenter(self, request: web.Request) -> web.Response:
        presenter_id = request.match_info["presenter_id"]
        presenter = next((p for p in PRESENTERS if p.presenter_id == presenter_id), None)
        if presenter is None:
            raise ApiError(404, "NotFoundError", "presenter not found")
        entry = presenter_json(presenter, base_url=self.url, started_at=self._started_at)
        return json_response(200, {"presenters": [entry]})

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
        assets = await self._rendering.presenter_assets()
        stored = assets.get(request.match_info["asset"])
        if presenter is None or stored is None:
            return s3_error(403, "AccessDenied", "Access Denied")  # what a CDN over S3 says for a miss
        return web.Response(
            body=stored.data,
            content_type=stored.content_type,
            headers={"ETag": stored.etag, "Cache-Control": "max-age=31536000"},
        )

    async def _get_credits(self, request: web.Request) -> web.Response:  # noqa: ARG002 - aiohttp's handler signature
        none_left = self.fault is DidFault.NO_CREDITS_402
        return json_response(
            200, credits_json(self._credits, started_at=self._started_at, none_left=none_left)
        )
