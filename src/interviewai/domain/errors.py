"""Domain and provider errors, each with a stable machine-readable code."""

from __future__ import annotations

import enum


class DomainError(Exception):
    """A rule of the interview was broken by the caller; maps to a 4xx."""

    code = "domain_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SessionNotFound(DomainError):
    """No session has that id, or it was forgotten after expiring (HTTP 404)."""

    code = "session_not_found"


class SessionExpired(DomainError):
    """The session saw no activity for longer than the timeout; it takes nothing more (HTTP 404, code
    `expired`)."""

    code = "expired"


class SessionFinished(DomainError):
    """The session is completed or ended; it takes no more answers."""

    code = "session_finished"


class WrongQuestion(DomainError):
    """The answer names a question other than the current one (or its awaited follow-up) (HTTP 409)."""

    code = "wrong_question"


class ConcurrentUpdate(DomainError):
    """Another request changed the session first; the caller may retry."""

    code = "concurrent_update"


class MediaNotFound(DomainError):
    """No media is stored under that name (HTTP 404)."""

    code = "media_not_found"


class UnsafeBlobName(DomainError, ValueError):
    """A blob name that could escape the store (traversal, an absolute path); served as not found."""

    code = "media_not_found"


class UnsatisfiableRange(DomainError, ValueError):
    """The requested byte range covers none of the blob: it starts at or past the end, or is inverted (HTTP
    416). `size` is the blob's size when the store knows it (the 416 says it in `Content-Range`)."""

    code = "range_not_satisfiable"

    def __init__(self, name: str, first_byte: int, *, size: int | None = None) -> None:
        super().__init__(f"{name}: no bytes of the blob in the range starting at byte {first_byte}")
        self.name = name
        self.first_byte = first_byte
        self.size = size


class ProviderCategory(enum.Enum):
    """Why an outside provider failed, so failover can decide what to do next."""

    AUTH = "auth"
    INVALID_REQUEST = "invalid_request"
    RATE_LIMIT = "rate_limit"
    QUOTA = "quota"
    CONNECTIVITY = "connectivity"
    TIMEOUT = "timeout"
    NO_AUDIO = "no_audio"
    # The provider answered, but not with what was asked (a chat model's reply that is not a JSON object,
    # cut off at its token limit, or refused).
    INVALID_OUTPUT = "invalid_output"
    SERVER = "server"
    UNKNOWN = "unknown"
    # Not the provider at all: our own code failed inside its adapter (see PROGRAMMING_ERRORS). Never
    # counts against a provider's breaker or health; answered as a logged 500, not a 503.
    INTERNAL = "internal"


# Exceptions that mean our code is wrong (a bug), never that a provider failed. Adapters let them
# propagate as themselves instead of classifying them, so no breaker opens and video is not switched off
# over a bug: `except PROGRAMMING_ERRORS: raise` goes before an adapter's catch-all.
PROGRAMMING_ERRORS: tuple[type[Exception], ...] = (
    TypeError,
    LookupError,  # KeyError, IndexError
    AttributeError,
    AssertionError,
    NameError,
)


class ProviderError(Exception):
    """An outside system failed; adapters raise only this, never a library exception."""

    def __init__(
        self,
        provider: str,
        category: ProviderCategory,
        message: str,
        *,
        retryable: bool,
        job_ended: bool = False,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(f"{provider}: {category.value}: {message}")
        self.provider = provider
        self.category = category
        self.message = message
        self.retryable = retryable
        # The provider's job (e.g. a clip) ended without a result: resuming it is pointless.
        self.job_ended = job_ended
        # How long the provider asked us to wait (a 429's Retry-After), when it said.
        self.retry_after_s = retry_after_s


class UnsupportedAudio(DomainError):
    """The upload is not audio, or in a format the server does not take."""

    code = "unsupported_audio"


class UnreadableAudio(DomainError):
    """The upload claims a supported format but does not decode."""

    code = "unreadable_audio"


class NoSpeech(DomainError):
    """The recording decodes but nobody says anything in it; the candidate may simply try again."""

    code = "no_speech"


class AudioTooLong(DomainError):
    """The recording is longer than MAX_ANSWER_AUDIO_S (or larger than MAX_ANSWER_AUDIO_BYTES)."""

    code = "audio_too_long"


class RecordingNotFound(DomainError):
    """No kept recording for that question of that session."""

    code = "recording_not_found"


class StoreUnavailable(Exception):
    """The session or media store did not answer (locked, refused, dropped, timed out); maps to a 503.

    Adapters raise only this for database trouble, so callers never see a driver's exception.
    """

    code = "store_unavailable"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
