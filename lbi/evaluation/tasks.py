"""Evaluation tasks: JSONL lines of id, instruction, session config, check (and a difficulty).

A task file is read whole and validated before anything runs: a missing or empty file, a line that is not
JSON, a missing field, a duplicate id, or a check kind the environment does not judge is a `TaskFileError`
naming file and line. The check's own fields are validated by the runner that judges it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError


class EvaluationInputError(ValueError):
    """An evaluation that cannot start (the reason says which input is wrong); nothing was run or written."""


class TaskFileError(EvaluationInputError):
    """A task file that cannot be run, with file and line."""


class EvalTask(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1)
    instruction: str = Field(min_length=1)
    config: dict[str, Any] = Field(default_factory=dict)
    check: dict[str, Any]
    difficulty: str = ""
    env: str = ""  # the environment the task was written for (importers set it); `--env` decides
    # the reference solution: actions that solve the task (never shown to the agent), and its final answer
    solution: list[str] = Field(default_factory=list)
    answer: str = ""
    _line: int = PrivateAttr(0)

    def reference_actions(self) -> list[str]:
        """The actions that solve the task: its solution, else its check's own gold query or command."""
        if self.solution:
            return list(self.solution)
        gold = self.check.get("gold_sql") or self.check.get("gold")
        return [gold] if isinstance(gold, str) and gold.strip() else []

    @property
    def line(self) -> int:
        return self._line


def _message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    return f"{'.'.join(str(p) for p in first['loc']) or 'task'}: {first['msg']}"


def load_tasks(path: Path) -> list[EvalTask]:
    """Every task of a JSONL file, validated; TaskFileError names the first problem with its line."""
    path = Path(path)
    if not path.is_file():
        raise TaskFileError(f"{path}: no such task file")
    tasks: list[EvalTask] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            task = EvalTask.model_validate(json.loads(line))
        except json.JSONDecodeError as exc:
            raise TaskFileError(f"{path}:{number}: not JSON ({exc.msg})") from None
        except ValidationError as exc:
            raise TaskFileError(f"{path}:{number}: {_message(exc)}") from None
        if not isinstance(task.check.get("kind"), str):
            raise TaskFileError(f"{path}:{number}: check.kind: missing")
        if task.id in seen:
            raise TaskFileError(f"{path}:{number}: id {task.id!r} is used on line {seen[task.id]} too")
        seen[task.id] = number
        task._line = number
        tasks.append(task)
    if not tasks:
        raise TaskFileError(f"{path}: no tasks in the file")
    return tasks


def check_kinds(tasks: list[EvalTask], kinds: set[str], env: str, path: Path) -> None:
    """TaskFileError for the first task whose check kind the environment does not judge."""
    for task in tasks:
        if task.check["kind"] not in kinds:
            raise TaskFileError(
                f"{path}:{task.line}: check.kind {task.check['kind']!r}: {env} judges "
                f"{', '.join(sorted(kinds)) or 'no checks'}"
            )
