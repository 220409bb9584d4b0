"""A word-hashing embedder: no model, used when no sentence-embedding model is available."""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

_WORD = re.compile(r"[a-z0-9][a-z0-9+#]*")
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "how",
        "in",
        "is",
        "it",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "with",
        "you",
        "your",
        "we",
        "our",
        "i",
        "me",
        "my",
        "do",
        "does",
        "did",
        "would",
        "could",
        "should",
        "can",
        "will",
        "have",
        "has",
        "had",
        "tell",
        "about",
    ]
)


class LexicalEmbedder:
    """Bag of words hashed into `dim` buckets, L2-normalised: cosine is word overlap, nothing more."""

    def __init__(self, dim: int = 1024) -> None:
        self._dim = dim

    @property
    def model_name(self) -> str:
        return f"lexical-hash-{self._dim}"

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        return self.embed_now(texts)

    def embed_now(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                if word not in _STOP:
                    out[row, zlib.crc32(word.encode()) % self._dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.where(norms == 0, 1.0, norms)).astype(np.float32)
