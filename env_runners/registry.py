"""Finds environment plugins through the `lbi.environments` entry point group."""

from __future__ import annotations

import inspect
from importlib.metadata import entry_points
from pathlib import Path

from env_runners.base import Environment
from lbi.config import RunnerSettings
from lbi.evaluation.tasks import TaskFileError

GROUP = "lbi.environments"


def environment_classes() -> dict[str, type[Environment]]:
    """Every installed environment class by name."""
    classes: dict[str, type[Environment]] = {}
    for ep in entry_points(group=GROUP):
        cls = ep.load()
        classes[cls.name] = cls
    return classes


def action_space(env: str) -> str:
    """The installed environment's description of its actions ('' for an environment not installed here)."""
    cls = environment_classes().get(env)
    return cls.action_space if cls else ""


def load_environments(settings: RunnerSettings, only: list[str] | None = None) -> dict[str, Environment]:
    """Instances of the installed environments (all, or those named in `only`)."""
    classes = environment_classes()
    missing = sorted(set(only or []) - set(classes))
    if missing:
        raise KeyError(f"environment(s) not installed: {', '.join(missing)}; installed: {', '.join(sorted(classes))}")
    return {name: cls(settings) for name, cls in classes.items() if not only or name in only}


def builtin_tasks(env: str) -> Path:
    """The evaluation task file an environment ships: `eval/tasks.jsonl` next to its class's module (so a plugin
    environment from another package ships its own)."""
    cls = environment_classes().get(env)
    if cls is None:
        raise TaskFileError(f"no environment {env!r} is installed; pass --tasks")
    path = Path(inspect.getfile(cls)).parent / "eval" / "tasks.jsonl"
    if not path.is_file():
        raise TaskFileError(f"environment {env!r} ships no evaluation tasks ({path}); pass --tasks")
    return path
