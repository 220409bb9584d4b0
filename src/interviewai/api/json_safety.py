"""JSON that can be echoed safely: short excerpts of client input, and checks for non-finite numbers and
lone surrogates (which Python's parser accepts but JSON text and UTF-8 cannot carry)."""

from __future__ import annotations

import json
import math
from typing import Any

# Validation errors quote at most this much of what the client sent.
EXCERPT_CHARS = 80


class NotPlainJson(ValueError):
    """The document holds NaN, an infinity (also from an overflowing literal like 1e400) or a lone surrogate."""


def excerpt(value: Any, limit: int = EXCERPT_CHARS) -> Any:
    """`value` itself when it is small and plain JSON; otherwise a short, ASCII-safe string excerpt of it."""
    try:
        check_plain_json(value)
        if len(json.dumps(value, ensure_ascii=False)) <= limit:
            return value
    except (NotPlainJson, TypeError, ValueError, RecursionError):
        pass
    try:
        text = json.dumps(value, ensure_ascii=True)
    except (TypeError, ValueError, RecursionError):
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_plain_json(document: Any) -> None:
    """Raise NotPlainJson unless every number is finite and every string (and key) is valid Unicode."""
    pending = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, float) and not math.isfinite(value):
            raise NotPlainJson(
                "numbers must be finite (NaN, Infinity and out-of-range values like 1e400 are not)"
            )
        if isinstance(value, str):
            _check_text(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                _check_text(str(key))
                pending.append(item)
        elif isinstance(value, list | tuple):
            pending.extend(value)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise NotPlainJson("text must be valid Unicode (a lone surrogate like \\ud800 is not)") from None
