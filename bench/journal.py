"""Journal benchmark: what the synthesis job journal costs per write and per read, on SQLite or PostgreSQL.

Writes and reads shaped like a job's (synth_service/journal.py): rows put one at a time and in batches of 8
with payloads like trajectories and candidates (a few kB of JSON, compressed), the same rows written again
(exactly-once: nothing new), single-key lookups as each stage makes before its work, finished LLM calls and
their lookups, running counts (a job's statistics), and the console's pages (50 rows) over a whole stage.
Every write is committed (SQLite: WAL, synchronous=FULL) before it returns, as in a job.

    python bench/journal.py --rows 2000                       # the embedded default (a SQLite file)
    python bench/journal.py --url postgresql://u:pw@host/db   # a PostgreSQL journal (an empty database)
    python bench/journal.py --module /tmp/old_journal.py      # another version of the module, to compare

The last line is one JSON object: operations per second of each kind.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def load_journal_class(module: str) -> Any:
    if not module:
        from synth_service.journal import Journal

        return Journal
    spec = importlib.util.spec_from_file_location("bench_journal_module", module)
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded.Journal


def trajectory(i: int) -> dict[str, Any]:
    steps = [
        {
            "observation": f"| id | name | total |\n| {i} | customer {i % 97} | {j * 13.5} |\n" * 6,
            "action": f"SELECT {j}",
        }
        for j in range(8)
    ]
    return {"id": f"t{i}", "instruction_id": f"i{i}", "env": "sql", "steps": steps, "origin": "forward"}


def rate(n: int, run: Callable[[], None]) -> float:
    began = time.perf_counter()
    run()
    return round(n / (time.perf_counter() - began), 1)


def main(args: argparse.Namespace) -> dict[str, Any]:
    journal_class = load_journal_class(args.module)
    with tempfile.TemporaryDirectory() as folder:
        journal = journal_class(args.url or Path(folder) / "journal.sqlite")
        job, n = "bench-job", args.rows
        journal.create_job(job, {"env": "sql"})
        figures: dict[str, Any] = {"rows": n, "backend": "postgresql" if args.url else "sqlite"}

        def single_puts() -> None:
            for i in range(n):
                journal.put(job, "trajectories", [(f"k{i}", trajectory(i), True, "")])

        def batch_puts() -> None:
            for start in range(0, n, 8):
                journal.put(
                    job, "candidates", [(f"c{i}", trajectory(i), True, "") for i in range(start, min(n, start + 8))]
                )

        def repeated_puts() -> None:
            for i in range(n):
                journal.put(job, "trajectories", [(f"k{i}", trajectory(i), True, "")])

        def lookups() -> None:
            for i in range(n):
                assert journal.get(job, "trajectories", [f"k{i}"])

        def llm_calls() -> None:
            for i in range(n):
                journal.put_llm_call(job, f"l{i}", "backward", "labeller", 300, 40, 0.0, 1, {"text": f"label {i}"})

        def llm_lookups() -> None:
            for i in range(n):
                assert journal.llm_output(job, f"l{i}") is not None

        def counts() -> None:
            for _ in range(n):
                journal.count(job, "trajectories", ok=True)
                journal.count_by_origin(job, "candidates")
                journal.llm_totals(job)

        def pages() -> None:
            after, read = 0, 0
            while rows := journal.page(job, "candidates", after, 50):
                after, read = rows[-1][0], read + len(rows)
            assert read == n

        figures["put_per_s"] = rate(n, single_puts)
        figures["put_batch8_rows_per_s"] = rate(n, batch_puts)
        figures["put_again_per_s"] = rate(n, repeated_puts)
        figures["get_one_per_s"] = rate(n, lookups)
        figures["llm_call_put_per_s"] = rate(n, llm_calls)
        figures["llm_output_per_s"] = rate(n, llm_lookups)
        figures["stats_reads_per_s"] = rate(n, counts)
        figures["page_rows_per_s"] = rate(n, pages)
        assert journal.count(job, "trajectories") == n and journal.count(job, "candidates") == n
        journal.close()
    return figures


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2000, help="rows per kind of operation")
    parser.add_argument("--url", default="", help="journal URL (postgresql://...); empty: a SQLite file")
    parser.add_argument("--module", default="", help="a journal.py to measure instead of synth_service.journal")
    return parser.parse_args()


if __name__ == "__main__":
    print(json.dumps(main(parse())))
