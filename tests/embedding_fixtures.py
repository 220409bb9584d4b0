"""The packaged sentence-embedding model, loaded once per test session (import `embedder` by name)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from interviewai.adapters.embeddings.minilm import MiniLmEmbedder


@pytest.fixture(scope="session")
def embedder() -> Iterator[MiniLmEmbedder]:
    """The real all-MiniLM-L6-v2 with two workers; it holds no asyncio objects, so any test's loop can use it."""
    model = MiniLmEmbedder.load(threads=2, timeout_s=30.0)
    yield model
    model.close()
