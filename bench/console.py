"""Console benchmark: how fast the web console renders each kind of page over a 100k-example dataset.

Builds once (cached under the data dir) a dataset of at least `--examples` examples the way paper-mode backward
construction makes them (bench/retrieval.py's corpus and build, through the pipeline's own ingest code), then runs
`lbi up` on it and `lbi console` against it, each in its own process as a team would run them, and requests each
page kind `--requests` times, one at a time, over HTTP: the datasets list, a dataset's first page of 50 examples, a
page deep in the dataset (reached by following the page tokens), a page filtered by origin, an example's page, a
search (instruction mode), the jobs list, and the sign-in page as the floor (no gRPC call). Prints p50/p99 per kind,
each kind's p50 over the floor, and whether the 300 ms target holds for the dataset pages. The last line is JSON.

    python bench/console.py --examples 100000 --requests 40
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.retrieval import build, log
from lbi.metrics import percentile
from lbi.processes import free_port, stop, wait_http_ok

TARGET_MS = 300.0


def _get(url: str) -> tuple[float, str]:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as response:
        body = response.read().decode()
        assert response.status == 200, url
    return (time.perf_counter() - started) * 1000, body


def _deep_page(base: str, pages: int) -> str:
    """The URL of page `pages` of the dataset, reached the way a user would: following each page's next token."""
    url = f"{base}/datasets/bench"
    for _ in range(pages):
        _, body = _get(url)
        found = re.search(r'href="(/datasets/bench\?after=[^"#]+)', body)
        if not found:
            break
        url = base + found.group(1).replace("&amp;", "&")
    return url


def measure(base: str, requests: int, deep: int) -> dict:
    _, first = _get(f"{base}/datasets/bench")
    example = re.search(r'href="(/datasets/bench/examples/[0-9a-f]+)"', first)
    assert example, "the dataset page lists no example"
    kinds = {
        "floor_login_page": f"{base}/login",
        "datasets_list": f"{base}/datasets",
        "dataset_first_page": f"{base}/datasets/bench",
        f"dataset_page_{deep}": _deep_page(base, deep),
        "dataset_filtered_by_origin": f"{base}/datasets/bench?origin=backward-task",
        "example_page": base + example.group(1),
        "dataset_search_instruction": f"{base}/datasets/bench?q=total+revenue+per+customer&mode=instruction",
        "jobs_list": f"{base}/jobs",
    }
    results = {}
    for kind, url in kinds.items():
        _get(url)  # warm: the first request of a kind opens channels and faults pages in
        times = [_get(url)[0] for _ in range(requests)]
        results[kind] = {"p50_ms": round(percentile(times, 50), 1), "p99_ms": round(percentile(times, 99), 1)}
        log(f"{kind}: p50 {results[kind]['p50_ms']} ms, p99 {results[kind]['p99_ms']} ms")
    floor = results["floor_login_page"]["p50_ms"] or 0.1
    for figures in results.values():
        figures["p50_over_floor"] = round(figures["p50_ms"] / floor, 1)
    return results


def main(args: argparse.Namespace) -> dict:
    states = max(1000, args.examples // 3)
    while True:
        root = Path(args.data_dir) / "bench" / f"console-{states}-{args.seed}"
        info = asyncio.run(build(root, states, args.unique, args.seed, 0.5))
        if info["examples"] >= args.examples:
            break
        states = int(states * args.examples / info["examples"]) + 500
    ports = [free_port() for _ in range(4)]
    env = {k: v for k, v in os.environ.items() if k not in ("LBI_AUTH_TOKENS", "LBI_LLM_MODEL")}
    env["LBI_DATA_DIR"] = str(root)
    cli = [sys.executable, "-m", "lbi.cli.main"]
    up = subprocess.Popen(
        [*cli, "up", "--runner-port", str(ports[0]), "--retrieval-port", str(ports[1]), "--synth-port", str(ports[2])],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    console = None
    try:
        retrieval, synthesis = f"127.0.0.1:{ports[1]}", f"127.0.0.1:{ports[2]}"
        console = subprocess.Popen(
            [*cli, "console", "--port", str(ports[3]), "--synthesis", synthesis, "--retrieval", retrieval],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{ports[3]}"
        wait_http_ok(f"{base}/healthz", console, 60)
        deadline = time.monotonic() + 300
        while True:  # `lbi up` is ready once the datasets list answers through it
            try:
                _get(f"{base}/datasets")
                break
            except OSError:
                if time.monotonic() > deadline or up.poll() is not None:
                    raise
                time.sleep(0.5)
        pages = measure(base, args.requests, args.deep)
    finally:
        if console is not None:
            stop(console)
        stop(up)
    dataset_kinds = [k for k in pages if k.startswith("dataset")]
    return {
        "benchmark": "console",
        "examples": info["examples"],
        "states": info["steps"],
        "requests_per_kind": args.requests,
        "pages": pages,
        "target_ms": TARGET_MS,
        "dataset_pages_p50_within_target": all(pages[k]["p50_ms"] < TARGET_MS for k in dataset_kinds),
        "dataset_pages_p99_within_target": all(pages[k]["p99_ms"] < TARGET_MS for k in dataset_kinds),
        "build_seconds": info["build_seconds"],
    }


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--deep", type=int, default=40, help="Which page to measure deep in the dataset.")
    parser.add_argument("--unique", type=int, default=3000, help="Distinct observation texts embedded.")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data-dir", default=os.environ.get("LBI_DATA_DIR", ".lbi"))
    return parser.parse_args()


if __name__ == "__main__":
    print(json.dumps(main(parse())))
