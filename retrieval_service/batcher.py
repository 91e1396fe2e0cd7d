"""Embedding on the hot path: an LRU cache, and micro-batching of concurrent requests.

Each distinct text is embedded once; the first request goes to the model at once, and texts requested
by concurrent calls while the model runs share its next call (back-pressure batching; an extra wait
window is optional). The model runs in a worker thread, so the event loop never waits on inference.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence

from lbi.embedding import AsyncEncoder
from lbi.telemetry import tracer

_tracer = tracer("lbi.retrieval")


class EmbeddingBatcher:
    def __init__(self, embedder: AsyncEncoder, wait_ms: float = 0.0, max_batch: int = 64, cache_size: int = 4096):
        self.embedder = embedder
        self.wait_s = wait_ms / 1000
        self.max_batch = max_batch
        self.cache_size = cache_size
        self._cache: OrderedDict[str, list[float]] = OrderedDict()
        self._pending: dict[str, asyncio.Future] = {}
        self._flusher: asyncio.Task | None = None
        self.model_calls = 0

    def _cached(self, text: str) -> list[float] | None:
        vector = self._cache.get(text)
        if vector is not None:
            self._cache.move_to_end(text)
        return vector

    def _remember(self, text: str, vector: list[float]) -> None:
        if self.cache_size:
            self._cache[text] = vector
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Vectors for texts, in order; cached ones immediately, the rest batched with other callers."""
        loop = asyncio.get_running_loop()
        futures: dict[str, asyncio.Future] = {}
        found: dict[str, list[float]] = {}  # cached on entry: kept here, since the cache may evict them while we wait
        for text in dict.fromkeys(texts):
            vector = self._cached(text)
            if vector is not None:
                found[text] = vector
                continue
            if text not in self._pending:
                self._pending[text] = loop.create_future()
            futures[text] = self._pending[text]
        if futures and self._flusher is None:
            self._flusher = loop.create_task(self._flush_soon())
        if futures:
            model = getattr(self.embedder, "model_name", "")
            with _tracer.start_as_current_span(
                f"embeddings {model}",
                attributes={
                    "gen_ai.operation.name": "embeddings",
                    "gen_ai.request.model": model,
                    "lbi.texts": len(futures),
                },
            ):
                await asyncio.gather(*(asyncio.shield(f) for f in futures.values()))
        return [found[t] if t in found else futures[t].result() for t in texts]

    async def _flush_soon(self) -> None:
        try:
            if self.wait_s and len(self._pending) < self.max_batch:
                await asyncio.sleep(self.wait_s)
            while self._pending:
                batch = dict(list(self._pending.items())[: self.max_batch])
                for text in batch:
                    del self._pending[text]
                try:
                    self.model_calls += 1
                    vectors = await self.embedder.aencode(list(batch))
                except Exception as exc:
                    for future in batch.values():
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (text, future), vector in zip(batch.items(), vectors, strict=True):
                    self._remember(text, vector)
                    if not future.done():
                        future.set_result(vector)
        finally:
            self._flusher = None
