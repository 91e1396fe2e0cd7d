"""Retrieval benchmark: latency and throughput of the retrieval service over gRPC on 127.0.0.1.

Builds once (cached under the data dir) a dataset as paper-mode backward construction makes it:
trajectories of 2 to 10 steps, each kept with its forward example and, per span (i, j), each of its two
labels with probability `--kept` (the committee keeps about half), until the index holds `--states`
distinct states. It is written through the same ingest code the pipeline uses (one step point per
distinct state), then the real service is started on the embedded store and measured from client
processes: p50/p90/p99 latency and req/s for observation and agentic mode at each client count; plus, in
the same run, the in-process floor (one query embedding + one Qdrant query, no gRPC), and the CPU each request
cost the service, its event-loop thread (the one core it can use: see `_cpu_per_request`) and the clients. It
reports step
points per kept example and per distinct state, and what the previous layout (a point per example and
state) would have held. The last line of output is one JSON object.

    python bench/retrieval.py --states 100000 --clients 1,32 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lbi.metrics import percentile

if TYPE_CHECKING:
    from lbi.embedding import Embedder


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class ReusingEmbedder:
    """The real model for canonical texts; near-duplicate observations reuse their base text's vector."""

    def __init__(self, real: Embedder, alias: dict[str, str]):
        self.real = real
        self.alias = alias
        self.model_name = real.model_name
        self.cache: dict[str, list[float]] = {}
        self.embedded = 0

    @property
    def dim(self) -> int:
        return self.real.dim

    def encode(self, texts):
        canonical = [self.alias.get(t, t) for t in texts]
        missing = sorted({c for c in canonical if c not in self.cache})
        for start in range(0, len(missing), 256):
            chunk = missing[start : start + 256]
            self.cache.update(zip(chunk, self.real.encode(chunk), strict=True))
            self.embedded += len(chunk)
        return [self.cache[c] for c in canonical]

    async def aencode(self, texts):
        return await asyncio.to_thread(self.encode, texts)


def base_texts(unique: int, seed: int) -> dict[str, list[str]]:
    """The unique observation texts per environment (embedded with the real model)."""
    from bench.corpus import observation

    rng = random.Random(seed)
    bases: dict[str, list[str]] = {"sql": [], "shell": [], "web": []}
    for _ in range(unique):
        env, text = observation(rng)
        bases[env].append(text)
    return bases


def make_corpus(states: int, unique: int, seed: int, kept: float):
    """(examples, alias, figures): paper-mode examples of trajectories of 2-10 steps until `states` distinct states."""
    from bench.corpus import instruction, variant
    from lbi.normalize import normalize_observation
    from lbi.records import Example, Origin, Step

    bases = base_texts(unique, seed)
    rng = random.Random(seed + 2)
    tasks = {env: [instruction(rng, env) for _ in range(max(1, unique // 6))] for env in bases}
    alias: dict[str, str] = {}
    actions = {"sql": "SELECT * FROM t WHERE x = {}", "shell": "grep -rn error logs/ | head -{}", "web": "click [{}]"}
    examples, distinct, layout_one_points, trajectories = [], 0, 0, 0
    while distinct < states:
        env, length = rng.choice(list(bases)), rng.randint(2, 10)
        texts = []
        for _ in range(length + 1):
            base = rng.choice(bases[env])
            text = variant(rng, base) if rng.random() < 0.5 else base
            alias[normalize_observation(text)] = normalize_observation(base)
            texts.append(text)
        steps = tuple(Step(texts[i], actions[env].format(rng.randint(1, 99))) for i in range(length))
        source = f"traj-{trajectories}"
        trajectories += 1

        def label(kind: str, i: int, j: int, env: str = env, source: str = source) -> str:
            base = rng.choice(tasks[env])
            text = f"{base} ({kind} {source} {i}-{j})"
            alias[text] = base
            return text

        spans = [(i, j) for i in range(length) for j in range(i + 1, length + 1)]
        chosen = [
            Example(
                label("forward", 0, length), env, steps, texts[length], Origin.FORWARD, source, 0, length, kept=True
            )
        ]
        for i, j in spans:
            for origin in (Origin.BACKWARD_TASK, Origin.BACKWARD_SUMMARY):
                if rng.random() < kept:
                    chosen.append(
                        Example(label(origin.value, i, j), env, steps[i:j], texts[j], origin, source, i, j, kept=True)
                    )
        examples += chosen
        distinct += length + 1  # the forward example passes through every state
        layout_one_points += sum(e.span_end - e.span_start + 1 for e in chosen)
    figures = {"trajectories": trajectories, "distinct_states": distinct, "layout_one_step_points": layout_one_points}
    return examples, alias, figures


async def build(root: Path, states: int, unique: int, seed: int, kept: float) -> dict:
    from lbi.dataset import DatasetStore
    from lbi.embedding import Embedder
    from lbi.store.edge import EdgeStore

    marker = root / "built.json"
    if marker.exists():
        return json.loads(marker.read_text())
    started = time.monotonic()
    examples, alias, figures = make_corpus(states, unique, seed, kept)
    embedder = ReusingEmbedder(Embedder(), alias)
    store = EdgeStore(root / "qdrant", index_threshold=0)  # indexed by main(), explicitly and timed
    datasets = DatasetStore(store, embedder)
    for start in range(0, len(examples), 1000):
        await datasets.ingest("bench", examples[start : start + 1000], job_id="bench-build")
        log(
            f"indexed {start + 1000} / {len(examples)} examples ({time.monotonic() - started:.0f}s, "
            f"{embedder.embedded} texts embedded)"
        )
    info = {
        "steps": await store.count("bench__steps"),
        "examples": await store.count("bench__examples"),
        "unique_observation_texts": unique,
        "texts_embedded_with_real_model": embedder.embedded,
        "build_seconds": round(time.monotonic() - started, 1),
        **figures,
    }
    await store.close()
    marker.write_text(json.dumps(info))
    return info


def workload(count: int, seed: int, unique: int) -> list[dict]:
    from bench.corpus import instruction, variant

    bases = base_texts(unique, seed)  # the same base texts the index was built from
    rng = random.Random(seed + 1)
    items = []
    for _ in range(count):
        env = rng.choice(list(bases))
        items.append({"observation": variant(rng, rng.choice(bases[env])), "query": instruction(rng, env)})
    return items


async def client_main(target: str, mode: str, concurrency: int, seconds: float, items: list[dict]) -> dict:
    from lbi.clients.retrieval import AsyncRetrievalClient

    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds
    async with AsyncRetrievalClient(target, timeout_s=10) as client:

        async def worker(offset: int) -> None:
            nonlocal errors
            i = offset
            while time.monotonic() < deadline:
                item = items[i % len(items)]
                i += concurrency
                kwargs = (
                    {"observation": item["observation"], "mode": "observation"}
                    if mode == "observation"
                    else {"observation": item["observation"], "queries": [item["query"] + f" #{i}"], "mode": "agentic"}
                )
                started = time.perf_counter()
                try:
                    await client.retrieve("bench", **kwargs)
                    latencies.append((time.perf_counter() - started) * 1000)
                except Exception:
                    errors += 1

        await asyncio.gather(*(worker(w) for w in range(concurrency)))
    return {"latencies": latencies, "errors": errors}


async def run_clients(target: str, mode: str, clients: int, seconds: float, items_file: Path) -> dict:
    processes = min(clients, 2)
    per_process = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            str(Path(__file__).resolve()),
            "--client",
            target,
            "--mode",
            mode,
            "--concurrency",
            str(n),
            "--seconds",
            str(seconds),
            "--items",
            str(items_file),
            stdout=asyncio.subprocess.PIPE,
        )
        for n in per_process
    ]
    outputs = [json.loads((await p.communicate())[0].decode().strip().splitlines()[-1]) for p in procs]
    latencies = [x for o in outputs for x in o["latencies"]]
    return {
        "mode": mode,
        "clients": clients,
        "requests": len(latencies),
        "errors": sum(o["errors"] for o in outputs),
        "p50_ms": round(percentile(latencies, 50), 2),
        "p90_ms": round(percentile(latencies, 90), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "rps": round(len(latencies) / seconds, 1),
    }


def _cpu_seconds() -> tuple[float, float, float]:
    """CPU seconds so far: this process (the service), its event-loop thread (this one, where the service's Python
    and the embedded engine's calls run), and its finished children (the client processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, time.thread_time(), children.ru_utime + children.ru_stime


def _cpu_per_request(before: tuple[float, ...], after: tuple[float, ...], requests: int) -> dict:
    """CPU per request of the service, of its event-loop thread and of the clients; and the rate the loop thread
    allows at most: it holds the interpreter lock for the Python and for each embedded engine call, so one core
    is its ceiling however many the machine has."""
    service, loop, clients = (1000 * (a - b) / max(1, requests) for a, b in zip(after, before, strict=True))
    return {
        "service_cpu_ms_per_request": round(service, 3),
        "loop_thread_cpu_ms_per_request": round(loop, 3),
        "client_cpu_ms_per_request": round(clients, 3),
        "loop_thread_ceiling_rps": round(1000 / loop, 1) if loop else None,
    }


async def floor(store, embedder, items: list[dict], n: int = 300) -> dict:
    from lbi.dataset import EXAMPLES, STEPS, collection
    from lbi.lexical import LexicalEncoder
    from lbi.normalize import normalize_observation

    lexical = LexicalEncoder()
    observation_ms, agentic_ms = [], []
    for i in range(n):
        item = items[i % len(items)]
        started = time.perf_counter()
        await store.search(  # ids and scores only, as the service searches (it reads the states it uses after)
            collection("bench", STEPS),
            ("lexical", lexical.query(normalize_observation(item["observation"]))),
            20,
            fields=(),
        )
        observation_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        vector = (await embedder.aencode([item["query"] + f" floor {i}"]))[0]
        await store.search(collection("bench", EXAMPLES), ("instruction", vector), 10, fields=())
        agentic_ms.append((time.perf_counter() - started) * 1000)
    return {
        "observation": {
            "p50_ms": round(statistics.median(observation_ms), 2),
            "p99_ms": round(percentile(observation_ms, 99), 2),
        },
        "agentic": {"p50_ms": round(statistics.median(agentic_ms), 2), "p99_ms": round(percentile(agentic_ms, 99), 2)},
    }


async def main(args: argparse.Namespace) -> dict:
    from lbi.embedding import Embedder
    from lbi.store.edge import EdgeStore
    from retrieval_service.config import RetrievalSettings
    from retrieval_service.server import start_retrieval

    root = Path(args.data_dir) / "bench" / f"retrieval-v2-{args.states}-{args.unique}-{args.seed}-{args.kept}"
    info = await build(root, args.states, args.unique, args.seed, args.kept)
    items = workload(2000, args.seed, args.unique)
    items_file = root / "workload.json"
    items_file.write_text(json.dumps(items))
    store = EdgeStore(root / "qdrant", index_threshold=0)  # indexed here, explicitly, and timed
    embedder = Embedder()
    floor_exact = None
    index_seconds: dict[str, float] = {}
    if args.index:
        from lbi.dataset import EXAMPLES, STEPS, collection

        for name in (collection("bench", STEPS), collection("bench", EXAMPLES)):
            info_now = store._shard(name).info()
            if info_now.indexed_vectors_count < info_now.points_count:
                if floor_exact is None:
                    log("measuring the in-process floor on exact search (before the HNSW index)")
                    floor_exact = await floor(store, embedder, items)
                log(f"building the HNSW index of {name} ({info_now.points_count} points)")
                started = time.perf_counter()
                await store.index(name)
                index_seconds[name] = round(time.perf_counter() - started, 1)
    settings = RetrievalSettings(data_dir=root, retrieval_port=0)
    server, _ = await start_retrieval(settings, store=store, embedder=embedder)
    target = f"127.0.0.1:{server.port}"
    results = []
    for mode in ("observation", "agentic"):
        await run_clients(target, mode, 1, args.warmup, items_file)  # warm-up: the index's pages faulted in from disk
        for clients in args.clients:
            log(f"measuring {mode} with {clients} client(s) for {args.seconds}s")
            before = _cpu_seconds()
            result = await run_clients(target, mode, clients, args.seconds, items_file)
            results.append({**result, **_cpu_per_request(before, _cpu_seconds(), result["requests"])})
    await server.stop(0)
    floor_figures = await floor(store, embedder, items)
    await store.close()
    ratios = {}
    for mode in ("observation", "agentic"):
        single = next(r for r in results if r["mode"] == mode and r["clients"] == 1) if 1 in args.clients else None
        if single and floor_figures[mode]["p50_ms"]:
            ratios[mode] = round(single["p50_ms"] / floor_figures[mode]["p50_ms"], 2)
    return {
        "steps": info["steps"],
        "examples": info["examples"],
        "trajectories": info["trajectories"],
        "step_points_per_kept_example": round(info["steps"] / info["examples"], 3),
        "step_points_per_distinct_state": round(info["steps"] / info["distinct_states"], 3),
        "layout_one_step_points": info["layout_one_step_points"],
        "layout_one_points_per_kept_example": round(info["layout_one_step_points"] / info["examples"], 3),
        "index": (
            f"{info['steps']} step points / {info['examples']} examples of {info['trajectories']} paper-mode "
            f"trajectories (2-10 steps, each span label kept with probability {args.kept}) built through "
            f"lbi.dataset.DatasetStore on the embedded qdrant-edge store; {info['unique_observation_texts']} unique "
            "observation texts (SQL results, shell output, accessibility trees) plus near-duplicate variants that "
            f"reuse their base text's dense vector; {info['texts_embedded_with_real_model']} texts embedded with "
            "all-MiniLM-L6-v2 (torch, CPU); "
            + ("HNSW index (lbi.store.edge_index)" if args.index else "exact search, no HNSW")
            + f"; built in {info['build_seconds']}s"
        ),
        "cpu_count": os.cpu_count(),
        "seconds_per_run": args.seconds,
        "results": results,
        "floor": floor_figures,
        "floor_exact_search": floor_exact,
        "index_build_seconds": index_seconds,
        "service_over_floor_p50": ratios,
    }


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--states", type=int, default=100_000, help="distinct states in the index")
    parser.add_argument(
        "--kept", type=float, default=0.5, help="probability that a span's label survives the committee"
    )
    parser.add_argument(
        "--unique", type=int, default=20_000, help="unique observation texts embedded with the real model"
    )
    parser.add_argument("--clients", type=lambda s: [int(x) for x in s.split(",")], default=[1, 32])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--warmup",
        type=float,
        default=8.0,
        help="seconds of one client per mode before measuring (a 2 s warm-up left the HNSW graph partly on disk)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--index",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="build the collections' HNSW index before measuring (the floor on exact search is "
        "measured first, in the same run)",
    )
    parser.add_argument("--data-dir", default=os.environ.get("LBI_DATA_DIR", ".lbi"))
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--items", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    arguments = parse()
    if arguments.client:
        workload_items = json.loads(Path(arguments.items).read_text())
        print(
            json.dumps(
                asyncio.run(
                    client_main(
                        arguments.client, arguments.mode, arguments.concurrency, arguments.seconds, workload_items
                    )
                )
            )
        )
    else:
        print(json.dumps(asyncio.run(main(arguments))))
