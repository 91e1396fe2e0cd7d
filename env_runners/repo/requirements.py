"""The Python requirements a repository's tests need, read from the repository itself.

Sources, in the order packaging tools use them: `[project] dependencies`, the test extras of
`[project.optional-dependencies]` and the test groups of `[dependency-groups]` (PEP 735, with
`include-group`) in pyproject.toml, then requirement files named for tests (requirements-test.txt,
test-requirements.txt, requirements/test.txt, ...). Only plain requirements are kept (no `-e`, `-r` or
URLs), so the list can go to a package layer as it is.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

TEST_NAMES = ("test", "tests", "testing")
REQUIREMENT_FILES = (
    "requirements-test.txt",
    "requirements-tests.txt",
    "requirements_test.txt",
    "test-requirements.txt",
    "test_requirements.txt",
    "requirements/test.txt",
    "requirements/tests.txt",
    "requirements/testing.txt",
)
_PLAIN = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?\s*([<>=!~]=?[^;\s]+(\s*,\s*[<>=!~]=?[^;\s,]+)*)?$"
)


def _group(groups: dict, name: str, seen: set[str]) -> list[str]:
    if name in seen or name not in groups:
        return []
    seen.add(name)
    found: list[str] = []
    for item in groups[name]:
        if isinstance(item, dict) and "include-group" in item:
            found += _group(groups, item["include-group"], seen)
        elif isinstance(item, str):
            found.append(item)
    return found


def _from_pyproject(path: Path) -> list[str]:
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return []
    project = data.get("project", {})
    found = list(project.get("dependencies", []))
    extras = project.get("optional-dependencies", {})
    groups = data.get("dependency-groups", {})
    for name in TEST_NAMES:
        found += extras.get(name, [])
        found += _group(groups, name, set())
    return found


def _from_requirement_file(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text(errors="replace").splitlines())
    return [line for line in lines if line]


def requirements_for_tests(repo: Path) -> list[str]:
    """Plain requirements (markers dropped), de-duplicated in order of appearance."""
    found: list[str] = []
    if (repo / "pyproject.toml").is_file():
        found += _from_pyproject(repo / "pyproject.toml")
    for name in REQUIREMENT_FILES:
        if (repo / name).is_file():
            found += _from_requirement_file(repo / name)
    plain = (requirement.split(";", 1)[0].strip() for requirement in found)
    return list(dict.fromkeys(r for r in plain if _PLAIN.match(r)))
