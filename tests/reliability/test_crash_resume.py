"""A synthesis job SIGKILLed at 10 seeded points across all stages resumes to exactly the uninterrupted result.

Kill points (seeded): two in each stage that calls an LLM, each after a random number of that stage's
calls not yet made, and two after random ingest batches (synth_service/journal.py's fault hook). Stages
overlap (the pipeline streams), so kills land while several stages have work in flight; the test checks
that some did. Each restart resumes the same job; the final kept set, Qdrant point counts and LLM call
count equal a clean run's.
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
SPEC = {
    "env": "sql",
    "dataset": "resume",
    "ingest_batch": 8,
    "rollout_concurrency": 2,
    "resource_filter": [
        "Filtering rows with WHERE",
        "Top customers by revenue",
        "Counting rows",
        "Joining two tables",
        "Grouping with GROUP BY",
        "Sorting and limiting",
        "Subqueries",
        "Customers without orders",
    ],
}


def _run(data_dir: Path, spec_file: Path, kill_after: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "LBI_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    env.pop("LBI_TEST_FAULT_KILL_AFTER", None)
    if kill_after:
        env["LBI_TEST_FAULT_KILL_AFTER"] = kill_after
    return subprocess.run(
        [LBI, "synth", "run", "--spec", str(spec_file), "--json"], capture_output=True, text=True, env=env, timeout=300
    )


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
# The kill order: ingest kills come early, while the other stages still have work (the pipeline streams).
KILLS = (
    "self_instruct",
    "self_instruct",
    "rollout",
    "ingested",
    "rollout",
    "backward",
    "ingested",
    "backward",
    "filter",
    "filter",
)


def _left(reference_dir: Path, crash_dir: Path, stage: str) -> int:
    """What the crashed job has still to do in a stage: LLM calls, or kept examples not yet ingested."""
    if stage == "ingested":
        query = "SELECT COUNT(*) FROM records WHERE stage = ?" + (" AND ok = 1" if stage == "filtered" else "")
        kept = (
            _journal(reference_dir)
            .execute("SELECT COUNT(*) FROM records WHERE stage = 'filtered' AND ok = 1")
            .fetchone()[0]
        )
        return kept - (
            _journal(crash_dir).execute(query, (stage,)).fetchone()[0] if (crash_dir / "synthesis").exists() else 0
        )
    query = "SELECT COUNT(*) FROM llm_calls WHERE stage = ?"
    total = _journal(reference_dir).execute(query, (stage,)).fetchone()[0]
    return total - (
        _journal(crash_dir).execute(query, (stage,)).fetchone()[0] if (crash_dir / "synthesis").exists() else 0
    )


def _next_kill(rng: random.Random, reference_dir: Path, crash_dir: Path, index: int) -> str:
    """The planned stage's kill, or the next planned stage's that still has work: after a random number of that
    stage.s calls (up to a quarter of those left), or after this run's first ingest batch."""
    for stage in KILLS[index:] + KILLS[:index]:
        left = _left(reference_dir, crash_dir, stage)
        if left > 0:
            return "ingested:1" if stage == "ingested" else f"llm@{stage}:{rng.randint(1, max(1, left // 4))}"
    raise AssertionError("the job has nothing left to do before its last planned kill")


def _overlap(data_dir: Path) -> bool:
    """True when the journal shows examples ingested while rollouts were still unfinished."""
    journal = _journal(data_dir)
    ingested = journal.execute("SELECT COUNT(*) FROM records WHERE stage = 'ingested'").fetchone()[0]
    rollout_done = journal.execute(
        "SELECT COUNT(*) FROM records WHERE stage = 'stages_done' AND key = 'rollout'"
    ).fetchone()[0]
    return ingested > 0 and not rollout_done


def test_sigkill_at_ten_seeded_points_then_resume(tmp_path):
    spec_file = tmp_path / "job.yaml"
    spec_file.write_text(yaml.safe_dump(SPEC))
    reference_dir, crash_dir = tmp_path / "reference", tmp_path / "crash"
    reference = _run(reference_dir, spec_file)
    assert reference.returncode == 0, reference.stderr[-2000:]
    expected = json.loads(reference.stdout.strip().splitlines()[-1])
    assert expected["state"] == "SUCCEEDED" and expected["stats"]["kept"] > 16

    overlapping, rng = [], random.Random(SEED)
    for index in range(10):
        kill_after = _next_kill(rng, reference_dir, crash_dir, index)
        killed = _run(crash_dir, spec_file, kill_after)
        assert killed.returncode == -9, (kill_after, killed.returncode, killed.stderr[-2000:])
        overlapping.append(_overlap(crash_dir))
    # Some kills hit the job while examples were already in the store and rollouts still running.
    assert any(overlapping), overlapping
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
    rows = (
        _journal(crash_dir)
        .execute("SELECT stage, COUNT(*), COUNT(DISTINCT key) FROM records GROUP BY stage")
        .fetchall()
    )
    assert all(total == distinct for _, total, distinct in rows)
