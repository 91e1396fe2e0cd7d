"""OSWorld task configs to desktop tasks: set-up steps become apps, setup and packages; rule evaluators become
shell and answer checks; what lbi cannot perform or judge is refused, naming the field."""

import json

import pytest

from lbi.evaluation.importers import convert
from lbi.evaluation.tasks import load_tasks

pytestmark = pytest.mark.unit


def _task(task_id: str, config: list, evaluator: dict, instruction: str = "Do the thing.") -> dict:
    return {"id": task_id, "snapshot": "os", "instruction": instruction, "config": config, "evaluator": evaluator}


def test_osworld_folder_to_desktop_tasks(tmp_path):
    folder = tmp_path / "examples" / "multi_apps"
    folder.mkdir(parents=True)
    records = [
        _task(
            "a1",
            [
                {"type": "execute", "parameters": {"command": ["mkdir", "-p", "/home/user/Budget Files"]}},
                {"type": "open", "parameters": {"path": "/home/user/Budget Files/q1.ods"}},
                {"type": "sleep", "parameters": {"seconds": 3}},
            ],
            {
                "func": "check_include_exclude",
                "result": {"type": "vm_command_line", "command": "ls /home/user/Budget\\ Files"},
                "expected": {"type": "rule", "rules": {"include": ["q1.ods"], "exclude": ["q1.ods~"]}},
            },
        ),
        _task(
            "a2",
            [{"type": "launch", "parameters": {"command": ["vlc", "--no-video-title"]}}],
            {
                "func": "exact_match",
                "result": {"type": "vm_answer"},
                "expected": {"type": "rule", "rules": {"expected": "44"}},
            },
        ),
        _task(
            "a3",
            [{"type": "command", "parameters": {"command": "echo hi > /home/user/x.txt"}}],
            {
                "func": "exact_match",
                "result": {"type": "vm_command_line", "command": ["cat", "/home/user/x.txt"]},
                "expected": {"type": "rule", "rules": {"expected": "hi\n"}},
            },
        ),
    ]
    refused = [
        _task("r-download", [{"type": "download", "parameters": {"files": []}}], {"func": "exact_match"}),
        _task(
            "r-file", [], {"func": "compare_table", "result": {"type": "vm_file"}, "expected": {"type": "cloud_file"}}
        ),
        _task("r-conj", [], {"func": ["exact_match", "compare_table"], "conj": "and"}),
        _task("r-infeasible", [], {"func": "infeasible"}),
        _task("r-func", [], {"func": "check_image_size", "result": {"type": "vm_file"}, "expected": {"type": "rule"}}),
        _task("r-open", [{"type": "open", "parameters": {"path": "/home/user/photo.xcf"}}], {"func": "exact_match"}),
        _task("r-step", [{"type": "googledrive", "parameters": {}}], {"func": "exact_match"}),
        _task("r-instruction", [], {"func": "exact_match"}, instruction=" "),
    ]
    for record in records + refused:
        (folder / f"{record['id']}.json").write_text(json.dumps(record))
    out = convert("osworld", tmp_path / "examples", {})
    tasks = {t["id"]: t for t in out.tasks}
    assert set(tasks) == {"a1", "a2", "a3"}
    assert tasks["a1"]["env"] == "desktop"
    assert tasks["a1"]["config"] == {
        "apps": ["gnumeric '/home/agent/Budget Files/q1.ods'"],
        "setup": "mkdir -p '/home/agent/Budget Files'",
    }
    assert tasks["a1"]["check"] == {
        "kind": "shell",
        "command": "ls /home/agent/Budget\\ Files",
        "contains": ["q1.ods"],
        "excludes": ["q1.ods~"],
    }
    assert tasks["a2"]["config"] == {"apps": ["vlc --no-video-title"], "packages": ["vlc"]}
    assert tasks["a2"]["check"] == {"kind": "answer_match", "exact": "44"}
    assert tasks["a3"]["config"]["setup"] == "echo hi > /home/agent/x.txt"
    assert tasks["a3"]["check"] == {"kind": "shell", "command": "cat /home/agent/x.txt", "equals": "hi\n"}
    why = {r.task_id: (r.field, r.reason) for r in out.refused}
    assert set(why) == {r["id"] for r in refused}
    assert why["r-download"][0] == "config[0].parameters.files" and "network" in why["r-download"][1]
    assert why["r-file"][0] == "evaluator.expected.type"
    assert why["r-conj"][0] == "evaluator.func" and why["r-infeasible"][0] == "evaluator.func"
    assert why["r-func"][0] == "evaluator.func" and "check_image_size" in why["r-func"][1]
    assert why["r-open"][0] == "config[0].parameters.path" and "xcf" in why["r-open"][1]
    assert why["r-step"][0] == "config[0].type" and why["r-instruction"][0] == "instruction"
    lines = tmp_path / "tasks.jsonl"
    lines.write_text("".join(json.dumps(t) + "\n" for t in out.tasks))
    assert [t.id for t in load_tasks(lines)] == ["a1", "a2", "a3"]
