"""docs/asyncapi.yaml is generated from the server's message models, and the server sends what they say."""

from __future__ import annotations

import ast
import json
import subprocess
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel
from websockets.asyncio.client import connect

from conftest import SettingsFactory
from interviewai.api import websocket as ws_module
from interviewai.api.asyncapi import CLIENT_MESSAGES, SERVER_MESSAGES, asyncapi_document, asyncapi_yaml
from live_server import serve_app
from npm_tools import npm_tools

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
        assert message["payload"]["properties"]["data"]["$ref"].rsplit("/", 1)[-1] in schemas


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
    model: type[BaseModel] = SERVER_MESSAGES[kind]
    model.model_validate(data)
    if model.model_config.get("extra") != "allow":
        extra = set(data) - set(model.model_fields)
        assert not extra, f"{kind} sends fields its model lacks: {sorted(extra)}"


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
