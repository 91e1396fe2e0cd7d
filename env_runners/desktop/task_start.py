"""What a task's desktop session does around the desktop's start: the files that traveled with the session
(OpenSession's files, lbi/evaluation/traveling.py) put in place before the setup runs (with /home/user, the
benchmarks' home, a link to the agent's), and `then`, bash run once the
applications show (OSWorld's set-up steps that act on an open application: a hotkey, a window to activate).
"""

from __future__ import annotations

import os
from pathlib import PurePosixPath

from pydantic import BaseModel, ConfigDict, Field, field_validator

from env_runners.shell.environment import ShellSession
from env_runners.shell.sandbox import Root, home_on_host
from lbi.errors import InvalidArgument

HOME = "/home/agent"
ALIAS = "/home/user"  # OSWorld's and Spider2-V's home


class TravelingFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="The file sent with the session (OpenSession.files).")
    path: str | None = Field(
        None, description="Where it is put before the setup (under /home/agent); none: only the judge reads it."
    )

    @field_validator("path")
    @classmethod
    def _in_home(cls, path: str | None) -> str | None:
        if path is None:
            return None
        pure = PurePosixPath(path if path.startswith("/") else f"{HOME}/{path}")
        if ".." in pure.parts or not str(pure).startswith(HOME + "/"):
            raise ValueError(f"{path!r} is not a file under {HOME}")
        return str(pure)


def place_files(shell: ShellSession, root: Root, wanted: list[TravelingFile], files: dict[str, bytes]) -> None:
    """Writes each wanted file at its path in the session's home (on the host side, before any of the session's
    processes but its idle shell run), owned by the agent."""
    home = home_on_host(shell.workspace, root, False)
    owner = root.uid_base + root.inner_uid(False)
    for i, file in enumerate(wanted):
        content = files.get(file.sha256)
        if content is None:
            raise InvalidArgument(f"config.files[{i}].sha256", "was not sent with the session (OpenSession.files)")
        if file.path is None:
            continue
        relative = PurePosixPath(file.path).relative_to(HOME)
        folder = home
        for part in relative.parts[:-1]:
            folder = folder / part
            if not folder.exists():
                folder.mkdir()
                os.chown(folder, owner, owner)
            if folder.is_symlink() or not folder.is_dir():
                raise InvalidArgument(f"config.files[{i}].path", f"{folder.name} is not a folder")
        target = folder / relative.name
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as out:
            out.write(content)
        os.chown(target, owner, owner)


def link_home(shell: ShellSession, root: Root) -> None:
    """/home/user, the home OSWorld's and Spider2-V's scripts name, as a link to the agent's home: one home (the
    importers write /home/agent for it; the scripts that travel unchanged find theirs). Made by the runner in the
    session's upper layer, owned by root inside, so the agent cannot replace it."""
    home = home_on_host(shell.workspace, root, False)
    alias = home.parent / PurePosixPath(ALIAS).name
    if alias.exists() or alias.is_symlink() or any((lower / ALIAS.lstrip("/")).exists() for lower in root.lowers):
        return
    os.symlink(HOME, alias)
    os.lchown(alias, root.uid_base, root.uid_base)


def run_then(shell: ShellSession, then: str, timeout_s: float) -> None:
    """`then` in the agent's shell once the applications show; INVALID_ARGUMENT on config.then when it fails."""
    code, output = shell.run(then, timeout_s)
    if code != 0:
        raise InvalidArgument("config.then", f"exited with {code}: {output.strip()[-500:] or '(no output)'}")
