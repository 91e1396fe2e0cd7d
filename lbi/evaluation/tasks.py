"""Evaluation tasks: JSONL lines of instruction, session config and a check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class EvalTask(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    instruction: str = Field(min_length=1)
    config: dict[str, Any] = Field(default_factory=dict)
    check: dict[str, Any]
    difficulty: str = ""


def load_tasks(path: Path) -> list[EvalTask]:
    """Every task of a JSONL file; ValueError names the first bad line."""
    tasks = []
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            tasks.append(EvalTask.model_validate(json.loads(line)))
        except (json.JSONDecodeError, ValidationError) as exc:
            raise ValueError(f"{path}:{number}: {exc}") from None
    return tasks


def builtin_tasks(env: str) -> Path:
    """The task file an environment ships (env_runners/<env>/eval/tasks.jsonl)."""
    path = Path(__file__).resolve().parents[2] / "env_runners" / env / "eval" / "tasks.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"environment {env!r} ships no evaluation tasks ({path})")
    return path
