"""Near-duplicate task removal in self-instruct: the vectorised pass against the pairwise Python loop it replaced.

Tasks are real embeddings (the offline MiniLM model) of generated task sentences with paraphrase-like
repeats; both methods must keep exactly the same tasks. Prints one JSON object: per size, seconds for each
method, the speed-up, and how many tasks were kept.

    .venv/bin/python -m bench.task_dedup [--sizes 600,3000]
"""

from __future__ import annotations

import argparse
import json
import random
import time

import numpy as np

from lbi.vectors import distinct

VERBS = ["Count", "List", "Show", "Find", "Sum", "Sort", "Compare", "Archive", "Search", "Rename"]
THINGS = [
    "invoices",
    "patients",
    "sensor readings",
    "log lines",
    "members",
    "tickets",
    "books",
    "orders",
    "trips",
    "harvests",
    "warnings",
    "files",
    "tools",
    "visits",
    "measurements",
]
WHERE = [
    "from last week",
    "by region",
    "over 100",
    "with errors",
    "in the archive folder",
    "per month",
    "by owner",
    "that mention 'urgent'",
    "older than a year",
    "grouped by status",
    "in descending order",
    "for team B",
]


def tasks(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        task = f"{rng.choice(VERBS)} the {rng.choice(THINGS)} {rng.choice(WHERE)} ({rng.randint(1, n // 4)})."
        out.append(task.replace(".", " please.") if rng.random() < 0.1 else task)
    return out


def pairwise(vectors: list[list[float]], threshold: float) -> list[int]:
    """The loop self-instruct used before (kept here as the baseline)."""
    kept: list[int] = []
    for i, vector in enumerate(vectors):
        if all(sum(a * b for a, b in zip(vector, vectors[j], strict=True)) < threshold for j in kept):
            kept.append(i)
    return kept


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="600,3000")
    parser.add_argument("--threshold", type=float, default=0.92)
    args = parser.parse_args()
    from lbi.embedding import Embedder

    embedder = Embedder()
    figures = {"threshold": args.threshold, "sizes": {}}
    for size in (int(s) for s in args.sizes.split(",")):
        vectors = embedder.encode(tasks(size))
        matrix = np.asarray(vectors, dtype=np.float32)
        start = time.perf_counter()
        fast = distinct(matrix, args.threshold)
        vector_s = time.perf_counter() - start
        start = time.perf_counter()
        slow = pairwise([list(map(float, v)) for v in matrix], args.threshold)
        loop_s = time.perf_counter() - start
        figures["sizes"][size] = {
            "vectorised_s": round(vector_s, 4),
            "pairwise_loop_s": round(loop_s, 3),
            "speedup": round(loop_s / vector_s, 1),
            "kept": len(fast),
            "same_result": fast == slow,
        }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
