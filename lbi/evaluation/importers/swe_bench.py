"""SWE-bench instances as `repo` tasks: the base commit checked out, the test patch applied, the named tests as the
check.

An instance (JSON list or JSON lines, as the dataset is published) has `instance_id`, `repo` (`owner/name`),
`base_commit`, `problem_statement`, `test_patch`, `FAIL_TO_PASS` and `PASS_TO_PASS` (lists, or JSON text holding
lists as in the Hugging Face release) and the gold `patch` (the reference solution). `--repos` is a folder with a
local git checkout per repository, named `owner__name` (SWE-bench's own convention) or `name`; it must hold the
base commit. An instance whose checkout is missing, or that names no test to fail, is refused with the reason.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lbi.evaluation.importers import Converted, Refusal, read_records


def _tests(value: Any) -> list[str] | None:
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else []
        except json.JSONDecodeError:
            return None
    if isinstance(value, list) and all(isinstance(t, str) for t in value):
        return list(value)
    return None


def _pytest_id(name: str) -> bool:
    """A pytest node id (`tests/test_x.py::test_y[param]`) or a test file: what the `tests` check runs."""
    return "::" in name or name.split("[")[0].endswith(".py")


def _checkout(folder: Path, repo: str) -> Path | None:
    owner, _, name = repo.partition("/")
    for candidate in (folder / f"{owner}__{name}", folder / name, folder / repo):
        if name and (candidate / ".git").exists():
            return candidate.resolve()
    return None


def _heredoc(command: str, body: str) -> str:
    marker = "LBI_PATCH"
    while marker in body:
        marker += "_"
    return f"{command} <<'{marker}'\n{body.rstrip(chr(10))}\n{marker}"


def convert(path: Path, options: dict[str, Any]) -> Converted:
    folder = Path(options["repos"]).expanduser()
    out = Converted()
    for n, r in enumerate(read_records(path)):
        task_id = str(r.get("instance_id") or f"swe-bench-{n}")
        repo, commit = str(r.get("repo") or ""), str(r.get("base_commit") or "")
        problem = str(r.get("problem_statement") or "").strip()
        fail, keep = _tests(r.get("FAIL_TO_PASS")), _tests(r.get("PASS_TO_PASS", []))
        refusal = (
            ("repo", "missing")
            if not repo
            else ("base_commit", "missing")
            if not commit
            else ("problem_statement", "missing")
            if not problem
            else ("FAIL_TO_PASS", "not a list of test names")
            if fail is None
            else ("FAIL_TO_PASS", "names no test: nothing shows the fix")
            if not fail
            else ("PASS_TO_PASS", "not a list of test names")
            if keep is None
            else ("FAIL_TO_PASS", "not pytest test ids (the repository's tests run with its own runner)")
            if not all(_pytest_id(t) for t in [*fail, *keep])
            else None
        )
        checkout = _checkout(folder, repo) if refusal is None else None
        if refusal is None and checkout is None:
            refusal = ("repo", f"no git checkout of {repo} under {folder} (as {repo.replace('/', '__')} or its name)")
        if refusal is not None:
            out.refused.append(Refusal(task_id, *refusal))
            continue
        setup = f"git checkout -q --force {commit} && git clean -fdq"
        if str(r.get("test_patch") or "").strip():
            setup += "\n" + _heredoc("git apply", str(r["test_patch"]))
        task: dict[str, Any] = {
            "id": task_id,
            "instruction": problem,
            "config": {"repo": str(checkout), "setup": setup},
            "check": {"kind": "tests", "fail_to_pass": fail, "pass_to_pass": keep},
            "env": "repo",
        }
        if str(r.get("patch") or "").strip():
            task["solution"] = [_heredoc("git apply", str(r["patch"]))]
        out.tasks.append(task)
    return out
