"""Spider2-V task configs to desktop tasks, on a repository layout of our own making: files named relative to the
repository root travel with the task, init.sh runs unchanged with lbi's conda, eval.sh becomes a vm_script_output
getter, sheet data is rounded to whole numbers as Spider2-V's compare_table does, and account tasks are refused
naming `tags`."""

import json
from pathlib import Path

import pytest

from lbi.evaluation import traveling
from lbi.evaluation.importers import TaskImportError, convert
from lbi.evaluation.importers.spider2v import ENVS
from lbi.evaluation.tasks import load_tasks

pytestmark = pytest.mark.unit
SAVE = [
    {"type": "activate_window", "parameters": {"window_name": "sales.xlsx - LibreOffice Calc", "strict": True}},
    {"type": "sleep", "parameters": {"seconds": 0.5}},
    {"type": "execute", "parameters": {"command": ["python", "-c", "import pyautogui; pyautogui.hotkey('ctrl','s')"]}},
]


def _write(root: Path, family: str, record: dict, files: dict[str, bytes]) -> str:
    folder = root / "evaluation_examples" / "examples" / family / record["id"]
    folder.mkdir(parents=True)
    (folder / f"{record['id']}.json").write_text(json.dumps(record))
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return f"evaluation_examples/examples/{family}/{record['id']}"


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "Spider2-V"
    here = "evaluation_examples/examples/excel/sheet-1"
    _write(root, "excel", {
        "id": "sheet-1", "instruction": "Sum the sales.", "tags": ["cli+gui", "abstract"],
        "config": [
            {"type": "copyfile_from_host_to_guest", "parameters": {"src": f"{here}/sales.xlsx",
                                                                   "dest": "/home/user/sales.xlsx"}},
            {"type": "open", "parameters": {"path": "/home/user/sales.xlsx"}},
        ],
        "evaluator": {
            "postconfig": SAVE, "func": "compare_table",
            "result": {"type": "vm_file", "path": "/home/user/sales.xlsx"},
            "expected": {"type": "local_file", "path": f"{here}/sales_gold.xlsx"},
            "options": {"rules": [{"type": "sheet_data", "sheet_idx0": 0, "sheet_idx1": "EI0"},
                                  {"type": "sheet_data", "sheet_idx0": 0, "sheet_idx1": "EI0", "precision": 2}]},
        },
    }, {"sales.xlsx": b"start", "sales_gold.xlsx": b"gold"})  # fmt: skip
    here = "evaluation_examples/examples/dbt/dbt-1"
    _write(root, "dbt", {
        "id": "dbt-1", "instruction": "Add the tests.", "tags": ["cli", "verbose"],
        "config": [
            {"type": "copyfile_from_host_to_guest", "parameters": {"src": f"{here}/shop.zip",
                                                                   "dest": "/home/user/shop.zip"}},
            {"type": "script_and_execute", "parameters": {"src": f"{here}/init.sh", "dest": "/home/user/init.sh"}},
        ],
        "evaluator": {
            "func": ["check_include_exclude", "check_yaml_file"], "conj": "and",
            "result": [{"type": "vm_script_output", "src": f"{here}/eval.sh", "dest": "/home/user/eval.sh"},
                       {"type": "dbt_profiles", "dirs": ["/home/user/.dbt", "$DBT_PROFILES_DIR"]}],
            "expected": [{"type": "rule", "rules": {"include": ["succeed"], "exclude": ["failed"]}},
                         {"type": "rule", "rules": [["not_null", ["shop", "target"], ""]]}],
        },
    }, {
        "shop.zip": b"zip",
        "init.sh": b"source /home/user/anaconda3/etc/profile.d/conda.sh\nconda activate dbt\nunzip -q shop.zip\n",
        "eval.sh": b"source ~/anaconda3/etc/profile.d/conda.sh\nconda activate dbt\ndbt test && echo succeed\n",
    })  # fmt: skip
    _write(root, "dbt", {
        "id": "cloud-1", "instruction": "Make a job in dbt Cloud.", "tags": ["account", "cli+gui"],
        "config": [{"type": "dbt_cloud_init", "parameters": {"actions": [{"type": "delete_project"}]}}],
        "evaluator": {"func": "check_include_exclude", "result": {"type": "dbt_job_info"},
                      "expected": {"type": "rule", "rules": {"include": ["x"]}}},
    }, {})  # fmt: skip
    stray = root / "evaluation_examples" / "examples" / "dbt" / "dbt-1" / "copy.json"
    stray.write_text(json.dumps({"id": "copy", "instruction": "x", "config": [], "evaluator": {}}))
    return root


def test_spider2v_tasks_travel_their_files_run_init_unchanged_and_refuse_accounts(repo, tmp_path):
    converted = convert("spider2v", repo, {})
    tasks = {t["id"]: t for t in converted.tasks}
    assert set(tasks) == {"sheet-1", "dbt-1"}  # the stray copy.json is not a task
    (refused,) = converted.refused
    assert (refused.task_id, refused.field) == ("cloud-1", "tags")
    assert "account" in refused.reason and "dbt_cloud_init" in refused.reason

    sheet = tasks["sheet-1"]
    gold = traveling.digest(repo / "evaluation_examples/examples/excel/sheet-1/sales_gold.xlsx")
    start = traveling.digest(repo / "evaluation_examples/examples/excel/sheet-1/sales.xlsx")
    assert sheet["config"]["files"] == [{"sha256": start, "path": "/home/agent/sales.xlsx"}, {"sha256": gold}]
    assert sheet["config"]["apps"] == ["soffice /home/agent/sales.xlsx"]
    evaluator = sheet["check"]["evaluator"]
    assert evaluator["expected"] == {"type": "cloud_file", "sha256": gold, "dest": "sales_gold.xlsx"}
    assert [r["precision"] for r in evaluator["options"]["rules"]] == [0, 2]  # Spider2-V rounds to whole numbers
    assert "ctrl" in sheet["check"]["postconfig"] and "setup" not in sheet["config"]

    dbt = tasks["dbt-1"]["config"]
    assert dbt["then"] == "bash /home/agent/init.sh; true"  # the script as published, run once the desktop shows
    assert "conda()" in dbt["setup"] and "$HOME/anaconda3/envs/dbt/bin/python" in dbt["setup"]
    assert dbt["pip"] == sorted(ENVS["dbt"]) and "unzip" in dbt["packages"]
    result = tasks["dbt-1"]["check"]["evaluator"]["result"]
    script = traveling.digest(repo / "evaluation_examples/examples/dbt/dbt-1/eval.sh")
    assert result[0] == {"type": "vm_script_output", "sha256": script}
    assert result[1] == {"type": "dbt_profiles", "dirs": ["/home/agent/.dbt", "$DBT_PROFILES_DIR"]}
    assert {"sha256": script} in dbt["files"]
    assert set(converted.files) == {f["sha256"] for t in tasks.values() for f in t["config"]["files"]}

    # the examples folder, a family's folder, and one task file find the same root; an index selects
    for path in (repo / "evaluation_examples" / "examples", repo / "evaluation_examples/examples/dbt/dbt-1/dbt-1.json"):
        assert "dbt-1" in {t["id"] for t in convert("spider2v", path, {}).tasks}
    index = tmp_path / "test_non_account.json"
    index.write_text(json.dumps({"excel": ["sheet-1"]}))
    assert [t["id"] for t in convert("spider2v", repo, {"index": index}).tasks] == ["sheet-1"]
    out = tmp_path / "tasks.jsonl"
    out.write_text("".join(json.dumps(t) + "\n" for t in converted.tasks))
    assert len(load_tasks(out)) == 2


def test_what_spider2v_tasks_cannot_have_is_refused_naming_the_field(repo, tmp_path):
    task = json.loads((repo / "evaluation_examples/examples/dbt/dbt-1/dbt-1.json").read_text())
    (repo / "evaluation_examples/examples/dbt/dbt-1/init.sh").write_text("conda activate spark\n")
    (repo / "evaluation_examples/examples/dbt/dbt-1/dbt-1.json").write_text(json.dumps(task))
    converted = convert("spider2v", repo, {})
    (refused,) = [r for r in converted.refused if r.task_id == "dbt-1"]
    assert refused.field == "config[1].src" and "'spark'" in refused.reason

    task["config"][0]["parameters"]["src"] = "evaluation_examples/examples/dbt/dbt-1/missing.zip"
    (repo / "evaluation_examples/examples/dbt/dbt-1/dbt-1.json").write_text(json.dumps(task))
    (refused,) = [r for r in convert("spider2v", repo, {}).refused if r.task_id == "dbt-1"]
    assert refused.field == "config[0].parameters.src" and "missing.zip" in refused.reason

    with pytest.raises(TaskImportError, match="Spider2-V"):
        convert("spider2v", tmp_path / "elsewhere.json", {}) if (tmp_path / "elsewhere.json").write_text("{}") else None


def test_a_jupyter_task_starts_jupyterlab_in_the_background_and_shows_it_in_chromium(tmp_path):
    root = tmp_path / "Spider2-V"
    here = "evaluation_examples/examples/jupyter/nb-1"
    launch = (
        "source /home/user/anaconda3/etc/profile.d/conda.sh && conda activate jupyter && jupyter lab /home/user/Desktop"
    )
    _write(root, "jupyter", {
        "id": "nb-1", "instruction": "Run every cell.", "tags": ["gui", "abstract"],
        "config": [
            {"type": "copyfile_from_host_to_guest", "parameters": {"src": f"{here}/nb.ipynb",
                                                                   "dest": "/home/user/Desktop/nb.ipynb"}},
            {"type": "launch", "parameters": {"command": ["bash", "-c", launch]}},
            {"type": "google_chrome_browser", "parameters": {"debugging_port": 1337, "listening_port": 9222,
                                                             "urls": ["https://www.bing.com/"]}},
        ],
        "evaluator": {
            "postconfig": [{"type": "script_and_execute", "parameters": {"src": f"{here}/wait.sh",
                                                                         "dest": "/home/user/wait.sh"}}],
            "func": "is_jupyter_cell_executed", "result": {"type": "vm_file", "path": "/home/user/Desktop/nb.ipynb"},
            "expected": {"type": "rule", "rules": {"expected": [0]}},
        },
    }, {"nb.ipynb": b"{}", "wait.sh": b"sleep 1\n"})  # fmt: skip
    (task,) = convert("spider2v", root, {}).tasks
    config = task["config"]
    assert config["apps"] == ["chromium --remote-debugging-port=1337"]  # Bing left out: the session has no web
    then = config["then"].splitlines()
    assert then[0].startswith("(setsid bash -c") and "jupyter lab /home/agent/Desktop" in then[0]
    assert "json/new" in then[1] and "jupyter server list" in then[1]
    assert config["pip"] == sorted(ENVS["jupyter"]) and config["packages"] == ["chromium"]
    assert {"sha256": traveling.digest(root / here / "wait.sh"), "path": "/home/agent/wait.sh"} in config["files"]
    assert task["check"]["postconfig"] == "bash /home/agent/wait.sh"
