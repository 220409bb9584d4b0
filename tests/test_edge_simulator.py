"""The Edge simulator speaks edge-tts's wire protocol: the unmodified edge-tts client parses what it sends."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import aiohttp
import edge_tts
import pytest
from edge_tts.drm import DRM
from edge_tts.exceptions import NoAudioReceived

from edge_fixtures import JENNY, QUESTION, decode_mp3, edge_for, piper, simulator
from interviewai.adapters.speech.edge import EdgeEndpoint, EndpointConnector
from interviewai.adapters.speech.piper import PiperSynthesizer
from interviewai.domain.speech import VoiceSettings
from interviewai.simulators.edge_tts import SYNTHESIS_PATH, VOICES_PATH, EdgeFault, EdgeTtsSimulator, run

__all__ = ["piper", "simulator"]  # fixtures


async def _raw_stream(
    sim: EdgeTtsSimulator, piper: PiperSynthesizer, text: str, settings: VoiceSettings = JENNY
) -> tuple[list[dict[str, Any]], edge_tts.Communicate]:
    """Everything edge-tts's own parser yields for one request to the simulator."""
    request = edge_for(sim, piper).communicate(text, settings)
    return [dict(chunk) async for chunk in request.stream()], request


async def test_edge_tts_parses_a_full_turn(simulator: EdgeTtsSimulator, piper: PiperSynthesizer) -> None:
    chunks, request = await _raw_stream(simulator, piper, QUESTION)

    audio = b"".join(c["data"] for c in chunks if c["type"] == "audio")
    boundaries = [c for c in chunks if c["type"] == "WordBoundary"]
    (recorded,) = simulator.synthesis_requests()
    assert recorded.audio_bytes == len(audio)
    assert request.state["cumulative_audio_bytes"] == len(audio)  # turn.end arrived
    assert len(decode_mp3(audio)) > 22050  # real audio, over a second of it
    # Offsets and durations are passed through exactly as sent, in 100-ns ticks.
    sent = [(b.text, b.offset_ticks, b.duration_ticks) for b in recorded.boundaries]
    assert [(b["text"], b["offset"], b["duration"]) for b in boundaries] == sent
    assert [b["text"] for b in boundaries] == [
        "Tell", "me", "about", "yourself", "and", "your", "background", "with", "AWS"
    ]  # fmt: skip


async def test_metadata_precedes_the_audio_it_describes(
    simulator: EdgeTtsSimulator, piper: PiperSynthesizer
) -> None:
    chunks, _ = await _raw_stream(simulator, piper, QUESTION * 3)  # several audio frames long
    (recorded,) = simulator.synthesis_requests()
    audio = [c for c in chunks if c["type"] == "audio"]
    assert len(audio) > 2
    duration = len(decode_mp3(b"".join(c["data"] for c in audio))) / 22050
    received = 0
    for chunk in chunks:
        if chunk["type"] == "audio":
            received += len(chunk["data"])
        else:  # audio already sent ends before the word starts (CBR: bytes are proportional to time)
            assert received / recorded.audio_bytes * duration <= chunk["offset"] / 1e7 + 0.001


async def test_boundaries_fall_on_speech(simulator: EdgeTtsSimulator, piper: PiperSynthesizer) -> None:
    chunks, _ = await _raw_stream(simulator, piper, "Why do you want to work here? Describe a project.")
    samples = decode_mp3(b"".join(c["data"] for c in chunks if c["type"] == "audio"))
    spans = [(c["offset"] / 1e7, (c["offset"] + c["duration"]) / 1e7) for c in chunks if c["type"] != "audio"]

    def rms(start: float, end: float) -> float:
        segment = samples[int(start * 22050) : int(end * 22050)]
        return float((segment**2).mean() ** 0.5) if len(segment) else 0.0

    words = [rms(s, e) for s, e in spans]
    lead_in = rms(0.0, spans[0][0])
    assert min(words) > 5 * lead_in  # every word is louder than the silence before the first
    assert spans[-1][1] <= len(samples) / 22050 + 0.01


async def test_request_is_recorded_as_edge_tts_sent_it(
    simulator: EdgeTtsSimulator, piper: PiperSynthesizer
) -> None:
    settings = VoiceSettings(voice="en-GB-SoniaNeural", rate="+20%", volume="-10%", pitch="-5Hz")
    await _raw_stream(simulator, piper, "Tea & biscuits <now>?", settings)

    (recorded,) = simulator.synthesis_requests()
    assert recorded.path == SYNTHESIS_PATH
    assert {"TrustedClientToken", "ConnectionId", "Sec-MS-GEC", "Sec-MS-GEC-Version"} <= set(recorded.query)
    assert recorded.headers["Origin"] == "chrome-extension://jdiccldimpdaibmpdkjnbmckianbfold"
    assert recorded.speech_config is not None
    options = recorded.speech_config["context"]["synthesis"]["audio"]["metadataoptions"]
    assert options == {"sentenceBoundaryEnabled": "false", "wordBoundaryEnabled": "true"}
    assert recorded.voice == "Microsoft Server Speech Text to Speech Voice (en-GB, SoniaNeural)"
    assert (recorded.rate, recorded.volume, recorded.pitch) == ("+20%", "-10%", "-5Hz")
    assert recorded.text == "Tea & biscuits <now>?"  # XML-escaped on the wire, unescaped here
    assert recorded.ssml is not None and "&amp;" in recorded.ssml


async def test_voice_list_is_served_on_the_same_port(simulator: EdgeTtsSimulator) -> None:
    endpoint = EdgeEndpoint.parse(simulator.url)
    assert endpoint is not None
    voices = await edge_tts.list_voices(connector=EndpointConnector(endpoint))

    assert "en-US-JennyNeural" in {v["ShortName"] for v in voices}
    (recorded,) = simulator.requests
    assert recorded.kind == "voices" and recorded.path == VOICES_PATH
    assert "trustedclienttoken" in recorded.query


async def test_refuse_means_nothing_listens_until_cleared(
    simulator: EdgeTtsSimulator, piper: PiperSynthesizer
) -> None:
    await simulator.set_fault(EdgeFault.REFUSE)
    with pytest.raises(aiohttp.ClientConnectorError):
        await _raw_stream(simulator, piper, "Hello.")
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", simulator.port)) != 0

    await simulator.set_fault(EdgeFault.NONE)
    chunks, _ = await _raw_stream(simulator, piper, "Hello.")
    assert any(c["type"] == "audio" for c in chunks)


async def test_forbidden_rejects_the_handshake_and_edge_tts_retries_once(
    simulator: EdgeTtsSimulator, piper: PiperSynthesizer
) -> None:
    await simulator.set_fault("forbidden")
    with pytest.raises(aiohttp.WSServerHandshakeError) as raised:
        await _raw_stream(simulator, piper, "Hello.")
    assert raised.value.status == 403
    # edge-tts corrects its clock from our Date header and tries again, as it does with Microsoft.
    assert [r.status for r in simulator.requests] == [403, 403]
    # edge-tts sets its skew to (our Date header - its clock); our clock is right, so what remains is the
    # header's one-second resolution plus the time the reply took, never whole seconds.
    assert abs(DRM.clock_skew_seconds) < 1.0


async def test_drop_cuts_the_stream_without_turn_end(
    simulator: EdgeTtsSimulator, piper: PiperSynthesizer
) -> None:
    await simulator.set_fault("drop")
    chunks, request = await _raw_stream(simulator, piper, QUESTION)  # edge-tts itself raises nothing

    received = sum(len(c["data"]) for c in chunks if c["type"] == "audio")
    (recorded,) = simulator.synthesis_requests()
    assert 0 < received < recorded.audio_bytes
    assert request.state["cumulative_audio_bytes"] == 0  # no turn.end


async def test_no_audio_ends_the_turn_empty(simulator: EdgeTtsSimulator, piper: PiperSynthesizer) -> None:
    await simulator.set_fault("no-audio")
    with pytest.raises(NoAudioReceived):
        await _raw_stream(simulator, piper, "Hello.")


async def test_unknown_voice_gets_no_audio(simulator: EdgeTtsSimulator, piper: PiperSynthesizer) -> None:
    with pytest.raises(NoAudioReceived):
        await _raw_stream(simulator, piper, "Hello.", VoiceSettings(voice="en-US-NobodyNeural"))


async def test_delay_answers_nothing_and_stops_promptly(
    simulator: EdgeTtsSimulator, piper: PiperSynthesizer
) -> None:
    await simulator.set_fault("delay", delay_s=30)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.5):
            await _raw_stream(simulator, piper, "Hello.")
    assert simulator.synthesis_requests()[0].fault is EdgeFault.DELAY
    async with asyncio.timeout(5):  # a pending delay doesn't hold up shutdown
        await simulator.stop()


async def test_cli_run_serves_until_cancelled(
    model_dir: Path, piper: PiperSynthesizer, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started: asyncio.Future[EdgeTtsSimulator] = asyncio.get_running_loop().create_future()
    async with asyncio.TaskGroup() as group:
        server = group.create_task(run(port=port, model_dir=model_dir, on_ready=started.set_result))
        async with asyncio.timeout(30):
            sim = await started
        assert f"EDGE_TTS_URL=ws://127.0.0.1:{port}" in capsys.readouterr().out
        audio = await edge_for(sim, piper).synthesize("Hello there.", JENNY)
        assert audio.engine == "edge" and audio.word_timings[0].word == "Hello"
        server.cancel()
