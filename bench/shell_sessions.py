"""Shell session start and step latency, in process (no gRPC): prints JSON figures.

    python bench/shell_sessions.py [--sessions 30] [--as-root]

open: `ShellEnvironment.open` until the shell is ready (user namespace, overlay, bubblewrap, setup none);
first: the first observation (`ls -la`); step: `echo` round trips on an open session; close: teardown.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from env_runners.shell.environment import ShellEnvironment
from lbi.config import RunnerSettings


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--as-root", action="store_true")
    args = parser.parse_args()
    env = ShellEnvironment(RunnerSettings())
    timings: dict[str, list[float]] = {"open": [], "first": [], "step": [], "close": []}
    for _ in range(args.sessions):
        started = time.perf_counter()
        session = env.open(env.parse_config({"as_root": args.as_root}))
        timings["open"].append(time.perf_counter() - started)
        started = time.perf_counter()
        session.first_observation()
        timings["first"].append(time.perf_counter() - started)
        for i in range(args.steps):
            started = time.perf_counter()
            session.step(f"echo {i}")
            timings["step"].append(time.perf_counter() - started)
        started = time.perf_counter()
        session.close()
        timings["close"].append(time.perf_counter() - started)
    print(
        json.dumps(
            {
                "notes": env.notes(),
                "sessions": args.sessions,
                "as_root": args.as_root,
                **{name: percentiles(values) for name, values in timings.items()},
                "open_to_first_observation_p50_ms": round(
                    statistics.median([a + b for a, b in zip(timings["open"], timings["first"], strict=True)]) * 1000, 2
                ),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
