"""The `list_directory` and `vlc_playing_info` getters: a folder's tree as OSWorld gives it (the getter's command run
here for real, on a folder the test makes) and VLC's status from its HTTP interface, judged by the registry."""

import subprocess
from pathlib import Path
from typing import Any

import pytest

from env_runners.desktop.getters import Reader
from lbi.judging import registry

pytestmark = pytest.mark.unit

STATUS = "<root><state>playing</state><information><category name='meta'><info name='filename'>song.mp4</info>"


class Session:
    """Runs the judge's commands here (bash), or answers VLC's status when it is asked for."""

    def __init__(self, vlc_answers: bool):
        self.vlc_answers = vlc_answers
        self.commands: list[str] = []
        self.files: dict[str, bytes] = {}

    def judge_run(self, command: str, timeout_s: float, cap: int) -> tuple[int, str]:
        self.commands.append(command)
        if "requests/status.xml" in command:
            return (0, STATUS + "</category></information></root>") if self.vlc_answers else (1, "refused")
        done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=timeout_s)
        return done.returncode, done.stdout

    def judge_call(self, request: dict[str, Any], timeout_s: float, cap: int = 0) -> dict[str, Any]:
        raise AssertionError("these getters call no helper operation")

    def run(self, command: str, timeout_s: float | None = None, cap: int | None = None) -> tuple[int, str]:
        raise AssertionError("getters never run commands as the agent")


def test_list_directory_gives_the_folders_tree(tmp_path: Path) -> None:
    folder = tmp_path / "cpjpg"
    (folder / "inner").mkdir(parents=True)
    for name in ("b.jpg", "a.jpg", "inner/c.jpg"):
        (folder / name).write_bytes(b"x")
    reader = Reader(Session(True), tmp_path / "judge")
    tree = reader.read({"type": "list_directory", "path": str(folder)})
    assert tree == {
        "name": "cpjpg",
        "type": "directory",
        "children": [
            {"name": "a.jpg", "type": "file"},
            {"name": "b.jpg", "type": "file"},
            {"name": "inner", "type": "directory", "children": [{"name": "c.jpg", "type": "file"}]},
        ],
    }
    assert reader.read({"type": "list_directory", "path": str(tmp_path / "none")}) is None
    evaluator = {
        "func": "check_moved_jpgs",
        "result": {"type": "list_directory", "path": str(folder)},
        "expected": {"type": "rule", "rules": {"expected": ["a.jpg", "b.jpg", "inner"]}},
    }
    assert registry.evaluate(evaluator, reader.inputs(evaluator)) == 1.0


def test_vlc_playing_info_reads_the_http_interface(tmp_path: Path) -> None:
    (tmp_path / "judge").mkdir()
    evaluator = {
        "func": "is_vlc_playing",
        "result": {"type": "vlc_playing_info", "dest": "status.xml"},
        "expected": {"type": "rule", "rules": {"type": "file_name", "file_name": "song.mp4"}},
    }
    session = Session(True)
    reader = Reader(session, tmp_path / "judge")
    assert registry.evaluate(evaluator, reader.inputs(evaluator)) == 1.0
    assert "Basic OnBhc3N3b3Jk" in session.commands[0]  # ":password", as OSWorld's VM sets VLC's interface
    silent = Reader(Session(False), tmp_path / "judge")
    assert silent.read({"type": "vlc_playing_info"}) is None
    assert registry.evaluate(evaluator, silent.inputs(evaluator)) == 0.0
