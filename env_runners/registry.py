"""Finds environment plugins through the `lbi.environments` entry point group."""

from __future__ import annotations

from importlib.metadata import entry_points

from env_runners.base import Environment
from lbi.config import RunnerSettings

GROUP = "lbi.environments"


def environment_classes() -> dict[str, type[Environment]]:
    """Every installed environment class by name."""
    classes: dict[str, type[Environment]] = {}
    for ep in entry_points(group=GROUP):
        cls = ep.load()
        classes[cls.name] = cls
    return classes


def load_environments(settings: RunnerSettings, only: list[str] | None = None) -> dict[str, Environment]:
    """Instances of the installed environments (all, or those named in `only`)."""
    classes = environment_classes()
    missing = sorted(set(only or []) - set(classes))
    if missing:
        raise KeyError(f"environment(s) not installed: {', '.join(missing)}; installed: {', '.join(sorted(classes))}")
    return {name: cls(settings) for name, cls in classes.items() if not only or name in only}
