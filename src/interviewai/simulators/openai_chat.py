"""A local OpenAI-compatible chat-completions server on 127.0.0.1 (aiohttp) with scripted replies and faults.

What it reproduces (OpenAI's API reference for ``POST /v1/chat/completions`` and ``GET /v1/models``):

* Requests: ``Authorization: Bearer <key>`` (checked when the simulator has a key), a JSON body with
  ``model``, ``messages`` (a non-empty list of ``{role, content}``), optional ``max_tokens``,
  ``temperature`` and ``response_format`` (``{"type": "json_schema", "json_schema": {"name", "schema",
  "strict"}}``, the name matching ``^[A-Za-z0-9_-]{1,64}$``). A malformed body gets 400 with OpenAI's
  ``{"error": {"message", "type": "invalid_request_error", "param", "code"}}``; a wrong key 401
  ``invalid_api_key``.
* Replies: ``{"id": "chatcmpl-…", "object": "chat.completion", "created", "model", "choices": [{"index": 0,
  "message": {"role": "assistant", "content", "refusal": null}, "logprobs": null, "finish_reason":
  "stop"}], "usage": {"prompt_tokens", "completion_tokens", "total_tokens"}}``; token counts are word
  counts (there is no tokenizer here).
* What the assistant says: the next entry of :meth:`OpenAiChatSimulator.queue_reply` (a mapping is sent as
  its JSON, a string as is), else what the ``reply`` function returns for the recorded request, else the
  smallest JSON object that satisfies the request's schema.

Faults (``set_fault(fault, times=N)``: for the next N requests, or until changed when N is None; also
``PUT /_simulator/fault {"fault", "times"}``): ``stall`` (no answer until the client gives up or the
simulator stops), ``rate-limit`` (429 ``rate_limit_exceeded`` with ``Retry-After``), ``quota`` (429
``insufficient_quota``), ``server-error`` (500 JSON), ``bad-gateway`` (502 HTML page), ``invalid-json``
(200 whose content is not JSON), ``schema-violation`` (200 whose content is a JSON object that breaks the
schema), ``truncated`` (200, half the JSON, ``finish_reason: "length"``), ``unauthorized`` (401 whatever
the key). Every request is recorded (:attr:`requests`), faulted or not.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import json
import re
import socket
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aiohttp import web

from interviewai.simulators.loopback import (
    Close,
    FaultSwitch,
    LoopbackServer,
    add_listen_arguments,
    print_settings,
    run_until_interrupted,
    serve_app,
    serve_forever,
    simulator_main,
)

DEFAULT_MODEL = "interviewai-sim"
_SCHEMA_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ROLES = frozenset({"system", "user", "assistant", "developer", "tool"})


class LlmFault(enum.Enum):
    """How the simulator misbehaves; NONE answers faithfully."""

    NONE = "none"
    STALL = "stall"
    RATE_LIMIT = "rate-limit"
    QUOTA = "quota"
    SERVER_ERROR = "server-error"
    BAD_GATEWAY = "bad-gateway"
    INVALID_JSON = "invalid-json"
    SCHEMA_VIOLATION = "schema-violation"
    TRUNCATED = "truncated"
    UNAUTHORIZED = "unauthorized"


@dataclasses.dataclass(frozen=True)
class RecordedRequest:
    """One request as received: ``body`` is the parsed JSON (None when it was not JSON)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    status: int
    fault: LlmFault

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The request's chat messages as sent ([] when the body had none)."""
        return list(self.body.get("messages", [])) if isinstance(self.body, dict) else []

    @property
    def schema(self) -> dict[str, Any] | None:
        """The JSON Schema of a ``json_schema`` response format, when the request had one."""
        if not isinstance(self.body, dict):
            return None
        form = self.body.get("response_format")
        spec = form.get("json_schema") if isinstance(form, dict) else None
        schema = spec.get("schema") if isinstance(spec, dict) else None
        return schema if isinstance(schema, dict) else None


Reply = Mapping[str, Any] | str
ReplyFunction = Callable[[RecordedRequest], Reply]


class OpenAiChatSimulator(LoopbackServer[RecordedRequest]):
    """Use as ``async with OpenAiChatSimulator() as sim:``; point LLM_API_URL at ``sim.url``."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str = "",
        model: str = DEFAULT_MODEL,
        reply: ReplyFunction | None = None,
        retry_after_s: float = 1.0,
        stall_s: float = 3600.0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.api_key = api_key
        self.model = model
        self.reply = reply
        self.retry_after_s = retry_after_s
        self._stall_s = stall_s
        self._faults = FaultSwitch(LlmFault.NONE, LlmFault.NONE)
        self._queue: deque[Reply] = deque()

    async def _serve(self, sock: socket.socket) -> Close:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat_completions)
        app.router.add_get("/v1/models", self._models)
        app.router.add_put("/_simulator/fault", self._put_fault)
        return await serve_app(app, sock)

    # -- what tests and developers use ----------------------------------------------------------

    @property
    def url(self) -> str:
        """The LLM_API_URL that reaches this simulator (the API's base, /v1 included)."""
        return f"http://{self._host}:{self._port}/v1"

    @property
    def fault(self) -> LlmFault:
        """The fault chat requests get now (LlmFault.NONE when it behaves)."""
        return self._faults.current

    def completion_requests(self) -> list[RecordedRequest]:
        """The chat-completion requests received so far, oldest first."""
        return [r for r in self._requests if r.path == "/v1/chat/completions"]

    def set_fault(self, fault: LlmFault | str, *, times: int | None = None) -> None:
        """Misbehave for the next `times` chat requests (None: until changed), then answer normally."""
        self._faults.set(LlmFault(fault), times)

    def queue_reply(self, *replies: Reply) -> None:
        """What the assistant says next, in order (a mapping is sent as JSON, a string verbatim)."""
        self._queue.extend(replies)

    # -- handlers -----------------------------------------------------------------------------

    async def _chat_completions(self, request: web.Request) -> web.StreamResponse:
        headers = dict(request.headers)
        try:
            body: Any = await request.json()
        except ValueError:
            body = None
        fault = self._faults.take() or LlmFault.NONE

        def answer(status: int, response: web.StreamResponse) -> web.StreamResponse:
            self._requests.append(RecordedRequest("POST", request.path, headers, body, status, fault))
            return response

        if fault is LlmFault.UNAUTHORIZED or not self._authorized(headers.get("Authorization")):
            return answer(
                401, _error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
            )
        problem = _invalid(body)
        if problem is not None:
            param, message = problem
            return answer(400, _error(400, message, "invalid_request_error", None, param=param))
        if fault is LlmFault.STALL:
            # Recorded on arrival: the client gives up long before the stall ends.
            self._requests.append(RecordedRequest("POST", request.path, headers, body, 0, fault))
            await self.wait_stopping(self._stall_s)
            return _error(504, "stalled", "server_error", None)
        if fault is LlmFault.RATE_LIMIT:
            response = _error(429, "Rate limit reached; try again later.", "requests", "rate_limit_exceeded")
            response.headers["Retry-After"] = f"{self.retry_after_s:g}"
            return answer(429, response)
        if fault is LlmFault.QUOTA:
            message = "You exceeded your current quota, please check your plan and billing details."
            return answer(429, _error(429, message, "insufficient_quota", "insufficient_quota"))
        if fault is LlmFault.SERVER_ERROR:
            return answer(
                500,
                _error(500, "The server had an error while processing your request.", "server_error", None),
            )
        if fault is LlmFault.BAD_GATEWAY:
            page = "<html><head><title>502 Bad Gateway</title></head><body>bad gateway</body></html>"
            return answer(502, web.Response(status=502, text=page, content_type="text/html"))
        recorded = RecordedRequest("POST", request.path, headers, body, 200, fault)
        content, finish = self._content(recorded, fault)
        self._requests.append(recorded)
        return web.json_response(self._completion(body, content, finish))

    async def _models(self, request: web.Request) -> web.StreamResponse:
        headers = dict(request.headers)
        authorized = self._authorized(headers.get("Authorization"))
        status = 200 if authorized else 401
        self._requests.append(RecordedRequest("GET", request.path, headers, None, status, LlmFault.NONE))
        if not authorized:
            return _error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
        entry = {"id": self.model, "object": "model", "created": 1_700_000_000, "owned_by": "interviewai-sim"}
        return web.json_response({"object": "list", "data": [entry]})

    async def _put_fault(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
            self.set_fault(body["fault"], times=body.get("times"))
        except (ValueError, KeyError, TypeError) as error:
            return _error(400, f"expected {{fault, times}}: {error}", "invalid_request_error", None)
        return web.json_response({"fault": self.fault.value, "times": self._faults.times})

    # -- helpers ------------------------------------------------------------------------------

    def _authorized(self, header: str | None) -> bool:
        if not self.api_key:
            return True
        scheme, _, token = (header or "").partition(" ")
        return scheme.lower() == "bearer" and token.strip() == self.api_key

    def _content(self, request: RecordedRequest, fault: LlmFault) -> tuple[str, str]:
        schema = request.schema or {"type": "object"}
        if fault is LlmFault.INVALID_JSON:
            return "Sure! Here is my assessment: the answer was good.", "stop"
        if fault is LlmFault.SCHEMA_VIOLATION:
            return json.dumps(violating(schema)), "stop"
        if self._queue:
            reply: Reply = self._queue.popleft()
        elif self.reply is not None:
            reply = self.reply(request)
        else:
            reply = minimal_instance(schema)
        text = reply if isinstance(reply, str) else json.dumps(reply)
        if fault is LlmFault.TRUNCATED:
            return text[: max(1, len(text) // 2)], "length"
        return text, "stop"

    def _completion(self, body: Mapping[str, Any], content: str, finish: str) -> dict[str, Any]:
        prompt_words = sum(len(str(m.get("content", "")).split()) for m in body["messages"])
        completion_words = len(content.split())
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": None},
                    "logprobs": None,
                    "finish_reason": finish,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_words,
                "completion_tokens": completion_words,
                "total_tokens": prompt_words + completion_words,
            },
        }


def _error(
    status: int, message: str, kind: str, code: str | None, *, param: str | None = None
) -> web.Response:
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return web.json_response(body, status=status)


def _invalid(body: Any) -> tuple[str | None, str] | None:  # noqa: C901 - one check per rule OpenAI applies to a body, in its order
    """(param, message) of the first thing OpenAI would reject in this body, or None."""
    if not isinstance(body, dict):
        return None, "We could not parse the JSON body of your request."
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model", "you must provide a model parameter"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages", "'messages' must be a non-empty array"
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            return f"messages.[{index}].role", f"messages[{index}] needs a role of {sorted(_ROLES)}"
        if not isinstance(message.get("content"), str):
            return f"messages.[{index}].content", f"messages[{index}].content must be a string"
    form = body.get("response_format")
    if form is not None:
        if not isinstance(form, dict) or form.get("type") not in ("text", "json_object", "json_schema"):
            return "response_format.type", "response_format.type must be text, json_object or json_schema"
        if form["type"] == "json_schema":
            spec = form.get("json_schema")
            if not isinstance(spec, dict) or not isinstance(spec.get("schema"), dict):
                return "response_format.json_schema", "json_schema needs a schema object"
            if not isinstance(spec.get("name"), str) or not _SCHEMA_NAME.match(spec["name"]):
                return "response_format.json_schema.name", "json_schema.name must match ^[a-zA-Z0-9_-]{1,64}$"
    max_tokens = body.get("max_tokens")
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        return "max_tokens", "max_tokens must be a positive integer"
    return None


def minimal_instance(schema: Mapping[str, Any]) -> Any:  # noqa: C901 - one branch per JSON Schema keyword
    """The smallest value that satisfies a (simple) JSON Schema: required properties only, minimum
    numbers, first enum values, minItems items."""
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            return minimal_instance(schema[key][0])
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        properties = schema.get("properties", {})
        return {name: minimal_instance(properties.get(name, {})) for name in schema.get("required", [])}
    if kind == "array":
        return [minimal_instance(schema.get("items", {})) for _ in range(schema.get("minItems", 0))]
    if kind == "string":
        return "x" * schema.get("minLength", 0)
    if kind in ("integer", "number"):
        if "minimum" in schema:
            return schema["minimum"]
        if "exclusiveMinimum" in schema:
            return schema["exclusiveMinimum"] + (1 if kind == "integer" else 0.5)
        return 0
    if kind == "boolean":
        return False
    return None


def violating(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON object that breaks `schema`: its required properties left out, one of the wrong type."""
    properties = schema.get("properties", {})
    required = list(schema.get("required", properties))
    if not required:
        return {"unexpected": "value"}
    # The first required property with the wrong type; the rest missing.
    wrong = "not a number" if properties.get(required[0], {}).get("type") in ("integer", "number") else 12345
    return {required[0]: wrong}


# -- command line ------------------------------------------------------------------------------


async def run(
    *,
    port: int,
    host: str = "127.0.0.1",
    api_key: str = "",
    model: str = DEFAULT_MODEL,
    fault: LlmFault | str = LlmFault.NONE,
    on_ready: Callable[[OpenAiChatSimulator], None] | None = None,
) -> None:
    """Serve until cancelled and print the LLM_* settings that point the server here."""
    async with OpenAiChatSimulator(host=host, port=port, api_key=api_key, model=model) as sim:
        sim.set_fault(fault)
        print_settings(
            f"OpenAI-compatible chat simulator on {sim.url} (fault: {sim.fault.value})",
            {"LLM_API_URL": sim.url, "LLM_API_KEY": api_key, "LLM_MODEL": model},
        )
        if on_ready is not None:
            on_ready(sim)
        await serve_forever()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``llm-sim`` options, for the ``interviewai`` command's subparser."""
    add_listen_arguments(parser, 8767)
    parser.add_argument("--api-key", default="", help="the key clients must send (default: none needed)")
    parser.add_argument(
        "--model", default=DEFAULT_MODEL, help=f"the model name it lists (default {DEFAULT_MODEL})"
    )
    parser.add_argument(
        "--fault",
        choices=[f.value for f in LlmFault if f is not LlmFault.NONE],
        default=None,
        help="misbehave on every request (switch at run time with PUT /_simulator/fault)",
    )


def handle(args: argparse.Namespace) -> int:
    """Run the simulator from parsed ``add_arguments`` options until Ctrl-C."""
    return run_until_interrupted(
        run(
            port=args.port,
            host=args.host,
            api_key=args.api_key,
            model=args.model,
            fault=args.fault or LlmFault.NONE,
        )
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``interviewai llm-sim --port N [--fault ...]``: run the simulator until Ctrl-C."""
    return simulator_main(
        argv,
        prog="interviewai llm-sim",
        description="Serve a local OpenAI-compatible chat-completions simulator.",
        add_arguments=add_arguments,
        handle=handle,
    )


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
