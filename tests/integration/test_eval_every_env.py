"""`lbi eval --modes none,agentic` on every environment's shipped tasks: a dataset synthesized for the
environment, then each task judged by the runner, the table and the per-task file written. The offline policy
is measured (its figures are not a model's); web, repo and desktop run the first tasks of their sets to keep CI
short (each full set's solvability is tested in test_task_sets.py); desktop synthesizes from its default
applications (discovery crawls them)."""

import json

import pytest

from env_runners.registry import builtin_tasks

SUBSET = {"sql": 10, "shell": 30, "web": 4, "repo": 4, "desktop": 8}
SYNTH = {
    "sql": {"resource_filter": ["Counting rows"]},
    "shell": {"resource_filter": ["Counting lines", "Finding files"]},
    "web": {"resource_filter": ["Filing a new ticket", "Viewing the open tickets"]},
    "repo": {"resource_filter": ["Running the test suite"]},
    "desktop": {"resource_filter": ["Worked examples on the desktop (1)", "Worked examples on the desktop (2)"]},
}


@pytest.mark.parametrize("env", list(SUBSET))
async def test_eval_runs_the_shipped_tasks_of_every_environment(env, tmp_path, monkeypatch):
    from lbi.cli.eval_cmd import evaluate
    from lbi.cli.local_stack import local_stack
    from synth_service.spec import spec_from_dict

    monkeypatch.setenv("LBI_DATA_DIR", str(tmp_path))
    if env == "repo":
        import shutil
        from pathlib import Path

        from env_runners.repo import sample

        archive = Path(__file__).resolve().parents[2] / ".lbi" / "envs" / "repo" / f"{sample.SDIST}.tar.gz"
        if not archive.exists():
            pytest.skip("sample repository not downloaded (make fetches it)")
        (tmp_path / "envs" / "repo").mkdir(parents=True)
        shutil.copy(archive, tmp_path / "envs" / "repo")
    lines = builtin_tasks(env).read_text().splitlines()[: SUBSET[env]]
    tasks_file = tmp_path / "tasks.jsonl"
    tasks_file.write_text("\n".join(lines) + "\n")
    async with local_stack() as stack:
        job = await stack.engine.run(
            stack.engine.create(spec_from_dict({"env": env, "dataset": f"{env}-eval", **SYNTH[env]}))
        )
        assert job["state"] == "SUCCEEDED", job["error"]
        data = await evaluate(
            stack.runner_target,
            stack.retrieval_target,
            env,
            f"{env}-eval",
            tasks_file,
            ["none", "agentic"],
            6,
            None,
            tmp_path / "eval",
            plot=False,
            quiet=True,
        )
    assert [m["mode"] for m in data["modes"]] == ["none", "agentic"]
    assert all(m["tasks"] == SUBSET[env] and m["errors"] == 0 for m in data["modes"]), data["modes"]
    assert all(t["status"] in ("passed", "failed") and t["reason"] for t in data["tasks"])
    run = tmp_path / "eval" / "latest"
    assert len((run / "tasks.jsonl").read_text().splitlines()) == 2 * SUBSET[env]
    assert json.loads((run / "results.json").read_text())["offline_policy"] is True
    assert (run / "results.md").read_text().startswith("| mode |")
    print(env, {m["mode"]: m["success_rate"] for m in data["modes"]})
