"""Exports a dataset's examples as fine-tuning conversations: chat JSONL, ShareGPT JSONL, or a `datasets` folder.

Each example becomes system (the environment's action space), user (the instruction and the first
observation), then assistant (action) / user (next observation) turns, ending with the last action.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lbi.dataset import DatasetStore
from lbi.records import Example

FORMATS = ("chat-jsonl", "sharegpt", "hf")
SYSTEM = "You are an agent acting in the {env} environment. {action_space}"


def messages(example: Example, action_spaces: dict[str, str]) -> list[dict[str, str]]:
    turns = [
        {
            "role": "system",
            "content": SYSTEM.format(env=example.env, action_space=action_spaces.get(example.env, "")).strip(),
        }
    ]
    for i, step in enumerate(example.steps):
        observation = f"Observation:\n{step.observation}"
        turns.append(
            {"role": "user", "content": f"Task: {example.instruction}\n\n{observation}" if i == 0 else observation}
        )
        turns.append({"role": "assistant", "content": step.action})
    return turns


def _sharegpt(turns: list[dict[str, str]]) -> list[dict[str, str]]:
    names = {"system": "system", "user": "human", "assistant": "gpt"}
    return [{"from": names[t["role"]], "value": t["content"]} for t in turns]


def export_record(example: Example, action_spaces: dict[str, str]) -> dict[str, Any]:
    """An example as exported: its id, environment, origin, instruction and conversation."""
    return {
        "id": example.id,
        "env": example.env,
        "origin": example.origin.value,
        "instruction": example.instruction,
        "messages": messages(example, action_spaces),
    }


def jsonl_line(record: dict[str, Any], fmt: str) -> dict[str, Any]:
    """One line of a JSONL export (chat-jsonl or sharegpt) of an exported record."""
    if fmt == "chat-jsonl":
        return {"messages": record["messages"]}
    return {"id": record["id"], "conversations": _sharegpt(record["messages"])}


def exportable(example: Example, kept_only: bool) -> bool:
    return bool(example.steps) and (example.kept or not kept_only)


@dataclass
class ExportStats:
    examples: int = 0
    turns: int = 0
    by_origin: dict[str, int] = field(default_factory=dict)
    by_env: dict[str, int] = field(default_factory=dict)


async def export(
    datasets: DatasetStore,
    dataset: str,
    fmt: str,
    out: Path,
    origins: Sequence[str] = (),
    kept_only: bool = True,
    action_space: Callable[[str], str] = lambda env: "",
) -> ExportStats:
    """Writes the dataset's examples; `action_space(env)` is the system message's description of each environment's
    actions (the CLI looks it up in the installed environments)."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    flt: dict[str, Any] = {"origin": list(origins)} if origins else {}
    records: list[dict[str, Any]] = []
    origin_counts: Counter[str] = Counter()
    env_counts: Counter[str] = Counter()
    spaces: dict[str, str] = {}
    async for example in datasets.examples(dataset, flt or None):
        if not exportable(example, kept_only):
            continue
        if example.env not in spaces:
            spaces[example.env] = action_space(example.env)
        records.append(export_record(example, spaces))
        origin_counts[example.origin.value] += 1
        env_counts[example.env] += 1
    out = Path(out)
    if fmt == "hf":
        import datasets as hf

        hf.Dataset.from_list(records).save_to_disk(str(out))
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", encoding="utf-8") as handle:
            for r in records:
                handle.write(json.dumps(jsonl_line(r, fmt), ensure_ascii=False) + "\n")
    return ExportStats(len(records), sum(len(r["messages"]) for r in records), dict(origin_counts), dict(env_counts))
