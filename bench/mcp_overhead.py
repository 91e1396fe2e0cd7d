"""MCP benchmark: what the MCP server adds to a step's demonstrations, against the SDK's direct gRPC call.

One retrieval service (in this process, embedded store, a dataset built as bench/retrieval.py builds its
paper-mode corpus, at --states distinct states) and
`lbi mcp serve --transport http` (a child process) in front of it. Measured in the same run, sequentially
(one agent step at a time, as an agent calls): `get_demonstrations` through the MCP SDK's own client over
streamable HTTP, and `AsyncRetrievalClient.retrieve` straight to the service, both in observation mode with a
4,000-character prompt block. Prints p50/p99 per path and the MCP path's p50 over the direct one. Last line of
output: one JSON object.

    python bench/mcp_overhead.py [--requests 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lbi.metrics import percentile


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _summary(values: list[float]) -> dict:
    return {
        "p50_ms": round(percentile(values, 50), 2),
        "p99_ms": round(percentile(values, 99), 2),
        "requests": len(values),
    }


async def main(args: argparse.Namespace) -> dict:
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    from bench.retrieval import make_corpus
    from lbi.clients.retrieval import AsyncRetrievalClient
    from lbi.dataset import DatasetStore
    from lbi.embedding import Embedder
    from lbi.store.edge import EdgeStore
    from retrieval_service.config import RetrievalSettings
    from retrieval_service.server import start_retrieval

    data = Path(tempfile.mkdtemp(prefix="lbi-bench-mcp-"))
    store = EdgeStore(data / "qdrant")
    embedder = Embedder()
    examples, _, _ = make_corpus(args.states, max(6, args.states // 5), seed=7, kept=0.5)
    await DatasetStore(store, embedder).ingest("shop", examples, job_id="bench")
    observations = sorted({s.observation for e in examples for s in e.steps})[:50]
    log(f"indexed {len(examples)} examples")
    server, _ = await start_retrieval(
        RetrievalSettings(data_dir=data, retrieval_port=0), store=store, embedder=embedder
    )
    target = f"127.0.0.1:{server.port}"
    port = _port()
    env = {k: v for k, v in os.environ.items() if k != "LBI_AUTH_TOKENS"}
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "lbi"),
            "mcp",
            "serve",
            "--transport",
            "http",
            "--port",
            str(port),
            "--target",
            target,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                await asyncio.sleep(0.2)
        direct, over_mcp = [], []
        async with (
            AsyncRetrievalClient(target) as client,
            httpx2.AsyncClient(timeout=30) as http,
            Client(streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http)) as mcp,
        ):
            for i in range(args.requests + args.warmup):
                observation = observations[i % len(observations)]
                started = time.perf_counter()
                await client.retrieve("shop", observation=observation, mode="observation", prompt_budget_chars=4000)
                middle = time.perf_counter()
                result = await mcp.call_tool(
                    "get_demonstrations",
                    {"dataset": "shop", "observation": observation, "mode": "observation", "max_chars": 4000},
                )
                ended = time.perf_counter()
                assert not result.is_error, result.content
                if i >= args.warmup:
                    direct.append((middle - started) * 1000)
                    over_mcp.append((ended - middle) * 1000)
    finally:
        process.terminate()
        process.wait(timeout=30)
        await server.stop(0)
        await store.close()
    out = {"direct_grpc": _summary(direct), "mcp_http": _summary(over_mcp)}
    out["mcp_over_direct_p50"] = round(out["mcp_http"]["p50_ms"] / out["direct_grpc"]["p50_ms"], 2)
    out["mcp_added_p50_ms"] = round(out["mcp_http"]["p50_ms"] - out["direct_grpc"]["p50_ms"], 2)
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--states", type=int, default=300)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    result = asyncio.run(main(parser.parse_args()))
    log(f"direct gRPC p50 {result['direct_grpc']['p50_ms']} ms, MCP over HTTP p50 {result['mcp_http']['p50_ms']} ms")
    print(json.dumps(result))
