"""An OpenAI-compatible chat-completions client over httpx, asking for JSON by schema, every failure classified.

What it sends: ``POST {LLM_API_URL}/chat/completions`` (the URL is the API's base, ``.../v1`` included, as
OpenAI's own clients take it) with ``Authorization: Bearer <LLM_API_KEY>`` (no header when the key is
empty, for local servers), ``model``, ``messages``, ``max_tokens``, ``temperature`` and
``response_format: {"type": "json_schema", "json_schema": {"name", "schema", "strict": true}}``. OpenAI,
vLLM, Ollama and llama.cpp's server (xllamacpp) accept that shape; ``max_tokens`` rather than
``max_completion_tokens`` because the self-hosted servers read the former.

What it returns: a :class:`JsonReply` whose ``data`` is ``choices[0].message.content`` parsed as a JSON
object. It is not checked against the schema (a provider may ignore ``response_format``): callers validate.

Deadline: one overall deadline per call (``timeout_s``, default ``LLM_TIMEOUT_S``) covers the wait for a
connection from the pool (``LLM_MAX_PARALLEL`` at once), every attempt and the pause between them.

Retries: one, only for transient failures (5xx, a 2xx body that is not JSON, connection errors, a timeout of
one phase), and for 429 and 408 only when the server's Retry-After (or a short pause when it sent none)
still fits in the deadline. Never for other 4xx, nor for a reply whose content is unusable: asked the same
thing, a model tends to answer the same way, and the caller has a fallback.

Failure classification (every exception is an :class:`LlmError`, a ``ProviderError`` with provider ``"llm"``):

==========================================================  ===============  =========
what happened                                               category         retryable
==========================================================  ===============  =========
401, 403                                                    auth             no
402; 429 with code ``insufficient_quota``                   quota            no
429 (``retry_after_s`` from Retry-After when sent)          rate_limit       yes
408                                                         timeout          yes
400, 404 (unknown model), 422, other 4xx                    invalid_request  no
5xx, JSON or not                                            server           yes
2xx whose body is not JSON                                  server           yes
2xx JSON without ``choices[0].message``                     server           no
content not a JSON object, ``finish_reason: length``,       invalid_output   no
a ``refusal``, empty content
connection refused or reset, DNS failure                    connectivity     yes
a phase timeout or the overall deadline                     timeout          yes
a bad LLM_API_URL                                           invalid_request  no
==========================================================  ===============  =========
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from interviewai.adapters.http_errors import category_of_exception, category_of_status, retry_after_s, snippet
from interviewai.deadlines import deadline
from interviewai.domain.chat import ChatMessage, JsonReply
from interviewai.domain.errors import ProviderCategory, ProviderError

PROVIDER = "llm"
# OpenAI's rule for json_schema names; checked here so a bad name fails before any network.
_SCHEMA_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# The pause before the one retry when the server named none (scaled by a random factor in [1, 2)).
RETRY_PAUSE_S = 0.25
CONNECT_TIMEOUT_S = 5.0

logger = logging.getLogger(__name__)


class LlmError(ProviderError):
    """A chat-model failure; ``status`` is the HTTP status (None when no answer came) and ``code`` the
    provider's error code (OpenAI's ``error.code``, e.g. ``invalid_api_key``), when it sent one."""

    def __init__(
        self,
        category: ProviderCategory,
        message: str,
        *,
        retryable: bool,
        status: int | None = None,
        code: str | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(PROVIDER, category, message, retryable=retryable, retry_after_s=retry_after_s)
        self.status = status
        self.code = code


class OpenAiChatModel:
    """ChatModel for any OpenAI-compatible ``/v1/chat/completions``; close it with :meth:`aclose`."""

    def __init__(
        self,
        api_url: str,
        model: str,
        *,
        api_key: str = "",
        timeout_s: float = 20.0,
        max_parallel: int = 4,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        parts = httpx.URL(api_url)
        if parts.scheme not in ("http", "https") or not parts.host:
            raise ValueError(f"must be an http:// or https:// URL, got {api_url!r}")
        if not model:
            raise ValueError("a model name is needed")
        self._base = api_url.rstrip("/")
        self._model = model
        self._timeout_s = timeout_s
        headers = {"Accept": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._client = httpx.AsyncClient(
            headers=headers,
            # Phase timeouts are backstops; the overall deadline of each call is what binds.
            timeout=httpx.Timeout(timeout_s, connect=min(CONNECT_TIMEOUT_S, timeout_s)),
            limits=httpx.Limits(max_connections=max_parallel, max_keepalive_connections=max_parallel),
            follow_redirects=False,
            transport=transport,
        )

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()

    @property
    def model_name(self) -> str:
        """The model named in every request (LLM_MODEL)."""
        return self._model

    @property
    def api_url(self) -> str:
        """The base URL requests go to (ends before /chat/completions)."""
        return self._base

    async def complete_json(
        self,
        messages: Sequence[ChatMessage],
        schema: Mapping[str, Any],
        *,
        schema_name: str,
        max_tokens: int,
        timeout_s: float | None = None,
        temperature: float = 0.0,
    ) -> JsonReply:
        """See :class:`interviewai.domain.ports.ChatModel`."""
        if not _SCHEMA_NAME.match(schema_name):
            raise LlmError(
                ProviderCategory.INVALID_REQUEST,
                f"schema name {schema_name!r} must be 1-64 letters, digits, '_' or '-'",
                retryable=False,
            )
        body = {
            "model": self._model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": max_tokens,
            "temperature": temperature,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": schema_name, "schema": dict(schema), "strict": True},
            },
        }
        budget = self._timeout_s if timeout_s is None else timeout_s
        loop = asyncio.get_running_loop()
        started = loop.time()
        ends = started + budget
        attempt = 1
        try:
            async with deadline(budget):
                while True:
                    try:
                        data = await self._request("POST", "/chat/completions", body)
                        return _reply(data, elapsed_s=loop.time() - started, attempts=attempt)
                    except LlmError as error:
                        pause = _retry_pause(error, attempt, ends - loop.time())
                        if pause is None:
                            raise
                        logger.info("chat completion failed (%s); retrying in %.2f s", error, pause)
                        await asyncio.sleep(pause)
                        attempt += 1
        except (asyncio.TimeoutError, TimeoutError) as error:
            raise LlmError(
                ProviderCategory.TIMEOUT,
                f"no reply within {budget:g} s ({attempt} attempt{'s' if attempt > 1 else ''})",
                retryable=True,
            ) from error

    async def models(self, *, timeout_s: float | None = None) -> list[str]:
        """The ids ``GET /models`` lists (a cheap probe of URL and key)."""
        budget = self._timeout_s if timeout_s is None else timeout_s
        try:
            async with deadline(budget):
                data = await self._request("GET", "/models", None)
        except (asyncio.TimeoutError, TimeoutError) as error:
            raise LlmError(
                ProviderCategory.TIMEOUT, f"GET /models: no reply within {budget:g} s", retryable=True
            ) from error
        entries = data.get("data")
        if not isinstance(entries, list):
            raise LlmError(ProviderCategory.SERVER, "GET /models: no 'data' list", retryable=False)
        return [e["id"] for e in entries if isinstance(e, dict) and isinstance(e.get("id"), str)]

    async def _request(self, method: str, path: str, body: Mapping[str, Any] | None) -> Mapping[str, Any]:
        context = f"{method} {path}"
        try:
            response = await self._client.request(method, self._base + path, json=body)
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            category, retryable = category_of_exception(error)
            raise LlmError(
                category, f"{context}: {type(error).__name__}: {error}", retryable=retryable
            ) from error
        if not response.is_success:
            raise _status_error(response, context)
        try:
            data = response.json()
        except ValueError as error:  # JSONDecodeError and UnicodeDecodeError
            raise LlmError(
                ProviderCategory.SERVER,
                f"{context}: HTTP {response.status_code} with a body that is not JSON: "
                f"{snippet(response.text)!r}",
                retryable=True,
                status=response.status_code,
            ) from error
        if not isinstance(data, dict):
            raise LlmError(
                ProviderCategory.SERVER, f"{context}: the body is not a JSON object", retryable=False
            )
        return data


def _retry_pause(error: LlmError, attempt: int, remaining_s: float) -> float | None:
    """How long to wait before the one retry, or None when this failure is not retried."""
    if attempt > 1 or not error.retryable or error.category is ProviderCategory.INVALID_OUTPUT:
        return None
    pause = error.retry_after_s if error.retry_after_s is not None else RETRY_PAUSE_S * (1 + random.random())
    # Waiting only to be cut off by the deadline helps nobody: fail now with what the server said.
    if pause >= remaining_s:
        return None
    return pause


def _status_error(response: httpx.Response, context: str) -> LlmError:
    status = response.status_code
    code, message = _describe(response)
    category, retryable = category_of_status(status)
    if status == 429 and code == "insufficient_quota":
        category, retryable = ProviderCategory.QUOTA, False
    wait = retry_after_s(response.headers.get("Retry-After"))
    text = f"{context}: HTTP {status}" + (f" {code}" if code else "") + (f": {message}" if message else "")
    if wait is not None:
        text += f" (retry after {wait:g} s)"
    return LlmError(category, text, retryable=retryable, status=status, code=code, retry_after_s=wait)


def _describe(response: httpx.Response) -> tuple[str | None, str]:
    """OpenAI's ``{"error": {"message", "type", "code"}}`` (or a bare message), else the body's start."""
    try:
        body = response.json()
    except ValueError:
        return None, snippet(response.text)
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code = error.get("code")
        kind = error.get("type")
        label = code if isinstance(code, str) and code else kind if isinstance(kind, str) else None
        message = error.get("message")
        return label, snippet(message if isinstance(message, str) else "")
    if isinstance(error, str):
        return None, snippet(error)
    return None, snippet(response.text)


def _reply(data: Mapping[str, Any], *, elapsed_s: float, attempts: int) -> JsonReply:
    choices = data.get("choices")
    first = choices[0] if isinstance(choices, list) and choices else None
    message = first.get("message") if isinstance(first, dict) else None
    if not isinstance(first, dict) or not isinstance(message, dict):
        raise LlmError(ProviderCategory.SERVER, "reply without choices[0].message", retryable=False)
    finish_reason = first.get("finish_reason")
    finish = finish_reason if isinstance(finish_reason, str) else ""
    content = message.get("content")
    refusal = message.get("refusal")

    def unusable(problem: str) -> LlmError:
        return LlmError(ProviderCategory.INVALID_OUTPUT, problem, retryable=False)

    if isinstance(refusal, str) and refusal:
        raise unusable(f"the model refused: {snippet(refusal)!r}")
    if not isinstance(content, str) or not content.strip():
        raise unusable("the reply has no content")
    if finish == "length":
        raise unusable(f"the reply was cut off at max_tokens: {snippet(content)!r}")
    try:
        parsed = json.loads(content)
    except ValueError:
        raise unusable(f"the content is not JSON: {snippet(content)!r}") from None
    if not isinstance(parsed, dict):
        raise unusable(f"the content is JSON but not an object: {snippet(content)!r}")
    usage = data.get("usage")
    model = data.get("model")
    return JsonReply(
        data=parsed,
        text=content,
        model=model if isinstance(model, str) else "",
        finish_reason=finish,
        prompt_tokens=_count(usage, "prompt_tokens"),
        completion_tokens=_count(usage, "completion_tokens"),
        elapsed_s=elapsed_s,
        attempts=attempts,
    )


def _count(usage: object, key: str) -> int | None:
    value = usage.get(key) if isinstance(usage, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


__all__ = ["PROVIDER", "LlmError", "OpenAiChatModel"]
