"""EdgeSynthesizer through the Edge simulator: audio, timings, visemes, prosody, errors and voices."""

from __future__ import annotations

import itertools
import time

import pytest

from edge_fixtures import JENNY, QUESTION, FakeClock, decode_mp3, edge_for, piper, simulator
from interviewai.adapters.speech.edge import (
    Boundary,
    EdgeEndpoint,
    EdgeSynthesizer,
    map_boundaries_to_words,
    mp3_duration_s,
    word_phonemizer,
    words_to_visemes,
)
from interviewai.adapters.speech.piper import PiperSynthesizer
from interviewai.domain.errors import ProviderCategory, ProviderError
from interviewai.domain.speech import VoiceSettings, WordTiming
from interviewai.domain.visemes import OCULUS_VISEMES
from interviewai.simulators.edge_tts import EdgeTtsSimulator

__all__ = ["piper", "simulator"]  # fixtures


# -- happy path ---------------------------------------------------------------------------------


async def test_speaks_mp3_with_the_simulators_word_timings(
    simulator: EdgeTtsSimulator, piper: PiperSynthesizer
) -> None:
    audio = await edge_for(simulator, piper).synthesize(QUESTION, JENNY)

    assert (audio.engine, audio.voice, audio.voice_label) == ("edge", JENNY.voice, "edge:en-US-JennyNeural")
    samples = decode_mp3(audio.mp3)
    assert abs(len(samples) / 22050 - audio.duration_s) < 0.002  # duration measured from the MP3
    # One timing per displayed word, named as displayed (punctuation included).
    assert [w.word for w in audio.word_timings] == QUESTION.split()
    (request,) = simulator.synthesis_requests()
    sent = [(round(b.start_s, 3), round(b.end_s, 3)) for b in request.boundaries]
    assert [(w.start, w.end) for w in audio.word_timings] == sent
    for before, after in zip(audio.word_timings, audio.word_timings[1:], strict=False):
        assert before.start < before.end <= after.start
    assert audio.word_timings[-1].end <= audio.duration_s


async def test_visemes_cover_the_audio_and_sit_inside_words(
    simulator: EdgeTtsSimulator, piper: PiperSynthesizer
) -> None:
    audio = await edge_for(simulator, piper).synthesize("Why do you want to work here?", JENNY)

    visemes = audio.visemes
    assert visemes[0].start == 0.0 and visemes[-1].end == pytest.approx(audio.duration_s, abs=0.001)
    for before, after in itertools.pairwise(visemes):
        assert before.end == pytest.approx(after.start, abs=0.001)  # contiguous
        assert before.viseme != after.viseme  # merged
    assert {v.viseme for v in visemes} <= set(OCULUS_VISEMES)
    for viseme in visemes:
        if viseme.viseme == "sil":
            continue
        assert any(
            w.start - 0.001 <= viseme.start and viseme.end <= w.end + 0.001 for w in audio.word_timings
        )
    # Each word's mouth shapes start with the word ("Why": w -> U).
    why = audio.word_timings[0]
    assert next(v for v in visemes if v.start >= why.start).viseme == "U"


async def test_prosody_reaches_the_wire(simulator: EdgeTtsSimulator, piper: PiperSynthesizer) -> None:
    settings = VoiceSettings(voice="en-US-GuyNeural", rate="-15%", volume="+20%", pitch="+8Hz")
    audio = await edge_for(simulator, piper).synthesize("Walk me through your resume.", settings)

    (request,) = simulator.synthesis_requests()
    assert request.voice == "Microsoft Server Speech Text to Speech Voice (en-US, GuyNeural)"
    assert (request.rate, request.volume, request.pitch) == ("-15%", "+20%", "+8Hz")
    assert request.ssml is not None and "<prosody pitch='+8Hz' rate='-15%' volume='+20%'>" in request.ssml
    assert audio.voice == "en-US-GuyNeural"


# -- failures -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "category", "retryable"),
    [
        ("refuse", ProviderCategory.CONNECTIVITY, True),
        ("drop", ProviderCategory.CONNECTIVITY, True),
        ("no-audio", ProviderCategory.NO_AUDIO, True),
        ("delay", ProviderCategory.TIMEOUT, True),
        ("forbidden", ProviderCategory.AUTH, False),
    ],
)
async def test_faults_become_classified_provider_errors(
    simulator: EdgeTtsSimulator,
    piper: PiperSynthesizer,
    fault: str,
    category: ProviderCategory,
    retryable: bool,
) -> None:
    timeout_s = 1.0
    await simulator.set_fault(fault, delay_s=30)
    started = time.perf_counter()
    with pytest.raises(ProviderError) as raised:
        await edge_for(simulator, piper, timeout_s=timeout_s).synthesize(QUESTION, JENNY)
    assert time.perf_counter() - started < timeout_s + 0.5
    assert (raised.value.provider, raised.value.category, raised.value.retryable) == (
        "edge",
        category,
        retryable,
    )
    assert "Sec-MS-GEC=" not in str(raised.value)  # no request URL with its token in messages


@pytest.mark.parametrize(
    "settings",
    [
        VoiceSettings(voice="Jenny"),
        VoiceSettings(voice="en-US-JennyNeural", rate="10%"),
        VoiceSettings(voice="en-US-JennyNeural", pitch="+5%"),
    ],
)
async def test_settings_edge_tts_rejects_fail_before_any_request(
    simulator: EdgeTtsSimulator, piper: PiperSynthesizer, settings: VoiceSettings
) -> None:
    with pytest.raises(ProviderError) as raised:
        await edge_for(simulator, piper).synthesize("Hello.", settings)
    assert raised.value.category is ProviderCategory.INVALID_REQUEST and not raised.value.retryable
    with pytest.raises(ValueError, match="Invalid"):
        EdgeSynthesizer.validate(settings)
    assert simulator.requests == []


async def test_unknown_voice_is_no_audio(simulator: EdgeTtsSimulator, piper: PiperSynthesizer) -> None:
    with pytest.raises(ProviderError) as raised:
        await edge_for(simulator, piper).synthesize("Hello.", VoiceSettings(voice="en-US-NobodyNeural"))
    assert raised.value.category is ProviderCategory.NO_AUDIO


def test_endpoint_setting_is_parsed() -> None:
    assert EdgeEndpoint.parse("") is None
    assert EdgeEndpoint.parse("ws://127.0.0.1:8765") == EdgeEndpoint("127.0.0.1", 8765, tls=False)
    assert EdgeEndpoint.parse("wss://relay.example") == EdgeEndpoint("relay.example", 443, tls=True)
    with pytest.raises(ValueError, match="EDGE_TTS_URL"):
        EdgeEndpoint.parse("http://127.0.0.1:8765")


# -- voices -------------------------------------------------------------------------------------------


async def test_voice_list_is_live_cached_then_snapshot_when_unreachable(
    simulator: EdgeTtsSimulator, piper: PiperSynthesizer
) -> None:
    clock = FakeClock()
    edge = edge_for(simulator, piper, timeout_s=2.0, clock=clock)

    live = await edge.list_voices()
    assert {v.source for v in live} == {"live"} and all(v.available for v in live)
    await edge.list_voices()
    assert len(simulator.requests) == 1  # cached

    await simulator.set_fault("refuse")
    clock.advance(7 * 3600)  # past the live list's lifetime
    snapshot = await edge.list_voices()
    assert {v.source for v in snapshot} == {"snapshot"} and not any(v.available for v in snapshot)
    names = {v.short_name for v in snapshot}
    assert {
        "en-US-JennyNeural",
        "en-US-GuyNeural",
        "en-US-AriaNeural",
        "en-GB-SoniaNeural",
        "en-US-EmmaMultilingualNeural",
    } <= names
    jenny = next(v for v in snapshot if v.short_name == "en-US-JennyNeural")
    assert (jenny.gender, jenny.locale, jenny.engine) == ("Female", "en-US", "edge")

    await simulator.set_fault("none")
    clock.advance(61)  # the snapshot is retried after a minute
    assert {v.source for v in await edge.list_voices()} == {"live"}


# -- word mapping (pure) --------------------------------------------------------------------------


def _words(text: str, *boundaries: tuple[str, float, float]) -> list[tuple[str, float, float]]:
    timings = map_boundaries_to_words(text, [Boundary(*b) for b in boundaries])
    return [(w.word, w.start, w.end) for w in timings]


def test_boundaries_map_onto_displayed_words_despite_punctuation_and_case() -> None:
    assert _words('"Hello," she said.', ("hello", 0.1, 0.4), ("She", 0.5, 0.6), ("said", 0.6, 0.9)) == [
        ('"Hello,"', 0.1, 0.4),
        ("she", 0.5, 0.6),
        ("said.", 0.6, 0.9),
    ]


def test_a_word_the_service_splits_takes_the_union() -> None:
    assert _words(
        "Use CI/CD daily", ("Use", 0.0, 0.2), ("CI", 0.3, 0.5), ("CD", 0.6, 0.8), ("daily", 0.9, 1.2)
    ) == [
        ("Use", 0.0, 0.2),
        ("CI/CD", 0.3, 0.8),
        ("daily", 0.9, 1.2),
    ]


def test_a_boundary_the_service_merges_is_shared_by_characters() -> None:
    assert _words("New York office", ("New York", 0.0, 0.7), ("office", 0.8, 1.2)) == [
        ("New", 0.0, 0.3),
        ("York", 0.3, 0.7),
        ("office", 0.8, 1.2),
    ]


def test_unmatched_words_share_the_gap_and_order_is_kept() -> None:
    timings = _words(
        "It costs $5 — really",
        ("It", 0.0, 0.1),
        ("costs", 0.2, 0.5),
        ("five dollars", 0.6, 1.2),
        ("really", 1.4, 1.8),
    )
    assert [t[0] for t in timings] == ["It", "costs", "$5", "—", "really"]
    starts = [t[1] for t in timings]
    assert starts == sorted(starts)
    assert timings[2][1] >= timings[1][2] and timings[3][2] <= timings[4][1]


def test_without_boundaries_words_are_spread_over_the_audio() -> None:
    assert map_boundaries_to_words("one two", [], end_s=1.0) == [
        WordTiming("one", 0.0, 0.5),
        WordTiming("two", 0.5, 1.0),
    ]


def test_overlapping_boundaries_are_made_monotonic() -> None:
    timings = map_boundaries_to_words("one two", [Boundary("one", 0.0, 0.5), Boundary("two", 0.4, 0.8)])
    assert timings == [WordTiming("one", 0.0, 0.5), WordTiming("two", 0.5, 0.8)]


def test_visemes_are_silent_between_words(piper: PiperSynthesizer) -> None:
    words = [WordTiming("Hi", 0.1, 0.3), WordTiming("Bob", 0.5, 0.8)]
    visemes = words_to_visemes(words, word_phonemizer(piper), 1.0)
    assert (visemes[0].viseme, visemes[0].end) == ("sil", 0.1)
    gap = [v for v in visemes if v.start >= 0.3 and v.end <= 0.5]
    assert [v.viseme for v in gap] == ["sil"]
    assert visemes[-1].viseme == "sil" and visemes[-1].end == 1.0
    assert next(v.viseme for v in visemes if 0.5 <= v.start < 0.8) == "PP"  # "Bob"


def test_word_phonemizer_normalizes_like_the_offline_voice(piper: PiperSynthesizer) -> None:
    phonemize = word_phonemizer(piper)
    assert phonemize("AWS,") == phonemize("A-W-S")  # spelled out, punctuation dropped
    assert "," not in phonemize("yourself,") and " " not in phonemize("C++")


def test_mp3_duration_falls_back_to_edges_bit_rate() -> None:
    assert mp3_duration_s(b"\x00" * 6000) == pytest.approx(1.0)
