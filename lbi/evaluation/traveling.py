"""Files that travel with a task to the runner: a task's documents and expected files, stored content-addressed
beside the task file (`<tasks>.jsonl.files/<sha256>`) and sent with OpenSession, since a runner (a pod, say) reads no
user folder.

A session config names them in `files`: `[{"sha256": ..., "path": "/home/agent/x.xlsx"}]` (placed at that path
before the setup runs) or without `path` (an expected file only the judge reads). `attach` reads the ones a config
names from the folder the user gave; the runner checks each sha256 again and refuses more than
`SESSION_FILES_LIMIT` bytes a session.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path
from typing import Any

SESSION_FILES_LIMIT = 48 << 20  # bytes of files a session may carry (one OpenSession message, under gRPC's 64 MiB)
SHA256 = re.compile(r"^[0-9a-f]{64}$")


class TravelingFileError(ValueError):
    """A file a task names is missing, altered or over the limit; the message names it."""


def files_dir(tasks_file: Path) -> Path:
    """The folder of a task file's traveling files."""
    return tasks_file.with_name(tasks_file.name + ".files")


def digest(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()


def store(folder: Path, source: Path) -> str:
    """Copies `source` into `folder` under its sha256 (once) and returns the sha256."""
    sha = digest(source)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / sha
    if not target.exists():
        shutil.copyfile(source, folder / f".{sha}.part")
        (folder / f".{sha}.part").replace(target)
    return sha


def named(config: dict[str, Any]) -> list[str]:
    """The sha256s a session config names (each once, in order)."""
    entries = config.get("files")
    shas = [e.get("sha256") for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []
    return list(dict.fromkeys(s for s in shas if isinstance(s, str)))


def attach(config: dict[str, Any], folder: Path | None) -> list[tuple[str, bytes]]:
    """The (sha256, content) of every file `config` names, read from `folder`; TravelingFileError for a file that is
    missing, whose content no longer has its sha256, or past the session's limit."""
    shas = named(config)
    if not shas:
        return []
    if folder is None:
        raise TravelingFileError(f"the session names {len(shas)} file(s) but no folder of task files was given")
    total, found = 0, []
    for sha in shas:
        path = folder / sha
        if not SHA256.match(sha) or not path.is_file():
            raise TravelingFileError(f"config.files: {sha} is not in {folder}")
        total += path.stat().st_size
        if total > SESSION_FILES_LIMIT:
            raise TravelingFileError(
                f"config.files: {path} ({path.stat().st_size} bytes) takes the session past its limit of "
                f"{SESSION_FILES_LIMIT} bytes of files"
            )
        content = path.read_bytes()
        if hashlib.sha256(content).hexdigest() != sha:
            raise TravelingFileError(f"config.files: {path} no longer has the content its name says")
        found.append((sha, content))
    return found
