"""D-ID's errors: the :class:`DidError` tree and the classification of every answer and exception.

Failure classification (every exception is a :class:`DidError`, a ``ProviderError`` with provider
``"d-id"``):

=====================================================  ===============  =========
what happened                                          category         retryable
=====================================================  ===============  =========
401 (``AuthorizationError`` or gateway ``message``)    auth             no
403 (``PermissionError`` or gateway ``Message``)       auth             no
402 ``InsufficientCreditsError``                       quota            no
429, with or without Retry-After                       rate_limit       yes
451 moderation, 400, 404, 409, 415, other 4xx          invalid_request  no
408                                                    timeout          yes
5xx, JSON or not (HTML gateway pages)                  server           yes
2xx with a body that is not JSON                       server           yes
2xx JSON without the fields we need                    server           no
connection refused, DNS failure, connection reset      connectivity     yes
a phase timeout or the overall deadline                timeout          yes
clip ``rejected``                                      invalid_request  no
clip ``error`` of kind Source/Face/Logo/Driver/...     invalid_request  no
clip ``error`` of any other kind (``UnknownError``)    server           yes
download: result link expired (S3 403 "Request has     invalid_request  no
expired" or ``ExpiredToken``): :class:`DidLinkExpired`
download: other 4xx (bad signature, no such key)       invalid_request  no
=====================================================  ===============  =========

An expired link is not an auth failure of our key: D-ID is fine, that one URL is dead (fetch the clip
again, or render again), so it must not switch the service to audio-only.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from interviewai.adapters.http_errors import (
    category_of_exception,
    category_of_status,
    retry_after_s,
    snippet,
)
from interviewai.domain.avatar import ClipStatus
from interviewai.domain.errors import ProviderCategory, ProviderError

PROVIDER = "d-id"
# Asynchronous error kinds that say the input (image, audio, driver, logo) is at fault: rendering the
# same request again fails the same way.
_INPUT_ERROR_KINDS = frozenset(
    {"SourceError", "FaceError", "LogoError", "DriverError", "DriverNotValidError"}
)


class DidError(ProviderError):
    """A D-ID failure, with what the answer said.

    ``status`` is the HTTP status (None when no answer came), ``kind`` D-ID's error kind (or S3's error
    code for links; None for bodies without one), ``retry_after_s`` the server's Retry-After in seconds
    (None when it sent none) and ``clip_id`` the clip concerned, when there is one.
    """

    def __init__(
        self,
        category: ProviderCategory,
        message: str,
        *,
        retryable: bool,
        status: int | None = None,
        kind: str | None = None,
        retry_after_s: float | None = None,
        clip_id: str | None = None,
        job_ended: bool = False,
    ) -> None:
        super().__init__(PROVIDER, category, message, retryable=retryable, job_ended=job_ended)
        self.status = status
        self.kind = kind
        self.retry_after_s = retry_after_s
        self.clip_id = clip_id


class DidLinkExpired(DidError):
    """A result or idle-video link whose signature has expired; fetch a fresh link or render again."""


def response_error(response: httpx.Response, context: str, *, clip_id: str | None = None) -> DidError:
    """The DidError for a non-2xx answer to an API call, classified by status and D-ID's error kind (see the
    table above), with Retry-After kept."""
    status = response.status_code
    kind, description = describe(response)
    category, retryable = category_of_status(status)
    retry_after = retry_after_s(response.headers.get("Retry-After"))
    message = f"{context}: HTTP {status}"
    if kind:
        message += f" {kind}"
    if description:
        message += f": {description}"
    if retry_after is not None:
        message += f" (retry after {retry_after:g} s)"
    return DidError(
        category,
        message,
        retryable=retryable,
        status=status,
        kind=kind,
        retry_after_s=retry_after,
        clip_id=clip_id,
    )


def download_error(response: httpx.Response, shown_url: str) -> DidError:
    """The DidError for a failed download of a result or idle video; an expired link is a DidLinkExpired, not
    an auth failure. `shown_url` is the URL without its signature."""
    status = response.status_code
    kind, description = describe(response)
    if status == 403 and (kind == "ExpiredToken" or "expired" in description.lower()):
        return DidLinkExpired(
            ProviderCategory.INVALID_REQUEST,
            f"download {shown_url}: the link has expired (HTTP 403 {kind}: {description}); "
            "fetch the clip again for a fresh link or render it again",
            retryable=False,
            status=status,
            kind=kind,
        )
    if 400 <= status < 500 and status not in (408, 429):
        # The link is refused (bad signature, gone), not our API key: a link problem, not auth.
        category, retryable = ProviderCategory.INVALID_REQUEST, False
    else:
        category, retryable = category_of_status(status)
    retry_after = retry_after_s(response.headers.get("Retry-After"))
    said = " ".join(part for part in (kind, description) if part)
    return DidError(
        category,
        f"download {shown_url}: HTTP {status}" + (f" {said}" if said else ""),
        retryable=retryable,
        status=status,
        kind=kind,
        retry_after_s=retry_after,
    )


def exception_error(error: Exception, context: str, *, clip_id: str | None = None) -> DidError:
    """The DidError for an exception raised while doing `context` (connect, timeout, protocol), classified by
    its type."""
    category, retryable = category_of_exception(error)
    detail = str(error) or type(error).__name__
    return DidError(
        category, f"{context}: {type(error).__name__}: {detail}", retryable=retryable, clip_id=clip_id
    )


def clip_failed(status: ClipStatus, kind: str | None) -> DidError:
    """The DidError for a clip that ended rejected or in error: input at fault (moderation, face, source) is
    permanent, anything else retryable."""
    input_at_fault = kind is not None and (kind in _INPUT_ERROR_KINDS or kind.endswith("ModerationError"))
    if status.status == "rejected" or input_at_fault:
        category, retryable = ProviderCategory.INVALID_REQUEST, False
    else:
        category, retryable = ProviderCategory.SERVER, True
    return DidError(
        category,
        f"clip {status.clip_id} ended {status.status}: {status.error or 'no reason given'}",
        retryable=retryable,
        kind=kind,
        clip_id=status.clip_id,
        job_ended=True,
    )


def bad_shape(context: str, problem: str) -> DidError:
    """The DidError for a 2xx answer without the fields we need (permanent: asking again gets the same)."""
    return DidError(ProviderCategory.SERVER, f"{context}: unexpected answer ({problem})", retryable=False)


_XML_FIELD = re.compile(r"<(Code|Message)>(.*?)</\1>", re.DOTALL)
_TITLE = re.compile(r"<title>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def describe(response: httpx.Response) -> tuple[str | None, str]:
    """D-ID's error kind (or S3's code) and a short description, whatever shape the body has:
    ``{kind, description}``, gateway ``{message}``/``{Message}``, S3 XML, an HTML page or plain text."""
    text = response.text
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict):
        kind = text_or_none(body.get("kind"))
        description = next(
            (v for key in ("description", "message", "Message") if (v := text_or_none(body.get(key)))), ""
        )
        if kind or description:
            return kind, snippet(description)
    stripped = text.lstrip()
    if stripped.startswith("<"):
        fields = dict(_XML_FIELD.findall(stripped))
        if fields:
            return fields.get("Code"), snippet(fields.get("Message", ""))
        title = _TITLE.search(stripped)
        if title:
            return None, snippet(title.group(1))
        return None, snippet(_TAG.sub(" ", stripped))
    return None, snippet(text)


def text_or_none(value: Any) -> str | None:
    """`value` when it is a non-empty string, else None (for fields of D-ID's JSON that may be anything)."""
    return value if isinstance(value, str) and value else None
