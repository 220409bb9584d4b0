"""A local OpenAI-compatible transcription server (`POST /v1/audio/transcriptions`), with faults.

What it reproduces: the multipart request (`file`, `model`, `language`, `prompt`, `response_format` of
`json`, `text` or `verbose_json`, `timestamp_granularities[]` of `word` and/or `segment`), bearer-key auth,
and OpenAI's replies: `{"text"}`, plain text, or verbose JSON `{task, language, duration, text, words:
[{word, start, end}], segments: [{id, seek, start, end, text, tokens, temperature, avg_logprob,
compression_ratio, no_speech_prob}]}` (words only when asked for), and errors as `{"error": {message, type,
param, code}}` with OpenAI's statuses (400 missing file or model or an undecodable file, 401 a wrong key,
429 with Retry-After, 500). The text is real: the file is decoded and recognised by the injected recogniser
(the offline Whisper model), so a client sees what a Whisper server would say.

Faults (`set_fault`, or `--fault`): `refuse` (nothing listens), `server-error` (500), `rate-limit` (429),
`delay` (answers after `delay_s`), `garbage` (200 with a body that is not JSON), `auth` (401 whatever the key).
"""

from __future__ import annotations

import argparse
import asyncio
import enum
import math
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web

from interviewai.adapters.audio.decoding import decode_upload
from interviewai.domain.errors import DomainError
from interviewai.domain.ports import SpeechRecognizer
from interviewai.simulators.loopback import (
    Close,
    LoopbackServer,
    add_listen_arguments,
    print_settings,
    run_until_interrupted,
    serve_app,
    serve_forever,
    simulator_main,
)

PATH = "/v1/audio/transcriptions"
MAX_FILE_BYTES = 25 * 1024 * 1024


class SttFault(enum.Enum):
    """How the server misbehaves: see the module docstring for each fault."""

    NONE = "none"
    REFUSE = "refuse"
    SERVER_ERROR = "server-error"
    RATE_LIMIT = "rate-limit"
    DELAY = "delay"
    GARBAGE = "garbage"
    AUTH = "auth"


@dataclass(frozen=True)
class RecordedTranscription:
    """One request as the simulator received it."""

    status: int
    fault: SttFault
    fields: dict[str, list[str]]
    file_bytes: int


def _error(status: int, message: str, kind: str, code: str | None = None, **headers: str) -> web.Response:
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return web.json_response(body, status=status, headers=headers)


class OpenAiSttSimulator(LoopbackServer[RecordedTranscription]):
    """Use as ``async with OpenAiSttSimulator(recognizer) as sim:``; point STT_API_URL at ``sim.url``."""

    def __init__(
        self,
        recognizer: SpeechRecognizer,
        *,
        api_key: str = "sk-sim",
        host: str = "127.0.0.1",
        port: int = 0,
        fault: SttFault | str = SttFault.NONE,
        delay_s: float = 30.0,
    ) -> None:
        super().__init__(host=host, port=port)
        self._recognizer = recognizer
        self._api_key = api_key
        self._fault = SttFault(fault)
        self._delay_s = delay_s

    @property
    def url(self) -> str:
        """The STT_API_URL that points here (OpenAI's base URL shape, ending in /v1)."""
        return f"http://{self.host}:{self.port}/v1"

    @property
    def api_key(self) -> str:
        """The key clients must send as a bearer token."""
        return self._api_key

    async def set_fault(self, fault: SttFault | str, *, delay_s: float | None = None) -> None:
        """Switch the fault (``refuse`` stops listening; the others listen again on the same port)."""
        self._fault = SttFault(fault)
        if delay_s is not None:
            self._delay_s = delay_s
        await self._set_listening(self._fault is not SttFault.REFUSE)

    def _listens_at_start(self) -> bool:
        return self._fault is not SttFault.REFUSE

    async def _serve(self, sock: socket.socket) -> Close:
        app = web.Application(client_max_size=MAX_FILE_BYTES + 1024 * 1024)
        app.router.add_post(PATH, self._transcribe)
        return await serve_app(app, sock)

    async def _transcribe(self, request: web.Request) -> web.StreamResponse:  # noqa: C901 - the simulated endpoint: multipart parsing, faults and validation in the provider's order
        fault = self._fault
        fields: dict[str, list[str]] = {}
        data = b""
        file_type = file_name = None
        if request.content_type == "multipart/form-data":
            async for part in await request.multipart():
                if not isinstance(part, BodyPartReader) or part.name is None:
                    continue
                if part.filename is not None:
                    data = bytes(await part.read())
                    file_type, file_name = part.headers.get("Content-Type"), part.filename
                else:
                    fields.setdefault(part.name, []).append(await part.text())

        def record(status: int) -> None:
            self._requests.append(RecordedTranscription(status, fault, fields, len(data)))

        if fault is SttFault.DELAY:
            await self.wait_stopping(self._delay_s)
        if fault is SttFault.AUTH or request.headers.get("Authorization") != f"Bearer {self._api_key}":
            record(401)
            return _error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
        if fault is SttFault.RATE_LIMIT:
            record(429)
            return _error(429, "Rate limit reached for requests.", "requests", "rate_limit_exceeded",
                          **{"Retry-After": "2"})  # fmt: skip
        if fault is SttFault.SERVER_ERROR:
            record(500)
            return _error(500, "The server had an error while processing your request.", "server_error")
        if not data or "model" not in fields:
            record(400)
            missing = "file" if not data else "model"
            return _error(400, f"you must provide a {missing} parameter", "invalid_request_error")
        try:
            decoded = await asyncio.to_thread(decode_upload, data, file_type, file_name, 3600.0)
        except DomainError as error:
            record(400)
            return _error(400, f"Invalid file format. {error.message}", "invalid_request_error")
        heard = await self._recognizer.transcribe(decoded.audio, (fields.get("prompt") or [""])[0])
        record(200)
        if fault is SttFault.GARBAGE:
            return web.Response(text="<html>upstream proxy error</html>", content_type="application/json")
        response_format = (fields.get("response_format") or ["json"])[0]
        if response_format == "text":
            return web.Response(text=heard.text + "\n")
        if response_format != "verbose_json":
            return web.json_response({"text": heard.text})
        granularities = fields.get("timestamp_granularities[]") or ["segment"]
        body: dict[str, Any] = {
            "task": "transcribe", "language": "english", "duration": round(decoded.audio.duration_s, 2),
            "text": heard.text,
        }  # fmt: skip
        if "word" in granularities:
            body["words"] = [{"word": w.word, "start": w.start, "end": w.end} for w in heard.words]
        if "segment" in granularities or "words" not in body:
            body["segments"] = [_segment(heard.text, heard.words, decoded.audio.duration_s)]
        return web.json_response(body)


def _segment(text: str, words: Sequence[Any], duration_s: float) -> dict[str, Any]:
    confidence = sum(w.confidence for w in words) / len(words) if words else 1.0
    return {
        "id": 0, "seek": 0, "start": words[0].start if words else 0.0,
        "end": words[-1].end if words else duration_s, "text": " " + text, "tokens": [],
        "temperature": 0.0, "avg_logprob": round(_log(confidence), 4), "compression_ratio": 1.0,
        "no_speech_prob": 0.01,
    }  # fmt: skip


def _log(value: float) -> float:
    return math.log(max(value, 1e-6))


async def run(*, port: int, host: str, fault: str, delay_s: float, api_key: str, model_dir: Path) -> None:
    """Load the offline model, serve until cancelled, and print the settings that point the server here."""
    from interviewai.adapters.recognition.whisper import WhisperRecognizer

    whisper = await WhisperRecognizer.open(model_dir=model_dir)
    try:
        async with OpenAiSttSimulator(
            whisper, api_key=api_key, host=host, port=port, fault=fault, delay_s=delay_s
        ) as sim:
            print_settings(
                f"OpenAI-compatible transcription simulator on {sim.url} (fault: {fault})",
                {"STT_API_URL": sim.url, "STT_API_KEY": sim.api_key},
            )
            await serve_forever()
    finally:
        await asyncio.to_thread(whisper.close)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `stt-sim` command's options: listen address, API key, fault, delay and model directory."""
    add_listen_arguments(parser, 8767)
    parser.add_argument("--api-key", default="sk-sim", help="the key clients must send (default sk-sim)")
    parser.add_argument("--fault", choices=[f.value for f in SttFault], default="none", help="misbehave")
    parser.add_argument("--delay-s", type=float, default=30.0, help="how long --fault delay waits")
    parser.add_argument("--model-dir", type=Path, default=None, help="default: MODEL_DIR")


def handle(args: argparse.Namespace) -> int:
    """Run the simulator from parsed options until interrupted; exit status 0."""
    from interviewai.settings import load_settings

    model_dir = args.model_dir or load_settings().resolved_model_dir
    return run_until_interrupted(run(port=args.port, host=args.host, fault=args.fault, delay_s=args.delay_s,
                                     api_key=args.api_key, model_dir=model_dir))  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """``interviewai stt-sim --port N [--fault ...]``: run the simulator until Ctrl-C."""
    description = __doc__.splitlines()[0]
    return simulator_main(argv, prog="interviewai stt-sim", description=description, add_arguments=add_arguments,
                          handle=handle)  # fmt: skip


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
