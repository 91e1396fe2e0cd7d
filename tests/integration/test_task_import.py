"""Bring your own benchmark: public task formats converted by `lbi tasks import`, then `lbi tasks check` on the
result, with planted bad tasks of every kind flagged.

Each input is written here in the format's published shape (Spider's and BIRD's question files and database
folders, InterCode-Bash's task list and setup script, SWE-bench instances with their JSON-text test lists, WebArena
configs with site placeholders), on data of our own: none of it comes from the benchmarks.
"""

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from lbi.evaluation.importers import convert

LBI = str(Path(sys.executable).parent / "lbi")


def _run(args: list[str], data_dir: Path) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "LBI_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    import os

    env = {**os.environ, **env}
    return subprocess.run([LBI, *args], capture_output=True, text=True, env=env, timeout=900)


def _db(path: Path, script: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as conn:
        conn.executescript(script)


@pytest.fixture
def spider_files(tmp_path):
    databases = tmp_path / "database"
    _db(
        databases / "orchard" / "orchard.sqlite",
        "CREATE TABLE tree (id INTEGER PRIMARY KEY, variety TEXT, planted INTEGER);"
        "INSERT INTO tree VALUES (1,'Cox',2011),(2,'Bramley',2015),(3,'Cox',2019),(4,'Russet',2015);",
    )
    _db(
        databases / "ferry_line" / "ferry_line.sqlite",
        'CREATE TABLE "sailing" ("sail id" INTEGER, port TEXT, minutes INTEGER);'
        "INSERT INTO sailing VALUES (1,'Ayr',50),(2,'Brodick',55),(3,'Ayr',45);",
    )
    questions = [
        {
            "db_id": "orchard",
            "question": "How many Cox trees are there?",
            "query": "SELECT count(*) FROM tree WHERE variety = 'Cox'",
            "query_toks": ["SELECT"],
            "question_toks": ["How"],
            "sql": {},
        },
        {
            "db_id": "ferry_line",
            "question": "List the ports sorted by the longest sailing.",
            "query": "SELECT port FROM sailing ORDER BY minutes DESC",
        },
        {"db_id": "lost_db", "question": "Anything?", "query": "SELECT 1"},
        {"db_id": "orchard", "question": "Which varieties were planted in 2015?", "query": ""},
    ]
    path = tmp_path / "dev.json"
    path.write_text(json.dumps(questions))
    return path, databases


def test_spider_and_bird_become_sql_result_tasks_on_their_own_databases(spider_files, tmp_path):
    path, databases = spider_files
    converted = convert("spider", path, {"databases": databases})
    assert [t["id"] for t in converted.tasks] == ["spider-0", "spider-1"]
    first = converted.tasks[0]
    assert first["config"] == {"database": str((databases / "orchard" / "orchard.sqlite").resolve()), "read_only": True}
    assert first["check"] == {"kind": "sql_result", "gold_sql": "SELECT count(*) FROM tree WHERE variety = 'Cox'"}
    assert [(r.task_id, r.field) for r in converted.refused] == [("spider-2", "db_id"), ("spider-3", "query")]

    bird = tmp_path / "bird_dev.json"
    bird.write_text(
        json.dumps(
            [
                {
                    "question_id": 17,
                    "db_id": "orchard",
                    "question": "How many trees are old?",
                    "evidence": "old refers to planted < 2014",
                    "SQL": "SELECT COUNT(*) FROM tree WHERE planted < 2014",
                    "difficulty": "moderate",
                }
            ]
        )
    )
    (task,) = convert("bird", bird, {"databases": databases}).tasks
    assert task["id"] == "bird-17" and task["difficulty"] == "medium"
    assert task["instruction"] == "How many trees are old?\nHint: old refers to planted < 2014"


def test_webarena_configs_become_web_checks_or_are_refused_by_field(tmp_path):
    configs = tmp_path / "config_files"
    configs.mkdir()
    evaluations = {
        0: {"eval_types": ["string_match"], "reference_answers": {"exact_match": "7"}},
        1: {"eval_types": ["url_match"], "reference_url": "__WIKI__/wiki/Roadmap", "url_note": "GOLD in PRED"},
        2: {"eval_types": ["program_html"], "program_html": [{"url": "last", "locator": "", "required_contents": {}}]},
        3: {"eval_types": ["string_match"], "reference_answers": {"fuzzy_match": ["about seven"]}},
        4: {"eval_types": ["string_match"], "reference_answers": {"must_include": ["Roadmap", "2026"]}},
    }
    for task_id, evaluation in evaluations.items():
        site = "__SHOPPING__" if task_id == 4 else "__WIKI__"
        config = {"task_id": task_id, "start_url": f"{site}/wiki", "intent": f"Task {task_id}", "eval": evaluation}
        (configs / f"{task_id}.json").write_text(json.dumps(config))
    converted = convert("webarena", configs, {"sites": json.dumps({"__WIKI__": "http://127.0.0.1:8123"})})
    assert [t["id"] for t in converted.tasks] == ["webarena-0", "webarena-1"]
    assert converted.tasks[0]["check"] == {"kind": "answer_match", "exact": "7"}
    assert converted.tasks[1]["check"] == {
        "kind": "url_match",
        "url": "http://127.0.0.1:8123/wiki/Roadmap",
        "match": "contains",
    }
    assert converted.tasks[0]["config"]["url"] == "http://127.0.0.1:8123/wiki"
    refused = {r.task_id: r.field for r in converted.refused}
    assert refused == {
        "webarena-2": "eval.eval_types",
        "webarena-3": "eval.reference_answers.fuzzy_match",
        "webarena-4": "start_url",
    }


def test_swe_bench_instances_read_json_text_test_lists_and_refuse_what_they_cannot_run(tmp_path):
    repos = tmp_path / "repos"
    (repos / "acme__widgets" / ".git").mkdir(parents=True)
    instances = [
        {
            "instance_id": "acme__widgets-12",
            "repo": "acme/widgets",
            "base_commit": "abc123",
            "problem_statement": "Widgets are off by one.",
            "test_patch": "diff --git a/t.py b/t.py\n",
            "patch": "diff --git a/w.py b/w.py\n",
            "FAIL_TO_PASS": '["tests/test_w.py::test_count"]',
            "PASS_TO_PASS": "[]",
        },
        {
            "instance_id": "acme__widgets-13",
            "repo": "acme/widgets",
            "base_commit": "abc124",
            "problem_statement": "Another bug.",
            "FAIL_TO_PASS": '["test_count (widgets.tests.CountTests)"]',
            "PASS_TO_PASS": "[]",
        },
        {
            "instance_id": "other__lib-1",
            "repo": "other/lib",
            "base_commit": "f",
            "problem_statement": "x",
            "FAIL_TO_PASS": '["t.py::a"]',
            "PASS_TO_PASS": "[]",
        },
    ]
    path = tmp_path / "instances.jsonl"
    path.write_text("".join(json.dumps(i) + "\n" for i in instances))
    converted = convert("swe-bench", path, {"repos": repos})
    (task,) = converted.tasks
    assert task["check"] == {"kind": "tests", "fail_to_pass": ["tests/test_w.py::test_count"], "pass_to_pass": []}
    assert (
        task["config"]["setup"].startswith("git checkout -q --force abc123")
        and "git apply <<" in task["config"]["setup"]
    )
    assert task["solution"][0].startswith("git apply <<")
    assert {r.task_id: r.field for r in converted.refused} == {
        "acme__widgets-13": "FAIL_TO_PASS",
        "other__lib-1": "repo",
    }


SETUP = """#!/bin/bash
mkdir -p /testbed/notes /testbed/archive
printf 'alpha\\nbeta\\ngamma\\n' > /testbed/notes/a.txt
printf 'delta\\n' > /testbed/notes/b.txt
printf 'old\\n' > /testbed/archive/c.log
"""


def _shell_tasks(tmp_path: Path) -> tuple[Path, Path]:
    setup = tmp_path / "setup_fs_demo.sh"
    setup.write_text(SETUP)
    tasks = [
        {
            "query": "Count the lines of all .txt files under /testbed/notes.",
            "gold": "cat /testbed/notes/*.txt | wc -l",
        },
        {"query": "Remove every .log file under /testbed.", "gold": "find /testbed -name '*.log' -delete"},
        {"query": "no gold here"},
    ]
    path = tmp_path / "nl2bash_fs_demo.json"
    path.write_text(json.dumps(tasks))
    return path, setup


def test_intercode_bash_tasks_run_their_setup_as_root_and_compare_the_folders_it_made(tmp_path):
    path, setup = _shell_tasks(tmp_path)
    converted = convert("intercode-bash", path, {"setup": setup})
    assert len(converted.tasks) == 2 and converted.refused[0].field == "gold"
    task = converted.tasks[1]
    assert task["config"] == {"setup": SETUP, "as_root": True}
    assert task["check"]["paths"] == ["~", "/testbed"] and task["check"]["compare"] == "output_and_files"


def test_import_then_check_flags_every_kind_of_bad_task(spider_files, tmp_path):
    """The imported tasks are sound; planted ones are flagged each with its reason, and the run exits 1."""
    path, databases = spider_files
    out = tmp_path / "spider.jsonl"
    imported = _run(
        ["tasks", "import", "spider", str(path), "--databases", str(databases), "--out", str(out), "--json"], tmp_path
    )
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout.strip().splitlines()[-1])["written"] == 2
    shell_path, setup = _shell_tasks(tmp_path)
    shell_out = tmp_path / "shell.jsonl"
    assert (
        _run(
            ["tasks", "import", "intercode-bash", str(shell_path), "--setup", str(setup), "--out", str(shell_out)],
            tmp_path,
        ).returncode
        == 0
    )

    sound = _run(["tasks", "check", str(out), "--json"], tmp_path)
    assert sound.returncode == 0, sound.stdout + sound.stderr
    assert json.loads(sound.stdout.strip().splitlines()[-1]) == {"total": 2, "passed": 2, "flagged": []}
    shell_sound = _run(["tasks", "check", str(shell_out), "--json"], tmp_path)
    assert shell_sound.returncode == 0, shell_sound.stdout + shell_sound.stderr

    orchard = str((databases / "orchard" / "orchard.sqlite").resolve())
    planted = [
        # the reference solution does not give the gold rows
        {"id": "gold-fails", "instruction": "x", "env": "sql", "config": {"database": orchard},
         "check": {"kind": "sql_result", "gold_sql": "SELECT COUNT(*) FROM tree"}, "solution": ["SELECT 41"]},
        # comparing only files that nobody changes: doing nothing passes
        {"id": "empty-passes", "instruction": "x", "env": "shell", "config": {"setup": "echo hi > keep.txt"},
         "check": {"kind": "shell", "gold": "cat keep.txt", "compare": "files"}},
        # a setup that fails
        {"id": "setup-error", "instruction": "x", "env": "shell", "config": {"setup": "exit 3"},
         "check": {"kind": "shell", "gold": "true"}},
        # a gold query that cannot run
        {"id": "check-error", "instruction": "x", "env": "sql", "config": {"database": orchard},
         "check": {"kind": "sql_result", "gold_sql": "SELECT nope FROM nowhere"}},
    ]  # fmt: skip
    bad = tmp_path / "bad.jsonl"
    bad.write_text("".join(json.dumps(t) + "\n" for t in planted))
    flagged = _run(["tasks", "check", str(bad), "--json"], tmp_path)
    assert flagged.returncode == 1, flagged.stdout + flagged.stderr
    result = json.loads(flagged.stdout.strip().splitlines()[-1])
    assert result["total"] == 4 and result["passed"] == 0
    assert {f["id"]: f["reason"] for f in result["flagged"]} == {
        "gold-fails": "gold fails",
        "empty-passes": "empty passes",
        "setup-error": "setup error",
        "check-error": "check error",
    }


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def _swe_repo(folder: Path) -> tuple[str, str, str]:
    """A tiny real repository (owner `harbor`, name `tides`) with a bug at its base commit; the test patch that shows
    the bug and the gold patch that fixes it, as git diffs."""
    repo = folder / "harbor__tides"
    (repo / "tides").mkdir(parents=True)
    (repo / "tests").mkdir()
    (repo / "tides" / "__init__.py").write_text("def high_water(levels):\n    return min(levels)\n")
    (repo / "tests" / "test_basic.py").write_text(
        "from tides import high_water\n\n\ndef test_one():\n    assert high_water([3]) == 3\n"
    )
    _git(repo, "init", "-q")
    _git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "add", "-A")
    _git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "base")
    base = _git(repo, "rev-parse", "HEAD").strip()
    (repo / "tests" / "test_high.py").write_text(
        "from tides import high_water\n\n\ndef test_high():\n    assert high_water([1, 4, 2]) == 4\n"
    )
    _git(repo, "add", "-N", "tests/test_high.py")
    test_patch = _git(repo, "diff")
    _git(repo, "reset", "-q")
    (repo / "tests" / "test_high.py").unlink()
    (repo / "tides" / "__init__.py").write_text("def high_water(levels):\n    return max(levels)\n")
    gold = _git(repo, "diff")
    _git(repo, "checkout", "-q", "--", ".")
    return base, test_patch, gold


def test_swe_bench_import_then_check_on_a_real_repository(tmp_path):
    base, test_patch, gold = _swe_repo(tmp_path / "checkouts")
    instance = {
        "instance_id": "harbor__tides-1",
        "repo": "harbor/tides",
        "base_commit": base,
        "problem_statement": "high_water returns the lowest level instead of the highest.",
        "test_patch": test_patch,
        "patch": gold,
        "FAIL_TO_PASS": json.dumps(["tests/test_high.py::test_high"]),
        "PASS_TO_PASS": json.dumps(["tests/test_basic.py::test_one"]),
    }
    source = tmp_path / "swe.json"
    source.write_text(json.dumps([instance]))
    out = tmp_path / "swe.jsonl"
    imported = _run(
        ["tasks", "import", "swe-bench", str(source), "--repos", str(tmp_path / "checkouts"), "--out", str(out)],
        tmp_path,
    )
    assert imported.returncode == 0, imported.stderr
    checked = _run(["tasks", "check", str(out), "--json"], tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert json.loads(checked.stdout.strip().splitlines()[-1])["passed"] == 1


async def test_imported_tasks_get_a_verdict_in_every_mode(spider_files, tmp_path, embedder):
    """Import, then `lbi eval --modes none,agentic` on the imported file: every task has a verdict."""
    from lbi.dataset import DatasetStore
    from lbi.records import Example, Origin, Step
    from lbi.store.edge import EdgeStore

    path, databases = spider_files
    out = tmp_path / "spider.jsonl"
    assert (
        _run(
            ["tasks", "import", "spider", str(path), "--databases", str(databases), "--out", str(out)], tmp_path
        ).returncode
        == 0
    )
    store = EdgeStore(tmp_path / "qdrant")
    step = Step("Connected.", "SELECT count(*) FROM tree WHERE variety = 'Cox'")
    demo = Example("Count the Cox trees.", "sql", (step,), "2", Origin.BACKWARD_TASK, "t1", 0, 1, kept=True)
    await DatasetStore(store, embedder).ingest("orchard-demos", [demo], job_id="job-1")
    await store.close()
    run = _run(
        ["eval", "--tasks", str(out), "--dataset", "orchard-demos", "--modes", "none,agentic", "--json"], tmp_path
    )
    assert run.returncode == 0, run.stdout + run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert [(m["mode"], m["tasks"], m["errors"]) for m in result["modes"]] == [("none", 2, 0), ("agentic", 2, 0)]
    assert result["flagged_tasks"] == {}  # the file carries solutions: its tasks were checked, and are sound


async def _demo_dataset(data_dir: Path, embedder, name: str, env: str, action: str) -> None:
    from lbi.dataset import DatasetStore
    from lbi.records import Example, Origin, Step
    from lbi.store.edge import EdgeStore

    store = EdgeStore(data_dir / "qdrant")
    demo = Example(
        "A demonstration.", env, (Step("start", action),), "end", Origin.BACKWARD_TASK, "t1", 0, 1, kept=True
    )
    await DatasetStore(store, embedder).ingest(name, [demo], job_id="job-1")
    await store.close()


def _verdicts(run: subprocess.CompletedProcess, tasks: int) -> dict:
    assert run.returncode == 0, run.stdout + run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert [(m["mode"], m["tasks"], m["errors"]) for m in result["modes"]] == [
        ("none", tasks, 0),
        ("agentic", tasks, 0),
    ]
    return result


async def test_intercode_import_check_and_eval(tmp_path, embedder):
    shell_path, setup = _shell_tasks(tmp_path)
    out = tmp_path / "bash.jsonl"
    assert (
        _run(
            ["tasks", "import", "intercode-bash", str(shell_path), "--setup", str(setup), "--out", str(out)], tmp_path
        ).returncode
        == 0
    )
    assert _run(["tasks", "check", str(out)], tmp_path).returncode == 0
    await _demo_dataset(tmp_path, embedder, "bash-demos", "shell", "ls /testbed")
    _verdicts(
        _run(
            [
                "eval",
                "--env",
                "shell",
                "--tasks",
                str(out),
                "--dataset",
                "bash-demos",
                "--modes",
                "none,agentic",
                "--json",
            ],
            tmp_path,
        ),
        2,
    )


async def test_swe_bench_eval_gives_every_instance_a_verdict(tmp_path, embedder):
    base, test_patch, gold = _swe_repo(tmp_path / "checkouts")
    instance = {
        "instance_id": "harbor__tides-2",
        "repo": "harbor/tides",
        "base_commit": base,
        "problem_statement": "high_water returns the lowest level instead of the highest.",
        "test_patch": test_patch,
        "patch": gold,
        "FAIL_TO_PASS": ["tests/test_high.py::test_high"],
        "PASS_TO_PASS": ["tests/test_basic.py::test_one"],
    }
    source = tmp_path / "swe.jsonl"
    source.write_text(json.dumps(instance) + "\n")
    out = tmp_path / "swe-tasks.jsonl"
    assert (
        _run(
            ["tasks", "import", "swe-bench", str(source), "--repos", str(tmp_path / "checkouts"), "--out", str(out)],
            tmp_path,
        ).returncode
        == 0
    )
    await _demo_dataset(tmp_path, embedder, "swe-demos", "repo", "run_tests")
    _verdicts(
        _run(
            [
                "eval",
                "--env",
                "repo",
                "--tasks",
                str(out),
                "--dataset",
                "swe-demos",
                "--modes",
                "none,agentic",
                "--json",
            ],
            tmp_path,
        ),
        1,
    )


async def test_webarena_import_check_and_eval_on_a_site_of_our_own(tmp_path, embedder, monkeypatch):
    from tests.fixtures.tool_library_site import serve

    url, _, stop = serve()
    monkeypatch.setenv("LBI_WEB_ALLOWED_HOSTS", json.dumps([url.removeprefix("http://")]))  # the operator allows it
    try:
        configs = [
            {"task_id": 1, "start_url": "__LIBRARY__/", "intent": "Open the catalogue of tools.",
             "eval": {"eval_types": ["url_match"], "reference_url": "__LIBRARY__/tools", "url_note": "EXACT"}},
            {"task_id": 2, "start_url": "__LIBRARY__/tools", "intent": "What does the cordless drill come with?",
             "eval": {"eval_types": ["string_match"], "reference_answers": {"must_include": ["two batteries"]}}},
        ]  # fmt: skip
        source = tmp_path / "test.raw.json"
        source.write_text(json.dumps(configs))
        out = tmp_path / "web.jsonl"
        sites = json.dumps({"__LIBRARY__": url})
        assert (
            _run(["tasks", "import", "webarena", str(source), "--sites", sites, "--out", str(out)], tmp_path).returncode
            == 0
        )
        checked = _run(["tasks", "check", str(out), "--json"], tmp_path)  # WebArena ships no reference solutions
        assert checked.returncode == 1
        assert {f["reason"] for f in json.loads(checked.stdout.strip().splitlines()[-1])["flagged"]} == {"no solution"}
        await _demo_dataset(tmp_path, embedder, "web-demos", "web", "click [Catalogue]")
        _verdicts(
            _run(
                [
                    "eval",
                    "--env",
                    "web",
                    "--tasks",
                    str(out),
                    "--dataset",
                    "web-demos",
                    "--modes",
                    "none,agentic",
                    "--json",
                ],
                tmp_path,
            ),
            2,
        )
    finally:
        stop()
