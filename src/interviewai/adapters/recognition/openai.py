"""Any OpenAI-compatible transcription endpoint (`POST {STT_API_URL}/audio/transcriptions`) over httpx.

The request is the one OpenAI documents: multipart with `file` (we send 16 kHz mono WAV), `model`,
`language=en`, `response_format=verbose_json`, `timestamp_granularities[]=word` and an optional `prompt`.
The reply's `words` give the times; OpenAI gives no per-word confidence, so a word gets its segment's
`exp(avg_logprob)` when segments are there (a self-hosted server may send `probability` per word: used as is).
Every failure leaves as a ProviderError with a category, so failover can take the next engine.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import httpx

from interviewai.domain.errors import ProviderCategory, ProviderError
from interviewai.domain.recognition import PcmAudio, RecognizedWord, Transcript

ENGINE = "openai"


class OpenAiRecognizer:
    """SpeechRecognizer on an OpenAI-compatible `/audio/transcriptions`; `as_wav` encodes the PCM."""

    def __init__(
        self,
        api_url: str,
        api_key: str,
        model: str,
        *,
        as_wav: Callable[[PcmAudio], bytes],
        timeout_s: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._url = api_url.rstrip("/") + "/audio/transcriptions"
        self._model = model
        self._as_wav = as_wav
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=min(5.0, timeout_s)),
            transport=transport,
        )

    @property
    def engine(self) -> str:
        """The engine name, "openai", in transcripts, metrics and health."""
        return ENGINE

    @property
    def model(self) -> str:
        """The model named in each request (STT_MODEL)."""
        return self._model

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()

    async def transcribe(self, audio: PcmAudio, prompt: str = "") -> Transcript:
        """POST the audio as a WAV file to the transcription endpoint (verbose JSON with word times, the last
        400 characters of `prompt`); every failure becomes a ProviderError."""
        fields = {"model": self._model, "language": "en", "response_format": "verbose_json",
                  "timestamp_granularities[]": "word"}  # fmt: skip
        if prompt:
            fields["prompt"] = prompt[-400:]
        files = {"file": ("answer.wav", self._as_wav(audio), "audio/wav")}
        try:
            response = await self._client.post(self._url, data=fields, files=files)
        except httpx.TimeoutException as exc:
            raise ProviderError(
                ENGINE, ProviderCategory.TIMEOUT, f"timed out: {exc!r}", retryable=True
            ) from exc
        except httpx.HTTPError as exc:
            raise ProviderError(ENGINE, ProviderCategory.CONNECTIVITY, f"{exc!r}", retryable=True) from exc
        if response.status_code != 200:
            raise _status_error(response)
        # A reply that is not JSON, not an object with a text, or with a time that is not a number is the
        # endpoint's fault; a KeyError or TypeError while reading the rest is a bug of ours and stays itself
        # (the recognition service then fails over without counting it against this endpoint).
        try:
            body = response.json()
        except ValueError as exc:
            raise _unreadable(repr(exc)) from exc
        if not isinstance(body, dict) or not isinstance(body.get("text"), str):
            raise _unreadable("not a JSON object with a 'text'")
        try:
            return _transcript(body, audio.duration_s, self._model)
        except ValueError as exc:
            raise _unreadable(repr(exc)) from exc


def _unreadable(problem: str) -> ProviderError:
    return ProviderError(ENGINE, ProviderCategory.UNKNOWN, f"unreadable reply: {problem}", retryable=False)


def _status_error(response: httpx.Response) -> ProviderError:
    status = response.status_code
    try:
        message = str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        message = response.text[:200]
    if status in (401, 403):
        return ProviderError(ENGINE, ProviderCategory.AUTH, message, retryable=False)
    if status == 429:
        retry_after = response.headers.get("retry-after")
        return ProviderError(
            ENGINE, ProviderCategory.RATE_LIMIT, message, retryable=True,
            retry_after_s=float(retry_after) if retry_after and retry_after.isdigit() else None,
        )  # fmt: skip
    if status >= 500:
        return ProviderError(ENGINE, ProviderCategory.SERVER, f"{status}: {message}", retryable=True)
    return ProviderError(ENGINE, ProviderCategory.INVALID_REQUEST, f"{status}: {message}", retryable=False)


def _transcript(body: dict[str, Any], duration_s: float, model: str) -> Transcript:
    segments = body.get("segments") or []
    words: list[RecognizedWord] = []
    for item in body.get("words") or []:
        text = str(item["word"]).strip()
        if not text:
            continue
        start = min(max(0.0, float(item["start"])), duration_s)
        end = min(max(start, float(item["end"])), duration_s)
        if "probability" in item:
            confidence = float(item["probability"])
        else:
            segment = next((s for s in segments if s["start"] <= start < s["end"] + 0.01), None)
            confidence = (
                math.exp(float(segment["avg_logprob"])) if segment and "avg_logprob" in segment else 1.0
            )
        words.append(
            RecognizedWord(text, round(start, 3), round(end, 3), round(min(max(confidence, 0.0), 1.0), 3))
        )
    return Transcript(str(body["text"]).strip(), tuple(words), round(duration_s, 3), ENGINE, model)
