"""The repo environment's check (as SWE-bench judges a patch): named tests run in the agent's session.

`fail_to_pass` are the tests the task is about (they fail before the fix), `pass_to_pass` tests that must keep
passing. After the episode both run with pytest in the session, on the agent's changes; every one must pass.
The reason names the first test that does not. A named test that does not exist is a check error.
"""

from __future__ import annotations

import re
import shlex
from typing import Literal

from pydantic import Field

from env_runners.base import Check, Verdict

_OUTCOME = re.compile(r"^(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS) (\S+)", re.M)
_NOT_FOUND = re.compile(r"ERROR: (?:not found|file or directory not found): (\S+)")


class TestsCheck(Check):
    kind: Literal["tests"] = "tests"
    fail_to_pass: list[str] = Field(min_length=1, description="pytest node ids the fix must make pass.")
    pass_to_pass: list[str] = Field(
        default_factory=list, description="pytest node ids (or files) that must keep passing."
    )


def pytest_command(check: TestsCheck) -> str:
    ids = " ".join(shlex.quote(t) for t in [*check.fail_to_pass, *check.pass_to_pass])
    return f'"$LBI_PYTHON" -m pytest -p no:cacheprovider -q -rA --no-header --color=no {ids} 2>&1 | tail -n 3000'


def verdict(check: TestsCheck, output: str) -> Verdict:
    missing = _NOT_FOUND.search(output)
    if missing:
        return Verdict(False, f"the check names a test that does not exist: {missing.group(1)}", check_error=True)
    outcomes: dict[str, str] = {}
    for status, node in _OUTCOME.findall(output):
        outcomes[node] = status

    def status_of(test: str) -> str:
        found = [s for node, s in outcomes.items() if node == test or node.startswith(test + "::")]
        if not found:
            return "NOT RUN"
        return next((s for s in found if s in ("FAILED", "ERROR")), found[0])

    for group, tests in (("fail-to-pass", check.fail_to_pass), ("pass-to-pass", check.pass_to_pass)):
        for test in tests:
            status = status_of(test)
            if status not in ("PASSED", "XFAIL", "SKIPPED"):
                if status == "NOT RUN" and "error" in output.lower() and not outcomes:
                    tail = output.strip().splitlines()[-1:] or ["(no output)"]
                    return Verdict(False, f"the tests could not run: {tail[0][:200]}")
                return Verdict(False, f"{group} test {test} {status.lower()}")
    return Verdict(
        True, f"{len(check.fail_to_pass)} fail-to-pass and {len(check.pass_to_pass)} pass-to-pass tests pass"
    )
