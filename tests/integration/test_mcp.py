"""`lbi mcp serve` on both transports, driven by the MCP SDK's own client: the tools are listed, demonstrations come
back for an observation from an indexed dataset within the budget asked, and a bad token is refused."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult, TextContent

from lbi.dataset import DatasetStore
from lbi.store.edge import EdgeStore
from tests.integration.test_retrieval_service import COUNTS, EXAMPLES

LBI = str(Path(sys.executable).parent / "lbi")
TOOLS = {"get_demonstrations", "list_datasets", "describe_dataset", "report_episode"}


async def _indexed(data_dir: Path, embedder) -> None:
    store = EdgeStore(data_dir / "qdrant")
    await DatasetStore(store, embedder).ingest("shop", EXAMPLES, job_id="job-1")
    await store.close()


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "LBI_AUTH_TOKENS"}
    return {**env, "LBI_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1", **extra}


async def _use(client: Client, unknown_dataset: str = "NOT_FOUND") -> None:
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) >= TOOLS and tools["get_demonstrations"].output_schema is not None
    result = await client.call_tool(
        "get_demonstrations",
        {"dataset": "shop", "observation": COUNTS, "task": "Count the orders by status", "max_chars": 700},
    )
    assert not result.is_error, result.content
    text = _text(result)
    assert 0 < len(text) <= 700 and "### Example 1" in text
    examples = result.structured_content["examples"]
    assert examples and examples[0]["instruction"] and examples[0]["steps"] > 0
    small = await client.call_tool(
        "get_demonstrations", {"dataset": "shop", "observation": COUNTS, "max_chars": 0, "max_tokens": 120}
    )
    assert small.structured_content["prompt_block"] and len(small.structured_content["prompt_block"]) <= 4 * 120
    meta = await client.call_tool(
        "get_demonstrations", {"dataset": "shop", "observation": COUNTS, "metadata_only": True}
    )
    assert meta.structured_content["prompt_block"] == "" and all(
        e["steps"] == 0 for e in meta.structured_content["examples"]
    )
    missing = await client.call_tool("get_demonstrations", {"dataset": "nope", "observation": COUNTS})
    assert missing.is_error and unknown_dataset in _text(missing)
    listed = await client.call_tool("list_datasets", {})
    assert "shop" in str(listed.structured_content)


async def test_stdio_transport(tmp_path, embedder):
    """Started as an MCP client starts it: no LBI_DATA_DIR, in a folder of the client's choosing; `--data-dir` names
    the data, and a missing dataset says where the server looked and what is there."""
    data = tmp_path / "project" / ".lbi"
    await _indexed(data, embedder)
    elsewhere = tmp_path / "client-folder"
    elsewhere.mkdir()
    env = {k: v for k, v in _env(data).items() if k != "LBI_DATA_DIR"}
    params = StdioServerParameters(
        command=LBI, args=["mcp", "serve", "--local", "--data-dir", str(data)], env=env, cwd=str(elsewhere)
    )
    async with Client(params, read_timeout_seconds=120) as client:
        await _use(client, unknown_dataset=f"no dataset 'nope' in {data.resolve() / 'qdrant'}; datasets there: shop")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_streamable_http_transport_with_bearer_tokens(tmp_path, embedder):
    await _indexed(tmp_path, embedder)
    port = _port()
    process = subprocess.Popen(
        [LBI, "mcp", "serve", "--transport", "http", "--port", str(port), "--local"],
        env=_env(tmp_path, LBI_AUTH_TOKENS="agent@secret-1=shop,other@secret-2=faq"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert process.poll() is None, (process.stderr.read() if process.stderr else "")[-3000:]
                assert time.monotonic() < deadline, "the MCP server did not start"
                await asyncio.sleep(0.2)
        async with (
            httpx2.AsyncClient(headers={"Authorization": "Bearer secret-1"}, timeout=60) as http,
            Client(streamable_http_client(url, http_client=http), read_timeout_seconds=60) as client,
        ):
            await _use(client, unknown_dataset="PERMISSION_DENIED")  # the token reads only `shop`
        # a token of another tenant reaches the server but not this dataset: the service's PERMISSION_DENIED
        async with (
            httpx2.AsyncClient(headers={"Authorization": "Bearer secret-2"}, timeout=60) as http,
            Client(streamable_http_client(url, http_client=http), read_timeout_seconds=60) as client,
        ):
            denied = await client.call_tool("get_demonstrations", {"dataset": "shop", "observation": COUNTS})
            assert denied.is_error and "PERMISSION_DENIED" in _text(denied)
        # no token, or an unknown one: refused at the door
        async with httpx2.AsyncClient(timeout=10) as http:
            response = await http.post(
                url,
                json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                headers={"Authorization": "Bearer wrong", "Accept": "application/json, text/event-stream"},
            )
            assert response.status_code == 401
        with pytest.raises(ExceptionGroup) as refused:
            async with (
                httpx2.AsyncClient(timeout=10) as http,
                Client(streamable_http_client(url, http_client=http), read_timeout_seconds=10) as client,
            ):
                await client.list_tools()
        assert refused.group_contains(MCPError)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _text(result: CallToolResult) -> str:
    """The text of a tool result's first content block."""
    block = result.content[0]
    assert isinstance(block, TextContent), block
    return block.text
