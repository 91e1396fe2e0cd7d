"""Soak/load run: concurrent retrieval clients on 127.0.0.1 while a synthesis job ingests into the same dataset.

Starts the services in this process (one embedded store), seeds the dataset, starts a synthesis job that
writes into it, and runs client processes for the given time. Reports p50/p99 per window, errors, and
the server process's memory (RSS) over time. Bounded in count and time; the last line is one JSON object.

    python bench/load.py --clients 16 --seconds 60 --window 10
    python bench/load.py --clients 4 --seconds 10 --window 5 --resource-filter "Counting rows"   # short form (CI)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

OBSERVATIONS = [
    "Error: no such column: nme",
    "Error: no such table: customer",
    "name | sql\ncustomers | CREATE TABLE customers (id INTEGER PRIMARY KEY, first_name TEXT)",
    "COUNT(*)\n--------\n2600\n(1 row)",
    "Connected to SQLite database shop.db (private copy).",
]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def client_main(target: str, concurrency: int, seconds: float) -> dict:
    from lbi.clients.retrieval import AsyncRetrievalClient

    samples, errors = [], []
    deadline = time.monotonic() + seconds
    async with AsyncRetrievalClient(target, timeout_s=10) as client:

        async def worker(offset: int) -> None:
            i = offset
            while time.monotonic() < deadline:
                started = time.time()
                try:
                    await client.retrieve(
                        "load", observation=OBSERVATIONS[i % len(OBSERVATIONS)], queries=[f"count orders {i % 50}"]
                    )
                    samples.append((started, (time.time() - started) * 1000))
                except Exception as exc:
                    errors.append(type(exc).__name__)
                i += concurrency

        await asyncio.gather(*(worker(w) for w in range(concurrency)))
    return {"samples": samples, "errors": errors}


async def main(args: argparse.Namespace) -> dict:
    os.environ["LBI_DATA_DIR"] = args.data_dir or tempfile.mkdtemp(prefix="lbi-load-")
    from lbi.cli.local_stack import local_stack
    from lbi.dataset import DatasetStore
    from lbi.metrics import percentile
    from lbi.records import Example, Origin, Step
    from synth_service.spec import spec_from_dict

    async with local_stack() as stack:
        seed = Example(
            "Count the orders.",
            "sql",
            (Step("Connected.", "SELECT COUNT(*) FROM orders"),),
            "2600",
            Origin.FORWARD,
            "seed",
            0,
            1,
            kept=True,
        )
        await DatasetStore(stack.store, stack.engine.datasets.embedder).ingest("load", [seed], job_id="seed")
        spec = {"env": "sql", "dataset": "load", "ingest_batch": 16}
        if args.resource_filter:
            spec["resource_filter"] = args.resource_filter
        job_id = stack.engine.create(spec_from_dict(spec))
        job = asyncio.create_task(stack.engine.run(job_id))
        memory: list[tuple[float, float]] = []
        started = time.time()

        async def sample_memory() -> None:
            while True:
                memory.append((time.time() - started, rss_mb()))
                await asyncio.sleep(1)

        sampler = asyncio.create_task(sample_memory())
        processes = max(1, min(args.clients, 2))
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                str(Path(__file__).resolve()),
                "--client",
                stack.retrieval_target,
                "--concurrency",
                str(args.clients // processes + (1 if i < args.clients % processes else 0)),
                "--seconds",
                str(args.seconds),
                stdout=asyncio.subprocess.PIPE,
            )
            for i in range(processes)
        ]
        outputs = [json.loads((await p.communicate())[0].decode().strip().splitlines()[-1]) for p in procs]
        sampler.cancel()
        final = await job
    samples = sorted(s for o in outputs for s in o["samples"])
    errors = [e for o in outputs for e in o["errors"]]
    windows = []
    for start in range(0, int(args.seconds), args.window):
        values = [ms for t, ms in samples if start <= t - started < start + args.window]
        rss = [m for t, m in memory if start <= t < start + args.window]
        windows.append(
            {
                "window_s": [start, start + args.window],
                "requests": len(values),
                "p50_ms": round(percentile(values, 50), 2),
                "p99_ms": round(percentile(values, 99), 2),
                "rss_mb": round(max(rss), 1) if rss else None,
            }
        )
    return {
        "clients": args.clients,
        "seconds": args.seconds,
        "requests": len(samples),
        "errors": len(errors),
        "error_kinds": sorted(set(errors)),
        "rps": round(len(samples) / args.seconds, 1),
        "windows": windows,
        "rss_mb_start": round(memory[0][1], 1) if memory else None,
        "rss_mb_end": round(memory[-1][1], 1) if memory else None,
        "synthesis": {"state": final["state"], "kept": final["stats"].kept, "ingested": final["stats"].ingested},
    }


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument("--data-dir", default="")
    parser.add_argument(
        "--resource-filter",
        action="append",
        default=[],
        help="Only these documentation sections for the synthesis job (repeatable; the short CI form).",
    )
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    arguments = parse()
    if arguments.client:
        print(json.dumps(asyncio.run(client_main(arguments.client, arguments.concurrency, arguments.seconds))))
    else:
        print(json.dumps(asyncio.run(main(arguments))))
