"""Stage 6, ingest: embed the kept examples and upsert them into the dataset's collections, in batches.

Point ids derive from example ids, so a batch written twice (a crash between the upsert and its journal
row) leaves the same points.
"""

from __future__ import annotations

from lbi.dataset import example_from_payload
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
        await ctx.datasets.ingest(ctx.spec.dataset, examples, job_id=ctx.job_id)
        ctx.journal.put(ctx.job_id, INGESTED, [(key, {}, True, "") for key, _ in batch])
        finished += len(batch)
        ctx.publish({"stage": "ingest", "done": finished, "total": total})
