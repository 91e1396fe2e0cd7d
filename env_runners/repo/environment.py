"""The `repo` environment (SWE-style): a copy of a code base in a sandboxed bash, under git, with tools.

The session's shell starts in the repository (committed as `base`, so `git diff` shows the agent's
changes) and has SWE-agent-style tools besides every shell command: `open`, `view`, `search`,
`edit`/`replace` (exactly one occurrence, else an error), `create` and `run_tests` (named so, not
`test`, which would shadow the shell builtin).
It reuses the shell environment's sandbox (its own root file system, user namespace), limits and
observations, as `agent` by default. The tests run with the image's Python; the repository's own test
requirements (requirements.py) are installed once into a cached package layer, so a code base whose tests
need more than pytest runs them offline like any other.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from pydantic import Field

from env_runners.base import Check, Turn, Verdict
from env_runners.repo import sample
from env_runners.repo.checks import TestsCheck, pytest_command, verdict
from env_runners.repo.discover import discover
from env_runners.repo.requirements import requirements_for_tests
from env_runners.shell.checks import ShellCheck
from env_runners.shell.environment import ShellConfig, ShellEnvironment, ShellSession
from lbi.errors import InvalidArgument
from lbi.ingest import resources_from_files
from lbi.ingest.formats import FORMATS
from lbi.records import Resource

DOCS_DIR = Path(__file__).parent / "docs"
WORKDIR = "$HOME/repo"
TOOLS = r"""
export LBI_PYTHON={python} PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 PYTHONDONTWRITEBYTECODE=1
export GIT_AUTHOR_NAME=agent GIT_AUTHOR_EMAIL=agent@lbi GIT_COMMITTER_NAME=agent GIT_COMMITTER_EMAIL=agent@lbi
view() {{ [ -f "$1" ] || {{ echo "view: no such file: $1"; return 1; }}
  nl -ba "$1" | sed -n "${{2:-1}},${{3:-\$}}p" | head -300; }}
search() {{ grep -rn --exclude-dir=.git -- "$1" "${{2:-.}}" | head -100; }}
replace() {{ "$LBI_PYTHON" -c 'import pathlib, sys
path, old, new = sys.argv[1:4]
p = pathlib.Path(path)
if not p.is_file():
    sys.exit(f"replace: no such file: {{path}}")
text = p.read_text()
n = text.count(old)
if n != 1:
    sys.exit(f"replace: expected exactly one occurrence of the old text in {{path}}, found {{n}}")
p.write_text(text.replace(old, new))
print(f"replaced 1 occurrence in {{path}}")' "$@"; }}
edit() {{ replace "$@"; }}
open() {{ local from=${{2:-1}}; view "$1" "$from" $((from + 99)); }}
create() {{ [ -e "$1" ] && {{ echo "create: $1 exists; use edit"; return 1; }}
  mkdir -p "$(dirname "$1")"; printf '%s\n' "${{2-}}" > "$1"; echo "created $1"; }}
run_tests() {{ "$LBI_PYTHON" -m pytest -q -x -p no:cacheprovider "$@" 2>&1 | tail -40; return ${{PIPESTATUS[0]}}; }}
{pythonpath}"""


class RepoConfig(ShellConfig):
    repo: str = Field(
        "",
        description=(
            "Folder of the code base (a git checkout or a source tree); empty uses the sample repository (toolz)."
        ),
    )
    python: str = Field(
        "",
        description=(
            "Python that runs the tests (needs pytest); default: the image's python3 (the runner's own without "
            "the sandbox)."
        ),
    )
    test_requirements: bool = Field(
        True,
        description=(
            "Install the repository's own test requirements (pyproject test extras and groups, test "
            "requirement files) into a package layer."
        ),
    )
    man_pages: list[str] = Field(default_factory=list, description="Manual pages offered as resources.")


class RepoEnvironment(ShellEnvironment[RepoConfig]):
    name = "repo"
    description = (
        "A code base checked out in a sandboxed bash shell (git, Python, pytest). By default the `toolz` library "
        "with its test suite."
    )
    action_space = (
        "Each action is a bash command. Besides the usual shell, these tools: `open FILE [LINE]` and "
        "`view FILE [FROM [TO]]` show numbered lines, `search PATTERN [PATH]` greps the tree, "
        "`edit FILE OLD NEW` (or `replace`) replaces exactly one occurrence of OLD (quote both), "
        "`create FILE [CONTENT]` writes a new file, `run_tests [PYTEST ARGS]` runs the test suite, and "
        "`git diff` shows your changes. The observation is the output, then '[exit code N] /current/dir'."
    )
    config_model = RepoConfig
    checks: ClassVar[dict[str, type[Check]]] = {"tests": TestsCheck, "shell": ShellCheck}
    default_timeout_s = 120.0  # test suites take longer than shell commands

    def _repo(self, config: RepoConfig) -> Path:
        if not config.repo:
            return sample.ensure(self.settings.data_dir).resolve()
        path = self.paths.check("config.repo", config.repo)  # a folder of this runner: only where requests may reach
        if not path.is_dir():
            raise InvalidArgument("config.repo", f"no such folder: {config.repo}")
        self.paths.check_tree("config.repo", path)  # no hard link in it to a file of lbi's state or secrets
        return path

    def resources(self, config: RepoConfig) -> Iterable[Resource]:
        """The tools' guide and the code base's own README and docs files, then what the code shows: modules and
        their API, tests, how they run, worked examples that ran (discover.py)."""
        resources = resources_from_files(self.name, sorted(DOCS_DIR.glob("*.md")))
        repo = self._repo(config)
        return resources + resources_from_files(self.name, _doc_files(repo)) + self.discover(config)

    def discover(self, config: RepoConfig) -> list[Resource]:
        session = self.open(config.model_copy(update={"output_cap": 200_000}))
        try:
            return discover(
                self._repo(config),
                lambda command: session.run(command, 120.0),
                self.name,
                f"{self.name}:{self._repo(config).name}",
            )
        finally:
            session.close()

    def open(self, config: RepoConfig) -> ShellSession:
        self.refuse_if_refused()  # before the repository is looked for or copied
        opened_with = config
        repo = self._repo(config)
        config = self.with_timeout(config)
        if self.sandboxed and config.test_requirements:
            wanted = [r for r in requirements_for_tests(repo) if r not in config.pip]
            config = config.model_copy(update={"pip": [*config.pip, *wanted]})
        commit = "git rev-parse --git-dir >/dev/null 2>&1 || (git init -q && git add -A && git commit -qm base)"
        setup = commit + (f"\n{config.setup}" if config.setup else "")
        python = config.python or ("python3" if self.sandboxed else sys.executable)
        pythonpath = (
            f'export PYTHONPATH="{WORKDIR}/src${{PYTHONPATH:+:$PYTHONPATH}}"\n' if (repo / "src").is_dir() else ""
        )
        prelude = TOOLS.format(python=shlex.quote(python), pythonpath=pythonpath)
        session = ShellSession(
            config.model_copy(update={"setup": setup}),
            self.root_for(config),
            prelude=prelude,
            seed={"repo": repo},
            start_in="repo",
        )
        session.opened_with = opened_with
        return session

    def judge(self, session: ShellSession, check: Check, turns: list[Turn], answer: str) -> Verdict:
        if not isinstance(check, TestsCheck):
            return super().judge(session, check, turns, answer)
        session.run(f"cd {WORKDIR}", 10.0)
        code, output = session.run(pytest_command(check), self.settings.runner_judge_timeout_s * 0.9, cap=1_000_000)
        if code == -1:
            return Verdict(False, f"the tests ran past {self.settings.runner_judge_timeout_s * 0.9:g}s")
        return verdict(check, output)


def _doc_files(repo: Path, limit: int = 50) -> list[Path]:
    """The code base's README files and the documents of its docs folders (no symbolic links, nothing hidden)."""
    found = []
    for path in sorted(repo.rglob("*")):
        relative = path.relative_to(repo).parts
        if (
            path.suffix.lower() in FORMATS
            and path.is_file()
            and not path.is_symlink()
            and not any(part.startswith(".") for part in relative)
            and (path.name.lower().startswith("readme") or relative[0] in ("docs", "doc"))
        ):
            found.append(path)
    return found[:limit]
