"""How the HTTP adapters (D-ID, the chat model) classify statuses, httpx errors and Retry-After."""

from __future__ import annotations

import email.utils
import time
from datetime import timezone

import httpx

from interviewai.domain.errors import ProviderCategory

SNIPPET_CHARS = 200


def category_of_status(status: int) -> tuple[ProviderCategory, bool]:
    """(category, retryable) of a non-2xx status."""
    if status in (401, 403):
        return ProviderCategory.AUTH, False
    if status == 402:
        return ProviderCategory.QUOTA, False
    if status == 429:
        return ProviderCategory.RATE_LIMIT, True
    if status == 408:
        return ProviderCategory.TIMEOUT, True
    if status >= 500:
        return ProviderCategory.SERVER, True
    if status >= 400:
        return ProviderCategory.INVALID_REQUEST, False
    return ProviderCategory.UNKNOWN, False  # a redirect or 1xx where an answer was expected


def category_of_exception(error: Exception) -> tuple[ProviderCategory, bool]:
    """(category, retryable) of an httpx exception (anything else is unknown and final)."""
    if isinstance(error, httpx.TimeoutException):
        return ProviderCategory.TIMEOUT, True
    if isinstance(error, httpx.ConnectError | httpx.NetworkError | httpx.RemoteProtocolError):
        return ProviderCategory.CONNECTIVITY, True
    if isinstance(error, httpx.DecodingError):
        return ProviderCategory.SERVER, True
    if isinstance(error, httpx.TooManyRedirects):
        return ProviderCategory.SERVER, False
    if isinstance(error, httpx.UnsupportedProtocol | httpx.LocalProtocolError | httpx.InvalidURL):
        return ProviderCategory.INVALID_REQUEST, False  # a bad configured URL or link
    if isinstance(error, httpx.TransportError):
        return ProviderCategory.CONNECTIVITY, True
    return ProviderCategory.UNKNOWN, False


def retry_after_s(value: str | None) -> float | None:
    """Retry-After in seconds from now: delta-seconds or an HTTP date; None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - time.time())


def snippet(text: str) -> str:
    """`text` on one line, cut to SNIPPET_CHARS, for error messages."""
    collapsed = " ".join(text.split())
    return collapsed if len(collapsed) <= SNIPPET_CHARS else collapsed[: SNIPPET_CHARS - 1] + "…"
