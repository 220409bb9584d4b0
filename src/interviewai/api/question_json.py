"""A question's response JSON without building its model: the spoken part encoded once per media key."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response
from pydantic_core import to_json

from interviewai.api.deps import UrlBuilder
from interviewai.api.presenters import completion_response, question_fields, spoken_values
from interviewai.api.schemas import CompletionResponse, QuestionResponse
from interviewai.domain.speech import SpokenAudio
from interviewai.services.interview import Completion, Delivery, QuestionDelivery
from interviewai.services.media import QuestionSpeech
from interviewai.services.memory_cache import BytesBoundedLru
from interviewai.services.video import PresenterAssets

_FIELD_NAMES = tuple(QuestionResponse.model_fields)
# Encoded JSON of the spoken part of a question, kept per speech content key (about 1.4x the MP3).
SPOKEN_JSON_CACHE_BYTES = 64 * 1024 * 1024


class QuestionEncoder:
    """The JSON of a QuestionResponse, byte for byte what the model would serialize, without building it.

    A question's spoken part (the base64 MP3, its timings and visemes: most of the bytes) is immutable per
    speech content key, so it is encoded once and kept (bounded by bytes); the few per-request fields are
    encoded with the same serializer (pydantic-core's) each time.
    """

    def __init__(self, max_bytes: int = SPOKEN_JSON_CACHE_BYTES) -> None:
        # Speech key -> (the audio encoded, its JSON): a blob produced again under its key (it was damaged)
        # is another audio object, so its JSON is encoded again.
        self._spoken: BytesBoundedLru[str, tuple[SpokenAudio, dict[str, bytes]]] = BytesBoundedLru(max_bytes)

    def encode(self, delivery: QuestionDelivery, urls: UrlBuilder, assets: PresenterAssets | None) -> bytes:
        """The question's response body as JSON bytes, fields in the model's order; the spoken part comes from
        the cache when this audio was encoded before."""
        values = question_fields(delivery, urls, assets)
        spoken = self._spoken_json(delivery.speech)
        parts = [
            b'"' + name.encode() + b'":' + (spoken[name] if name in spoken else to_json(values[name]))
            for name in _FIELD_NAMES
        ]
        return b"{" + b",".join(parts) + b"}"

    def _spoken_json(self, speech: QuestionSpeech) -> dict[str, bytes]:
        found = self._spoken.get(speech.key)
        if found is not None and found[0] is speech.audio:
            return found[1]
        encoded = {name: to_json(value) for name, value in spoken_values(speech.audio).items()}
        self._spoken.put(
            speech.key, (speech.audio, encoded), len(speech.audio.mp3) + sum(map(len, encoded.values()))
        )
        return encoded


async def get_question_encoder(request: Request) -> QuestionEncoder:
    """The app's one encoder (made by create_app, shared by every request of the process)."""
    encoder: QuestionEncoder = request.app.state.question_encoder
    return encoder


QuestionEncoderDep = Annotated[QuestionEncoder, Depends(get_question_encoder)]


def delivery_http_response(
    delivery: Delivery, urls: UrlBuilder, assets: PresenterAssets | None, encoder: QuestionEncoder
) -> Response | CompletionResponse:
    """A question as JSON bytes from `encoder` (no model validation on the hot path); a completion as its
    model, validated and serialized by FastAPI like any response."""
    if isinstance(delivery, Completion):
        return completion_response(delivery, urls)
    return Response(encoder.encode(delivery, urls, assets), media_type="application/json")
