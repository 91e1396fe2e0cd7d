"""Qdrant down: retrieval answers UNAVAILABLE within the deadline, readiness goes NOT_SERVING, and both
recover without a restart; ingestion waits for the store and loses no batch.

No Qdrant server can run on this machine, so the outage is made two real ways: in embedded mode the
dataset's shards are held by another process (qdrant-edge locks a shard's WAL; the store cannot open
them until that process lets go), in server mode the URL is a port where nothing listens.
"""

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest

from lbi.cli.local_runner import launch_runner
from lbi.clients.retrieval import AsyncRetrievalClient
from lbi.dataset import DatasetStore
from lbi.store.edge import EdgeStore
from lbi.store.server import ServerStore
from retrieval_service.config import RetrievalSettings
from retrieval_service.server import SERVICE_NAME, start_retrieval
from synth_service.config import SynthSettings
from synth_service.engine import Engine
from synth_service.spec import spec_from_dict
from tests.fixtures.health import NOT_SERVING, SERVING, health_status, wait_for_status
from tests.integration.test_retrieval_service import COUNTS, EXAMPLES

HOLD = (
    "import sys, qdrant_edge as qe\nheld = [qe.EdgeShard.load(p) for p in sys.argv[1:]]\n"
    "print('held', flush=True)\nsys.stdin.read()\n"
)


class ShardHolder:
    """Another process that owns the given shards (as a second service on the same data folder would)."""

    def __init__(self, shards: list[Path]):
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLD, *map(str, shards)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None and self.process.stdout.readline().strip() == "held"

    def release(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        self.process.wait(timeout=30)


async def test_embedded_store_held_elsewhere_then_released(tmp_path, embedder):
    root = tmp_path / "qdrant"
    seed = EdgeStore(root)
    await DatasetStore(seed, embedder).ingest("shop", EXAMPLES, job_id="job-1")
    await seed.close()
    holder = ShardHolder(sorted(p for p in root.iterdir() if p.name.startswith("shop__")))
    store = EdgeStore(root)
    server, _service = await start_retrieval(
        RetrievalSettings(data_dir=tmp_path, retrieval_port=0, health_interval_s=0.2), store=store, embedder=embedder
    )
    target = f"127.0.0.1:{server.port}"
    try:
        async with AsyncRetrievalClient(target) as client:
            started = time.monotonic()
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await client.retrieve("shop", observation=COUNTS, timeout_s=2)
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE and "vector store unavailable" in str(
                err.value.details()
            )
            assert time.monotonic() - started < 2 and "Traceback" not in str(err.value.details())
            await wait_for_status(target, NOT_SERVING, SERVICE_NAME, within_s=1)
            assert await health_status(target) == SERVING  # liveness: the process is fine, do not restart it

            holder.release()
            recovered_s = await wait_for_status(target, SERVING, SERVICE_NAME)
            result = await client.retrieve("shop", observation=COUNTS, timeout_s=5)
            assert result.examples and recovered_s < 5
    finally:
        await server.stop(0)
        await store.close()


async def test_server_store_where_nothing_listens_is_unavailable_and_not_ready(tmp_path, embedder):
    store = ServerStore(url="http://127.0.0.1:9", prefer_grpc=True, timeout=1)
    server, _ = await start_retrieval(
        RetrievalSettings(data_dir=tmp_path, retrieval_port=0, health_interval_s=0.2), store=store, embedder=embedder
    )
    target = f"127.0.0.1:{server.port}"
    try:
        assert await health_status(target, SERVICE_NAME) == NOT_SERVING  # the first ping already failed
        async with AsyncRetrievalClient(target) as client:
            for deadline in (0.5, 3.0):
                started = time.monotonic()
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await client.retrieve("shop", observation=COUNTS, timeout_s=deadline)
                assert err.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
                assert time.monotonic() - started < deadline + 0.5
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        await server.stop(0)
        await store.close()


async def test_ingest_waits_for_the_store_and_loses_no_batch(tmp_path, embedder):
    root = tmp_path / "qdrant"
    seed = EdgeStore(root)
    await DatasetStore(seed, embedder).ingest("waits", EXAMPLES[:1], job_id="seed")
    await seed.close()
    holder = ShardHolder(sorted(p for p in root.iterdir() if p.name.startswith("waits__")))
    store = EdgeStore(root)
    engine = Engine(
        SynthSettings(data_dir=tmp_path, runner_step_timeout_s=5), store, embedder, launch_runner=launch_runner
    )
    try:
        spec = spec_from_dict(
            {
                "env": "sql",
                "dataset": "waits",
                "ingest_batch": 4,
                "resource_filter": ["Filtering rows with WHERE", "Counting rows"],
            }
        )
        job_id = engine.create(spec)
        refused = asyncio.Event()

        async def watch():
            async for event in engine.watch(job_id):
                if event.get("stage") == "ingest" and "vector store unavailable" in event.get("message", ""):
                    refused.set()

        watcher = asyncio.ensure_future(watch())
        await asyncio.sleep(0)
        task = engine.start(job_id)
        assert task is not None
        await asyncio.wait_for(refused.wait(), 120)  # the first batch was refused
        await asyncio.sleep(1.5)  # several refused writes: the job waits (judging slows down behind the queue)
        assert engine.journal.count(job_id, "ingested") == 0 and not task.done()
        holder.release()
        await asyncio.wait_for(task, 300)
        await watcher
        job = engine.get(job_id)
        assert job["state"] == "SUCCEEDED", job["error"]
        kept = job["stats"].kept
        assert engine.journal.count(job_id, "ingested") == kept
        assert await store.count("waits__examples") == kept + 1  # plus the seed example
    finally:
        await engine.close()
        await store.close()
