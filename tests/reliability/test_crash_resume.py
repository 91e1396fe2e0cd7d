"""A synthesis job SIGKILLed at 10 seeded points across all stages resumes to exactly the uninterrupted result.

Kill points (seeded): two in each stage that calls an LLM, each after a random number of that stage's
calls not yet made, and two after random ingest batches (synth_service/journal.py's fault hook). Each restart
resumes the same job; the final kept set, Qdrant point counts and LLM call count equal a clean run's.
"""

import json
import os
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import yaml

LBI = str(Path(sys.executable).parent / "lbi")
SEED = 20261125
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


LLM_STAGES = ("self_instruct", "rollout", "backward", "filter")


def _next_kill(rng: random.Random, reference_dir: Path, crash_dir: Path, kept: int, index: int) -> str:
    """Kills 0-7: two per LLM-calling stage, after a random number of that stage's calls not yet made; 8-9: in ingest."""
    if index < 8:
        stage = LLM_STAGES[index // 2]
        query = "SELECT COUNT(*) FROM llm_calls WHERE stage = ?"
        total = _journal(reference_dir).execute(query, (stage,)).fetchone()[0]
        done = _journal(crash_dir).execute(query, (stage,)).fetchone()[0] if (crash_dir / "synthesis").exists() else 0
        return f"llm@{stage}:{rng.randint(1, max(1, (total - done) // (2 - index % 2)))}"
    ingested = _journal(crash_dir).execute("SELECT COUNT(*) FROM records WHERE stage = 'ingested'").fetchone()[0]
    batches_left = -(-(kept - ingested) // SPEC["ingest_batch"])
    return f"ingested:{rng.randint(1, batches_left - 1)}"


def test_sigkill_at_ten_seeded_points_then_resume(tmp_path):
    spec_file = tmp_path / "job.yaml"
    spec_file.write_text(yaml.safe_dump(SPEC))
    reference_dir, crash_dir = tmp_path / "reference", tmp_path / "crash"
    reference = _run(reference_dir, spec_file)
    assert reference.returncode == 0, reference.stderr[-2000:]
    expected = json.loads(reference.stdout.strip().splitlines()[-1])
    assert expected["state"] == "SUCCEEDED" and expected["stats"]["kept"] > 16

    died_in, rng = [], random.Random(SEED)
    for index in range(10):
        kill_after = _next_kill(rng, reference_dir, crash_dir, expected["stats"]["kept"], index)
        killed = _run(crash_dir, spec_file, kill_after)
        assert killed.returncode == -9, (kill_after, killed.returncode, killed.stderr[-2000:])
        died_in.append(_journal(crash_dir).execute("SELECT stage FROM jobs").fetchone()[0])
    # Two deaths in each stage that calls an LLM, two in ingest.
    assert died_in == [stage for stage in (*LLM_STAGES, "ingest") for _ in range(2)], died_in
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
