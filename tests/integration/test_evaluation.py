"""The evaluation harness: sql result checks on hand-made answers, and a small run in every mode."""

import json

import pytest

from env_runners.sql import sample_db
from lbi.evaluation.checks import last_query, run_check
from lbi.evaluation.tasks import builtin_tasks, load_tasks
from lbi.records import Outcome, Step, Trajectory

GOLD_ORDERED = {"kind": "sql_result", "gold_sql": "SELECT name, price FROM products ORDER BY price DESC LIMIT 3"}
GOLD_SET = {"kind": "sql_result", "gold_sql": "SELECT loyalty_tier, COUNT(*) FROM customers GROUP BY loyalty_tier"}


def _episode(*actions, errors=()):
    steps = tuple(Step(f"obs {i}", a, error=i in errors) for i, a in enumerate(actions))
    return Trajectory("t", "sql", steps, "final", Outcome.STOPPED)


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    return sample_db.ensure(tmp_path_factory.mktemp("eval-db"))


@pytest.mark.parametrize("check, actions, errors, ok", [
    (GOLD_ORDERED, ["SELECT name, price FROM products ORDER BY price DESC LIMIT 3"], (), True),
    (GOLD_ORDERED, ["SELECT p.name, p.price FROM products AS p ORDER BY 2 DESC LIMIT 3;"], (), True),
    (GOLD_ORDERED, ["SELECT name, price FROM products ORDER BY price ASC LIMIT 3"], (), False),
    (GOLD_ORDERED, ["SELECT name FROM products ORDER BY price DESC LIMIT 3"], (), False),
    (GOLD_SET, ["SELECT loyalty_tier, COUNT(*) AS n FROM customers GROUP BY loyalty_tier ORDER BY n DESC"], (), True),
    (GOLD_SET, ["SELECT loyalty_tier, COUNT(*) FROM customers GROUP BY loyalty_tier", "SELEC oops"], (1,), True),
    (GOLD_SET, ["SELECT loyalty_tier, COUNT(*) FROM customers WHERE country = 'France' GROUP BY loyalty_tier"], (), False),
    (GOLD_SET, ["DELETE FROM customers"], (), False),
    (GOLD_SET, [], (), False),
])
def test_sql_result_check(database, check, actions, errors, ok):
    verdict = run_check(check, _episode(*actions, errors=errors), database=database)
    assert verdict.ok is ok, verdict.reason


def test_order_matters_only_when_the_gold_sorts(database):
    reversed_rows = "SELECT * FROM (SELECT name, price FROM products ORDER BY price DESC LIMIT 3) ORDER BY price ASC"
    verdict = run_check(GOLD_ORDERED, _episode(reversed_rows), database=database)
    assert not verdict.ok and "order differs" in verdict.reason
    assert last_query(_episode("SELECT 1", "UPDATE x SET y = 1")) == "SELECT 1"


def test_unknown_check_kind_fails_clearly():
    assert "unknown check kind" in run_check({"kind": "nope"}, _episode("SELECT 1")).reason


def test_shipped_tasks_have_gold_answers(database):
    import sqlite3

    tasks = load_tasks(builtin_tasks("sql"))
    assert len(tasks) >= 40 and {t.difficulty for t in tasks} == {"easy", "medium", "hard"}
    conn = sqlite3.connect(database)
    for task in tasks:
        assert conn.execute(task.check["gold_sql"]).fetchall(), task.id
    tutorial = (builtin_tasks("sql").parents[1] / "docs" / "tutorial.md").read_text()
    assert not [t.id for t in tasks if t.check["gold_sql"] in tutorial]


def test_bad_task_file_names_the_line(tmp_path):
    path = tmp_path / "tasks.jsonl"
    path.write_text(json.dumps({"id": "a", "instruction": "x", "check": {}}) + "\n{broken\n")
    with pytest.raises(ValueError, match="tasks.jsonl:2"):
        load_tasks(path)


async def test_harness_runs_every_mode(tmp_path, monkeypatch):
    monkeypatch.setenv("LBI_DATA_DIR", str(tmp_path))
    from lbi.cli.eval_cmd import evaluate
    from lbi.cli.local_stack import local_stack
    from synth_service.spec import spec_from_dict

    tasks = [json.loads(line) for line in builtin_tasks("sql").read_text().splitlines()][:4]
    tasks_file = tmp_path / "tasks.jsonl"
    tasks_file.write_text("".join(json.dumps(t) + "\n" for t in tasks))
    async with local_stack() as stack:
        spec = spec_from_dict({"env": "sql", "dataset": "evaltest", "resource_filter": ["Counting rows", "Sorting and limiting"]})
        job = await stack.engine.run(stack.engine.create(spec))
        assert job["state"] == "SUCCEEDED"
        data = await evaluate(stack.runner_target, stack.retrieval_target, "sql", "evaltest", tasks_file,
                              ["none", "instruction", "observation", "query", "agentic"], 6, None, tmp_path, tmp_path / "out",
                              plot=True, quiet=True)
    modes = {m["mode"]: m for m in data["modes"]}
    assert list(modes) == ["none", "instruction", "observation", "query", "agentic"]
    assert all(m["tasks"] == 4 and 0 <= m["success_rate"] <= 1 and m["llm_calls_per_task"] >= 1 for m in modes.values())
    assert modes["none"]["retrieval_p50_ms"] == 0 and modes["agentic"]["retrieval_p50_ms"] > 0
    assert modes["query"]["llm_calls_per_task"] > modes["observation"]["llm_calls_per_task"]  # the agent writes queries
    assert len(data["tasks"]) == 20
    assert (tmp_path / "out" / "results.md").read_text().startswith("| mode |")
    assert (tmp_path / "out" / "results.png").stat().st_size > 1000
