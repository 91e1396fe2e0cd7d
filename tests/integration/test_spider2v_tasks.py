"""Spider2-V tasks as published, of our own making, imported and judged on a real runner on 127.0.0.1: a spreadsheet
task whose gold workbook travels with it (the empty episode fails, the gold workbook put in place passes), and a
dbt-style task whose init.sh runs unchanged (`source /home/user/anaconda3/etc/profile.d/conda.sh && conda activate
dbt`) and whose eval.sh is judged as vm_script_output after the episode."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
from openpyxl import Workbook

from env_runners.desktop.apps import with_companions
from env_runners.desktop.environment import DESKTOP_PACKAGES, DESKTOP_PIP, DesktopEnvironment
from env_runners.shell.layers import built_layer
from env_runners.shell.rootfs import find_image
from env_runners.shell.sandbox import sandbox_available
from lbi.config import RunnerSettings
from lbi.evaluation import traveling
from lbi.evaluation.importers import convert
from lbi.evaluation.importers.spider2v import ENVS

pytestmark = pytest.mark.skipif(not sandbox_available(), reason="needs the shell sandbox (make installs it)")
SAVE = "import pyautogui; pyautogui.hotkey('ctrl', 's')"
INIT = b"""#!/bin/bash
mkdir -p ~/projects/shop
source /home/user/anaconda3/etc/profile.d/conda.sh
conda activate dbt
echo "source /home/user/anaconda3/etc/profile.d/conda.sh" >> ~/.bashrc
echo "conda activate dbt" >> ~/.bashrc
cd /home/user/projects/shop
python -c 'import os; print(os.environ["CONDA_DEFAULT_ENV"])' > env.txt
gnome-terminal --maximize --working-directory=/home/user/projects/shop
"""
EVAL = b"""#!/bin/bash
source ~/anaconda3/etc/profile.d/conda.sh
conda activate dbt
cd ~/projects/shop
if [ "$(cat env.txt)" = dbt ] && [ "$(command -v python)" = /home/user/anaconda3/envs/dbt/bin/python ] \\
    && [ -f done.txt ]; then echo "shop succeed"; else echo "shop failed"; fi
"""


def _workbook(rows: list[list[object]]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


def _layer_or_skip(packages: list[str]) -> None:
    settings = RunnerSettings()
    image = find_image(settings.rootfs_dir, DesktopEnvironment(settings).shells.image_name)
    wanted = with_companions(sorted({*DESKTOP_PACKAGES, *packages}))
    if image is None or built_layer(settings.layers_dir, image, wanted, DESKTOP_PIP) is None:
        pytest.skip(
            f"no layer with {packages} (`lbi runner build-rootfs --desktop --apps libreoffice`; make builds it)"
        )


def _repository(root: Path, family: str, task: dict, files: dict[str, bytes]) -> str:
    folder = root / "evaluation_examples" / "examples" / family / task["id"]
    folder.mkdir(parents=True)
    (folder / f"{task['id']}.json").write_text(json.dumps(task))
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return f"evaluation_examples/examples/{family}/{task['id']}"


def _imported(root: Path, tmp_path: Path, runner) -> dict:
    converted = convert("spider2v", root, {})
    assert not converted.refused, converted.refused
    (task,) = converted.tasks
    folder = tmp_path / "tasks.jsonl.files"
    for path in converted.files.values():
        traveling.store(folder, path)
    runner.files_dir = folder
    return task


async def _verdicts(runner, task: dict, episodes: list[list[str]]) -> list[tuple[bool, bool, str]]:
    verdicts = []
    for actions in episodes:
        session, _ = await runner.open_session("desktop", task["config"])
        try:
            for action in actions:
                await runner.step(session, action)
            verdict = await runner.judge(session, task["check"])
        finally:
            await runner.close_session(session)
        verdicts.append((verdict.ok, verdict.check_error, verdict.reason))
    return verdicts


async def test_a_spreadsheet_task_fails_empty_and_passes_with_its_gold_workbook(desktop_runner, tmp_path):
    root = tmp_path / "Spider2-V"
    here = "evaluation_examples/examples/excel/own-sheet"
    start = _workbook([["fruit", "kg"], ["apple", 3.2], ["pear", None]])
    gold = _workbook([["fruit", "kg"], ["apple", 3.0], ["pear", 5]])  # 3.2 and 3.0 are the same whole number
    _repository(root, "excel", {
        "id": "own-sheet", "instruction": "Fill in 5 kg of pears in stock.xlsx.", "tags": ["gui", "abstract"],
        "config": [
            {"type": "copyfile_from_host_to_guest", "parameters": {"src": f"{here}/stock.xlsx",
                                                                   "dest": "/home/user/stock.xlsx"}},
            {"type": "open", "parameters": {"path": "/home/user/stock.xlsx"}},
        ],
        "evaluator": {
            "postconfig": [
                {"type": "activate_window", "parameters": {"window_name": "stock.xlsx - LibreOffice Calc",
                                                           "strict": True}},
                {"type": "sleep", "parameters": {"seconds": 0.5}},
                {"type": "execute", "parameters": {"command": ["python", "-c", SAVE]}},
                {"type": "sleep", "parameters": {"seconds": 1.5}},
            ],
            "func": "compare_table",
            "result": {"type": "vm_file", "path": "/home/user/stock.xlsx"},
            "expected": {"type": "local_file", "path": f"{here}/1_stock_gt1.xlsx"},
            "options": {"rules": [{"type": "sheet_data", "sheet_idx0": 0, "sheet_idx1": "EI0"}]},
        },
    }, {"stock.xlsx": start, "1_stock_gt1.xlsx": gold})  # fmt: skip
    task = _imported(root, tmp_path, desktop_runner)
    _layer_or_skip(task["config"]["packages"])
    # the gold workbook put in place, and Calc closed so the postconfig's ctrl+s has nothing to save over it
    put = (
        "```python\nimport base64, os, signal\nopen('/home/agent/stock.xlsx', 'wb').write(base64.b64decode("
        f"'{base64.b64encode(gold).decode()}'))\n"
        "for pid in filter(str.isdigit, os.listdir('/proc')):\n"
        "    try:\n"
        "        if b'soffice' in open(f'/proc/{pid}/cmdline', 'rb').read(): os.kill(int(pid), signal.SIGKILL)\n"
        "    except OSError:\n"
        "        pass\n```"
    )
    (empty, with_gold) = await _verdicts(desktop_runner, task, [[], [put]])
    assert empty[:2] == (False, False), empty
    assert with_gold[:2] == (True, False), with_gold


async def test_init_sh_runs_unchanged_with_conda_and_eval_sh_is_judged_after_the_episode(desktop_runner, tmp_path):
    root = tmp_path / "Spider2-V"
    here = "evaluation_examples/examples/dbt/own-dbt"
    _repository(root, "dbt", {
        "id": "own-dbt", "instruction": "Mark the shop project done.", "tags": ["cli", "abstract"],
        "config": [{"type": "script_and_execute", "parameters": {"src": f"{here}/init.sh",
                                                                 "dest": "/home/user/init.sh"}}],
        "evaluator": {
            "func": "check_include_exclude",
            "result": {"type": "vm_script_output", "src": f"{here}/eval.sh", "dest": "/home/user/eval.sh"},
            "expected": {"type": "rule", "rules": {"include": ["succeed"], "exclude": ["failed"]}},
        },
    }, {"init.sh": INIT, "eval.sh": EVAL})  # fmt: skip
    task = _imported(root, tmp_path, desktop_runner)
    assert task["config"]["pip"] == sorted(ENVS["dbt"])
    # the conda shim is under test, not dbt: the session runs on the desktop's own layer (never a build of minutes)
    task["config"].pop("pip")
    _layer_or_skip(task["config"].get("packages", []))
    done = "```python\nopen('/home/agent/projects/shop/done.txt', 'w').write('yes')\n```"
    (empty, finished) = await _verdicts(desktop_runner, task, [[], [done]])
    assert empty[:2] == (False, False), empty
    assert finished[:2] == (True, False), finished
