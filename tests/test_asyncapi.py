"""docs/asyncapi.yaml is generated from the server's message models, and the server sends what they say."""

from __future__ import annotations

import ast
import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from pydantic import ValidationError
from websockets.asyncio.client import ClientConnection, connect

from conftest import SettingsFactory
from interviewai.adapters.recognition.whisper import WhisperRecognizer
from interviewai.api import websocket as ws_module
from interviewai.api.asyncapi import (
    CLIENT_MESSAGES,
    SERVER_MESSAGES,
    asyncapi_document,
    asyncapi_yaml,
    data_models,
)
from live_server import serve_app
from npm_tools import npm_tools
from stt_fixtures import SpeakPcm, answer_voice, speak, whisper
from ws_pacing import paced_send

__all__ = ["answer_voice", "speak", "whisper"]

REPO = Path(__file__).resolve().parents[1]
DOCUMENT = REPO / "docs" / "asyncapi.yaml"
API = REPO / "src" / "interviewai" / "api"


def test_the_committed_document_is_the_generated_one() -> None:
    assert DOCUMENT.read_text() == asyncapi_yaml(), (
        "docs/asyncapi.yaml is stale: python -m interviewai.api.asyncapi > docs/asyncapi.yaml"
    )
    document = yaml.safe_load(DOCUMENT.read_text())
    assert document["asyncapi"].startswith("3.")
    messages = document["components"]["messages"]
    assert {m["name"] for k, m in messages.items() if k.startswith("client_")} == set(CLIENT_MESSAGES)
    assert {m["name"] for k, m in messages.items() if k.startswith("server_")} == set(SERVER_MESSAGES)
    schemas = document["components"]["schemas"]
    for message in messages.values():
        data = message["payload"]["properties"]["data"]
        for ref in data.get("anyOf", [data]):
            assert ref["$ref"].rsplit("/", 1)[-1] in schemas


def _sent_types() -> set[str]:
    """Every literal message type the server code passes to a `_send(...)`, in any module of the API."""
    found: set[str] = set()
    for module in API.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "_send"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.add(node.args[0].value)
    return found


def test_every_message_the_server_code_sends_is_documented() -> None:
    sent = _sent_types()
    assert {"session_info", "error", "pong", "ended"} <= sent
    missing = sent - set(SERVER_MESSAGES)
    assert not missing, f"add these server messages to api/asyncapi.py SERVER_MESSAGES: {sorted(missing)}"
    # `question` and `complete` are sent as the delivery's own `type`.
    assert {"question", "complete"} <= set(SERVER_MESSAGES)


def test_every_message_the_server_reads_is_documented() -> None:
    assert set(CLIENT_MESSAGES) == set(ws_module.KNOWN_TYPES)


def _check(kind: str, data: dict[str, Any]) -> None:
    """`data` is valid for the document's `kind` message, and one of its models has every field it sends."""
    document = yaml.safe_load(DOCUMENT.read_text())
    schema = {"components": document["components"], "$ref": f"#/components/messages/server_{kind}/payload"}
    jsonschema.validate({"type": kind, "data": data}, schema)
    fits = []
    for model in data_models(SERVER_MESSAGES[kind]):
        try:
            model.model_validate(data)
        except ValidationError:
            continue
        extra = set() if model.model_config.get("extra") == "allow" else set(data) - set(model.model_fields)
        fits.append((model.__name__, sorted(extra)))
    assert any(not extra for _, extra in fits), f"{kind} sends fields none of its models has: {fits or data}"


async def test_a_whole_interview_sends_only_documented_messages(make_settings: SettingsFactory) -> None:
    seen: list[str] = []
    async with serve_app(make_settings()) as live, connect(live.url("wait=0"), open_timeout=30) as socket_:

        async def receive() -> dict[str, Any]:
            message: dict[str, Any] = json.loads(await socket_.recv())
            _check(message["type"], message["data"])
            seen.append(message["type"])
            return message

        assert (await receive())["type"] == "session_info"
        await socket_.send(json.dumps({"type": "start"}))
        step = await receive()
        await socket_.send(json.dumps({"type": "ping", "data": {"timestamp": 42}}))
        assert (await receive())["data"] == {"timestamp": 42}
        await socket_.send(json.dumps({"type": "answer", "data": {"question_id": 999, "answer_text": "x"}}))
        assert (await receive())["data"]["code"] == "wrong_question"
        while step["type"] == "question":
            await socket_.send(
                json.dumps(
                    {
                        "type": "answer",
                        "data": {"question_id": step["data"]["question_id"], "answer_text": "An answer."},
                    }
                )
            )
            step = await receive()
            while step["type"] == "video_ready":
                step = await receive()
        await socket_.send(json.dumps({"type": "status"}))
        assert (await receive())["data"]["is_complete"] is True
        await socket_.send(json.dumps({"type": "end"}))
        assert (await receive())["type"] == "ended"
    assert {"session_info", "question", "complete", "pong", "error", "status", "ended"} <= set(seen)


async def _receive_checked(socket_: ClientConnection, seen: list[str]) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await socket_.recv())
    _check(message["type"], message["data"])
    seen.append(message["type"])
    return message


async def test_a_spoken_answer_sends_only_documented_messages(
    make_settings: SettingsFactory, whisper: WhisperRecognizer, speak: SpeakPcm
) -> None:
    """The partial and final transcripts and the next question after a spoken answer are what the
    document says, field for field (the HTTP multipart answer's additions included)."""
    seen: list[str] = []
    pcm = speak("I would split the work into small steps and release them one at a time.")
    settings = make_settings(max_answer_audio_s=40.0)
    async with (
        serve_app(settings, recognizers={"whisper": whisper}) as live,
        connect(live.url("wait=0"), max_size=8 * 1024 * 1024, open_timeout=30) as socket_,
    ):
        assert (await _receive_checked(socket_, seen))["type"] == "session_info"
        await paced_send(socket_, json.dumps({"type": "start"}))
        question = await _receive_checked(socket_, seen)
        start = {"question_id": question["data"]["question_id"], "format": "pcm16"}
        await paced_send(socket_, json.dumps({"type": "answer_audio_start", "data": start}))
        assert (await _receive_checked(socket_, seen))["type"] == "answer_audio_started"
        step = 3200  # 0.1 s frames at a fast pace: partial transcripts come while they arrive
        for offset in range(0, len(pcm), step):
            await socket_.send(pcm[offset : offset + step])
            await asyncio.sleep(0.05)
        await paced_send(socket_, json.dumps({"type": "answer_audio_end", "data": {}}))
        message = await _receive_checked(socket_, seen)
        while message["type"] == "transcript" and not message["data"]["final"]:
            message = await _receive_checked(socket_, seen)
        assert message["type"] == "transcript" and message["data"]["final"] is True, message
        after = await _receive_checked(socket_, seen)
        assert after["type"] == "question" and after["data"]["answer_source"] == "speech", after
    assert seen.count("transcript") >= 2, seen  # at least one partial, and the final one


def test_the_document_describes_the_websocket_path() -> None:
    document = asyncapi_document()
    assert document["channels"]["interview"]["address"] == ws_module.websocket_router().routes[0].path  # type: ignore[attr-defined]


# The official AsyncAPI parser (@asyncapi/parser, with its Spectral rules) reads the committed document.
PARSE = """
const fs = require("fs");
const { Parser } = require("@asyncapi/parser");
(async () => {
  const { document, diagnostics } = await new Parser().parse(fs.readFileSync(process.argv[1], "utf8"));
  const names = document ? document.allMessages().all().map((m) => m.name()) : [];
  const found = diagnostics.map((d) => ({ severity: d.severity, code: d.code, message: d.message, path: d.path }));
  console.log(JSON.stringify({ parsed: document !== undefined, names, diagnostics: found }));
})();
"""


def test_the_official_asyncapi_parser_accepts_the_document() -> None:
    tools = npm_tools()
    result = subprocess.run(
        ["node", "-e", PARSE, str(DOCUMENT)],
        cwd=tools,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    # Spectral's severities: 0 error, 1 warning, 2 information, 3 hint.
    errors = [d for d in report["diagnostics"] if d["severity"] == 0]
    warnings = [d for d in report["diagnostics"] if d["severity"] == 1]
    assert report["parsed"] and not errors, errors
    assert not warnings, warnings
    assert set(report["names"]) == set(CLIENT_MESSAGES) | set(SERVER_MESSAGES)
