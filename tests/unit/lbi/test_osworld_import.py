"""OSWorld task configs to desktop tasks: set-up steps become apps, setup, `then` and traveling files (found in
OSWorld's cache layout or a flat folder); evaluators become `osworld` checks of lbi/judging's functions and getters;
what lbi cannot perform or judge is refused, naming the field."""

import json
import uuid

import pytest

from lbi.evaluation import traveling
from lbi.evaluation.importers import convert
from lbi.evaluation.tasks import load_tasks

pytestmark = pytest.mark.unit
CACHE = "https://huggingface.co/datasets/xlangai/ubuntu_osworld_file_cache/resolve/main/libreoffice_calc"


def _task(task_id: str, config: list, evaluator: dict, instruction: str = "Do the thing.") -> dict:
    return {"id": task_id, "snapshot": "os", "instruction": instruction, "config": config, "evaluator": evaluator}


def _download(url: str, path: str) -> dict:
    return {"type": "download", "parameters": {"files": [{"url": url, "path": path}]}}


SAVE = [
    {"type": "activate_window", "parameters": {"window_name": "sales.xlsx - LibreOffice Calc", "strict": True}},
    {"type": "sleep", "parameters": {"seconds": 0.5}},
    {"type": "execute", "parameters": {"command": ["python", "-c", "import pyautogui; pyautogui.hotkey('ctrl', 's')"]}},
]
TABLE = {
    "func": "compare_table",
    "result": {"type": "vm_file", "path": "/home/user/sales.xlsx", "dest": "sales.xlsx"},
    "expected": {"type": "cloud_file", "path": f"{CACHE}/t1/sales_gold.xlsx", "dest": "sales_gold.xlsx"},
    "options": {"rules": [{"type": "sheet_data", "sheet_idx0": 0, "sheet_idx1": "EI0"}]},
    "postconfig": SAVE,
}


@pytest.fixture
def cache(tmp_path):
    """OSWorld's cache as its harness leaves it for task t1, and a flat folder for the others."""
    folder = tmp_path / "cache"
    (folder / "t1").mkdir(parents=True)
    url = f"{CACHE}/t1/sales.xlsx"
    (folder / "t1" / f"{uuid.uuid5(uuid.NAMESPACE_URL, url)}_sales.xlsx").write_bytes(b"the sheet")
    (folder / "t1" / "sales_gold.xlsx").write_bytes(b"the gold sheet")
    (folder / "notes.txt").write_bytes(b"notes")
    return folder


def test_osworld_tasks_with_files_postconfig_conj_and_infeasible(tmp_path, cache):
    folder = tmp_path / "examples" / "libreoffice_calc"
    folder.mkdir(parents=True)
    records = [
        _task(
            "t1",
            [
                _download(f"{CACHE}/t1/sales.xlsx", "/home/user/sales.xlsx"),
                {"type": "open", "parameters": {"path": "/home/user/sales.xlsx"}},
            ],
            TABLE,
        ),
        _task(
            "t2",
            [
                {"type": "execute", "parameters": {"command": ["mkdir", "-p", "/home/user/Docs"]}},
                _download(f"{CACHE}/t2/notes.txt", "/home/user/Docs/notes.txt"),
                {"type": "launch", "parameters": {"command": ["gedit", "/home/user/Docs/notes.txt"]}},
                {"type": "sleep", "parameters": {"seconds": 2}},
            ],
            {
                "func": ["check_include_exclude", "exact_match"],
                "conj": "or",
                "result": [
                    {"type": "vm_command_line", "command": "ls /home/user/Docs"},
                    {"type": "vm_command_line", "command": ["cat", "/home/user/Docs/notes.txt"]},
                ],
                "expected": [
                    {"type": "rule", "rules": {"include": ["notes.txt"], "exclude": []}},
                    {"type": "rule", "rules": {"expected": "notes"}},
                ],
            },
        ),
        _task("t3", [], {"func": "infeasible"}),
    ]
    for record in records:
        (folder / f"{record['id']}.json").write_text(json.dumps(record))
    (folder / "t1-win.json").write_text(json.dumps({**records[0], "instruction": "Windows variant"}))
    out = convert("osworld", tmp_path / "examples", {"files": cache})
    assert not out.refused
    tasks = {t["id"]: t for t in out.tasks}
    assert tasks["t1"]["instruction"] == "Do the thing."
    sheet, gold = (
        traveling.digest(next((cache / "t1").glob("*_sales.xlsx"))),
        traveling.digest(cache / "t1" / "sales_gold.xlsx"),
    )
    config = tasks["t1"]["config"]
    assert config["apps"] == ["soffice /home/agent/sales.xlsx"]
    assert {"libreoffice-calc", "libreoffice-writer"} <= set(config["packages"])
    assert config["files"] == [{"sha256": sheet, "path": "/home/agent/sales.xlsx"}, {"sha256": gold}]
    check = tasks["t1"]["check"]
    assert check["kind"] == "osworld"
    assert check["evaluator"]["expected"] == {"type": "cloud_file", "sha256": gold, "dest": "sales_gold.xlsx"}
    assert check["evaluator"]["result"]["path"] == "/home/agent/sales.xlsx"
    assert "postconfig" not in check["evaluator"]
    assert "xdotool search --name" in check["postconfig"] and "python3 -c" in check["postconfig"]
    assert set(out.files) == {sheet, gold, traveling.digest(cache / "notes.txt")}
    two = tasks["t2"]
    assert two["config"]["setup"] == "mkdir -p /home/agent/Docs"
    assert two["config"]["apps"] == ["mousepad /home/agent/Docs/notes.txt"] and two["config"]["then"] == "sleep 2"
    assert two["check"]["evaluator"]["conj"] == "or"
    assert two["check"]["evaluator"]["result"][1]["command"] == ["cat", "/home/agent/Docs/notes.txt"]
    assert tasks["t3"]["check"] == {"kind": "osworld", "evaluator": {"func": "infeasible"}}
    lines = tmp_path / "tasks.jsonl"
    lines.write_text("".join(json.dumps(t) + "\n" for t in out.tasks))
    assert [t.id for t in load_tasks(lines)] == ["t1", "t2", "t3"]
    index = tmp_path / "test_small.json"
    index.write_text(json.dumps({"libreoffice_calc": ["t3"]}))
    assert [t["id"] for t in convert("osworld", tmp_path / "examples", {"files": cache, "index": index}).tasks] == [
        "t3"
    ]


def test_what_lbi_cannot_perform_or_judge_is_refused_naming_the_field(tmp_path, cache, monkeypatch):
    tabs = {"type": "chrome_open_tabs", "parameters": {"urls_to_open": ["https://www.airbnb.com"]}}
    cases: dict[str, tuple[list, dict]] = {
        "missing-file": ([_download(f"{CACHE}/x/absent.xlsx", "/home/user/a.xlsx")], {"func": "infeasible"}),
        "drive": ([{"type": "googledrive", "parameters": {}}], {"func": "infeasible"}),
        "login": ([{"type": "login", "parameters": {}}], {"func": "infeasible"}),
        "web": ([tabs], {"func": "infeasible"}),
        "history": ([{"type": "update_browse_history", "parameters": {}}], {"func": "infeasible"}),
        "vscode": ([{"type": "launch", "parameters": {"command": ["code", "/home/user/p"]}}], {"func": "infeasible"}),
        "rare": ([], {"func": "is_vlc_fullscreen", "result": {"type": "vm_file", "path": "/home/user/a"}}),
        "getter": ([], {"func": "exact_match", "result": {"type": "vm_terminal_output"},
                        "expected": {"type": "rule", "rules": {"expected": "x"}}}),
        "step": ([{"type": "fly", "parameters": {}}], {"func": "infeasible"}),
        "big": ([_download(f"{CACHE}/big/notes.txt", "/home/user/notes.txt")], {"func": "infeasible"}),
    }  # fmt: skip
    records = [_task(name, config, evaluator) for name, (config, evaluator) in cases.items()]
    records.append(_task("blank", [], {"func": "infeasible"}, instruction=" "))
    source = tmp_path / "tasks.json"
    source.write_text(json.dumps(records))
    monkeypatch.setattr("lbi.evaluation.importers.osworld.SESSION_FILES_LIMIT", 3)
    out = convert("osworld", source, {"files": cache})
    assert not out.tasks
    why = {r.task_id: (r.field, r.reason) for r in out.refused}
    assert why["missing-file"][0] == "config[0].parameters.files[0].url" and "absent.xlsx" in why["missing-file"][1]
    assert why["drive"][0] == "config[0].type" and "Google" in why["drive"][1]
    assert why["login"][0] == "config[0].type"
    assert why["web"] == ("config[0].parameters.urls_to_open", "opens public web pages (https://www.airbnb.com)")
    assert why["history"][0] == "config[0].type" and "live web" in why["history"][1]
    assert why["vscode"][0] == "config[0].parameters.command" and "VS Code" in why["vscode"][1]
    assert why["rare"][0] == "evaluator.func" and "is_vlc_fullscreen" in why["rare"][1]
    assert why["getter"][0] == "evaluator.result.type" and "vm_terminal_output" in why["getter"][1]
    assert why["step"][0] == "config[0].type" and why["blank"][0] == "instruction"
    assert why["big"][0] == "config.files[0]" and "notes.txt" in why["big"][1] and "limit" in why["big"][1]


def test_osworld_terminal_bus_and_screen_steps(tmp_path):
    bus = "export DBUS_SESSION_BUS_ADDRESS='unix:path=/run/user/1000/bus'\n"
    click = ["python", "-c", "import pyautogui; pyautogui.click({SCREEN_WIDTH_HALF}, {SCREEN_HEIGHT_HALF})"]
    record = _task(
        "t4",
        [
            {"type": "execute", "parameters": {"command": bus + "gsettings set a b true", "shell": True}},
            {"type": "execute", "parameters": {"command": click}},
            {"type": "execute", "parameters": {"command": bus + "gnome-terminal --working-directory=/home/user/p"}},
        ],
        {"func": "exact_match", "result": {"type": "vm_command_line", "command": bus + "gsettings get a b"},
         "expected": {"type": "rule", "rules": {"expected": "false\n"}}},
    )  # fmt: skip
    source = tmp_path / "t4.json"
    source.write_text(json.dumps(record))
    out = convert("osworld", source, {})
    assert not out.refused, out.refused
    (task,) = out.tasks
    assert task["config"]["setup"] == "gsettings set a b true"  # the session's own bus, not OSWorld's
    assert task["config"]["then"] == "python3 -c 'import pyautogui; pyautogui.click(960, 540)'"  # after the display
    assert task["config"]["apps"] == ["lxterminal --working-directory=/home/agent/p"]
    assert task["check"]["evaluator"]["result"]["command"] == "gsettings get a b"


def test_tools_add_their_packages_and_sudo_is_refused(tmp_path):
    gsettings = {"type": "vm_command_line", "command": "gsettings get org.gnome.desktop.interface font-name"}
    records = [
        _task("git", [{"type": "execute", "parameters": {"command": ["/bin/bash", "-c", "cd /home/user && git init"]}}],
              {"func": "exact_match", "result": gsettings, "expected": {"type": "rule", "rules": {"expected": "x"}}}),
        _task("sudo", [{"type": "execute", "parameters": {"command": "echo password | sudo -S su - charles"}}],
              {"func": "infeasible"}),
    ]  # fmt: skip
    source = tmp_path / "tasks.json"
    source.write_text(json.dumps(records))
    out = convert("osworld", source, {})
    (task,) = out.tasks
    assert {"git", "libglib2.0-bin", "gsettings-desktop-schemas"} <= set(task["config"]["packages"])
    assert [(r.task_id, r.field) for r in out.refused] == [("sudo", "config[0].parameters.command")]
