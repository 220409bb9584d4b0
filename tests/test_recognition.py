"""The whisper engine, decoding every format, speaking metrics, pause cuts and recogniser failover."""

from __future__ import annotations

import threading

import pytest

from interviewai.adapters.audio.decoding import (
    StreamDecoder,
    cut_point,
    decode_upload,
    is_silent,
    last_sound_s,
)
from interviewai.adapters.recognition.whisper import WhisperRecognizer
from interviewai.domain.errors import AudioTooLong, ProviderError, UnreadableAudio, UnsupportedAudio
from interviewai.domain.recognition import SAMPLE_RATE, PcmAudio, RecognizedWord, Transcript, speech_metrics
from interviewai.services.live_transcription import split_transcript
from interviewai.services.recognition import RecognitionService
from interviewai.services.speech import BreakerState
from spoken_audio import FORMATS, encode, word_error_rate
from stt_fixtures import BrokenRecognizer, SpeakPcm, answer_voice, speak, whisper

TEXT = "I enjoy building reliable backend services. Last year I moved our search feature to a new database."
__all__ = ["answer_voice", "speak", "whisper"]


async def test_whisper_hears_known_speech_with_word_times(
    whisper: WhisperRecognizer, speak: SpeakPcm
) -> None:
    audio = PcmAudio(speak(TEXT))
    heard = await whisper.transcribe(audio)
    assert word_error_rate(TEXT, heard.text) <= 0.15, heard.text
    assert heard.engine == "whisper" and heard.model == "tiny.en"
    starts = [w.start for w in heard.words]
    assert starts == sorted(starts)
    assert all(0 <= w.start <= w.end <= audio.duration_s for w in heard.words)
    assert all(0 <= w.confidence <= 1 for w in heard.words)
    assert len(heard.words) >= 15
    # The half second of silence before the first word is not heard as speech (Whisper is ~0.2 s coarse).
    assert heard.words[0].start >= 0.1


async def test_whisper_hears_nothing_in_silence(whisper: WhisperRecognizer) -> None:
    heard = await whisper.transcribe(PcmAudio(b"\x00\x00" * SAMPLE_RATE * 2))
    assert heard.is_empty and heard.words == ()


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_upload_format_decodes(fmt: str, speak: SpeakPcm) -> None:
    pcm = speak(TEXT)
    data = encode(pcm, fmt)
    decoded = decode_upload(data, None, None, max_s=60)
    assert decoded.container == fmt
    assert decoded.audio.duration_s == pytest.approx(len(pcm) / 2 / SAMPLE_RATE, abs=0.12)
    assert not is_silent(decoded.audio)


@pytest.mark.parametrize("fmt", ["webm", "ogg", "wav"])
def test_live_streams_decode_as_they_arrive(fmt: str, speak: SpeakPcm) -> None:
    pcm = speak(TEXT)
    data = encode(pcm, fmt)
    pieces: list[bytes] = []
    decoder = StreamDecoder(fmt, SAMPLE_RATE, pieces.append)
    thread = threading.Thread(target=decoder.run)
    thread.start()
    for start in range(0, len(data), 2000):
        decoder.feed(data[start : start + 2000])
    decoder.end()
    thread.join(30)
    assert len(pieces) > 10  # decoded piece by piece, not at the end
    assert sum(map(len, pieces)) / 2 / SAMPLE_RATE == pytest.approx(len(pcm) / 2 / SAMPLE_RATE, abs=0.12)


def test_raw_pcm_at_another_rate_is_resampled(speak: SpeakPcm) -> None:
    import numpy as np

    pcm = np.frombuffer(speak(TEXT), dtype="<i2")
    doubled = np.repeat(pcm, 2).astype("<i2").tobytes()  # the same audio at 32 kHz
    pieces: list[bytes] = []
    decoder = StreamDecoder("pcm16", 32000, pieces.append)
    for start in range(0, len(doubled), 3001):  # odd sizes split samples between frames
        decoder.feed(doubled[start : start + 3001])
    decoder.end()
    assert sum(map(len, pieces)) / 2 / SAMPLE_RATE == pytest.approx(len(pcm) / SAMPLE_RATE, abs=0.05)


def test_bad_files_get_their_errors(speak: SpeakPcm) -> None:
    with pytest.raises(UnsupportedAudio):
        decode_upload(b"just some text, not audio at all", "text/plain", "answer.txt", max_s=60)
    with pytest.raises(UnsupportedAudio):
        decode_upload(b"\x89PNG\r\n\x1a\n" + bytes(200), "image/png", "me.png", max_s=60)
    with pytest.raises(UnreadableAudio):
        decode_upload(bytes(range(256)) * 4, "audio/wav", "answer.wav", max_s=60)
    wav = encode(speak(TEXT), "wav")
    with pytest.raises(UnreadableAudio):
        decode_upload(wav[:30], "audio/wav", None, max_s=60)  # a header cut short
    with pytest.raises(AudioTooLong):
        decode_upload(wav, "audio/wav", None, max_s=2.0)


def test_pauses_cut_long_audio(speak: SpeakPcm) -> None:
    one = speak("I split the work into small steps that we could release one at a time.")
    audio = PcmAudio(one + one)
    cut = cut_point(audio, min_chunk_s=2.0, max_chunk_s=30.0)
    first_len = len(one) / 2 / SAMPLE_RATE
    # The last pause: either the silence between the two sentences or the trailing one.
    assert cut is not None and cut >= first_len - 0.6
    assert cut_point(PcmAudio(one[:SAMPLE_RATE]), min_chunk_s=2.0, max_chunk_s=30.0) is None


def test_the_last_sound_is_found_before_the_trailing_silence(speak: SpeakPcm) -> None:
    spoken = speak("I would measure it first.")  # half a second of silence on each side
    end = last_sound_s(PcmAudio(spoken))
    assert len(spoken) / 2 / SAMPLE_RATE - 0.8 <= end <= len(spoken) / 2 / SAMPLE_RATE - 0.4
    assert last_sound_s(PcmAudio(b"\x00\x00" * SAMPLE_RATE)) == 0.0
    assert last_sound_s(PcmAudio(b"")) == 0.0


def test_a_transcript_splits_at_a_cut_with_its_punctuation() -> None:
    words = tuple(
        RecognizedWord(w, s, e, 0.9)
        for w, s, e in [("First,", 0.1, 0.5), ("we", 0.6, 0.8), ("copied.", 0.9, 1.4), ("Then", 2.0, 2.3)]
    )
    heard = Transcript("First, we copied. Then", words, 3.0, "whisper", "tiny.en")
    before, after = split_transcript(heard, 1.7)
    assert before.text == "First, we copied." and before.words == words[:3] and before.duration_s == 1.7
    assert after.text == "Then" and after.words == (RecognizedWord("Then", 0.3, 0.6, 0.9),)
    assert after.duration_s == pytest.approx(1.3)
    # A text with more tokens than there are words: rebuilt from the words.
    other = Transcript("First we copied then, um", words, 3.0, "openai", "whisper-1")
    assert split_transcript(other, 0.7)[0].text == "First,"
    assert split_transcript(other, 0.7)[1].text == "we copied. Then"


def test_speech_metrics_from_words() -> None:
    words = tuple(
        RecognizedWord(w, s, e, 0.9)
        for w, s, e in [
            ("Um,", 1.0, 1.2), ("I", 1.3, 1.4), ("like", 1.5, 1.7), ("Python,", 1.8, 2.2), ("you", 2.3, 2.4),
            ("know.", 2.5, 2.8), ("Then", 5.5, 5.7), ("uh", 5.8, 5.9), ("Go.", 6.0, 7.0),
        ]
    )  # fmt: skip
    metrics = speech_metrics(words, duration_s=8.0)
    assert metrics.duration_s == 8.0
    assert metrics.speaking_s == pytest.approx(6.0)
    assert metrics.words_per_minute == pytest.approx(9 / 6.0 * 60, abs=0.1)
    assert metrics.filler_words == 4  # um, like, you know, uh
    assert metrics.long_pauses == 1 and metrics.longest_pause_s == pytest.approx(2.7)
    empty = speech_metrics((), duration_s=3.0)
    assert (empty.words_per_minute, empty.speaking_s, empty.filler_words) == (0.0, 0.0, 0)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_failover_to_the_local_engine_and_breaker(whisper: WhisperRecognizer, speak: SpeakPcm) -> None:
    clock = FakeClock()
    broken = BrokenRecognizer("openai")
    service = RecognitionService([broken, whisper], cooldown_s=60, clock=clock)
    audio = PcmAudio(speak(TEXT))
    heard = await service.transcribe(audio)
    assert heard.engine == "whisper" and word_error_rate(TEXT, heard.text) <= 0.15
    assert broken.calls == 1 and service.breaker("openai").state is BreakerState.OPEN
    await service.transcribe(audio)
    assert broken.calls == 1  # skipped while its breaker is open
    clock.now = 61
    await service.transcribe(audio)
    assert broken.calls == 2  # one probe after the cool-down
    health = {h.engine: h for h in service.health()}
    assert health["openai"].failures == 2 and health["openai"].skipped == 1
    assert health["whisper"].successes == 3


async def test_every_engine_down_is_one_provider_error() -> None:
    service = RecognitionService([BrokenRecognizer("openai"), BrokenRecognizer("whisper")], cooldown_s=60)
    with pytest.raises(ProviderError) as raised:
        await service.transcribe(PcmAudio(b"\x00\x00" * 1600))
    assert raised.value.provider == "recognition"
