"""Spider and BIRD questions as `sql_result` tasks on each question's own SQLite database.

Spider (`dev.json`, `train_spider.json`): a list of objects with `db_id`, `question` and the gold `query`; the
databases folder holds `<db_id>/<db_id>.sqlite` (`database/` in the release). BIRD (`dev.json`): `question_id`,
`db_id`, `question`, `evidence` (added to the instruction: it is part of BIRD's input), the gold `SQL` and
`difficulty` (simple, moderate, challenging); the databases folder is `dev_databases/`, the same layout.

A task's id is `spider-<n>` (the question's position) or `bird-<question_id>`; its config names the database
read-only (the check runs the gold query on a fresh copy itself). A question whose database file is missing, or
whose gold query is empty, is refused with the field and the reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lbi.evaluation.importers import Converted, Refusal, read_records

_DIFFICULTY = {"simple": "easy", "moderate": "medium", "challenging": "hard"}


def _database(folder: Path, db_id: str) -> Path | None:
    for candidate in (folder / db_id / f"{db_id}.sqlite", folder / db_id / f"{db_id}.db", folder / f"{db_id}.sqlite"):
        if candidate.is_file():
            return candidate.resolve()
    return None


def _task(task_id: str, record: dict[str, Any], question: str, gold: str, folder: Path) -> dict[str, Any] | Refusal:
    db_id = str(record.get("db_id") or "")
    if not db_id:
        return Refusal(task_id, "db_id", "missing")
    if not question.strip():
        return Refusal(task_id, "question", "missing")
    if not gold.strip():
        return Refusal(task_id, "query", "the gold query is missing")
    database = _database(folder, db_id)
    if database is None:
        return Refusal(task_id, "db_id", f"no database {db_id}/{db_id}.sqlite under {folder}")
    return {
        "id": task_id,
        "instruction": question.strip(),
        "config": {"database": str(database), "read_only": True},
        "check": {"kind": "sql_result", "gold_sql": gold.strip()},
        "env": "sql",
        "solution": [gold.strip()],
    }


def _collect(pairs: list[dict[str, Any] | Refusal]) -> Converted:
    out = Converted()
    for item in pairs:
        (out.refused if isinstance(item, Refusal) else out.tasks).append(item)  # type: ignore[arg-type]
    return out


def convert_spider(path: Path, options: dict[str, Any]) -> Converted:
    folder = Path(options["databases"]).expanduser()
    return _collect(
        [
            _task(f"spider-{n}", r, str(r.get("question") or ""), str(r.get("query") or ""), folder)
            for n, r in enumerate(read_records(path))
        ]
    )


def convert_bird(path: Path, options: dict[str, Any]) -> Converted:
    folder = Path(options["databases"]).expanduser()
    tasks: list[dict[str, Any] | Refusal] = []
    for n, r in enumerate(read_records(path)):
        evidence = str(r.get("evidence") or "").strip()
        question = str(r.get("question") or "")
        instruction = f"{question.strip()}\nHint: {evidence}" if evidence and question.strip() else question
        task = _task(f"bird-{r.get('question_id', n)}", r, instruction, str(r.get("SQL") or ""), folder)
        if isinstance(task, dict):
            task["difficulty"] = _DIFFICULTY.get(str(r.get("difficulty", "")).lower(), "")
        tasks.append(task)
    return _collect(tasks)
