"""Embedding micro-batching and caching on the retrieval hot path (with a counting stand-in model)."""

import asyncio
import threading
import time

from retrieval_service.batcher import EmbeddingBatcher


class CountingModel:
    """Stands in for the sentence-transformers model: slow enough for requests to pile up, and counted."""

    model_name = "counting"

    def __init__(self):
        self.calls = []
        self.lock = threading.Lock()

    def encode(self, texts):
        time.sleep(0.02)
        with self.lock:
            self.calls.append(list(texts))
        return [[float(len(t)), 1.0] for t in texts]

    async def aencode(self, texts):
        return await asyncio.to_thread(self.encode, texts)


async def test_concurrent_requests_share_model_calls():
    model = CountingModel()
    batcher = EmbeddingBatcher(model, cache_size=0)
    results = await asyncio.gather(*(batcher.embed([f"text {i}"]) for i in range(20)))
    assert [r[0][0] for r in results] == [float(len(f"text {i}")) for i in range(20)]
    assert len(model.calls) <= 2  # the first call goes at once, the rest share the next
    assert sum(len(c) for c in model.calls) == 20


async def test_one_embedding_per_distinct_text_and_cache_hits():
    model = CountingModel()
    batcher = EmbeddingBatcher(model, cache_size=10)
    first = await batcher.embed(["a", "b", "a"])
    assert first[0] == first[2] and model.calls == [["a", "b"]]
    await batcher.embed(["b", "a"])
    assert len(model.calls) == 1  # both cached
    await asyncio.gather(batcher.embed(["c"]), batcher.embed(["c"]))
    assert sum(c.count("c") for c in model.calls) == 1


async def test_cache_is_bounded_lru():
    model = CountingModel()
    batcher = EmbeddingBatcher(model, cache_size=2)
    for text in ("a", "b", "c"):
        await batcher.embed([text])
    await batcher.embed(["a"])
    assert [c for call in model.calls for c in call] == ["a", "b", "c", "a"]


async def test_a_cancelled_caller_does_not_fail_the_others():
    model = CountingModel()
    batcher = EmbeddingBatcher(model, cache_size=0)
    impatient = asyncio.create_task(batcher.embed(["shared"]))
    patient = asyncio.create_task(batcher.embed(["shared"]))
    await asyncio.sleep(0.001)
    impatient.cancel()
    assert (await patient)[0] == [6.0, 1.0]


async def test_a_text_cached_on_entry_but_evicted_while_waiting_is_still_returned():
    """The cache holds two texts; `a` is cached when the request enters, and evicted by the other texts of the
    same request before they come back from the model (it used to be a KeyError)."""
    batcher = EmbeddingBatcher(CountingModel(), cache_size=2)
    await batcher.embed(["a"])
    vectors = await batcher.embed(["a", "bb", "ccc", "dddd"])
    assert vectors == [[1.0, 1.0], [2.0, 1.0], [3.0, 1.0], [4.0, 1.0]]
