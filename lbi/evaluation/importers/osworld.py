"""OSWorld tasks: refused until lbi has its desktop environment (each task names why), so a run on an OSWorld
file says what it could not do instead of writing nothing silently."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lbi.evaluation.importers import Converted, Refusal


def convert(path: Path, options: dict[str, Any]) -> Converted:
    import json

    files = sorted(path.rglob("*.json")) if path.is_dir() else [path]
    out = Converted()
    for file in files:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            continue
        for record in data if isinstance(data, list) else [data]:
            task_id = str(record.get("id") or file.stem) if isinstance(record, dict) else file.stem
            out.refused.append(Refusal(task_id, "env", "the desktop environment OSWorld tasks need is not built yet"))
    return out
