"""The WebSocket protocol as AsyncAPI 3, built from the models of every message both ways (docs/asyncapi.yaml)."""

from __future__ import annotations

import sys
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from interviewai import __version__
from interviewai.api.answers_audio import SpokenCompletionResponse, SpokenQuestionResponse
from interviewai.api.report_schemas import QuestionFeedback, ReportReady
from interviewai.api.schemas import (
    AnswerRequest,
    CompletionResponse,
    EndResponse,
    QuestionResponse,
    StartResponse,
    StatusResponse,
)
from interviewai.api.speech_schemas import SpeechMetricsModel, TranscriptWordModel
from interviewai.api.ws_audio import AudioStart


class NoData(BaseModel):
    """No fields; `data` may be left out (the seed sends a bare `{"type": "start"}`)."""

    model_config = ConfigDict(extra="ignore")


class Timestamp(BaseModel):
    """A heartbeat's payload: a `pong` carries the timestamp of the `ping` it answers."""

    timestamp: float | int = Field(description="Milliseconds since the epoch; a pong echoes the ping's.")


class SessionInfo(StartResponse):
    """The session a socket is attached to, and where it stands (`resumed`: it existed before this socket)."""

    current_question: int
    answers_recorded: int
    resumed: bool


class VideoReady(BaseModel):
    """The clip of a question that was sent without one is ready."""

    question_id: int
    video_url: str


class WsError(BaseModel):
    """A refused message: the code and message an HTTP error body would carry."""

    code: str = Field(
        description="The stable code, as over HTTP (`wrong_question`, `validation_error`, ...)."
    )
    message: str
    detail: list[dict[str, Any]] | None = Field(None, description="validation_error only: each problem.")


class AudioStarted(BaseModel):
    """The server is receiving the spoken answer to `question_id`."""

    question_id: int
    format: str


class PartialTranscript(BaseModel):
    """What was heard so far, while the candidate speaks."""

    question_id: int
    text: str = Field(description="The committed text and the latest guess after it.")
    final: Literal[False]


class FinalTranscript(BaseModel):
    """After `answer_audio_end`: all that was heard, with the words and metrics (sent before the next step)."""

    question_id: int
    text: str
    final: Literal[True]
    transcript_words: list[TranscriptWordModel]
    speech_metrics: SpeechMetricsModel
    answer_audio_url: str | None = Field(description="The kept recording; null with KEEP_ANSWER_AUDIO=false.")


class AudioEnd(BaseModel):
    """The spoken answer is over: the final `transcript` and the next step follow (`question_id` is optional
    and only informative)."""

    model_config = ConfigDict(extra="ignore")

    question_id: int | None = None


# Every `type` the client may send, with the model of its `data` (websocket.KNOWN_TYPES must match).
CLIENT_MESSAGES: dict[str, type[BaseModel]] = {
    "start": NoData,
    "answer": AnswerRequest,
    "status": NoData,
    "end": NoData,
    "ping": Timestamp,
    "pong": Timestamp,
    "answer_audio_start": AudioStart,
    "answer_audio_end": AudioEnd,
}
# Every `type` the server sends, with the model of its `data` (or the models, any of which it is: the step
# after a spoken answer carries what was heard); a test finds each `_send("...")` here.
ServerData = type[BaseModel] | tuple[type[BaseModel], ...]
SERVER_MESSAGES: dict[str, ServerData] = {
    "session_info": SessionInfo,
    "question": (QuestionResponse, SpokenQuestionResponse),
    "complete": (CompletionResponse, SpokenCompletionResponse),
    "status": StatusResponse,
    "ping": Timestamp,
    "pong": Timestamp,
    "video_ready": VideoReady,
    "ended": EndResponse,
    "error": WsError,
    "answer_audio_started": AudioStarted,
    "transcript": (PartialTranscript, FinalTranscript),
    "feedback": QuestionFeedback,
    "report_ready": ReportReady,
}
_DESCRIPTIONS = {
    ("client", "start"): 'Ask for the current question (a bare `{"type": "start"}` works).',
    ("client", "answer"): "Answer the current question; the reply is the next `question` or `complete`.",
    ("client", "status"): "Ask where the session stands; the reply is `status`.",
    ("client", "end"): "End the session; the reply is `ended`, then the socket closes with 1000.",
    ("client", "ping"): "The reply is `pong` with the same timestamp.",
    ("client", "pong"): "The reply to the server's heartbeat `ping`.",
    ("client", "answer_audio_start"): "Start a spoken answer; binary frames of audio follow.",
    (
        "client",
        "answer_audio_end",
    ): "End the spoken answer; the reply is a final `transcript`, then the next step.",
    ("server", "session_info"): "Sent on connect: the session (new, or resumed with `?session_id=`).",
    (
        "server",
        "question",
    ): "A question with its audio, timings and visemes (the HTTP question object); after a "
    "spoken answer also what was heard, as the HTTP multipart answer's response.",
    (
        "server",
        "complete",
    ): "The completion after the last answer (the HTTP completion object); after a spoken "
    "answer also what was heard.",
    ("server", "status"): "The HTTP status object.",
    ("server", "ping"): "Heartbeat after `WS_HEARTBEAT_S` of silence.",
    ("server", "pong"): "The reply to a client `ping`.",
    ("server", "video_ready"): "The clip of a question sent with `video_status: pending` is ready.",
    ("server", "ended"): "The session ended: its summary.",
    ("server", "error"): "A refused message; the socket stays open unless a close follows.",
    ("server", "answer_audio_started"): "The spoken answer's audio is being received.",
    ("server", "transcript"): "What was heard so far (`final: false`) or in all (`final: true`).",
    ("server", "feedback"): "Practice mode (`feedback: each`): one answer's feedback, as the report has it.",
    ("server", "report_ready"): "After the last answer, once every answer is judged: where the report is.",
}


def _message_name(direction: str, kind: str) -> str:
    return f"{direction}_{kind}"


def data_models(data: ServerData) -> tuple[type[BaseModel], ...]:
    """The models a message's `data` may be, in the order the document lists them."""
    return data if isinstance(data, tuple) else (data,)


def _data_schema(data: ServerData) -> dict[str, Any]:
    refs = [{"$ref": f"#/components/schemas/{model.__name__}"} for model in data_models(data)]
    return refs[0] if len(refs) == 1 else {"anyOf": refs}


def asyncapi_document() -> dict[str, Any]:
    """The AsyncAPI 3.0 document of /api/v1/interview/session."""
    every = {*CLIENT_MESSAGES.values(), *(m for d in SERVER_MESSAGES.values() for m in data_models(d))}
    models = [(model, "serialization") for model in every]
    _keys, schema = models_json_schema(models, ref_template="#/components/schemas/{model}")  # type: ignore[arg-type]
    schemas: dict[str, Any] = dict(sorted(schema.get("$defs", {}).items()))
    messages: dict[str, Any] = {}
    registries: tuple[tuple[str, dict[str, ServerData]], ...] = (
        ("client", dict(CLIENT_MESSAGES)), ("server", SERVER_MESSAGES),
    )  # fmt: skip
    for direction, registry in registries:
        for kind, model in registry.items():
            messages[_message_name(direction, kind)] = {
                "name": kind,
                "title": f"{kind} ({'client to server' if direction == 'client' else 'server to client'})",
                "summary": _DESCRIPTIONS[(direction, kind)],
                "payload": {
                    "type": "object",
                    "required": ["type"] if model is NoData else ["type", "data"],
                    "properties": {"type": {"const": kind}, "data": _data_schema(model)},
                },
            }
    channel_messages = {name: {"$ref": f"#/components/messages/{name}"} for name in messages}

    def refs(direction: str) -> list[dict[str, str]]:
        return [
            {"$ref": f"#/channels/interview/messages/{name}"}
            for name in messages
            if name.startswith(direction)
        ]

    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "InterviewAI live interview",
            "version": __version__,
            "description": 'Every message both ways is a JSON text frame `{"type", "data"}`; spoken answers '
            "send binary audio frames between `answer_audio_start` and `answer_audio_end`. Generated from the "
            "server's message models by `python -m interviewai.api.asyncapi`; a test fails when they drift.",
        },
        "servers": {
            "local": {"host": "localhost:8000", "protocol": "ws", "description": "`make run`"},
        },
        "channels": {
            "interview": {
                "address": "/api/v1/interview/session",
                "description": "Query: `session_id` resumes a session, `wait` as on HTTP, `api_key` when keys are on.",
                "messages": channel_messages,
            }
        },
        "operations": {
            "clientSends": {
                "action": "receive",
                "channel": {"$ref": "#/channels/interview"},
                "messages": refs("client"),
            },
            "serverSends": {
                "action": "send",
                "channel": {"$ref": "#/channels/interview"},
                "messages": refs("server"),
            },
        },
        "components": {"messages": messages, "schemas": schemas},
    }


def asyncapi_yaml() -> str:
    """The AsyncAPI document as docs/asyncapi.yaml holds it (the test compares the two)."""
    return yaml.safe_dump(asyncapi_document(), sort_keys=False, allow_unicode=True, width=110)


if __name__ == "__main__":
    sys.stdout.write(asyncapi_yaml())
