"""One trace follows an agent's step into the retrieval service: the step, the RPC (client and server), the query
embedding, the Qdrant searches and the LLM call, each span attributed to the service it ran in."""

from __future__ import annotations

import asyncio

from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from lbi.clients.retrieval import AsyncRetrievalClient, RetrievalClient
from lbi.config import RunnerSettings
from lbi.dataset import DatasetStore
from lbi.store.edge import EdgeStore
from lbi.telemetry import add_span_processor
from retrieval_service.config import RetrievalSettings
from retrieval_service.server import start_retrieval
from tests.integration.test_retrieval_service import COUNTS, EXAMPLES


def _trace_of(exporter: InMemorySpanExporter, root: str):
    spans = exporter.get_finished_spans()
    step = next(s for s in spans if s.name == root)
    return [s for s in spans if s.context.trace_id == step.context.trace_id]


async def test_one_trace_from_the_agents_step_to_the_store_query(tmp_path, embedder):
    from env_runners.server import start_runner

    exporter = InMemorySpanExporter()
    add_span_processor(SimpleSpanProcessor(exporter))
    store = EdgeStore(tmp_path / "qdrant")
    await DatasetStore(store, embedder).ingest("shop", EXAMPLES, job_id="job-1")
    # a runner in the same process first, as `lbi up` starts it: its service name must not leak to retrieval's spans
    runner, runner_service = await start_runner(RunnerSettings(data_dir=tmp_path, runner_port=0))
    server, _ = await start_retrieval(
        RetrievalSettings(data_dir=tmp_path, retrieval_port=0), store=store, embedder=embedder
    )
    target = f"127.0.0.1:{server.port}"
    agent = trace.get_tracer("my-agent")
    try:
        async with AsyncRetrievalClient(target) as client:
            with agent.start_as_current_span("agent step 1"):
                await client.retrieve(
                    "shop", observation=COUNTS, instruction="How many orders shipped?", generate_queries=True
                )
        spans = _trace_of(exporter, "agent step 1")
        names = {s.name for s in spans}
        client_rpc = next(
            s for s in spans if s.kind == SpanKind.CLIENT and s.name.endswith("RetrievalService/Retrieve")
        )
        server_rpc = next(
            s for s in spans if s.kind == SpanKind.SERVER and s.name.endswith("RetrievalService/Retrieve")
        )
        assert server_rpc.parent.span_id == client_rpc.context.span_id
        assert server_rpc.resource.attributes["service.name"] == "lbi-retrieval"
        assert server_rpc.attributes["rpc.system"] == "grpc"
        assert any(n.startswith("embeddings ") for n in names), names
        assert {"search shop__steps", "search shop__examples"} <= names, names
        chat = next(s for s in spans if s.name.startswith("chat "))
        assert (
            chat.attributes["gen_ai.operation.name"] == "chat"
            and chat.resource.attributes["service.name"] == "lbi-retrieval"
        )
        search = next(s for s in spans if s.name == "search shop__steps")
        assert (
            search.attributes["db.system.name"] == "qdrant"
            and search.resource.attributes["service.name"] == "lbi-retrieval"
        )

        # the blocking client carries the agent's trace context too
        def blocking() -> None:
            with RetrievalClient(target) as sync_client, agent.start_as_current_span("agent step 2"):
                sync_client.retrieve("shop", observation=COUNTS, mode="observation")

        await asyncio.to_thread(blocking)
        spans = _trace_of(exporter, "agent step 2")
        assert any(s.kind == SpanKind.SERVER and s.name.endswith("RetrievalService/Retrieve") for s in spans)
        assert "search shop__steps" in {s.name for s in spans}
    finally:
        await server.stop(0)
        await runner_service.shutdown()
        await runner.stop(0)
        await store.close()


async def test_the_mcp_server_continues_the_clients_trace(tmp_path, embedder):
    """An MCP client's trace context (in the request's `_meta`) reaches the retrieval service through the MCP server."""
    from mcp import Client

    from lbi.integrations.mcp_server import Clients, build_server

    exporter = InMemorySpanExporter()
    add_span_processor(SimpleSpanProcessor(exporter))
    store = EdgeStore(tmp_path / "qdrant")
    await DatasetStore(store, embedder).ingest("shop", EXAMPLES, job_id="job-1")
    server, _ = await start_retrieval(
        RetrievalSettings(data_dir=tmp_path, retrieval_port=0), store=store, embedder=embedder
    )
    clients = Clients(f"127.0.0.1:{server.port}", None)
    try:
        async with Client(build_server(clients), mode="legacy") as client:
            with trace.get_tracer("my-agent").start_as_current_span("agent step via mcp"):
                result = await client.call_tool("get_demonstrations", {"dataset": "shop", "observation": COUNTS})
        assert not result.is_error
        spans = _trace_of(exporter, "agent step via mcp")
        names = {s.name for s in spans}
        assert any(s.kind == SpanKind.SERVER and s.name.endswith("RetrievalService/Retrieve") for s in spans), names
        assert "search shop__steps" in names
    finally:
        await clients.close()
        await server.stop(0)
        await store.close()
