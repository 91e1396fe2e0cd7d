"""The shell environment's check (as InterCode judges bash): the gold command in a fresh session, compared.

The gold command runs in a fresh session of the same config (same image, same setup). Then, by `compare`:
the agent's last output against the gold command's output (trailing spaces and blank edge lines ignored),
and the files under `paths` in the agent's session against those in the gold session (path, type and
content digest; a file each session's setup wrote and nothing changed since counts as the same in both). The
reason names the first difference. As in InterCode, the gold command's exit code is not a verdict: `diff` exits 1
when its inputs differ, `grep` when nothing matches, `cmp` and `test` when the answer is no, and their output is the
answer. Only a gold command that cannot run is a check error (`cannot_run`).
"""

from __future__ import annotations

import shlex
from typing import Literal

from pydantic import Field

from env_runners.base import Check, Verdict

SNAPSHOT_CAP = 2_000_000


class ShellCheck(Check):
    kind: Literal["shell"] = "shell"
    gold: str = Field(
        min_length=1, description="Commands that solve the task, run in a fresh session with the same setup."
    )
    compare: Literal["output_and_files", "output", "files"] = Field(
        "output_and_files", description="What must match the gold session."
    )
    paths: list[str] = Field(
        default_factory=lambda: ["~"], description="Folders whose files are compared (~ is the session's home)."
    )


JUDGE_OUTPUT_CAP = 1_000_000  # characters of a command's output the shell check compares (the agent sees fewer)


def cannot_run(code: int) -> str | None:
    """Why a gold command with this exit code could not run (None: it ran, whatever it answered). `code` is bash's:
    126 not executable, 127 not found, above 128 killed by signal code - 128; -1 is the runner's for a command that
    ran past its timeout or ended the shell."""
    if code == -1:
        return "it ran past its timeout or ended the shell"
    if code == 126:
        return "it is not executable"
    if code == 127:
        return "it was not found"
    if code > 128:
        return f"it was killed by signal {code - 128}"
    return None


def normalise(output: str) -> str:
    lines = [line.rstrip() for line in output.strip("\n").splitlines()]
    return "\n".join(lines).strip()


def snapshot_command(paths: list[str]) -> str:
    """Lists every entry under the paths: `f <md5> <path>`, `d - <path>`, `l <target> <path>`."""
    roots = " ".join('"$HOME"' + shlex.quote(p[1:]) if p.startswith("~") else shlex.quote(p) for p in paths)
    return (
        f'for r in {roots}; do [ -e "$r" ] || continue; find "$r" -xdev -name .git -prune -o -type f -exec md5sum {{}} '
        "+ "
        f"-o -type d -printf '- %p/\\n' -o -type l -printf '%l %p@\\n'; done 2>/dev/null | LC_ALL=C sort -k2"
    )


def parse_snapshot(text: str, home: str) -> dict[str, str]:
    entries = {}
    for line in text.splitlines():
        digest, _, path = line.partition(" ")
        path = path.lstrip(" *")
        if path:
            entries[path.replace(home, "~", 1) if path.startswith(home) else path] = digest
    return entries


UNCHANGED = "(as the setup left it)"


def since_setup(files: dict[str, str], setup: dict[str, str]) -> dict[str, str]:
    """A session's files with those still as its setup wrote them marked UNCHANGED instead of their digest. The gold
    session's setup runs later than the agent's (by how much depends on the machine's load), so a file whose content
    depends on when the setup ran (an archive of files it just made, a timestamp) differs between the two sessions
    while neither touched it; InterCode's sessions share one image and never see that."""
    return {path: UNCHANGED if setup.get(path) == digest else digest for path, digest in files.items()}


def first_difference(agent: dict[str, str], gold: dict[str, str]) -> str | None:
    for path in sorted(set(agent) | set(gold)):
        if path not in agent:
            return f"{path.rstrip('/@')} exists after the gold command but not after the agent's"
        if path not in gold:
            return f"{path.rstrip('/@')} exists after the agent's commands but not after the gold command"
        if agent[path] != gold[path]:
            return f"{path.rstrip('/@')} differs from the gold result"
    return None


def compare(
    check: ShellCheck, got: str | None, agent_files: dict[str, str], gold_output: str, gold_files: dict[str, str]
) -> Verdict:
    """`got`: the whole output of the agent's last command (None: it ran none), read under the same limit as the gold
    command's (JUDGE_OUTPUT_CAP), so a long reference output is compared with an equally long one."""
    if check.compare in ("output_and_files", "output"):
        if got is None:
            return Verdict(False, "the agent ran no command")
        if normalise(got) != normalise(gold_output):
            want, have = normalise(gold_output).splitlines(), normalise(got).splitlines()
            line = next(
                (i for i, (a, b) in enumerate(zip(want, have, strict=False)) if a != b), min(len(want), len(have))
            )
            return Verdict(
                False,
                f"the last output differs from the gold output at line {line + 1} "
                f"(expected {want[line] if line < len(want) else '(end)'!r}, got "
                f"{have[line] if line < len(have) else '(end)'!r})"[:300],
            )
    if check.compare in ("output_and_files", "files"):
        difference = first_difference(agent_files, gold_files)
        if difference:
            return Verdict(False, difference)
    return Verdict(
        True,
        {
            "output_and_files": "the output and the files match the gold session",
            "output": "the output matches the gold output",
            "files": "the files match the gold session",
        }[check.compare],
    )
