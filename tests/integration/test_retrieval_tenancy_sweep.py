"""Issue 36's sweep of the retrieval side, as a hostile tenant against real servers on 127.0.0.1: a retrieval service
with tokens for alice (ds1), bob (ds2) and an admin, and the MCP server's streamable HTTP app in front of it.

- the HTTP MCP server presents each caller's own token, never the one it holds for stdio (LBI_TOKEN / --token):
  not to a caller without a token when the MCP process has no token table, not to a caller who sends two
  Authorization headers (the door checked one, the tools read the other);
- dataset names that are not names ('../ds2', 'a/b', 'ds2' plus a newline, 300 letters, non-ASCII) are
  INVALID_ARGUMENT naming `dataset` on every RPC, DescribeDataset included, even for the admin.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import grpc
import httpx2
import pytest
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, TextContent

from lbi.auth import TokenTable
from lbi.clients.retrieval import AsyncRetrievalClient
from lbi.dataset import DatasetStore
from lbi.integrations import mcp_server
from lbi.integrations.mcp_server import Clients, http_app, serving
from lbi.store.edge import EdgeStore
from lbi.v1 import retrieval_pb2 as pb
from lbi.v1 import retrieval_pb2_grpc
from retrieval_service.config import RetrievalSettings
from retrieval_service.server import start_retrieval
from tests.integration.test_retrieval_service import EXAMPLES

TOKENS = "alice@tokA=ds1:rw,bob@tokB=ds2:rw,admin@tokAdm"
BAD_NAMES = ["../ds2", "a/b", "ds2\n", "x" * 300, "dś2", ".", "..", "/"]


@pytest.fixture
async def retrieval(tmp_path, embedder) -> AsyncIterator[str]:
    store = EdgeStore(tmp_path / "qdrant")
    datasets = DatasetStore(store, embedder)
    for name in ("ds1", "ds2"):
        await datasets.ingest(name, EXAMPLES, job_id=f"job-{name}")
    server, _ = await start_retrieval(
        RetrievalSettings(data_dir=tmp_path, retrieval_port=0, auth_tokens=TOKENS), store=store, embedder=embedder
    )
    try:
        yield f"127.0.0.1:{server.port}"
    finally:
        await server.stop(0)
        await store.close()


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.asynccontextmanager
async def _mcp_http(target: str, table: str, server_token: str, clients: Clients | None = None) -> AsyncIterator[str]:
    """The MCP server's HTTP app (as `lbi mcp serve --transport http` runs it) holding `server_token` for stdio."""
    port = _port()
    async with serving(clients or Clients(target, server_token)) as server:
        config = uvicorn.Config(http_app(server, TokenTable(table)), host="127.0.0.1", port=port, log_level="warning")
        web = uvicorn.Server(config)
        task = asyncio.create_task(web.serve())
        try:
            while not web.started:
                assert not task.done(), "the MCP server did not start"
                await asyncio.sleep(0.05)
            yield f"http://127.0.0.1:{port}/mcp"
        finally:
            web.should_exit = True
            await task


def _text(result: CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, TextContent), block
    return block.text


async def _call(url: str, headers: list[tuple[str, str]], tool: str, args: dict) -> CallToolResult | None:
    """The tool's result, or None when the server refused the caller at the door."""
    try:
        async with (
            httpx2.AsyncClient(headers=headers, timeout=30) as http,
            Client(streamable_http_client(url, http_client=http), read_timeout_seconds=30) as client,
        ):
            return await client.call_tool(tool, args)
    except ExceptionGroup:
        return None


async def test_http_mcp_without_a_token_table_does_not_lend_its_own_token(retrieval):
    """An MCP process started with LBI_TOKEN (for stdio) and no LBI_AUTH_TOKENS of its own: a caller with no token
    must not reach the retrieval service as the admin."""
    async with _mcp_http(retrieval, "", "tokAdm") as url:
        listed = await _call(url, [], "list_datasets", {})
        assert listed is None or listed.is_error, listed.structured_content
        assert "UNAUTHENTICATED" in _text(listed) if listed else True
        described = await _call(url, [], "describe_dataset", {"dataset": "ds2"})
        assert described is None or described.is_error, described.structured_content
        # a caller bringing its own token is that token's tenant
        alice = await _call(url, [("Authorization", "Bearer tokA")], "describe_dataset", {"dataset": "ds2"})
        assert alice is not None and alice.is_error and "PERMISSION_DENIED" in _text(alice)


async def test_http_mcp_two_authorization_headers_do_not_borrow_the_servers_token(retrieval):
    async with _mcp_http(retrieval, TOKENS, "tokAdm") as url:
        # alice's own token passes the door; she reads ds1, not ds2
        own = await _call(url, [("Authorization", "Bearer tokA")], "list_datasets", {})
        assert own is not None and not own.is_error and "ds2" not in str(own.structured_content)
        for first in ("Basic YWxpY2U6eA==", "Bearer tokB-guess", "bearer"):
            headers = [("Authorization", first), ("Authorization", "Bearer tokA")]
            stolen = await _call(url, headers, "describe_dataset", {"dataset": "ds2"})
            assert stolen is None or stolen.is_error, (first, stolen.structured_content)
            listed = await _call(url, headers, "list_datasets", {})
            assert listed is None or "ds2" not in str(listed.structured_content), first


async def test_http_mcp_keeps_a_bounded_number_of_clients_for_tokens_it_does_not_check(retrieval, monkeypatch):
    """With no token table in the MCP process, every bearer string a caller makes up used to open a gRPC channel
    kept for the process's life; past the bound a call gets a client of its own, closed after it."""
    monkeypatch.setattr(mcp_server, "MAX_KEPT_CLIENTS", 3, raising=False)
    clients = Clients(retrieval, "tokAdm")
    async with _mcp_http(retrieval, "", "tokAdm", clients) as url:
        for i in range(6):
            answer = await _call(url, [("Authorization", f"Bearer made-up-{i}")], "list_datasets", {})
            assert answer is not None and answer.is_error and "UNAUTHENTICATED" in _text(answer)
            assert len(clients._clients) <= 3
        alice = await _call(url, [("Authorization", "Bearer tokA")], "list_datasets", {})
        assert alice is not None and not alice.is_error and "ds2" not in str(alice.structured_content)


async def test_dataset_names_that_are_not_names_are_refused_naming_the_field(retrieval):
    async with grpc.aio.insecure_channel(retrieval) as channel:
        stub = retrieval_pb2_grpc.RetrievalServiceStub(channel)
        admin = (("authorization", "Bearer tokAdm"),)
        for name in BAD_NAMES:
            calls = {
                "DescribeDataset": stub.DescribeDataset(pb.DescribeDatasetRequest(dataset=name), metadata=admin),
                "Retrieve": stub.Retrieve(pb.RetrieveRequest(dataset=name, observation="x"), metadata=admin),
                "ListExamples": stub.ListExamples(pb.ListExamplesRequest(dataset=name), metadata=admin),
                "GetExamples": stub.GetExamples(pb.GetExamplesRequest(dataset=name, ids=["a"]), metadata=admin),
                "DeleteExamples": stub.DeleteExamples(
                    pb.DeleteExamplesRequest(dataset=name, ids=["a"]), metadata=admin
                ),
            }
            for rpc, call in calls.items():
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await call
                assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (rpc, name, err.value.details())
                assert "dataset" in (err.value.details() or ""), (rpc, name)
                assert "Traceback" not in (err.value.details() or "")


async def test_ids_and_filters_stay_inside_the_callers_dataset(retrieval):
    """Sound today, kept so: alice cannot read, list or delete ds2's examples by id or filter, nor name ds2 in a
    batch; ids of ds2 asked of ds1 are `missing`."""
    async with grpc.aio.insecure_channel(retrieval) as channel:
        stub = retrieval_pb2_grpc.RetrievalServiceStub(channel)
        page = await stub.ListExamples(
            pb.ListExamplesRequest(dataset="ds2", page_size=5), metadata=(("authorization", "Bearer tokAdm"),)
        )
        ds2_ids = [e.example.id for e in page.examples]
        assert ds2_ids
        alice = (("authorization", "Bearer tokA"),)
        for call in (
            stub.GetExamples(pb.GetExamplesRequest(dataset="ds2", ids=ds2_ids), metadata=alice),
            stub.DeleteExamples(pb.DeleteExamplesRequest(dataset="ds2", ids=ds2_ids), metadata=alice),
            stub.ListExamples(pb.ListExamplesRequest(dataset="ds2"), metadata=alice),
            stub.DescribeDataset(pb.DescribeDatasetRequest(dataset="ds2"), metadata=alice),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await call
            assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
        batch = await stub.BatchRetrieve(
            pb.BatchRetrieveRequest(requests=[pb.RetrieveRequest(dataset="ds2", observation="orders")]), metadata=alice
        )
        assert batch.items[0].error_code == "PERMISSION_DENIED" and not batch.items[0].response.examples
        # ds2's ids asked of ds1 (identical content, same ids: still ds1's own points) and deleting them in ds1 leaves
        # ds2 whole
        await stub.DeleteExamples(pb.DeleteExamplesRequest(dataset="ds1", ids=ds2_ids), metadata=alice)
    async with AsyncRetrievalClient(retrieval, token="tokAdm") as admin:
        assert (await admin.describe_dataset("ds2")).examples == len(EXAMPLES)


async def test_an_episode_id_is_each_tenants_own_on_a_shared_dataset(tmp_path, embedder):
    """alice and bob both write `greenhouse`. alice reporting `ep-1` first neither drops bob's `ep-1` as a duplicate
    (nor tells her bob used that id), and her deleting `ep-1` deletes only hers and what was learned from it."""
    from lbi.v1 import episodes_pb2
    from tests.integration.test_online import FINAL, STEPS, Stack, _learned

    task = "Calibrate the sensor whose average reading is highest"

    tokens = "alice@tokA=greenhouse:rw,bob@tokB=greenhouse:rw,admin@tokAdm"
    async with Stack(tmp_path, embedder, tokens=tokens) as stack:
        alice = AsyncRetrievalClient(stack.target, token="tokA", timeout_s=30)
        bob = AsyncRetrievalClient(stack.target, token="tokB", timeout_s=30)
        try:
            squat = await alice.report_episode("greenhouse", "ep-1", "Alice's squatted task", STEPS, FINAL, "success")
            assert squat.accepted and not squat.duplicate
            own = await bob.report_episode("greenhouse", "ep-1", task, STEPS, FINAL, "success")
            assert own.accepted and not own.duplicate and own.tenant == "bob"
            again = await bob.report_episode("greenhouse", "ep-1", task, STEPS, FINAL, "success")
            assert again.duplicate  # the same tenant's id again is still a no-op
            await _learned(bob, "greenhouse", 2)
            listed = await bob._episodes.ListEpisodes(
                episodes_pb2.ListEpisodesRequest(dataset="greenhouse", episode_ids=["ep-1"]), metadata=bob._metadata
            )
            assert [(e.tenant, e.task) for e in listed.episodes] == [("bob", task)]
            bobs_examples = list(listed.episodes[0].example_ids)
            assert bobs_examples
            gone = await alice.delete_episodes("greenhouse", ["ep-1"])
            assert gone.episodes == 1
            left = await bob._episodes.ListEpisodes(
                episodes_pb2.ListEpisodesRequest(dataset="greenhouse", episode_ids=["ep-1"]), metadata=bob._metadata
            )
            assert [(e.tenant, list(e.example_ids)) for e in left.episodes] == [("bob", bobs_examples)]
            async with grpc.aio.insecure_channel(stack.target) as channel:
                stub = retrieval_pb2_grpc.RetrievalServiceStub(channel)
                got = await stub.GetExamples(
                    pb.GetExamplesRequest(dataset="greenhouse", ids=bobs_examples),
                    metadata=(("authorization", "Bearer tokB"),),
                )
                assert not got.missing
            # the admin deleting `ep-1` by id deletes every tenant's episode of that id (bob's, the one left)
            async with AsyncRetrievalClient(stack.target, token="tokAdm", timeout_s=30) as admin:
                assert (await admin.delete_episodes("greenhouse", ["ep-1"])).episodes == 1
        finally:
            await alice.close()
            await bob.close()
