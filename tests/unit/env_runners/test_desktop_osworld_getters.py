"""The osworld check's getters and verdict over a stand-in session: files come back on the judge's pipe (base64),
expected files only from those sent with the session, Chromium's state from its profile and DevTools list; an
infeasible task passes on `fail` only, and a feasible one never does."""

import base64
import json
import shlex
from pathlib import Path

import pytest

from env_runners.base import StepResult, Turn
from env_runners.desktop.getters import Reader, verdict

pytestmark = pytest.mark.unit


class Session:
    """Answers the judge's commands from a dict of files and command outputs; records the agent-side commands."""

    def __init__(self, files: dict[str, bytes], outputs: dict[str, str], sent: dict[str, bytes] | None = None):
        self.disk = files
        self.outputs = outputs
        self.files = sent or {}
        self.ran: list[str] = []

    def judge_run(self, command: str, timeout_s: float, cap: int) -> tuple[int, str]:
        if "base64 -w0 -- " in command:
            path = shlex.split(command.split("base64 -w0 -- ", 1)[1])[0]
            content = self.disk.get(path)
            return (0, base64.b64encode(content).decode()) if content is not None else (1, "No such file")
        if "cat -- " in command:
            path = command.split("cat -- ", 1)[1]
            content = self.disk.get(path)
            return (0, content.decode()) if content is not None else (1, "")
        for key, output in self.outputs.items():
            if key in command:
                return 0, output
        return 127, "not found"

    def judge_call(self, request: dict, timeout_s: float, cap: int = 0) -> dict:
        assert request["op"] == "xml" and "st" in request["namespaces"]
        return {"xml": "<desktop-frame><text name='notes'>5 kg of pears</text></desktop-frame>"}

    def run(self, command: str, timeout_s: float | None = None, cap: int | None = None) -> tuple[int, str]:
        self.ran.append(command)
        return 0, ""


def test_getters_read_the_session_and_the_files_sent_with_it(tmp_path):
    profile = "~/.config/chromium/Default"
    tabs = [{"type": "page", "title": "Docs", "url": "http://localhost/docs"}, {"type": "worker", "url": "x"}]
    session = Session(
        {
            "/home/agent/a.txt": b"alpha",
            f"{profile}/Bookmarks": json.dumps({"roots": {"bookmark_bar": {"children": []}}}).encode(),
            f"{profile}/Preferences": json.dumps({"enable_do_not_track": True}).encode(),
        },
        {"echo hi": "hi\n", "127.0.0.1:1337/json": json.dumps(tabs)},
        {"ab" * 32: b"gold"},
    )
    reader = Reader(session, tmp_path)
    path = reader.read({"type": "vm_file", "path": "/home/agent/a.txt", "dest": "a.txt"})
    assert path.endswith("/a.txt") and Path(path).read_bytes() == b"alpha"
    assert reader.read({"type": "vm_file", "path": "/home/agent/none.txt"}) is None
    both = reader.read({"type": "vm_file", "path": ["/home/agent/a.txt", "/home/agent/none.txt"], "multi": True})
    assert both[1] is None and Path(both[0]).read_bytes() == b"alpha"
    gold = reader.read({"type": "cloud_file", "sha256": "ab" * 32, "dest": "gold.xlsx"})
    assert gold.endswith("gold.xlsx") and Path(gold).read_bytes() == b"gold"
    assert reader.read({"type": "vm_command_line", "command": ["echo", "hi"]}) == "hi\n"
    assert reader.read({"type": "rule", "rules": {"expected": "x"}}) == {"expected": "x"}
    assert reader.read({"type": "bookmarks"}) == {"bookmark_bar": {"children": []}}
    assert reader.read({"type": "enable_do_not_track"}) == "true"
    assert reader.read({"type": "default_search_engine"}) == "Google"
    assert reader.read({"type": "open_tabs_info"}) == [{"title": "Docs", "url": "http://localhost/docs"}]
    assert reader.read({"type": "active_url_from_accessTree"}) == "http://localhost/docs"
    assert "5 kg of pears" in reader.read({"type": "accessibility_tree"})


def test_verdicts_of_conj_postconfig_and_infeasible(tmp_path):
    session = Session({}, {"ls": "stock.xlsx\n", "cat note": "done\n"})
    evaluator = {
        "func": ["check_include_exclude", "exact_match"],
        "conj": "and",
        "result": [{"type": "vm_command_line", "command": "ls"}, {"type": "vm_command_line", "command": "cat note"}],
        "expected": [
            {"type": "rule", "rules": {"include": ["stock.xlsx"], "exclude": []}},
            {"type": "rule", "rules": {"expected": "done\n"}},
        ],
    }
    passed = verdict(session, evaluator, "xdotool key ctrl+s", [])
    assert passed.ok and not passed.check_error and session.ran == ["xdotool key ctrl+s"]
    failed = verdict(Session({}, {"ls": "other\n", "cat note": "done\n"}), evaluator, "", [])
    assert not failed.ok and "0" in failed.reason
    gave_up = [Turn("fail", StepResult("The task was given up.", done=True, info={"failed": True}))]
    assert not verdict(session, evaluator, "", gave_up).ok  # a feasible task given up fails
    infeasible = {"func": "infeasible"}
    assert verdict(session, infeasible, "", gave_up).ok
    assert not verdict(session, infeasible, "", []).ok
    missing = {"func": "compare_text_file", "result": {"type": "vm_file", "path": "/a"},
               "expected": {"type": "cloud_file", "sha256": "cd" * 32}}  # fmt: skip
    error = verdict(session, missing, "", [])
    assert error.check_error and "not sent with the session" in error.reason
