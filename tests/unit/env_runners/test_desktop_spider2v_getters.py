"""Spider2-V's getters over a stand-in session: vm_script_output runs the script sent with the session by the judge,
from the helper's root-owned folder, its stdout judged by check_include_exclude; dbt_profiles reads the first
profiles.yml of its folders."""

import base64
import hashlib
import re
from pathlib import Path
from typing import Any

import pytest

from env_runners.desktop.getters import SCRIPTS, Reader, verdict
from lbi.judging.errors import JudgingError

pytestmark = pytest.mark.unit
SCRIPT = b"#!/bin/bash\ncd ~/projects/shop && test -f done && echo 'shop succeed' || echo 'shop failed'\n"
SHA = hashlib.sha256(SCRIPT).hexdigest()


class Session:
    """Runs the judge's commands against a dict: the script's output depends on a file the episode made."""

    def __init__(self, done: bool):
        self.done = done
        self.files = {SHA: SCRIPT}
        self.judged: list[str] = []

    def judge_run(self, command: str, timeout_s: float, cap: int) -> tuple[int, str]:
        self.judged.append(command)
        if "base64 -d" in command:  # the script, written where only root inside may write, then run
            encoded = re.search(r"printf %s (\S+) \| base64 -d > (\S+)", command)
            assert encoded is not None and encoded.group(2).startswith(SCRIPTS + "/")
            assert base64.b64decode(encoded.group(1)) == SCRIPT
            return 0, "shop succeed\n" if self.done else "shop failed\n"
        if "profiles.yml" in command and "base64" not in command:
            assert '"$DBT_PROFILES_DIR"' in command  # expanded in the session, not quoted away
            return 0, "/home/agent/.dbt/profiles.yml"
        if "base64 -w0 -- /home/agent/.dbt/profiles.yml" in command:
            return 0, base64.b64encode(b"shop:\n  target: dev\n").decode()
        return 1, ""

    def judge_call(self, request: dict, timeout_s: float, cap: int = 0) -> dict:
        raise AssertionError("not read")

    def run(self, command: str, timeout_s: float | None = None, cap: int | None = None) -> tuple[int, str]:
        raise AssertionError("no postconfig here")


EVALUATOR: dict[str, Any] = {
    "func": ["check_include_exclude", "check_yaml_file"],
    "conj": "and",
    "result": [
        {"type": "vm_script_output", "sha256": SHA},
        {"type": "dbt_profiles", "dirs": ["/home/agent/projects/shop", "/home/agent/.dbt", "$DBT_PROFILES_DIR"]},
    ],
    "expected": [
        {"type": "rule", "rules": {"include": ["succeed"], "exclude": ["failed"]}},
        {"type": "rule", "rules": [["match", ["shop", "target"], "dev"]]},
    ],
}


def test_vm_script_output_is_the_scripts_stdout_run_by_the_judge(tmp_path):
    for done, passes in ((False, False), (True, True)):
        session = Session(done)
        result = verdict(session, EVALUATOR, "", [])
        assert result.ok is passes and not result.check_error, result.reason
        assert all("bash " not in c or "2>/dev/null" in c for c in session.judged)  # stdout only, as Spider2-V

    profiles = Reader(Session(True), tmp_path).read(EVALUATOR["result"][1])
    assert Path(profiles).name == "profiles.yml" and "target: dev" in Path(profiles).read_text()


def test_a_script_not_sent_with_the_session_is_a_judging_error(tmp_path):
    session = Session(True)
    session.files = {}
    with pytest.raises(JudgingError, match="not sent"):
        Reader(session, tmp_path).read({"type": "vm_script_output", "sha256": SHA})
