"""Synthesis benchmark: does a job keep its LLM calls busy, and how soon does it put examples in the store?

A real job (real sql environment on an in-process runner, real embeddings, the embedded Qdrant store,
the journal on disk) over N generated documentation resources of 3 worked examples each on the sample
shop database: 3 tasks per resource, rollouts of up to 10 steps, paper-mode backward construction
(every span, both labels), a committee of 3. The model is a stand-in (bench/standin_llm.py): the offline
policy's answers after a fixed latency plus completion tokens / token rate, so the figures measure lbi's
orchestration, not a model. Task de-duplication is off (threshold 1.0) so N sets the job's size.

Each job runs in its own process (peak RSS per job):
1. streaming at zero latency, at N/4 and at N: the orchestration's own rate (calls/s) and RSS growth in N;
2. streaming with the latency at concurrency C: calls/s against the bound min(C / mean call latency, the
   zero-latency rate) and against one process's own rate (the zero-latency job's), CPU ms per call (process CPU
   time / calls, and split by thread: the event loop, the executor's threads, the journal's, native threads such
   as onnxruntime's pool), time to the first ingested example as a fraction of the job's wall time, peak RSS,
   journal size;
3. the barrier pipeline (each stage waits for the whole previous one) with the same latency: the baseline.

The last line is one JSON object. Defaults take about five minutes on a 2-core machine.

    python bench/synthesis.py --resources 40 --concurrency 32 --latency-ms 400 --tokens-per-s 200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CITIES = [
    "Paris",
    "Lisbon",
    "Krakow",
    "Cologne",
    "Porto",
    "Amsterdam",
    "Milan",
    "Madrid",
    "Barcelona",
    "Valencia",
    "Munich",
    "Copenhagen",
]
CATEGORIES = ["Accessories", "Audio", "Gaming", "Laptops", "Monitors", "Phones", "Smart Home", "Storage"]
STATUSES = ["pending", "shipped", "delivered", "cancelled", "returned"]
TIERS = ["bronze", "silver", "gold"]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def write_docs(folder: Path, resources: int) -> None:
    """N sections of three worked examples each, every one a different question about the shop."""
    sections = ["# Shop questions for the synthesis benchmark\n"]
    for k in range(resources):
        city, category = CITIES[k % len(CITIES)], CATEGORIES[k % len(CATEGORIES)]
        status, tier, n = STATUSES[k % len(STATUSES)], TIERS[k % len(TIERS)], 2 + k % 9
        sections.append(f"""
## Bench {k}: {category} products, {city} customers and {status} orders

Questions of batch {k} about the shop.

List the {n} most expensive {category} products.

```sql
SELECT p.name, p.price FROM products p JOIN categories c ON c.id = p.category_id
WHERE c.name = '{category}' ORDER BY p.price DESC LIMIT {n};
```

Show the {tier}-tier customers who live in {city}.

```sql
SELECT first_name, last_name FROM customers WHERE city = '{city}' AND loyalty_tier = '{tier}' ORDER BY last_name;
```

Count the {status} orders placed after day {k + 1} of 2024.

```sql
SELECT COUNT(*) AS n FROM orders WHERE status = '{status}' AND order_date > '2024-01-{(k % 28) + 1:02d}';
```
""")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "shop-questions.md").write_text("".join(sections))


def thread_cpu_s() -> dict[str, float]:
    """CPU seconds of this process's live threads by kind (Linux: /proc): Python threads by name without their
    number (MainThread, asyncio, journal), threads Python did not start as `native` (onnxruntime's pool, gRPC's)."""
    import threading

    names = {x.native_id: re.sub(r"_\d+$", "", x.name) for x in threading.enumerate()}
    ticks = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for task in Path("/proc/self/task").glob("*"):
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended
        kind = names.get(int(task.name), "native")
        out[kind] = out.get(kind, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    return out


async def run_job(args: argparse.Namespace) -> dict:
    """One job in this process; its figures. The clock starts after the model, litellm and the runner are up
    (long-lived in a service); the job's own work, its resource discovery included, is all timed."""
    from bench.standin_llm import StandIn, occupancy
    from lbi.cli.local_runner import launch_runner
    from lbi.embedding import Embedder
    from lbi.store.edge import EdgeStore
    from synth_service.config import SynthSettings
    from synth_service.engine import Engine
    from synth_service.spec import JobSpec

    root = Path(args.job_dir)
    docs = root / "docs"
    write_docs(docs, args.resources)
    standin = StandIn(args.latency_ms / 1000, args.tokens_per_s)
    settings = SynthSettings(
        data_dir=root, llm_model="standin/policy", synth_pipeline=args.pipeline, llm_retries=0, runner_max_sessions=64
    )
    store = EdgeStore(root / "qdrant")
    embedder = Embedder()
    embedder.encode(["warm up the model before the clock starts"])
    engine = Engine(settings, store, embedder, launch_runner=launch_runner)
    spec = JobSpec(
        env="sql",
        resource_paths=[str(docs)],
        resource_filter=["Bench "],
        instructions_per_resource=3,
        max_steps=10,
        backward_mode="paper",
        filter_policy="strict",
        dataset="bench-synth",
        llm_concurrency=args.concurrency,
        rollout_concurrency=args.rollouts,
        dedup_threshold=1.0,
        models={"committee": ["standin/judge-a", "standin/judge-b", "standin/judge-c"]},
    )
    await engine.probe(spec)  # starts the in-process runner (a long-lived pod in production) before the clock starts
    job_id = engine.create(spec)
    first_ingest: list[float] = []

    async def watch() -> None:
        async for event in engine.watch(job_id):
            if event.get("stage") == "ingest" and event.get("done", 0) > 0 and not first_ingest:
                first_ingest.append(time.monotonic())

    watcher = asyncio.ensure_future(watch())
    await asyncio.sleep(0)
    loop = asyncio.get_running_loop()
    threads0 = thread_cpu_s()
    cpu0, started, loop_started = time.process_time(), time.monotonic(), loop.time()
    job = await engine.run(job_id)
    wall, cpu = time.monotonic() - started, time.process_time() - cpu0
    threads = {k: v - threads0.get(k, 0.0) for k, v in thread_cpu_s().items()}  # threads that ended are not counted
    in_flight = occupancy(standin.spans, loop_started, loop.time()) if args.latency_ms else []
    watcher.cancel()
    await engine.close()
    await store.close()
    stats = job["stats"]
    journal = root / "synthesis" / "journal.sqlite"
    journal_bytes = sum(p.stat().st_size for p in journal.parent.glob("journal.sqlite*"))
    candidates = sum(stats.candidates.values())
    return {
        "pipeline": args.pipeline,
        "resources": args.resources,
        "latency_ms": args.latency_ms,
        "state": job["state"],
        "error": job["error"][:300],
        "wall_s": round(wall, 2),
        "llm_calls": standin.calls,
        "mean_call_latency_ms": round(1000 * standin.slept_s / standin.calls, 1) if standin.calls else 0.0,
        "calls_per_s": round(standin.calls / wall, 2),
        "cpu_s": round(cpu, 2),
        "cpu_ms_per_call": round(1000 * cpu / standin.calls, 2) if standin.calls else 0.0,
        "cpu_ms_per_call_by_thread": {
            k: round(1000 * v / standin.calls, 2) for k, v in sorted(threads.items(), key=lambda kv: -kv[1]) if v > 0
        }
        if standin.calls
        else {},
        "first_ingest_s": round(first_ingest[0] - started, 2) if first_ingest else None,
        "first_ingest_fraction": round((first_ingest[0] - started) / wall, 4) if first_ingest else None,
        "instructions": stats.instructions,
        "trajectories": stats.trajectories,
        "candidates": candidates,
        "kept": stats.kept,
        "ingested": stats.ingested,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "journal_mb": round(journal_bytes / 2**20, 2),
        "calls_in_flight_per_tenth": in_flight,
        "stage_wall_s": {name: figures.wall_seconds for name, figures in stats.stages.items()},
    }


def job(args: argparse.Namespace, pipeline: str, resources: int, latency_ms: float, tokens_per_s: float) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="lbi-bench-synth-"))
    try:
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--job-dir",
            str(folder),
            "--pipeline",
            pipeline,
            "--resources",
            str(resources),
            "--latency-ms",
            str(latency_ms),
            "--tokens-per-s",
            str(tokens_per_s),
            "--concurrency",
            str(args.concurrency),
            "--rollouts",
            str(args.rollouts),
        ]
        log(
            f"{pipeline} job: {resources} resources, {latency_ms} ms + tokens at {tokens_per_s}/s, concurrency "
            f"{args.concurrency}"
        )
        done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        if done.returncode != 0:
            raise SystemExit(f"the {pipeline} job failed:\n{done.stderr[-3000:]}")
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        if figures["state"] != "SUCCEEDED":
            raise SystemExit(f"the {pipeline} job ended {figures['state']}: {figures['error']}")
        log(json.dumps(figures))
        return figures
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(args: argparse.Namespace) -> dict:
    small = job(args, "streaming", max(1, args.resources // 4), 0, 0)
    zero = job(args, "streaming", args.resources, 0, 0)
    streaming = job(args, "streaming", args.resources, args.latency_ms, args.tokens_per_s)
    barrier = job(args, "barrier", args.resources, args.latency_ms, args.tokens_per_s)
    latency_s = streaming["mean_call_latency_ms"] / 1000
    bound = min(args.concurrency / latency_s, zero["calls_per_s"]) if latency_s else zero["calls_per_s"]
    calls_per_candidate = streaming["llm_calls"] / max(1, streaming["candidates"])
    return {
        "model": (
            "stand-in: the offline policy's answers after a fixed latency + completion tokens / token rate "
            "(bench/standin_llm.py)"
        ),
        "resources": args.resources,
        "concurrency": args.concurrency,
        "latency_ms": args.latency_ms,
        "tokens_per_s": args.tokens_per_s,
        "calls_per_s": streaming["calls_per_s"],
        "bound_calls_per_s": round(bound, 2),
        "calls_over_bound": round(streaming["calls_per_s"] / bound, 3) if bound else None,
        "zero_latency_calls_per_s": zero["calls_per_s"],
        # one process's own rate is the zero-latency job's (its CPU is the limit there)
        "calls_over_one_process": round(streaming["calls_per_s"] / zero["calls_per_s"], 3)
        if zero["calls_per_s"]
        else None,
        "one_core_calls_per_s": round(1000 / zero["cpu_ms_per_call"], 1) if zero["cpu_ms_per_call"] else None,
        "first_ingest_fraction": streaming["first_ingest_fraction"],
        "cpu_ms_per_call": streaming["cpu_ms_per_call"],
        "zero_latency_cpu_ms_per_call": zero["cpu_ms_per_call"],
        "zero_latency_cpu_ms_per_call_by_thread": zero["cpu_ms_per_call_by_thread"],
        "projected_650k_candidates_cpu_hours": round(
            650_000 * calls_per_candidate * zero["cpu_ms_per_call"] / 1000 / 3600, 2
        ),
        "peak_rss_mb": streaming["peak_rss_mb"],
        "rss_mb_at_quarter_n": small["peak_rss_mb"],
        "rss_mb_at_n": zero["peak_rss_mb"],
        "journal_mb": streaming["journal_mb"],
        "candidates": streaming["candidates"],
        "kept": streaming["kept"],
        "wall_s": streaming["wall_s"],
        "baseline": {
            k: barrier[k]
            for k in ("pipeline", "calls_per_s", "first_ingest_fraction", "wall_s", "cpu_ms_per_call", "peak_rss_mb")
        },
        "jobs": {"quarter_n_zero_latency": small, "zero_latency": zero, "streaming": streaming, "barrier": barrier},
    }


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resources", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=32, help="the job's LLM concurrency bound")
    parser.add_argument("--rollouts", type=int, default=32, help="rollouts (environment sessions) at once")
    parser.add_argument("--latency-ms", type=float, default=400.0, help="the stand-in model's fixed latency per call")
    parser.add_argument("--tokens-per-s", type=float, default=200.0, help="the stand-in model's completion token rate")
    parser.add_argument("--job-dir", help=argparse.SUPPRESS)
    parser.add_argument("--pipeline", default="streaming", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    arguments = parse()
    if arguments.job_dir:
        print(json.dumps(asyncio.run(run_job(arguments))))
    else:
        print(json.dumps(main(arguments)))
