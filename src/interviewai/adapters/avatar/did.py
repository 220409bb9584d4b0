"""D-ID Clips over httpx: talking-presenter clips, presenters and credits, every failure classified.

What it sends (see ``/work/shared/docs/did-api.md``):

* ``Authorization: Basic <key as given>`` — D-ID hands out ``user:secret`` and documents pasting it
  verbatim, not re-encoded. The header goes to the API only, never to result links: those are S3
  presigned URLs (or a public CDN) and S3 refuses a request that carries two auth mechanisms.
* Own audio (the default): ``POST /audios`` (multipart field ``audio``) with our MP3, then ``POST /clips``
  with ``{"type": "audio", "audio_url": <the returned url>}``, so the clip speaks exactly the MP3 the
  response carries. Otherwise a text script with ``{"type": "microsoft", "voice_id": <voice>}``.
* ``GET /clips/{id}`` until ``done``, ``error`` or ``rejected``; ``result_url`` is trusted only on ``done``
  (unfinished clips may carry a ``pending_url`` that is not the result).
* ``GET /clips/presenters/{id}`` (a ``{"presenters": [...]}`` wrapper; a bare object is accepted too) and
  ``GET /credits``.

Deadlines: every call has httpx per-phase timeouts (connect, read, write, pool) and an overall deadline
(``request_timeout_s``; ``download_timeout_s`` for downloads), so a server that trickles bytes cannot hold
a request forever. ``wait_for_clip`` has the caller's overall deadline and polls with capped, jittered,
growing delays (:class:`PollPolicy`).

Concurrency: ``max_parallel`` clips are in flight at once. ``create_clip`` takes a slot, and the slot is
given back when ``wait_for_clip`` for that clip returns or raises (or at once if creation fails). A
slot whose clip nobody waits for is given back after ``slot_lease_s``. So a caller that creates more
than ``max_parallel`` clips before waiting for any blocks until a lease runs out: create, then wait.

Retries: one-shot calls (create, presenter, credits, download) never retry; the service decides about
its one retry within its own deadline. Polling tolerates up to ``PollPolicy.error_budget`` consecutive
transient failures (5xx, 429, connection, timeout of one poll, malformed JSON) and a 404 during the first
``PollPolicy.not_found_grace_s`` (D-ID's consistency right after create is not documented).

Retry-After: a 429 (or 503) raises :class:`DidError` with ``retry_after_s`` set from the header (seconds
or an HTTP date; None when absent) and the message says "retry after N s". While polling, Retry-After is
honoured (the next poll waits at least that long) when it fits in the deadline; when it does not, the
rate-limit error is raised at once instead of waiting for a certain timeout.

Failure classification: see :mod:`interviewai.adapters.avatar.did_errors` (every exception is a
:class:`DidError`, a ``ProviderError`` with provider ``"d-id"``).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from interviewai.adapters.avatar.did_errors import (
    PROVIDER,
    DidError,
    DidLinkExpired,
    bad_shape,
    clip_failed,
    download_error,
    exception_error,
    response_error,
    text_or_none,
)
from interviewai.adapters.http_errors import snippet
from interviewai.deadlines import deadline
from interviewai.domain.avatar import ClipRequest, ClipStatus, Credits, Presenter
from interviewai.domain.errors import ProviderCategory
from interviewai.observability import metrics

DEFAULT_API_URL = "https://api.d-id.com"
DEFAULT_PROVIDER_VOICE = "en-US-JennyNeural"
TERMINAL_STATUSES = frozenset({"done", "error", "rejected"})
_AUDIO_FILENAME = "speech.mp3"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PollPolicy:
    """How ``wait_for_clip`` polls: delays grow from ``initial_s`` by ``multiplier`` up to ``max_s``,
    each scaled by a random factor in ``[1 - jitter, 1 + jitter]`` and capped again at ``max_s``."""

    initial_s: float = 1.0
    multiplier: float = 1.5
    max_s: float = 5.0
    jitter: float = 0.25
    # Consecutive transient poll failures tolerated before the last one is raised.
    error_budget: int = 3
    not_found_grace_s: float = 5.0

    def __post_init__(self) -> None:
        if self.initial_s <= 0 or self.max_s < self.initial_s or self.multiplier < 1:
            raise ValueError("PollPolicy needs 0 < initial_s <= max_s and multiplier >= 1")
        if not 0 <= self.jitter < 1 or self.error_budget < 0 or self.not_found_grace_s < 0:
            raise ValueError("PollPolicy needs 0 <= jitter < 1, error_budget >= 0, not_found_grace_s >= 0")

    def delays(self, rng: random.Random) -> Iterator[float]:
        """The delays between polls, endlessly."""
        base = self.initial_s
        while True:
            yield min(self.max_s, base * rng.uniform(1 - self.jitter, 1 + self.jitter))
            base = min(self.max_s, base * self.multiplier)


class DidClipRenderer:
    """AvatarRenderer on D-ID Clips. Owns its httpx client: call ``aclose()`` at shutdown."""

    def __init__(
        self,
        *,
        api_url: str = DEFAULT_API_URL,
        api_key: str,
        use_own_audio: bool = True,
        provider_voice: str = DEFAULT_PROVIDER_VOICE,
        max_parallel: int = 4,
        poll: PollPolicy | None = None,
        connect_timeout_s: float = 5.0,
        request_timeout_s: float = 20.0,
        download_timeout_s: float = 120.0,
        max_download_bytes: int = 256 * 1024 * 1024,
        slot_lease_s: float = 900.0,
        rng: random.Random | None = None,
    ) -> None:
        if max_parallel < 1:
            raise ValueError("max_parallel must be at least 1")
        self._use_own_audio = use_own_audio
        self._provider_voice = provider_voice
        self._poll = poll or PollPolicy()
        self._request_timeout_s = request_timeout_s
        self._download_timeout_s = download_timeout_s
        self._max_download_bytes = max_download_bytes
        self._slot_lease_s = slot_lease_s
        self._rng = rng or random.Random()
        self._api_headers = {"Authorization": f"Basic {api_key}", "Accept": "application/json"}
        self._slots = asyncio.Semaphore(max_parallel)
        self._leases: dict[str, asyncio.TimerHandle] = {}
        # When each clip of this process was created (loop time), to measure its time queued at D-ID.
        self._created_at: dict[str, float] = {}
        self._client = httpx.AsyncClient(
            base_url=api_url.rstrip("/"),
            timeout=httpx.Timeout(request_timeout_s, connect=connect_timeout_s),
            follow_redirects=False,
        )

    @property
    def use_own_audio(self) -> bool:
        """True when clips speak our own MP3 (uploaded first); False when D-ID speaks the text in its own
        voice."""
        return self._use_own_audio

    async def aclose(self) -> None:
        """Close the HTTP client and give back every slot still leased."""
        for clip_id in list(self._leases):
            self._release(clip_id)
        await self._client.aclose()

    # -- AvatarRenderer ---------------------------------------------------------------------------

    async def create_clip(self, request: ClipRequest) -> str:
        """Upload our MP3 (own-audio mode) and create the clip; returns the clip id (``clp_...``)."""
        await self._slots.acquire()
        try:
            clip_id = await self._create(request)
        except BaseException:
            self._slots.release()
            raise
        loop = asyncio.get_running_loop()
        self._leases[clip_id] = loop.call_later(self._slot_lease_s, self._release, clip_id)
        self._created_at[clip_id] = loop.time()
        return clip_id

    async def wait_for_clip(self, clip_id: str, timeout_s: float) -> ClipStatus:
        """Poll until ``done`` (returned) or ``error``/``rejected``/deadline/a lasting failure (raised)."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        ends = started + timeout_s
        delays = self._poll.delays(self._rng)
        last: ClipStatus | None = None
        failures = 0
        try:
            async with deadline(timeout_s):
                while True:
                    try:
                        status, kind = await self._fetch_clip(clip_id)
                    except DidError as error:
                        if not self._tolerable(error, loop.time() - started):
                            raise
                        if error.status != 404:  # 404s are bounded by the grace period instead
                            failures += 1
                            if failures > self._poll.error_budget:
                                raise
                        wait = next(delays)
                        if error.retry_after_s is not None:
                            if loop.time() + error.retry_after_s >= ends:
                                raise  # waiting as told would outlast the deadline anyway
                            wait = max(wait, error.retry_after_s)
                        logger.info("d-id poll of %s failed (%s); next poll in %.2f s", clip_id, error, wait)
                        await asyncio.sleep(wait)
                        continue
                    failures = 0
                    last = status
                    self._note_started(clip_id, status.status, loop.time())
                    if status.status == "done":
                        return status
                    if status.status in TERMINAL_STATUSES:
                        raise clip_failed(status, kind)
                    await asyncio.sleep(next(delays))
        except asyncio.TimeoutError as error:
            where = f"last status {last.status!r}" if last is not None else "no status received"
            raise DidError(
                ProviderCategory.TIMEOUT,
                f"clip {clip_id} not done within {timeout_s:g} s ({where})",
                retryable=True,
                clip_id=clip_id,
            ) from error
        finally:
            self._release(clip_id)

    def _note_started(self, clip_id: str, status: str, now: float) -> None:
        """The first poll that finds the clip past ``created`` ends its time in D-ID's queue (to within a poll)."""
        if status != "created" and (created_at := self._created_at.pop(clip_id, None)) is not None:
            metrics.observe_clip_queue(PROVIDER, now - created_at)

    async def download(self, url: str) -> bytes:
        """GET a result or idle-video link (no Authorization header: they are presigned or public)."""
        shown = _without_query(url)
        try:
            async with (
                deadline(self._download_timeout_s),
                self._client.stream("GET", url, headers={"Accept": "*/*"}, follow_redirects=True) as response,
            ):
                if not response.is_success:
                    await response.aread()
                    raise download_error(response, shown)
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > self._max_download_bytes:
                        raise DidError(
                            ProviderCategory.SERVER,
                            f"download {shown}: larger than {self._max_download_bytes} bytes",
                            retryable=False,
                            status=response.status_code,
                        )
                return bytes(body)
        except DidError:
            raise
        except asyncio.TimeoutError as error:
            raise DidError(
                ProviderCategory.TIMEOUT,
                f"download {shown}: not complete within {self._download_timeout_s:g} s",
                retryable=True,
            ) from error
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            raise exception_error(error, f"download {shown}") from error

    async def presenter(self, presenter_id: str) -> Presenter:
        """The presenter's name, image, thumbnail and idle video (``idle_video``; None if D-ID has none)."""
        data = await self._call("GET", f"/clips/presenters/{quote(presenter_id, safe='@')}")
        items: Any = data.get("presenters") if isinstance(data, dict) else None
        if items is None and isinstance(data, dict) and "presenter_id" in data:
            items = [data]  # tolerate a bare object; D-ID documents the wrapper
        if not isinstance(items, list):
            raise bad_shape("GET /clips/presenters/{id}", "no presenters list")
        found = [p for p in items if isinstance(p, dict) and p.get("presenter_id") == presenter_id]
        if not found:
            raise DidError(
                ProviderCategory.INVALID_REQUEST,
                f"presenter {presenter_id!r} not found",
                retryable=False,
                kind="NotFoundError",
            )
        dto = found[0]
        return Presenter(
            presenter_id=presenter_id,
            name=text_or_none(dto.get("name")) or presenter_id,
            image_url=text_or_none(dto.get("image_url")),
            thumbnail_url=text_or_none(dto.get("thumbnail_url")),
            idle_video_url=text_or_none(dto.get("idle_video")),
        )

    async def credits(self) -> Credits:
        """GET /credits; ProviderError (server) when the answer has no numeric remaining and total."""
        data = await self._call("GET", "/credits")
        remaining = _number(data.get("remaining")) if isinstance(data, dict) else None
        total = _number(data.get("total")) if isinstance(data, dict) else None
        if remaining is None or total is None:
            raise bad_shape("GET /credits", "no numeric remaining/total")
        return Credits(remaining=remaining, total=total)

    # -- internals ----------------------------------------------------------------------------------

    async def _create(self, request: ClipRequest) -> str:
        script: dict[str, Any]
        if self._use_own_audio and request.audio_mp3 is not None:
            script = {"type": "audio", "audio_url": await self._upload_audio(request.audio_mp3)}
        else:
            script = {
                "type": "text",
                "input": request.text,
                "provider": {"type": "microsoft", "voice_id": request.provider_voice or self._provider_voice},
            }
        body = {"presenter_id": request.presenter_id, "script": script, "config": {"result_format": "mp4"}}
        data = await self._call("POST", "/clips", json=body)
        clip_id = data.get("id") if isinstance(data, dict) else None
        if not isinstance(clip_id, str) or not clip_id:
            raise bad_shape("POST /clips", "no clip id")
        logger.debug("d-id clip %s created (%s script)", clip_id, script["type"])
        return clip_id

    async def _upload_audio(self, mp3: bytes) -> str:
        files = {"audio": (_AUDIO_FILENAME, bytes(mp3), "audio/mpeg")}
        data = await self._call("POST", "/audios", files=files)
        url = data.get("url") if isinstance(data, dict) else None
        if not isinstance(url, str) or not url:
            raise bad_shape("POST /audios", "no url")
        return url

    async def _fetch_clip(self, clip_id: str) -> tuple[ClipStatus, str | None]:
        """The clip now, and D-ID's error kind when it failed."""
        data = await self._call("GET", f"/clips/{quote(clip_id, safe='')}", clip_id=clip_id)
        status = data.get("status") if isinstance(data, dict) else None
        if not isinstance(status, str):
            raise bad_shape(f"GET /clips/{clip_id}", "no status")
        kind: str | None = None
        error_text: str | None = None
        if status in ("error", "rejected"):
            error = data.get("error")
            if isinstance(error, dict):
                kind = text_or_none(error.get("kind"))
                description = text_or_none(error.get("description")) or ""
                error_text = f"{kind}: {description}" if kind else description or status
            else:
                error_text = text_or_none(error) or status
        result_url = text_or_none(data.get("result_url")) if status == "done" else None
        if status == "done" and result_url is None:
            raise bad_shape(f"GET /clips/{clip_id}", "done without result_url")
        return (
            ClipStatus(
                clip_id=clip_id,
                status=status,
                result_url=result_url,
                duration_s=_number(data.get("duration")),
                error=error_text,
            ),
            kind,
        )

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: Mapping[str, Any] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        clip_id: str | None = None,
    ) -> Any:
        """One API request under the overall deadline; the parsed JSON of a 2xx answer."""
        context = f"{method} {path}"
        try:
            async with deadline(self._request_timeout_s):
                response = await self._client.request(
                    method, path, json=json, files=files, headers=self._api_headers
                )
        except asyncio.TimeoutError as error:
            raise DidError(
                ProviderCategory.TIMEOUT,
                f"{context}: no answer within {self._request_timeout_s:g} s",
                retryable=True,
                clip_id=clip_id,
            ) from error
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            raise exception_error(error, context, clip_id=clip_id) from error
        if not response.is_success:
            raise response_error(response, context, clip_id=clip_id)
        try:
            return response.json()
        except ValueError as error:  # JSONDecodeError and UnicodeDecodeError
            raise DidError(
                ProviderCategory.SERVER,
                f"{context}: HTTP {response.status_code} with a body that is not JSON: {snippet(response.text)!r}",
                retryable=True,
                status=response.status_code,
                clip_id=clip_id,
            ) from error

    def _tolerable(self, error: DidError, elapsed_s: float) -> bool:
        if error.status == 404:
            return elapsed_s < self._poll.not_found_grace_s
        return error.retryable

    def _release(self, clip_id: str) -> None:
        self._created_at.pop(clip_id, None)
        handle = self._leases.pop(clip_id, None)
        if handle is not None:
            handle.cancel()
            self._slots.release()


def _without_query(url: str) -> str:
    """The URL without its query: a presigned link's signature must not end up in logs."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_PROVIDER_VOICE",
    "PROVIDER",
    "DidClipRenderer",
    "DidError",
    "DidLinkExpired",
    "PollPolicy",
]
