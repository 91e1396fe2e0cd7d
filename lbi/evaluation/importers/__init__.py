"""Task importers: public benchmark formats converted into lbi's task lines (lbi.evaluation.tasks).

One module per format, each with `convert(path, options) -> Converted`: the tasks it could express, and for every
task it could not, the task's id, the field and the reason. `FORMATS` maps a format's name to its converter and the
options it takes (`lbi tasks import FORMAT PATH`). Converters read the formats as published, not a sample of them:
every field they read is named in their module docstring.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class TaskImportError(ValueError):
    """The input cannot be read at all (a missing file, not the format's shape); the message says which and where."""


@dataclass(frozen=True)
class Refusal:
    task_id: str
    field: str
    reason: str


@dataclass
class Converted:
    tasks: list[dict[str, Any]] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)  # sha256 -> the file given, for files that travel with tasks


Converter = Callable[[Path, dict[str, Any]], Converted]


def _formats() -> dict[str, tuple[Converter, tuple[str, ...]]]:
    from lbi.evaluation.importers import intercode_bash, osworld, spider, spider2v, swe_bench, webarena

    return {
        "spider": (spider.convert_spider, ("databases",)),
        "bird": (spider.convert_bird, ("databases",)),
        "intercode-bash": (intercode_bash.convert, ("setup",)),
        "swe-bench": (swe_bench.convert, ("repos",)),
        "webarena": (webarena.convert, ("sites",)),
        "osworld": (osworld.convert, ()),
        "spider2v": (spider2v.convert, ()),
    }


FORMATS = ("spider", "bird", "intercode-bash", "swe-bench", "webarena", "osworld", "spider2v")


def convert(fmt: str, path: Path, options: dict[str, Any]) -> Converted:
    """The tasks of `path` in format `fmt`; TaskImportError for an unknown format or a missing option."""
    formats = _formats()
    if fmt not in formats:
        raise TaskImportError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    converter, needed = formats[fmt]
    missing = [name for name in needed if not options.get(name)]
    if missing:
        raise TaskImportError(f"{fmt} needs --{missing[0]}")
    if not Path(path).exists():
        raise TaskImportError(f"{path}: no such file")
    return converter(Path(path), options)


def read_records(path: Path) -> list[dict[str, Any]]:
    """A JSON list, a JSON object holding one list, one JSON object, or JSON lines; TaskImportError otherwise."""
    import json

    text = Path(path).read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        try:
            data = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise TaskImportError(f"{path}: neither JSON nor JSON lines ({exc.msg}, line {exc.lineno})") from None
    if isinstance(data, dict):
        lists = [v for v in data.values() if isinstance(v, list) and v and all(isinstance(x, dict) for x in v)]
        data = lists[0] if len(lists) == 1 else [data]
    if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
        raise TaskImportError(f"{path}: expected a list of task objects")
    return data
