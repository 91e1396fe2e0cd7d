"""Stage 6, ingest: embed the kept examples and upsert them into the dataset's collections, in batches.

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


async def run(ctx: JobContext) -> None:
    done = ctx.journal.keys(ctx.job_id, INGESTED)
    kept = [(key, payload) for key, payload, _, _ in ctx.journal.records(ctx.job_id, FILTERED, ok=True) if key not in done]
    total = len(done) + len(kept)
    finished = len(done)
    for start in range(0, len(kept), ctx.spec.ingest_batch):
        batch = kept[start : start + ctx.spec.ingest_batch]
        examples = [example_from_payload(p) for _, p in batch]
        await _write(ctx, examples)
        ctx.journal.put(ctx.job_id, INGESTED, [(key, {}, True, "") for key, _ in batch])
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
