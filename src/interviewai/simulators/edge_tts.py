"""A local Edge read-aloud service on 127.0.0.1 that speaks edge-tts's wire protocol, with fault injection.

What it reproduces (read from edge-tts 7.3's ``communicate.py``/``voices.py``):

* The WebSocket at edge-tts's own path (``/consumer/speech/synthesize/readaloud/edge/v1``); the client
  sends a ``speech.config`` text message, then one ``ssml`` message per connection.
* Replies per SSML turn: ``turn.start``, ``response``, one ``audio.metadata`` message per word
  (``{"Metadata":[{"Type":"WordBoundary","Data":{"Offset","Duration","text":{"Text",...}}}]}``, offsets
  in 100-ns ticks from the start of this turn's audio, text XML-escaped as the client unescapes it),
  binary audio frames (2-byte big-endian header length, ``X-RequestId``/``Content-Type:audio/mpeg``/
  ``X-StreamId``/``Path:audio`` headers, then MP3 bytes), a final empty audio frame without a
  Content-Type, and ``turn.end``. Metadata for a word is sent before the audio that contains it.
* The voice list over plain HTTP GET at edge-tts's voice-list path on the same port.

The audio is real: the SSML's text is spoken by the injected synthesizer (the offline piper voice),
honouring the prosody's rate and volume, and each boundary is that synthesis's measured word span, so
boundaries match the MP3 the client receives. The boundary texts are the words without surrounding
punctuation, as Microsoft sends them. Differences from Microsoft: the MP3 is piper's (22.05 kHz,
64 kbps CBR) rather than 24 kHz 48 kbps; edge-tts only uses the bit rate to offset boundaries of texts
it splits into several requests (over 4096 bytes), so shorter texts are unaffected. A voice not in the
voice list gets a turn with no audio, which is what edge-tts reports as ``NoAudioReceived``.

Faults (switchable at run time with ``set_fault``): ``refuse`` (nothing listens on the port),
``drop`` (the TCP connection is aborted after about half the audio, without ``turn.end``), ``no-audio``
(``turn.start`` then ``turn.end``), ``delay`` (nothing is answered for ``delay_s`` seconds), ``forbidden``
(the WebSocket handshake and the voice list are answered with HTTP 403, with a ``Date`` header as
Microsoft sends, so edge-tts corrects its clock skew and retries once).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import enum
import http
import json
import logging
import socket
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from edge_tts.constants import VOICE_LIST, WSS_URL
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State

from interviewai.deadlines import deadline
from interviewai.domain.errors import ProviderError
from interviewai.domain.ports import SpeechSynthesizer
from interviewai.domain.speech import VoiceSettings
from interviewai.settings import load_settings
from interviewai.simulators.edge_wire import (
    SentBoundary,
    Turn,
    forbidden,
    parse_text_message,
    send_audio,
    send_metadata,
    send_text,
    sent_boundaries,
)
from interviewai.simulators.loopback import (
    Close,
    LoopbackServer,
    add_listen_arguments,
    print_settings,
    run_until_interrupted,
    serve_forever,
    simulator_main,
)

SYNTHESIS_PATH = urlsplit(WSS_URL).path
VOICES_PATH = urlsplit(VOICE_LIST).path
AUDIO_CHUNK_BYTES = 4096
_SSML_NS = "{http://www.w3.org/2001/10/synthesis}"

logger = logging.getLogger(__name__)


class EdgeFault(enum.Enum):
    """How the simulator misbehaves; NONE answers faithfully."""

    NONE = "none"
    REFUSE = "refuse"
    DROP = "drop"
    NO_AUDIO = "no-audio"
    DELAY = "delay"
    FORBIDDEN = "forbidden"


@dataclasses.dataclass(frozen=True)
class RecordedRequest:
    """One request the simulator received.

    ``kind`` is ``"synthesis"`` (an SSML turn on an accepted WebSocket, or a handshake rejected with
    403, then ``ssml`` is None) or ``"voices"`` (a voice-list GET). ``status`` is the HTTP status
    answered (101 for an accepted WebSocket).
    """

    kind: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    status: int
    fault: EdgeFault
    speech_config: dict[str, Any] | None = None
    ssml: str | None = None
    voice: str | None = None
    rate: str | None = None
    volume: str | None = None
    pitch: str | None = None
    text: str | None = None
    boundaries: tuple[SentBoundary, ...] = ()
    audio_bytes: int = 0


class EdgeTtsSimulator(LoopbackServer[RecordedRequest]):
    """The simulator; use as ``async with EdgeTtsSimulator(piper) as sim:`` and point EDGE_TTS_URL at
    ``sim.url``."""

    def __init__(
        self,
        synthesizer: SpeechSynthesizer,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        fault: EdgeFault | str = EdgeFault.NONE,
        delay_s: float = 30.0,
        voices: Sequence[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(host=host, port=port)
        self._synthesizer = synthesizer
        self._fault = EdgeFault(fault)
        self._delay_s = delay_s
        self._voices = list(voices) if voices is not None else _bundled_voices()

    @property
    def url(self) -> str:
        """The EDGE_TTS_URL that points the Edge engine here."""
        return f"ws://{self.host}:{self.port}"

    @property
    def fault(self) -> EdgeFault:
        """The fault synthesis requests get now (EdgeFault.NONE when it behaves)."""
        return self._fault

    def synthesis_requests(self) -> list[RecordedRequest]:
        """The synthesis requests received so far, oldest first (voice lists left out)."""
        return [r for r in self._requests if r.kind == "synthesis"]

    async def set_fault(self, fault: EdgeFault | str, *, delay_s: float | None = None) -> None:
        """Switch the fault for requests from now on (``refuse`` stops listening; others listen again)."""
        self._fault = EdgeFault(fault)
        if delay_s is not None:
            self._delay_s = delay_s
        await self._set_listening(self._fault is not EdgeFault.REFUSE)

    def _listens_at_start(self) -> bool:
        return self._fault is not EdgeFault.REFUSE

    async def _serve(self, sock: socket.socket) -> Close:
        server = await serve(self._handle, sock=sock, process_request=self._process_request, max_size=2**22)

        async def close() -> None:
            server.close()
            await server.wait_closed()

        return close

    # -- HTTP: handshake rejection and the voice list --------------------------------------------

    async def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path, query = _split(request.path)
        headers = dict(request.headers.raw_items())
        fault = self._fault
        if path == VOICES_PATH:
            status = http.HTTPStatus.OK
            if fault is EdgeFault.FORBIDDEN:
                status = http.HTTPStatus.FORBIDDEN
            elif fault is EdgeFault.DELAY:
                await self._pause(None)
            self._requests.append(RecordedRequest("voices", path, query, headers, status.value, fault))
            if status is not http.HTTPStatus.OK:
                return forbidden(connection)
            response = connection.respond(status, json.dumps(self._voices))
            del response.headers["Content-Type"]
            response.headers["Content-Type"] = "application/json; charset=utf-8"
            return response
        if path != SYNTHESIS_PATH:
            return connection.respond(http.HTTPStatus.NOT_FOUND, "Not Found\n")
        if fault is EdgeFault.FORBIDDEN:
            self._requests.append(RecordedRequest("synthesis", path, query, headers, 403, fault))
            return forbidden(connection)
        return None

    # -- WebSocket: synthesis turns ---------------------------------------------------------------

    async def _handle(self, connection: ServerConnection) -> None:
        assert connection.request is not None
        path, query = _split(connection.request.path)
        headers = dict(connection.request.headers.raw_items())
        speech_config: dict[str, Any] | None = None
        try:
            async for message in connection:
                if not isinstance(message, str):
                    continue
                message_headers, body = parse_text_message(message)
                kind = message_headers.get("Path")
                if kind == "speech.config":
                    speech_config = json.loads(body)
                elif kind == "ssml":
                    request = _ssml_request(path, query, headers, self._fault, speech_config, body)
                    turn = Turn(connection, message_headers.get("X-RequestId", uuid.uuid4().hex))
                    await self._answer(turn, request)
        except ConnectionClosed:
            pass

    async def _answer(self, turn: Turn, request: RecordedRequest) -> None:
        fault = request.fault
        if fault is EdgeFault.DELAY:
            # Recorded on arrival: the client usually gives up before the delay is over.
            self._requests.append(request)
            await self._pause(turn.connection)
            if turn.connection.state is not State.OPEN:
                return

        def record(**changes: Any) -> None:
            if fault is not EdgeFault.DELAY:
                self._requests.append(dataclasses.replace(request, **changes))

        known_voice = any(v.get("Name") == request.voice for v in self._voices)
        if fault is EdgeFault.NO_AUDIO or not known_voice or not (request.text or "").strip():
            record()
            await send_text(turn, "turn.start", {"context": {"serviceTag": uuid.uuid4().hex}})
            await send_text(turn, "turn.end", {})
            return
        settings = VoiceSettings(
            voice=request.voice or "",
            rate=request.rate or "+0%",
            volume=request.volume or "+0%",
            pitch=request.pitch or "+0Hz",
        )
        try:
            audio = await self._synthesizer.synthesize(request.text or "", settings)
        except ProviderError as error:
            logger.warning("simulator could not synthesize: %s", error)
            record()
            await send_text(turn, "turn.start", {"context": {"serviceTag": uuid.uuid4().hex}})
            await send_text(turn, "turn.end", {})
            return
        boundaries = tuple(sent_boundaries(audio.word_timings))
        record(boundaries=boundaries, audio_bytes=len(audio.mp3))
        await self._stream(turn, audio.mp3, audio.duration_s, boundaries, drop=fault is EdgeFault.DROP)

    async def _stream(
        self, turn: Turn, mp3: bytes, duration_s: float, boundaries: Sequence[SentBoundary], *, drop: bool
    ) -> None:
        await send_text(turn, "turn.start", {"context": {"serviceTag": uuid.uuid4().hex}})
        await send_text(
            turn,
            "response",
            {
                "context": {"serviceTag": uuid.uuid4().hex},
                "audio": {"type": "inline", "streamId": turn.stream_id},
            },
        )
        pending = list(boundaries)
        total = len(mp3)
        for sent in range(0, total, AUDIO_CHUNK_BYTES):
            chunk = mp3[sent : sent + AUDIO_CHUNK_BYTES]
            last_chunk = sent + len(chunk) >= total
            # CBR: bytes are proportional to time, so this is when the chunk's audio ends.
            chunk_end_s = (sent + len(chunk)) / total * duration_s
            while pending and (pending[0].start_s < chunk_end_s or last_chunk):
                await send_metadata(turn, pending.pop(0))
            await send_audio(turn, chunk)
            if drop and sent + len(chunk) >= total // 2:
                # A network failure, not a goodbye: no close frame, no turn.end.
                turn.connection.transport.abort()
                return
        await send_audio(turn, b"")
        await send_text(turn, "turn.end", {})

    async def _pause(self, connection: ServerConnection | None) -> None:
        """Wait ``delay_s``, or less if the client goes away or the simulator stops."""
        if connection is None:
            await self.wait_stopping(self._delay_s)
            return
        with contextlib.suppress(asyncio.TimeoutError):
            async with deadline(self._delay_s):
                await connection.wait_closed()


def _ssml_request(
    path: str,
    query: dict[str, str],
    headers: dict[str, str],
    fault: EdgeFault,
    speech_config: dict[str, Any] | None,
    ssml: str,
) -> RecordedRequest:
    voice = rate = volume = pitch = text = None
    try:
        root = ET.fromstring(ssml)
        voice_element = root.find(f"{_SSML_NS}voice")
        if voice_element is not None:
            voice = voice_element.get("name")
            prosody = voice_element.find(f"{_SSML_NS}prosody")
            if prosody is not None:
                rate, volume, pitch = prosody.get("rate"), prosody.get("volume"), prosody.get("pitch")
                text = "".join(prosody.itertext())
    except ET.ParseError:
        logger.warning("simulator received SSML it cannot parse: %r", ssml[:200])
    return RecordedRequest(
        kind="synthesis",
        path=path,
        query=query,
        headers=headers,
        status=101,
        fault=fault,
        speech_config=speech_config,
        ssml=ssml,
        voice=voice,
        rate=rate,
        volume=volume,
        pitch=pitch,
        text=text,
    )


def _split(target: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(target)
    return parts.path, dict(parse_qsl(parts.query, keep_blank_values=True))


def _bundled_voices() -> list[dict[str, Any]]:
    raw = json.loads(resources.files("interviewai").joinpath("resources/edge_voices.json").read_text("utf-8"))
    voices: list[dict[str, Any]] = raw["voices"]
    return voices


# -- command line ------------------------------------------------------------------------------


async def run(
    *,
    port: int,
    host: str = "127.0.0.1",
    fault: EdgeFault | str = EdgeFault.NONE,
    delay_s: float = 30.0,
    model_dir: Path | None = None,
    on_ready: Callable[[EdgeTtsSimulator], None] | None = None,
) -> None:
    """Load the offline voice, serve until cancelled, and print the EDGE_TTS_URL to use.

    ``on_ready`` is called with the running simulator once it is serving.
    """
    # Imported here so the simulator itself works with any SpeechSynthesizer (tests pass their own).
    from interviewai.adapters.speech.piper import PiperSynthesizer

    piper = await PiperSynthesizer.open(model_dir or load_settings().resolved_model_dir)
    try:
        async with EdgeTtsSimulator(piper, host=host, port=port, fault=fault, delay_s=delay_s) as sim:
            print_settings(
                f"Edge TTS simulator on {sim.url} (fault: {sim.fault.value})", {"EDGE_TTS_URL": sim.url}
            )
            if on_ready is not None:
                on_ready(sim)
            await serve_forever()
    finally:
        await asyncio.to_thread(piper.close)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``edge-sim`` options, for the ``interviewai`` command's subparser."""
    add_listen_arguments(parser, 8765)
    parser.add_argument(
        "--fault",
        choices=[f.value for f in EdgeFault if f is not EdgeFault.NONE],
        default=None,
        help="misbehave: refuse connections, drop mid-stream, send no audio, delay, or reject with 403",
    )
    parser.add_argument("--delay-s", type=float, default=30.0, help="how long --fault delay waits (seconds)")
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=None,
        help="where the aligned voice model is kept (default: MODEL_DIR)",
    )


def handle(args: argparse.Namespace) -> int:
    """Run the simulator from parsed ``add_arguments`` options until Ctrl-C."""
    model_dir = args.model_dir or load_settings().resolved_model_dir
    return run_until_interrupted(
        run(
            port=args.port,
            host=args.host,
            fault=args.fault or EdgeFault.NONE,
            delay_s=args.delay_s,
            model_dir=model_dir,
        )
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``interviewai edge-sim --port N [--fault ...]``: run the simulator until Ctrl-C."""
    return simulator_main(
        argv,
        prog="interviewai edge-sim",
        description="Serve a local Edge TTS simulator (edge-tts wire protocol).",
        add_arguments=add_arguments,
        handle=handle,
    )


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
