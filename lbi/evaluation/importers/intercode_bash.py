"""InterCode-Bash tasks as `shell` tasks: its setup script as the session's setup (as root), the gold command as
the check.

InterCode-Bash's task files (`data/nl2bash/nl2bash_fs_<n>.json`) are JSON lists of objects with the natural
language `query` and the `gold` command; each file belongs to one setup script (`setup_nl2b_fs_<n>.sh`), which
`--setup` names and which runs as root in every session (InterCode's containers run as root and its setups create
top-level folders such as `/testbed`). The check compares output and the files under `/` that the setup made, as
InterCode's reward does with the container's file system. `instruction`/`nl` and `cmd` are read too, for task
files in the NL2Bash shape. Ids are `intercode-bash-<file stem>-<n>`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from lbi.evaluation.importers import Converted, Refusal, TaskImportError, read_records

_QUERY = ("query", "instruction", "nl", "invocation")
_GOLD = ("gold", "cmd", "gold_command")


def _first(record: dict[str, Any], keys: tuple[str, ...]) -> str:
    return next((str(record[k]) for k in keys if isinstance(record.get(k), str) and record[k].strip()), "")


_SYSTEM_DIRS = {
    "bin",
    "boot",
    "dev",
    "etc",
    "lib",
    "lib32",
    "lib64",
    "libx32",
    "proc",
    "run",
    "sbin",
    "sys",
    "usr",
    "var",
}


def _written_paths(setup: str) -> list[str]:
    """Where the files are compared: the home folder and every top-level folder the setup script names that is not
    the system's own (`/testbed`, `/system`, `/workspace`, ...)."""
    tops = {m for m in re.findall(r"(?<![\w.~$/-])/([A-Za-z_][\w.-]*)", setup) if m not in _SYSTEM_DIRS}
    return ["~", *(f"/{top}" for top in sorted(tops))]


def convert(path: Path, options: dict[str, Any]) -> Converted:
    setup_file = Path(options["setup"]).expanduser()
    if not setup_file.is_file():
        raise TaskImportError(f"{setup_file}: no such setup script")
    setup = setup_file.read_text(encoding="utf-8")
    paths = _written_paths(setup)
    out = Converted()
    for n, record in enumerate(read_records(path)):
        task_id = f"intercode-bash-{path.stem}-{n}"
        query, gold = _first(record, _QUERY), _first(record, _GOLD)
        if not query:
            out.refused.append(Refusal(task_id, "query", "missing"))
            continue
        if not gold:
            out.refused.append(Refusal(task_id, "gold", "the gold command is missing"))
            continue
        out.tasks.append(
            {
                "id": task_id,
                "instruction": query.strip(),
                "config": {"setup": setup, "as_root": True},
                "check": {"kind": "shell", "gold": gold, "compare": "output_and_files", "paths": paths},
                "env": "shell",
                "solution": [gold],
            }
        )
    return out
