"""The evaluation harness: task files validated first, every task a verdict or a reason, runs in folders of
their own, and a small run in every mode. (Check kinds themselves: test_judges.py.)"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from env_runners.registry import builtin_tasks
from env_runners.sql import sample_db
from lbi.evaluation.tasks import TaskFileError, load_tasks

LBI = str(Path(sys.executable).parent / "lbi")


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    return sample_db.ensure(tmp_path_factory.mktemp("eval-db"))


def test_shipped_tasks_have_gold_answers(database):
    import sqlite3

    tasks = load_tasks(builtin_tasks("sql"))
    assert len(tasks) >= 40 and {t.difficulty for t in tasks} == {"easy", "medium", "hard"}
    conn = sqlite3.connect(database)
    for task in tasks:
        assert conn.execute(task.check["gold_sql"]).fetchall(), task.id
    tutorial = (builtin_tasks("sql").parents[1] / "docs" / "tutorial.md").read_text()
    assert not [t.id for t in tasks if t.check["gold_sql"] in tutorial]


def test_bad_task_files_name_the_line(tmp_path):
    path = tmp_path / "tasks.jsonl"
    good = json.dumps({"id": "a", "instruction": "x", "check": {"kind": "sql_result", "gold_sql": "SELECT 1"}})
    for content, message in [
        (good + "\n{broken\n", "tasks.jsonl:2: not JSON"),
        (good + "\n" + json.dumps({"id": "b", "check": {"kind": "x"}}), "tasks.jsonl:2: instruction: Field required"),
        (good + "\n" + good, "tasks.jsonl:2: id 'a' is used on line 1 too"),
        (json.dumps({"id": "c", "instruction": "x", "check": {}}), "tasks.jsonl:1: check.kind: missing"),
        ("\n\n", "no tasks in the file"),
    ]:
        path.write_text(content)
        with pytest.raises(TaskFileError, match=message):
            load_tasks(path)
    with pytest.raises(TaskFileError, match="no such task file"):
        load_tasks(tmp_path / "missing.jsonl")


def _lbi(args, data_dir):
    env = {**os.environ, "LBI_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    return subprocess.run([LBI, *args], capture_output=True, text=True, env=env, timeout=300)


def test_bad_input_fails_at_once_and_writes_nothing(tmp_path):
    out = tmp_path / "runs"
    missing = _lbi(
        ["eval", "--env", "sql", "--dataset", "d", "--tasks", str(tmp_path / "nope.jsonl"), "--out", str(out)], tmp_path
    )
    empty_file = tmp_path / "empty.jsonl"
    empty_file.write_text("")
    empty = _lbi(["eval", "--env", "sql", "--dataset", "d", "--tasks", str(empty_file), "--out", str(out)], tmp_path)
    shell_kind = tmp_path / "kind.jsonl"
    shell_kind.write_text(
        json.dumps({"id": "k", "instruction": "Count files.", "check": {"kind": "shell", "gold": "ls"}}) + "\n"
    )
    wrong_kind = _lbi(
        ["eval", "--env", "sql", "--dataset", "d", "--tasks", str(shell_kind), "--out", str(out), "--modes", "none"],
        tmp_path,
    )
    for result, message in [
        (missing, "no such task file"),
        (empty, "no tasks in the file"),
        (wrong_kind, "kind.jsonl:1: check.kind 'shell': sql judges sql_result"),
    ]:
        shown = " ".join((result.stdout + result.stderr).split())  # the console wraps long lines (long paths)
        assert result.returncode == 2 and message in shown and "Traceback" not in shown, shown
    assert not out.exists() or not any(out.iterdir())


def test_a_run_with_failing_tasks_keeps_every_other_result(tmp_path):
    """Good tasks, a failing gold query, a refused config and a missing database: every good task gets its verdict,
    the bad ones their reasons, the exit code says some tasks got none; a second run does not overwrite the first."""
    tasks = [
        {
            "id": "good-1",
            "instruction": "How many customers are there in total?",
            "check": {"kind": "sql_result", "gold_sql": "SELECT COUNT(*) FROM customers"},
        },
        {
            "id": "bad-gold",
            "instruction": "How many customers are there?",
            "check": {"kind": "sql_result", "gold_sql": "SELECT * FROM nowhere"},
        },
        {
            "id": "refused",
            "instruction": "How many orders?",
            "config": {"max_rows": 0},
            "check": {"kind": "sql_result", "gold_sql": "SELECT COUNT(*) FROM orders"},
        },
        {
            "id": "no-db",
            "instruction": "How many orders?",
            "config": {"database": str(tmp_path / "gone.db")},
            "check": {"kind": "sql_result", "gold_sql": "SELECT COUNT(*) FROM orders"},
        },
        {
            "id": "good-2",
            "instruction": "List the names of all product categories in alphabetical order.",
            "check": {"kind": "sql_result", "gold_sql": "SELECT name FROM categories ORDER BY name"},
        },
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_text("".join(json.dumps(t) + "\n" for t in tasks))
    out = tmp_path / "runs"
    first = _lbi(
        ["eval", "--env", "sql", "--dataset", "none-yet", "--tasks", str(path), "--out", str(out), "--modes", "none"],
        tmp_path,
    )
    assert first.returncode == 1, first.stdout + first.stderr
    assert "Traceback" not in first.stdout + first.stderr
    run = (out / "latest").resolve()
    results = {t["task_id"]: t for t in json.loads((run / "results.json").read_text())["tasks"]}
    assert results["good-1"]["status"] in ("passed", "failed") and results["good-2"]["status"] in ("passed", "failed")
    assert results["bad-gold"]["status"] == "error" and "check error" in results["bad-gold"]["reason"]
    assert results["refused"]["status"] == "error" and "refused config: config.max_rows" in results["refused"]["reason"]
    assert results["no-db"]["status"] == "error" and "config.database" in results["no-db"]["reason"]
    assert len((run / "tasks.jsonl").read_text().splitlines()) == 5
    second = _lbi(
        ["eval", "--env", "sql", "--dataset", "none-yet", "--tasks", str(path), "--out", str(out), "--modes", "none"],
        tmp_path,
    )
    assert second.returncode == 1
    runs = [p for p in out.iterdir() if p.is_dir() and not p.is_symlink()]
    assert len(runs) == 2 and (out / "latest").resolve() != run


async def test_harness_runs_every_mode(tmp_path, monkeypatch):
    monkeypatch.setenv("LBI_DATA_DIR", str(tmp_path))
    from lbi.cli.eval_cmd import evaluate
    from lbi.cli.local_stack import local_stack
    from synth_service.spec import spec_from_dict

    tasks = [json.loads(line) for line in builtin_tasks("sql").read_text().splitlines()][:4]
    tasks_file = tmp_path / "tasks.jsonl"
    tasks_file.write_text("".join(json.dumps(t) + "\n" for t in tasks))
    async with local_stack() as stack:
        spec = spec_from_dict(
            {"env": "sql", "dataset": "evaltest", "resource_filter": ["Counting rows", "Sorting and limiting"]}
        )
        job = await stack.engine.run(stack.engine.create(spec))
        assert job["state"] == "SUCCEEDED"
        data = await evaluate(
            stack.runner_target,
            stack.retrieval_target,
            "sql",
            "evaltest",
            tasks_file,
            ["none", "instruction", "observation", "query", "agentic"],
            6,
            None,
            tmp_path / "out",
            plot=True,
            quiet=True,
        )
    modes = {m["mode"]: m for m in data["modes"]}
    assert list(modes) == ["none", "instruction", "observation", "query", "agentic"]
    assert all(m["tasks"] == 4 and 0 <= m["success_rate"] <= 1 and m["llm_calls_per_task"] >= 1 for m in modes.values())
    assert modes["none"]["retrieval_p50_ms"] == 0 and modes["agentic"]["retrieval_p50_ms"] > 0
    assert modes["query"]["llm_calls_per_task"] > modes["observation"]["llm_calls_per_task"]  # the agent writes queries
    assert len(data["tasks"]) == 20
    assert all(t["status"] in ("passed", "failed") for t in data["tasks"]) and data["offline_policy"]
    assert (tmp_path / "out" / "latest" / "results.md").read_text().startswith("| mode |")
    assert (tmp_path / "out" / "latest" / "results.png").stat().st_size > 1000


def test_ctrl_c_keeps_the_finished_tasks(tmp_path):
    import signal
    import time

    tasks = [
        {
            "id": f"slow-{i}",
            "instruction": "Count the files here.",
            "config": {"setup": "sleep 1; touch a b"},
            "check": {"kind": "shell", "gold": "ls | wc -l", "compare": "output"},
        }
        for i in range(24)
    ]
    path = tmp_path / "slow.jsonl"
    path.write_text("".join(json.dumps(t) + "\n" for t in tasks))
    out = tmp_path / "runs"
    env = {**os.environ, "LBI_DATA_DIR": str(tmp_path)}
    process = subprocess.Popen(
        [LBI, "eval", "--env", "shell", "--dataset", "d", "--tasks", str(path), "--out", str(out), "--modes", "none"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    log = out / "latest" / "tasks.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (log.exists() and log.read_text().count("\n") >= 2):
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stdout + stderr
    assert "Traceback" not in stdout + stderr
    results = json.loads((out / "latest" / "results.json").read_text())
    assert results["interrupted"] is True and 2 <= len(results["tasks"]) < 24
    assert all(t["status"] in ("passed", "failed") for t in results["tasks"])
