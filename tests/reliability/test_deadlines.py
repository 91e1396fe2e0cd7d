"""Deadlines and cancellation: an expired deadline is DEADLINE_EXCEEDED and the server stops the work;
a cancelled WatchJob stream frees what it held."""

import asyncio
import time

import grpc
import pytest

from lbi.cli.local_runner import launch_runner
from lbi.clients.retrieval import AsyncRetrievalClient
from lbi.dataset import DatasetStore
from lbi.store.edge import EdgeStore
from lbi.v1 import synthesis_pb2 as spb
from lbi.v1 import synthesis_pb2_grpc
from retrieval_service.config import RetrievalSettings
from retrieval_service.server import start_retrieval
from synth_service.config import SynthSettings
from synth_service.server import start_synthesis
from synth_service.spec import spec_from_dict
from tests.fixtures.openai_server import Behaviour, OpenAIFixture
from tests.integration.test_retrieval_service import COUNTS, EXAMPLES


async def test_expired_deadlines_stop_the_work(tmp_path, embedder):
    store = EdgeStore(tmp_path / "qdrant")
    await DatasetStore(store, embedder).ingest("shop", EXAMPLES, job_id="job-1")
    with OpenAIFixture() as llm:
        llm.default = Behaviour(content='{"queries": ["orders by status"]}', hang_s=3.0)  # a slow query writer
        settings = RetrievalSettings(
            data_dir=tmp_path,
            retrieval_port=0,
            llm_model="openai/slow",
            llm_api_base=llm.api_base,
            llm_timeout_s=10,
            llm_retries=0,
        )
        server, service = await start_retrieval(settings, store=store, embedder=embedder)
        try:
            async with AsyncRetrievalClient(f"127.0.0.1:{server.port}") as client:
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await client.retrieve("shop", observation=COUNTS, generate_queries=True, timeout_s=0.005)
                assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
                await asyncio.sleep(0.5)
                assert service.in_flight == 0

                # 300 ms for work that needs 3 s (the LLM writes the queries): the server gives up at the deadline.
                call = asyncio.ensure_future(
                    client.retrieve("shop", observation=COUNTS, mode="query", generate_queries=True, timeout_s=0.3)
                )
                while service.in_flight == 0 and not call.done():
                    await asyncio.sleep(0.005)
                started = time.monotonic()
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await call
                assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
                while service.in_flight:
                    await asyncio.sleep(0.005)
                assert time.monotonic() - started < 1.0  # stopped, not left running for the LLM's 3 s
                assert len(llm.requests) <= 2
                # The service still answers work that fits its deadline.
                assert (await client.retrieve("shop", observation=COUNTS, mode="observation", timeout_s=5)).examples
        finally:
            await server.stop(0)
            await store.close()


async def test_cancelled_watch_streams_free_their_resources(tmp_path, embedder):
    store = EdgeStore(tmp_path / "qdrant")
    server, engine = await start_synthesis(
        launch_runner=launch_runner,
        settings=SynthSettings(data_dir=tmp_path, synth_port=0),
        store=store,
        embedder=embedder,
    )
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub = synthesis_pb2_grpc.SynthesisServiceStub(channel)
            spec = spec_from_dict({"env": "sql", "dataset": "watched", "resource_filter": ["Counting rows"]})
            job = await stub.CreateJob(spb.CreateJobRequest(spec=spec.to_proto()))
            streams = [stub.WatchJob(spb.WatchJobRequest(job_id=job.id)) for _ in range(20)]
            for stream in streams:
                assert (await stream.read()).job_id == job.id
            assert engine.watchers(job.id) == 20
            for stream in streams:
                stream.cancel()
            started = time.monotonic()
            while engine.watchers(job.id):
                assert time.monotonic() - started < 2, engine.watchers(job.id)
                await asyncio.sleep(0.01)
            # The job itself goes on and a new watcher sees it finish.
            events = [e async for e in stub.WatchJob(spb.WatchJobRequest(job_id=job.id))]
            assert events[-1].state == spb.JOB_STATE_SUCCEEDED and engine.watchers(job.id) == 0
    finally:
        await engine.close()
        await server.stop(0)
        await store.close()


async def test_a_failed_query_writer_is_answered_with_observation_results(tmp_path, embedder):
    """The service's query writer fails (its model answers prose only): query mode is skipped, the observation mode
    answers, and the response says why; the agent gets demonstrations, not UNAVAILABLE."""
    store = EdgeStore(tmp_path / "qdrant")
    await DatasetStore(store, embedder).ingest("shop", EXAMPLES, job_id="job-1")
    with OpenAIFixture() as llm:
        llm.default = Behaviour(content="I'm sorry, I can't write queries for that.")
        settings = RetrievalSettings(
            data_dir=tmp_path, retrieval_port=0, llm_model="openai/refuses", llm_api_base=llm.api_base, llm_retries=0
        )
        server, _ = await start_retrieval(settings, store=store, embedder=embedder)
        try:
            async with AsyncRetrievalClient(f"127.0.0.1:{server.port}") as client:
                for mode in ("agentic", "query"):
                    result = await client.retrieve("shop", observation=COUNTS, mode=mode, generate_queries=True)
                    assert result.examples and {e.mode for e in result.examples} == {"observation"}
                    assert "query writer failed (unusable_reply" in result.degraded
                ok = await client.retrieve("shop", observation=COUNTS, mode="agentic", queries=["orders by status"])
                assert ok.degraded == "" and "query" in {e.mode for e in ok.examples}
        finally:
            await server.stop(0)
            await store.close()
