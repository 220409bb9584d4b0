"""Edge online neural voice (edge-tts): MP3, word timings, visemes and classified failures.

How the timings are made:

* Word boundaries are requested explicitly (``boundary="WordBoundary"``). Each boundary's offset and
  duration (100-ns ticks) become a span in seconds.
* The spans are mapped back onto the words as displayed, and each word's phonemes give the visemes:
  :mod:`interviewai.adapters.speech.edge_alignment`.
* Duration is counted from the MP3's frame headers (``adapters.speech.mp3``), so it is right for
  Microsoft's 24 kHz 48 kbps stream and for the simulator's 22.05 kHz stream alike; Edge's timings are
  relative to the start of its audio, so no encoder delay is added.

Endpoint override: edge-tts has no URL parameter (``Communicate`` formats its module constant
``WSS_URL`` inside a name-mangled method), but it accepts an aiohttp connector. When ``EDGE_TTS_URL``
is set, each request gets its own :class:`EndpointConnector` that opens the TCP connection (TLS for
``wss://``) to that host and port instead of Microsoft's. Nothing global is changed; the request
line, query (``TrustedClientToken``, ``Sec-MS-GEC``) and headers stay exactly what edge-tts sends, so a
simulator sees the real wire format. Only the scheme, host and port of the URL are used; the voice
list (``/consumer/.../voices/list``) goes to the same host and port.

Failure classification (every library exception becomes a ``ProviderError``):

=================================================  ====================  =========
what happened                                      category              retryable
=================================================  ====================  =========
refused, DNS, unreachable, reset while connecting  connectivity          yes
closed mid-stream (no ``turn.end``), socket error  connectivity          yes
no reply within ``EDGE_TTS_TIMEOUT_S``             timeout               yes
``NoAudioReceived`` (throttling or unknown voice)  no_audio              yes
handshake 403 (DRM token rejected twice)           auth                  no
handshake 429 / 5xx / other 4xx                    rate_limit/server/    yes/yes/no
                                                   invalid_request
voice, rate, volume or pitch edge-tts rejects      invalid_request       no
unparseable reply (protocol changed)               server                no
=================================================  ====================  =========

A ``TypeError``, ``KeyError``, ``AttributeError`` or ``AssertionError`` (``PROGRAMMING_ERRORS``) is not
classified: it is a bug (ours, or edge-tts's on a reply it mis-indexes), so it propagates as itself and
the speech service logs it and fails over without opening Edge's breaker.

A 403 is treated as permanent: edge-tts already retried once after correcting its clock skew, so a
second 403 means the DRM token is refused (edge-tts too old or blocked) and waiting seconds won't help.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp
import certifi
import edge_tts
from edge_tts.data_classes import TTSConfig
from edge_tts.exceptions import (
    NoAudioReceived,
    SkewAdjustmentError,
    UnexpectedResponse,
    UnknownResponse,
    WebSocketError,
)

from interviewai.adapters.speech.edge_alignment import (
    Boundary,
    TextPhonemizer,
    WordPhonemizer,
    map_boundaries_to_words,
    word_phonemizer,
    words_to_visemes,
)
from interviewai.adapters.speech.mp3 import decoded_duration_s
from interviewai.deadlines import deadline
from interviewai.domain.errors import PROGRAMMING_ERRORS, ProviderCategory, ProviderError
from interviewai.domain.speech import SpokenAudio, VisemeTiming, VoiceInfo, VoiceSettings, WordTiming

if TYPE_CHECKING:
    from aiohttp.client_proto import ResponseHandler
    from aiohttp.client_reqrep import ClientRequest
    from aiohttp.tracing import Trace

ENGINE = "edge"
TICKS_PER_SECOND = 10_000_000
EDGE_MP3_BITRATE_BPS = 48_000
VOICE_LIST_TTL_S = 6 * 3600.0
VOICE_LIST_RETRY_S = 60.0

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EdgeEndpoint:
    """Where to open the WebSocket instead of Microsoft's host (from ``EDGE_TTS_URL``)."""

    host: str
    port: int
    tls: bool

    @classmethod
    def parse(cls, url: str) -> EdgeEndpoint | None:
        """None for an empty URL (Microsoft's endpoint); ValueError for anything but ws(s)://host[:port]."""
        if not url.strip():
            return None
        parts = urlsplit(url.strip())
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise ValueError(f"EDGE_TTS_URL must look like ws://127.0.0.1:8765 or wss://host; got {url!r}")
        tls = parts.scheme == "wss"
        return cls(host=parts.hostname, port=parts.port or (443 if tls else 80), tls=tls)


class EndpointConnector(aiohttp.BaseConnector):
    """Opens every connection to one fixed endpoint, whatever host the request names.

    This is the hook aiohttp's own ``UnixConnector`` uses; requests keep their URL, Host header and
    path. TLS is used only when the endpoint says so (``wss://``), verified against its own hostname.
    """

    def __init__(self, endpoint: EdgeEndpoint) -> None:
        super().__init__(force_close=True)
        self._endpoint = endpoint

    def close(self, *, abort_ssl: bool = False) -> Awaitable[None]:  # noqa: ARG002 - aiohttp's signature (BaseConnector.close)
        """Stay usable: edge-tts hands this connector to a second session when it retries after a 403,
        and the first session's exit would otherwise close it ("Session is closed"). With force_close
        no connection is ever pooled, and an in-use one is closed by the response holding it, so there
        is nothing to release here."""
        done: asyncio.Future[None] = self._loop.create_future()
        done.set_result(None)
        return done

    async def _create_connection(
        self,
        req: ClientRequest,
        # aiohttp's signature (TCPConnector._create_connection): no tracing, and the callers' deadline()
        # bounds the connect.
        traces: list[Trace],  # noqa: ARG002
        timeout: aiohttp.ClientTimeout,  # noqa: ARG002
    ) -> ResponseHandler:
        endpoint = self._endpoint
        tls = ssl.create_default_context(cafile=certifi.where()) if endpoint.tls else None
        try:
            _, protocol = await self._loop.create_connection(
                self._factory,
                endpoint.host,
                endpoint.port,
                ssl=tls,
                server_hostname=endpoint.host if tls else None,
            )
        except OSError as error:
            key = req.connection_key._replace(
                host=endpoint.host, port=endpoint.port, is_ssl=endpoint.tls, ssl=tls or False
            )
            raise aiohttp.ClientConnectorError(key, error) from error
        return protocol


class EdgeSynthesizer:
    """SpeechSynthesizer on Microsoft Edge's online voices through edge-tts."""

    def __init__(
        self,
        *,
        phonemize_word: WordPhonemizer,
        endpoint_url: str = "",
        timeout_s: float = 8.0,
        voice_list_ttl_s: float = VOICE_LIST_TTL_S,
        voice_list_retry_s: float = VOICE_LIST_RETRY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._endpoint = EdgeEndpoint.parse(endpoint_url)
        self._phonemize_word = phonemize_word
        self._timeout_s = timeout_s
        self._voice_list_ttl_s = voice_list_ttl_s
        self._voice_list_retry_s = voice_list_retry_s
        self._clock = clock
        self._voices: list[VoiceInfo] | None = None
        self._voices_expire_at = 0.0
        self._voices_lock = asyncio.Lock()

    @property
    def engine(self) -> str:
        """The engine name, "edge", in media keys, metrics and health."""
        return ENGINE

    @property
    def engine_version(self) -> str:
        """The edge-tts version: a new release means new media keys."""
        return f"edge-tts {edge_tts.__version__}"

    @property
    def endpoint(self) -> EdgeEndpoint | None:
        """The overriding endpoint, or None when requests go to Microsoft."""
        return self._endpoint

    @staticmethod
    def validate(settings: VoiceSettings) -> None:
        """Raise ValueError with edge-tts's own message if it would reject these settings."""
        try:
            TTSConfig(settings.voice, settings.rate, settings.volume, settings.pitch, "WordBoundary")
        except TypeError as error:
            raise ValueError(str(error)) from error

    def communicate(self, text: str, settings: VoiceSettings) -> edge_tts.Communicate:
        """A configured edge-tts request (one use); exposed so benchmarks can time the raw stream."""
        seconds = max(1, math.ceil(self._timeout_s))
        return edge_tts.Communicate(
            text,
            settings.voice,
            rate=settings.rate,
            volume=settings.volume,
            pitch=settings.pitch,
            boundary="WordBoundary",
            connector=self._connector(),
            connect_timeout=seconds,
            receive_timeout=seconds,
        )

    async def synthesize(self, text: str, settings: VoiceSettings) -> SpokenAudio:
        """Stream the synthesis from Edge within one deadline, keeping its word boundaries; timings and
        visemes are measured in a thread. Any failure is a ProviderError."""
        if not text.strip():
            raise ProviderError(ENGINE, ProviderCategory.INVALID_REQUEST, "empty text", retryable=False)
        try:
            request = self.communicate(text, settings)
        except ValueError as error:  # edge-tts's word on a voice, rate, volume or pitch (a TypeError is ours)
            raise ProviderError(
                ENGINE, ProviderCategory.INVALID_REQUEST, str(error), retryable=False
            ) from error
        audio = bytearray()
        boundaries: list[Boundary] = []
        try:
            async with deadline(self._timeout_s), aclosing(request.stream()) as stream:
                async for chunk in stream:
                    if chunk["type"] == "audio":
                        audio += chunk.get("data", b"")
                    elif chunk["type"] == "WordBoundary":
                        start = chunk.get("offset", 0) / TICKS_PER_SECOND
                        end = start + chunk.get("duration", 0) / TICKS_PER_SECOND
                        boundaries.append(Boundary(chunk.get("text", ""), start, end))
        except asyncio.TimeoutError as error:
            raise ProviderError(
                ENGINE,
                ProviderCategory.TIMEOUT,
                f"no complete reply within {self._timeout_s:g} s ({len(audio)} bytes of audio so far)",
                retryable=True,
            ) from error
        except PROGRAMMING_ERRORS:
            raise  # a bug (ours, or edge-tts's parsing of a reply it mis-indexes), not an outage
        except Exception as error:
            raise classify_error(error) from error
        if request.state.get("cumulative_audio_bytes") != len(audio):
            # edge-tts ends its loop quietly when the socket closes; only turn.end moves the received
            # bytes into cumulative_audio_bytes, so a shortfall means the stream was cut off.
            raise ProviderError(
                ENGINE,
                ProviderCategory.CONNECTIVITY,
                f"connection closed mid-stream after {len(audio)} bytes of audio",
                retryable=True,
            )
        mp3 = bytes(audio)
        word_timings, visemes, duration = await asyncio.to_thread(self._measure, text, boundaries, mp3)
        return SpokenAudio(
            mp3=mp3,
            duration_s=round(duration, 3),
            word_timings=tuple(word_timings),
            visemes=tuple(visemes),
            engine=ENGINE,
            voice=settings.voice,
        )

    async def list_voices(self) -> list[VoiceInfo]:
        """Edge's voices: live (cached for hours) or, when the list can't be fetched, the bundled snapshot
        marked ``source="snapshot"`` and ``available=False`` (retried after a minute)."""
        async with self._voices_lock:
            if self._voices is not None and self._clock() < self._voices_expire_at:
                return list(self._voices)
            try:
                async with deadline(self._timeout_s):
                    raw = await edge_tts.list_voices(connector=self._connector())
                voices = [_voice_info(v, source="live", available=True) for v in raw]
                ttl = self._voice_list_ttl_s
            except Exception as error:  # noqa: BLE001 - any failure of the live list serves the bundled snapshot
                problem = classify_error(error)
                logger.warning("edge voice list unavailable, serving the bundled snapshot: %s", problem)
                voices = await asyncio.to_thread(load_voice_snapshot)
                ttl = self._voice_list_retry_s
            self._voices = voices
            self._voices_expire_at = self._clock() + ttl
            return list(voices)

    def _connector(self) -> aiohttp.BaseConnector | None:
        return None if self._endpoint is None else EndpointConnector(self._endpoint)

    def _measure(
        self, text: str, boundaries: Sequence[Boundary], mp3: bytes
    ) -> tuple[list[WordTiming], list[VisemeTiming], float]:
        duration = mp3_duration_s(mp3)
        words = map_boundaries_to_words(text, boundaries, duration)
        return words, words_to_visemes(words, self._phonemize_word, duration), duration


def classify_error(error: BaseException) -> ProviderError:
    """Translate an edge-tts / aiohttp exception into a ProviderError (see the module docstring)."""
    if isinstance(error, ProviderError):
        return error
    category, retryable = _category_of(error)
    if isinstance(error, aiohttp.ClientResponseError):  # its str() repeats the URL with the DRM token
        message = f"HTTP {error.status} {error.message}"
    else:
        message = str(error) or type(error).__name__
    return ProviderError(ENGINE, category, f"{type(error).__name__}: {message}", retryable=retryable)


def _category_of(error: BaseException) -> tuple[ProviderCategory, bool]:
    if isinstance(error, (TimeoutError, asyncio.TimeoutError)):  # our deadline, aiohttp's socket timeouts
        return ProviderCategory.TIMEOUT, True
    if isinstance(error, NoAudioReceived):
        return ProviderCategory.NO_AUDIO, True
    if isinstance(error, SkewAdjustmentError):
        return ProviderCategory.AUTH, False
    if isinstance(error, aiohttp.ClientResponseError):  # includes WSServerHandshakeError
        return _category_of_status(error.status)
    if isinstance(error, aiohttp.ClientConnectorError | aiohttp.ServerDisconnectedError | WebSocketError):
        return ProviderCategory.CONNECTIVITY, True
    if isinstance(error, aiohttp.ClientError | ConnectionError | OSError):
        return ProviderCategory.CONNECTIVITY, True
    if isinstance(error, UnexpectedResponse | UnknownResponse | json.JSONDecodeError):
        return ProviderCategory.SERVER, False
    if isinstance(error, ValueError):
        return ProviderCategory.INVALID_REQUEST, False
    return ProviderCategory.UNKNOWN, False


def _category_of_status(status: int) -> tuple[ProviderCategory, bool]:
    if status in (401, 403):
        return ProviderCategory.AUTH, False
    if status == 429:
        return ProviderCategory.RATE_LIMIT, True
    if status >= 500:
        return ProviderCategory.SERVER, True
    return ProviderCategory.INVALID_REQUEST, False


def mp3_duration_s(mp3: bytes) -> float:
    """Play length of the MP3 from its frame headers; Edge's 48 kbps CBR arithmetic if they don't parse."""
    try:
        duration = decoded_duration_s(mp3)
    except ValueError:
        duration = 0.0
    return duration or len(mp3) * 8 / EDGE_MP3_BITRATE_BPS


def _voice_info(raw: Any, *, source: str, available: bool) -> VoiceInfo:
    return VoiceInfo(
        name=str(raw["Name"]),
        short_name=str(raw["ShortName"]),
        gender=str(raw["Gender"]),
        locale=str(raw["Locale"]),
        engine=ENGINE,
        available=available,
        source=source,
    )


def load_voice_snapshot() -> list[VoiceInfo]:
    """The bundled subset of Edge's voice list, marked as a snapshot and not usable now."""
    raw = json.loads(resources.files("interviewai").joinpath("resources/edge_voices.json").read_text("utf-8"))
    return [_voice_info(v, source="snapshot", available=False) for v in raw["voices"]]


# Re-exported: callers build their word phonemizer and test the alignment through this module.
__all__ = [
    "ENGINE",
    "Boundary",
    "EdgeEndpoint",
    "EdgeSynthesizer",
    "EndpointConnector",
    "TextPhonemizer",
    "WordPhonemizer",
    "classify_error",
    "load_voice_snapshot",
    "map_boundaries_to_words",
    "mp3_duration_s",
    "word_phonemizer",
    "words_to_visemes",
]
