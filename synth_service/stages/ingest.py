"""Stage 6, ingest: embed the kept examples and upsert them into the dataset's collections, in batches.

While a job runs, kept examples are written as they are judged (`Ingester`): a batch goes out when it
holds `ingest_batch` examples or when its oldest example has waited `flush_s` (the first batch at once), so
the first examples are retrievable seconds into a job of hours. `run` writes whatever is kept and not yet
written (a job out of budget ends with it).

Point ids derive from example ids, so a batch written twice (a crash between the upsert and its journal
row) leaves the same points. A batch the store refuses (down, restarting, a shard held by another process)
is retried with backoff for up to `store_wait_s`; it is journaled only once written, so none is lost.
"""

from __future__ import annotations

import asyncio

from lbi.dataset import example_from_payload
from lbi.records import Example
from lbi.store.base import StoreUnavailable
from synth_service.context import JobContext
from synth_service.stages.names import FILTERED, INGESTED


class Ingester:
    """Takes kept examples as they come (`put`), writes them in batches until `close` and the queue is empty.

    With `bounded`, `put` waits while four batches are already waiting: when the store or the embedding model
    is slower than the LLMs, judging slows down instead of memory filling with examples not yet written."""

    def __init__(self, ctx: JobContext, on_written=None, flush_s: float = 1.0, bounded: bool = True):
        self.ctx = ctx
        self.flush_s = flush_s
        self.written = 0
        self._queue: asyncio.Queue = asyncio.Queue(4 * ctx.spec.ingest_batch if bounded else 0)
        self._closed = object()
        self._on_written = on_written or (lambda n: None)

    async def put(self, key: str, payload: dict) -> None:
        await self._queue.put((key, payload))

    async def close(self) -> None:
        """No more examples will come; `run` returns once the last batch is written."""
        await self._queue.put(self._closed)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        done = False
        while not done:
            first = await self._queue.get()
            if first is self._closed:
                return
            # the first batch goes out at once (the job's first examples are retrievable as early as possible)
            batch, deadline = [first], loop.time() + (self.flush_s if self.written else 0.0)
            while len(batch) < self.ctx.spec.ingest_batch:
                try:
                    item = await asyncio.wait_for(self._queue.get(), max(0.0, deadline - loop.time()))
                except TimeoutError:
                    break
                if item is self._closed:
                    done = True
                    break
                batch.append(item)
            await write_batch(self.ctx, batch)
            self.written += len(batch)
            self._on_written(len(batch))


async def write_batch(ctx: JobContext, batch: list[tuple[str, dict]]) -> None:
    """Writes a batch of kept examples, then journals them as ingested."""
    await _write(ctx, [example_from_payload(p) for _, p in batch])
    await ctx.journal.aput(ctx.job_id, INGESTED, [(key, {}, True, "") for key, _ in batch])


async def run(ctx: JobContext) -> None:
    """Writes every kept example not written yet."""
    done = ctx.journal.keys(ctx.job_id, INGESTED)
    kept = [
        (key, payload) for key, payload, _, _ in ctx.journal.records(ctx.job_id, FILTERED, ok=True) if key not in done
    ]
    total = len(done) + len(kept)
    finished = len(done)
    for start in range(0, len(kept), ctx.spec.ingest_batch):
        batch = kept[start : start + ctx.spec.ingest_batch]
        await write_batch(ctx, batch)
        finished += len(batch)
        ctx.publish({"stage": "ingest", "done": finished, "total": total})


async def _write(ctx: JobContext, examples: list[Example]) -> None:
    waited, delay = 0.0, 0.25
    while True:
        try:
            await ctx.datasets.ingest(ctx.spec.dataset, examples, job_id=ctx.job_id)
            return
        except StoreUnavailable as exc:
            if waited >= ctx.store_wait_s:
                raise
            ctx.publish({"stage": "ingest", "message": f"vector store unavailable, retrying in {delay:.2f} s: {exc}"})
            ctx.check_cancel()
            await asyncio.sleep(delay)
            waited += delay
            delay = min(delay * 2, 5.0)
