"""A job SIGKILLed during rollouts, backward construction and ingest resumes to exactly the uninterrupted result."""

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import yaml

LBI = str(Path(sys.executable).parent / "lbi")
SPEC = {"env": "sql", "dataset": "resume", "ingest_batch": 8, "rollout_concurrency": 2,
        "resource_filter": ["Filtering rows with WHERE", "Top customers by revenue", "Counting rows", "Joining two tables"]}


def _run(data_dir: Path, spec_file: Path, kill_after: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "LBI_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    env.pop("LBI_FAULT_KILL_AFTER", None)
    if kill_after:
        env["LBI_FAULT_KILL_AFTER"] = kill_after
    return subprocess.run([LBI, "synth", "run", "--spec", str(spec_file), "--json"], capture_output=True, text=True,
                          env=env, timeout=300)


def _journal(data_dir: Path) -> sqlite3.Connection:
    return sqlite3.connect(data_dir / "synthesis" / "journal.sqlite")


def _kept_ids(data_dir: Path) -> set[str]:
    return {r[0] for r in _journal(data_dir).execute("SELECT key FROM records WHERE stage = 'filtered' AND ok = 1")}


def _points(data_dir: Path) -> tuple[int, int]:
    import asyncio

    from lbi.store.edge import EdgeStore

    async def count():
        store = EdgeStore(data_dir / "qdrant")
        counts = await store.count("resume__examples"), await store.count("resume__steps")
        await store.close()
        return counts

    return asyncio.run(count())


def test_sigkill_at_three_points_then_resume(tmp_path):
    spec_file = tmp_path / "job.yaml"
    spec_file.write_text(yaml.safe_dump(SPEC))
    reference_dir, crash_dir = tmp_path / "reference", tmp_path / "crash"
    reference = _run(reference_dir, spec_file)
    assert reference.returncode == 0, reference.stderr[-2000:]
    expected = json.loads(reference.stdout.strip().splitlines()[-1])
    assert expected["state"] == "SUCCEEDED" and expected["stats"]["kept"] > 16

    for kill_after in ("trajectories:2", "candidates:2", "ingested:1"):
        killed = _run(crash_dir, spec_file, kill_after)
        assert killed.returncode == -9, (kill_after, killed.stderr[-2000:])
    stages = {r[0] for r in _journal(crash_dir).execute("SELECT DISTINCT stage FROM records")}
    assert "ingested" in stages and "stages_done" in stages
    finished_before = _journal(crash_dir).execute("SELECT COALESCE(SUM(calls), 0) FROM llm_calls").fetchone()[0]

    final = _run(crash_dir, spec_file)
    assert final.returncode == 0, final.stderr[-2000:]
    result = json.loads(final.stdout.strip().splitlines()[-1])
    assert result["state"] == "SUCCEEDED" and result["job_id"] == expected["job_id"]
    assert _kept_ids(crash_dir) == _kept_ids(reference_dir)
    assert _points(crash_dir) == _points(reference_dir)
    assert result["stats"]["llm_calls"] == expected["stats"]["llm_calls"]
    # The last run sent only the calls that had not finished before: none was repeated.
    assert result["llm_calls_this_run"] == expected["stats"]["llm_calls"] - finished_before
    rows = _journal(crash_dir).execute("SELECT stage, COUNT(*), COUNT(DISTINCT key) FROM records GROUP BY stage").fetchall()
    assert all(total == distinct for _, total, distinct in rows)
