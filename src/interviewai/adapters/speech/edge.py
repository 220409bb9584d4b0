"""Edge online neural voice (edge-tts): MP3, word timings, visemes and classified failures.

How the timings are made:

* Word boundaries are requested explicitly (``boundary="WordBoundary"``). Each boundary's offset and
  duration (100-ns ticks) become a span in seconds.
* The service names words its own way (punctuation dropped, tokens occasionally split or merged), so
  spans are mapped back onto the words *as displayed* (``text.split()``): both sides are reduced to
  case-folded letters and digits, the two character streams are aligned with ``difflib``, and each
  display word takes the union of the parts of the boundaries whose characters it matched. A boundary
  matched by several display words is split between them in proportion to the matched characters.
  A display word that matched nothing (only punctuation, or spoken differently, e.g. "$5") gets an even
  share of the gap between its neighbours.
* Visemes: every display word is phonemized on its own with espeak (the offline voice's phonemizer),
  its phonemes are spread evenly over the word's span (``domain.visemes.spread_phonemes``: stress marks
  and length marks get no time of their own) and merged into shapes (``visemes_from_phonemes``). Time
  before the first word, between words and after the last word is ``sil``.
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

Failure classification (every exception becomes a ``ProviderError``):

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

A 403 is treated as permanent: edge-tts already retried once after correcting its clock skew, so a
second 403 means the DRM token is refused (edge-tts too old or blocked) and waiting seconds won't help.
"""

from __future__ import annotations

import asyncio
import difflib
import functools
import json
import logging
import math
import ssl
import time
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
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

from interviewai.adapters.speech.mp3 import decoded_duration_s
from interviewai.adapters.speech.piper_alignment import is_word_internal
from interviewai.deadlines import deadline
from interviewai.domain.errors import ProviderCategory, ProviderError
from interviewai.domain.speech import SpokenAudio, VisemeTiming, VoiceInfo, VoiceSettings, WordTiming
from interviewai.domain.visemes import TimedPhoneme, spread_phonemes, visemes_from_phonemes

if TYPE_CHECKING:
    from aiohttp.client_proto import ResponseHandler
    from aiohttp.client_reqrep import ClientRequest
    from aiohttp.tracing import Trace

ENGINE = "edge"
TICKS_PER_SECOND = 10_000_000
EDGE_MP3_BITRATE_BPS = 48_000
VOICE_LIST_TTL_S = 6 * 3600.0
VOICE_LIST_RETRY_S = 60.0
# Piper's pad symbol; any symbol without a mouth shape reads as silence.
_PAUSE = "_"

WordPhonemizer = Callable[[str], Sequence[str]]
"""Phonemes (espeak IPA, one symbol per item) of one display word; must be thread-safe."""


@runtime_checkable
class TextPhonemizer(Protocol):
    """Anything that phonemizes text per sentence the way the offline voice speaks it (PiperSynthesizer)."""

    def phonemize(self, text: str) -> list[list[str]]: ...


def word_phonemizer(phonemizer: TextPhonemizer, cache_size: int = 4096) -> WordPhonemizer:
    """Per-word phonemes from the offline voice's phonemizer: the word is normalized as the offline
    voice would say it ("AWS" -> "A-W-S"), punctuation and word gaps are dropped, results are cached."""

    @functools.lru_cache(maxsize=cache_size)
    def phonemize_word(word: str) -> tuple[str, ...]:
        return tuple(p for sentence in phonemizer.phonemize(word) for p in sentence if is_word_internal(p))

    return phonemize_word


_log = logging.getLogger(__name__)


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

    def close(self, *, abort_ssl: bool = False) -> Awaitable[None]:
        """Stay usable: edge-tts hands this connector to a second session when it retries after a 403,
        and the first session's exit would otherwise close it ("Session is closed"). With force_close
        no connection is ever pooled, and an in-use one is closed by the response holding it, so there
        is nothing to release here."""
        done: asyncio.Future[None] = self._loop.create_future()
        done.set_result(None)
        return done

    async def _create_connection(
        self, req: ClientRequest, traces: list[Trace], timeout: aiohttp.ClientTimeout
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


@dataclass(frozen=True)
class Boundary:
    """One WordBoundary event: the service's text for the word and its span in seconds."""

    text: str
    start: float
    end: float


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
        return ENGINE

    @property
    def engine_version(self) -> str:
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
        if not text.strip():
            raise ProviderError(ENGINE, ProviderCategory.INVALID_REQUEST, "empty text", retryable=False)
        try:
            request = self.communicate(text, settings)
        except (TypeError, ValueError) as error:
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
            except Exception as error:
                problem = classify_error(error)
                _log.warning("edge voice list unavailable, serving the bundled snapshot: %s", problem)
                voices = await asyncio.to_thread(load_voice_snapshot)
                ttl = self._voice_list_retry_s
            self._voices = voices
            self._voices_expire_at = self._clock() + ttl
            return list(voices)

    async def aclose(self) -> None:
        """Nothing to release: every request owns (and closes) its own aiohttp session."""

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
    if isinstance(error, UnexpectedResponse | UnknownResponse | json.JSONDecodeError | KeyError):
        return ProviderCategory.SERVER, False
    if isinstance(error, ValueError | TypeError):
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


def _normalize(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if ch.isalnum())


def map_boundaries_to_words(
    text: str, boundaries: Sequence[Boundary], end_s: float | None = None
) -> list[WordTiming]:
    """Name the boundaries' spans after the words as displayed in ``text`` (see the module docstring).

    Returns one timing per ``text.split()`` word, in order, monotonic (each starts at or after the
    previous one ends). Unmatched words after the last matched one share the time up to ``end_s``
    (the audio's end; without it they get no time), so with no boundaries at all the words are spread
    evenly over the audio.
    """
    words = text.split()
    if not words:
        return []
    word_chars: list[int] = []
    for index, word in enumerate(words):
        word_chars.extend([index] * len(_normalize(word)))
    boundary_chars: list[int] = []
    for index, boundary in enumerate(boundaries):
        boundary_chars.extend([index] * len(_normalize(boundary.text)))
    display_stream = "".join(_normalize(w) for w in words)
    spoken_stream = "".join(_normalize(b.text) for b in boundaries)

    # shares[b][w] = characters of boundary b matched to word w
    shares: list[dict[int, int]] = [{} for _ in boundaries]
    matcher = difflib.SequenceMatcher(None, display_stream, spoken_stream, autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            word_index = word_chars[block.a + k]
            boundary_index = boundary_chars[block.b + k]
            shares[boundary_index][word_index] = shares[boundary_index].get(word_index, 0) + 1

    spans: list[list[float] | None] = [None] * len(words)
    for boundary, share in zip(boundaries, shares, strict=True):
        total = sum(share.values())
        cursor = boundary.start
        for word_index in sorted(share):
            end = cursor + (boundary.end - boundary.start) * share[word_index] / total
            span = spans[word_index]
            if span is None:
                spans[word_index] = [cursor, end]
            else:
                span[0], span[1] = min(span[0], cursor), max(span[1], end)
            cursor = end
    return _fill_and_order(words, spans, end_s)


def _fill_and_order(
    words: Sequence[str], spans: Sequence[list[float] | None], end_s: float | None
) -> list[WordTiming]:
    """Give unmatched words an even share of the gap around them and make the spans monotonic."""
    timings: list[WordTiming] = []
    previous_end = 0.0
    index = 0
    while index < len(words):
        span = spans[index]
        if span is not None:
            start = max(span[0], previous_end)
            end = max(span[1], start)
            timings.append(WordTiming(words[index], round(start, 3), round(end, 3)))
            previous_end = end
            index += 1
            continue
        run_end = index
        while run_end < len(words) and spans[run_end] is None:
            run_end += 1
        following = spans[run_end] if run_end < len(words) else None
        if following is not None:
            gap_end = max(previous_end, following[0])
        else:
            gap_end = max(previous_end, end_s if end_s is not None else previous_end)
        step = (gap_end - previous_end) / (run_end - index)
        for offset, word in enumerate(words[index:run_end]):
            start = previous_end + offset * step
            timings.append(WordTiming(word, round(start, 3), round(start + step, 3)))
        previous_end = gap_end
        index = run_end
    return timings


def words_to_visemes(
    words: Sequence[WordTiming], phonemize_word: WordPhonemizer, duration_s: float
) -> list[VisemeTiming]:
    """Spread each word's phonemes over its span; silence before, between and after words."""
    timed: list[TimedPhoneme] = []
    cursor = 0.0
    for word in words:
        if word.start > cursor:
            timed.append(TimedPhoneme(_PAUSE, cursor, word.start))
        timed.extend(spread_phonemes(phonemize_word(word.word), word.start, word.end))
        cursor = max(cursor, word.end)
    if duration_s > cursor:
        timed.append(TimedPhoneme(_PAUSE, cursor, duration_s))
    return visemes_from_phonemes(timed)


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
