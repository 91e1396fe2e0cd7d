"""OSWorld tasks as published, of our own making, imported and judged on a real runner on 127.0.0.1: a workbook that
travels with the task (OSWorld's cache folder layout), an expected gold workbook, a postconfig step, a `conj` of two
functions, and an infeasible task. `lbi tasks check` runs each task's solution (it passes) and its empty episode (it
fails); `lbi eval` gives each a verdict; files past the session's limit are refused naming the file. The workbook
opened in LibreOffice as OSWorld opens it, filled in and saved by OSWorld's postconfig (ctrl+s), passes; the
accessibility tree in OSWorld's XML form is judged."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import grpc
import pytest
from openpyxl import Workbook

from env_runners.shell.sandbox import sandbox_available
from lbi.evaluation import traveling
from lbi.v1 import env_runner_pb2 as pb

pytestmark = pytest.mark.skipif(not sandbox_available(), reason="needs the shell sandbox (make installs it)")
LBI = str(Path(sys.executable).parent / "lbi")
HOTKEY_SAVE = "import pyautogui; pyautogui.hotkey('ctrl', 's')"
SAVE = "test ! -f /home/user/draft.xlsx || cp /home/user/draft.xlsx /home/user/Documents/stock.xlsx"
CACHE = "https://huggingface.co/datasets/xlangai/ubuntu_osworld_file_cache/resolve/main/multi_apps/own-1"


def _run(args: list[str], data_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "LBI_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    return subprocess.run([LBI, *args], capture_output=True, text=True, env=env, timeout=1500)


def _workbook(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


def _osworld_tasks(tmp_path: Path) -> tuple[Path, Path, bytes]:
    """Two task files in OSWorld's shape and the cache folder its harness would leave for them; the gold workbook."""
    cache = tmp_path / "cache" / "own-1"
    cache.mkdir(parents=True)
    start = _workbook([["fruit", "kg"], ["apple", 3], ["pear", None]])
    gold = _workbook([["fruit", "kg"], ["apple", 3], ["pear", 5]])
    url = f"{CACHE}/stock.xlsx"
    (cache / f"{uuid.uuid5(uuid.NAMESPACE_URL, url)}_stock.xlsx").write_bytes(start)
    (cache / "stock_gold.xlsx").write_bytes(gold)
    examples = tmp_path / "examples" / "multi_apps"
    examples.mkdir(parents=True)
    table = {
        "type": "vm_file",
        "path": "/home/user/Documents/stock.xlsx",
        "dest": "stock.xlsx",
    }
    own = {
        "id": "own-1",
        "instruction": "Fill in the weight of pears (5 kg) in stock.xlsx in Documents and save it.",
        "config": [
            {"type": "execute", "parameters": {"command": ["mkdir", "-p", "/home/user/Documents"]}},
            {"type": "download", "parameters": {"files": [{"url": url, "path": "/home/user/Documents/stock.xlsx"}]}},
            {"type": "launch", "parameters": {"command": ["gedit"]}},
            {"type": "sleep", "parameters": {"seconds": 0.5}},
        ],
        "evaluator": {
            # as saving with a hotkey would: the draft the application keeps becomes the file
            "postconfig": [
                {"type": "execute", "parameters": {"command": SAVE}},
                {"type": "sleep", "parameters": {"seconds": 0.2}},
            ],
            "func": ["compare_table", "check_include_exclude"],
            "conj": "and",
            "result": [table, {"type": "vm_command_line", "command": "ls /home/user/Documents"}],
            "expected": [
                {"type": "cloud_file", "path": f"{CACHE}/stock_gold.xlsx", "dest": "stock_gold.xlsx"},
                {"type": "rule", "rules": {"include": ["stock.xlsx"], "exclude": ["stock.xlsx~"]}},
            ],
            "options": [{"rules": [{"type": "sheet_data", "sheet_idx0": 0, "sheet_idx1": "EI0"}]}, {}],
        },
    }  # fmt: skip
    infeasible = {
        "id": "own-2",
        "instruction": "Change the desktop's language to Xenothian.",
        "config": [],
        "evaluator": {"func": "infeasible"},
    }
    for task in (own, infeasible):
        (examples / f"{task['id']}.json").write_text(json.dumps(task))
    return tmp_path / "examples", tmp_path / "cache", gold


def _with_solutions(out: Path, gold: bytes) -> None:
    """The task file with a solution per task: the gold workbook put in place as the draft, and `fail`."""
    put = (
        "```python\nimport base64\nopen('/home/agent/draft.xlsx', 'wb').write(base64.b64decode("
        f"'{base64.b64encode(gold).decode()}'))\n```"
    )
    solutions = {"own-1": [put], "own-2": ["fail"]}
    tasks = [json.loads(line) for line in out.read_text().splitlines()]
    out.write_text("".join(json.dumps({**t, "solution": solutions[t["id"]]}) + "\n" for t in tasks))


async def test_imported_osworld_tasks_check_and_eval(tmp_path):
    examples, cache, gold = _osworld_tasks(tmp_path)
    out = tmp_path / "osworld.jsonl"
    imported = _run(["tasks", "import", "osworld", str(examples), "--files", str(cache), "--out", str(out)], tmp_path)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    tasks = {json.loads(line)["id"]: json.loads(line) for line in out.read_text().splitlines()}
    assert set(tasks) == {"own-1", "own-2"}
    stored = sorted(p.name for p in traveling.files_dir(out).iterdir())
    assert stored == sorted(f["sha256"] for f in tasks["own-1"]["config"]["files"])  # by sha256, beside the file

    _with_solutions(out, gold)
    checked = _run(["tasks", "check", str(out), "--env", "desktop", "--concurrency", "1", "--json"], tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert json.loads(checked.stdout.strip().splitlines()[-1]) == {"total": 2, "passed": 2, "flagged": []}

    flags = ["--env", "desktop", "--tasks", str(out), "--modes", "none", "--max-steps", "1", "--dataset", "unused"]
    evaluated = _run(["eval", *flags, "--json"], tmp_path)
    assert evaluated.returncode == 0, evaluated.stdout + evaluated.stderr
    modes = json.loads(evaluated.stdout.strip().splitlines()[-1])["modes"]
    assert [(m["mode"], m["tasks"], m["errors"]) for m in modes] == [("none", 2, 0)]


async def test_files_past_the_session_limit_are_refused_naming_them(desktop_runner, tmp_path):
    half = traveling.SESSION_FILES_LIMIT // 2 + 1
    first, second = b"a" * half, b"b" * half
    files = [pb.SessionFile(sha256=hashlib.sha256(c).hexdigest(), content=c) for c in (first, second)]
    config = {"apps": [], "files": [{"sha256": f.sha256, "path": f"f{i}.bin"} for i, f in enumerate(files)]}
    from lbi.records import to_struct

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await desktop_runner._stub.OpenSession(pb.OpenSessionRequest(env="desktop", config=to_struct(config),
                                                                     files=files))  # fmt: skip
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = refused.value.details() or ""
    assert "files[1]" in details and files[1].sha256 in details

    folder = tmp_path / "tasks.jsonl.files"
    folder.mkdir()
    for content in (first, second):
        traveling.store(folder, _write(tmp_path / "source", content))
    desktop_runner.files_dir = folder
    with pytest.raises(traveling.TravelingFileError, match=f"{folder / files[1].sha256}.*limit"):
        await desktop_runner.open_session("desktop", config)

    config = {"apps": [], "files": [{"sha256": files[0].sha256, "path": "../../etc/x"}]}
    with pytest.raises(grpc.aio.AioRpcError) as outside:
        await desktop_runner.open_session("desktop", config)
    assert "config.files.0.path" in (outside.value.details() or "")


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


async def test_the_accessibility_tree_in_osworlds_form_is_judged_out_of_the_agents_reach(desktop_runner):
    config = {"apps": ["mousepad /home/agent/notes.txt"], "setup": "printf 'stock:\\n' > ~/notes.txt"}
    check = {
        "kind": "osworld",
        "evaluator": {
            "func": "check_accessibility_tree",
            "result": {"type": "accessibility_tree"},
            "expected": {"type": "rule", "rules": [{"xpath": "//text[contains(text(), '5 kg of pears')]"}]},
        },
    }
    for actions, passes in (([], False), (['type "5 kg of pears"'], True)):
        session, _ = await desktop_runner.open_session("desktop", config)
        try:
            for action in actions:
                await desktop_runner.step(session, action)
            verdict = await desktop_runner.judge(session, check)
        finally:
            await desktop_runner.close_session(session)
        assert (verdict.ok, verdict.check_error) == (passes, False), verdict.reason


async def test_an_office_document_opens_in_libreoffice_and_is_judged_after_postconfig_saves_it(
    desktop_runner, tmp_path
):
    from lbi.evaluation.importers import convert

    examples, cache, _ = _osworld_tasks(tmp_path)
    record = json.loads((examples / "multi_apps" / "own-1.json").read_text())
    record["config"][2] = {"type": "open", "parameters": {"path": "/home/user/Documents/stock.xlsx"}}
    record["evaluator"]["postconfig"] = [  # OSWorld's own: the window activated, saved with ctrl+s
        {"type": "activate_window", "parameters": {"window_name": "stock.xlsx - LibreOffice Calc", "strict": True}},
        {"type": "sleep", "parameters": {"seconds": 0.5}},
        {"type": "execute", "parameters": {"command": ["python", "-c", HOTKEY_SAVE]}},
        {"type": "sleep", "parameters": {"seconds": 1.5}},
    ]  # fmt: skip
    source = tmp_path / "calc.json"
    source.write_text(json.dumps(record))
    converted = convert("osworld", source, {"files": cache})
    (task,) = converted.tasks
    assert task["config"]["apps"] == ["soffice /home/agent/Documents/stock.xlsx"]
    folder = tmp_path / "calc.jsonl.files"
    for path in converted.files.values():
        traveling.store(folder, path)
    desktop_runner.files_dir = folder
    fill = "```python\nimport pyautogui\npyautogui.hotkey('ctrl', 'Home')\npyautogui.press('down', presses=2)\n" \
           "pyautogui.press('right')\npyautogui.write('5\\n')\n```"  # fmt: skip
    for actions, passes in (([], False), ([fill], True)):
        session, first = await desktop_runner.open_session("desktop", task["config"])
        try:
            assert "LibreOffice Calc" in first.text
            for action in actions:
                await desktop_runner.step(session, action)
            verdict = await desktop_runner.judge(session, task["check"])
        finally:
            await desktop_runner.close_session(session)
        assert (verdict.ok, verdict.check_error) == (passes, False), verdict.reason
