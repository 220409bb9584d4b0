"""Chat-model types: the messages sent and the JSON object a model answers with (parsed, not trusted)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

ChatRole = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class ChatMessage:
    """One turn of a conversation. Put a candidate's words in a user message as quoted data, never in
    the system message."""

    role: ChatRole
    content: str


@dataclass(frozen=True)
class JsonReply:
    """What a chat model answered to a JSON-schema request.

    ``data`` is the parsed JSON object and has NOT been checked against the schema: a provider may
    ignore the response format, and a small model's values are not to be believed; callers validate
    every field they use. ``model`` is the model that answered, as the provider named it.
    """

    data: Mapping[str, Any]
    text: str
    model: str
    finish_reason: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    elapsed_s: float = 0.0
    attempts: int = 1
