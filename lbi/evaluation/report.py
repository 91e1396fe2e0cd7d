"""Evaluation results as a terminal table, Markdown, JSON, and a bar chart of success and cost per mode.

Each run writes into a folder of its own (`<out>/<time>-<id>/`, with `<out>/latest` pointing at the newest),
so runs never overwrite each other: `tasks.jsonl` gets one line per task as it ends (an interrupted run keeps
what finished), then `results.json` and `results.md` hold the table.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import asdict
from pathlib import Path

from rich.table import Table

from lbi.evaluation.harness import ModeSummary, TaskResult

COLUMNS = [
    ("mode", "mode"),
    ("tasks", "tasks"),
    ("success_rate", "success"),
    ("mean_steps", "steps"),
    ("llm_calls_per_task", "calls/task"),
    ("tokens_per_task", "tokens/task"),
    ("retrieval_p50_ms", "ret p50 ms"),
    ("retrieval_p99_ms", "ret p99 ms"),
    ("wall_seconds", "wall s"),
    ("errors", "no verdict"),
]


def _cell(summary: ModeSummary, key: str) -> str:
    value = getattr(summary, key)
    if key == "success_rate":
        return f"{value:.1%}"
    return f"{value:.0f}" if key == "tokens_per_task" else str(value)


def rich_table(summaries: list[ModeSummary], title: str) -> Table:
    table = Table(*[label for _, label in COLUMNS], title=title)
    for s in summaries:
        table.add_row(*[_cell(s, key) for key, _ in COLUMNS])
    return table


def markdown(summaries: list[ModeSummary]) -> str:
    lines = ["| " + " | ".join(label for _, label in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(_cell(s, key) for key, _ in COLUMNS) + " |" for s in summaries]
    return "\n".join(lines) + "\n"


def new_run(base: Path) -> Path:
    """A fresh folder for one run under `base`, and `base/latest` pointing at it."""
    run = base / f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    run.mkdir(parents=True)
    link = base / f".latest-{uuid.uuid4().hex[:6]}"
    link.symlink_to(run.name)
    os.replace(link, base / "latest")
    return run


class TaskLog:
    """Appends each task's result to `tasks.jsonl` as it ends."""

    def __init__(self, run: Path):
        self.path = run / "tasks.jsonl"

    def __call__(self, result: TaskResult) -> None:
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(asdict(result)) + "\n")


def write(out_dir: Path, summaries: list[ModeSummary], results: list[TaskResult], meta: dict) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    data = {**meta, "modes": [asdict(s) for s in summaries], "tasks": [asdict(r) for r in results]}
    (out_dir / "results.json").write_text(json.dumps(data, indent=2))
    (out_dir / "results.md").write_text(markdown(summaries))
    return data


def plot(path: Path, summaries: list[ModeSummary], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    modes = [s.mode for s in summaries]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.bar(modes, [100 * s.success_rate for s in summaries], color="#4c72b0")
    left.set_ylabel("success rate (%)")
    left.set_ylim(0, 100)
    right.bar(modes, [s.tokens_per_task for s in summaries], color="#dd8452")
    right.set_ylabel("tokens per task")
    for axis in (left, right):
        axis.tick_params(axis="x", rotation=20)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
