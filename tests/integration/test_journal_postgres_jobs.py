"""Synthesis jobs on a PostgreSQL journal (LBI_JOURNAL_URL, a fresh database on a real server on 127.0.0.1): the same
job keeps the same examples as on the embedded SQLite journal, its records page as ListJobRecords serves them, and a
job SIGKILLed mid-stage resumes from PostgreSQL with nothing lost, doubled or asked of the LLM twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lbi.cli.local_runner import launch_runner
from lbi.store.edge import EdgeStore
from synth_service.config import SynthSettings
from synth_service.engine import Engine
from synth_service.job_records import JobRecords, RecordQuery
from synth_service.journal import Journal
from synth_service.spec import spec_from_dict
from synth_service.stages.names import FILTERED
from tests.fixtures.journal_pg import journal_database

pytestmark = pytest.mark.integration

LBI = str(Path(sys.executable).parent / "lbi")
SPEC = {
    "env": "sql",
    "dataset": "pg",
    "ingest_batch": 4,
    "resource_filter": ["Filtering rows with WHERE", "Top customers by revenue", "Counting rows"],
}


async def _run(data_dir: Path, embedder, journal_url: str = "") -> tuple[dict, set[str], list[str]]:
    """Runs SPEC to its end; the job, its kept keys and its candidates' keys as ListJobRecords pages them (7 a page)."""
    store = EdgeStore(data_dir / "qdrant")
    settings = SynthSettings(data_dir=data_dir, journal_url=journal_url, runner_step_timeout_s=5)
    engine = Engine(settings, store, embedder, launch_runner=launch_runner)
    try:
        job = await engine.run(engine.create(spec_from_dict(SPEC)))
        assert job["state"] == "SUCCEEDED", job["error"]
        kept = {key for key, *_ in engine.journal.records(job["id"], FILTERED, ok=True)}
        records, paged, after = JobRecords(engine.journal), [], 0
        while True:
            found, next_after = records.page(RecordQuery(job["id"], "candidate", page_size=7, after=after))
            paged += [r.key for r in found]
            if next_after is None:
                return job, kept, paged
            after = next_after
    finally:
        await engine.close()
        await store.close()


async def test_a_job_on_postgresql_keeps_what_it_keeps_on_sqlite_and_pages_alike(tmp_path, embedder, postgres_server):
    on_sqlite, kept_sqlite, paged_sqlite = await _run(tmp_path / "sqlite", embedder)
    url = journal_database(postgres_server)
    on_pg, kept_pg, paged_pg = await _run(tmp_path / "pg", embedder, url)
    assert not (tmp_path / "pg" / "synthesis" / "journal.sqlite").exists()
    assert on_pg["id"] == on_sqlite["id"] and kept_pg == kept_sqlite and kept_pg
    stats_sqlite, stats_pg = on_sqlite["stats"].to_dict(), on_pg["stats"].to_dict()
    for figures in (stats_sqlite, stats_pg):
        figures.pop("stages")  # wall times
    assert stats_pg == stats_sqlite
    # Pages follow write order, which concurrent stages decide: the same candidates, each once, in pages of 7.
    assert set(paged_pg) == set(paged_sqlite)
    assert len(set(paged_pg)) == len(paged_pg) == sum(on_pg["stats"].candidates.values())


def _lbi_run(data_dir: Path, spec_file: Path, url: str, kill_after: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "LBI_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1", "LBI_JOURNAL_URL": url}
    env.pop("LBI_TEST_FAULT_KILL_AFTER", None)
    if kill_after:
        env["LBI_TEST_FAULT_KILL_AFTER"] = kill_after
    return subprocess.run(
        [LBI, "synth", "run", "--spec", str(spec_file), "--json"], capture_output=True, text=True, env=env, timeout=300
    )


def test_a_job_killed_twice_resumes_from_postgresql(tmp_path, postgres_server):
    spec_file = tmp_path / "job.yaml"
    spec_file.write_text(yaml.safe_dump(SPEC))
    reference = _lbi_run(tmp_path / "reference", spec_file, "")
    assert reference.returncode == 0, reference.stderr[-2000:]
    expected = json.loads(reference.stdout.strip().splitlines()[-1])
    url = journal_database(postgres_server)
    for kill_after in ("llm@rollout:2", "llm@filter:5"):
        killed = _lbi_run(tmp_path / "crash", spec_file, url, kill_after)
        assert killed.returncode == -9, (kill_after, killed.returncode, killed.stderr[-2000:])
    journal = Journal(url)
    finished_before = sum(calls for calls, _, _ in journal.llm_totals(expected["job_id"]).values())
    journal.close()
    final = _lbi_run(tmp_path / "crash", spec_file, url)
    assert final.returncode == 0, final.stderr[-2000:]
    result = json.loads(final.stdout.strip().splitlines()[-1])
    assert result["state"] == "SUCCEEDED" and result["job_id"] == expected["job_id"]
    assert (
        result["stats"]["kept"] == expected["stats"]["kept"]
        and result["stats"]["llm_calls"] == (expected["stats"]["llm_calls"])
    )
    assert result["llm_calls_this_run"] == expected["stats"]["llm_calls"] - finished_before
    reference_journal, journal = Journal(tmp_path / "reference" / "synthesis" / "journal.sqlite"), Journal(url)
    try:
        kept = {key for key, *_ in journal.records(expected["job_id"], FILTERED, ok=True)}
        assert kept == {key for key, *_ in reference_journal.records(expected["job_id"], FILTERED, ok=True)}
        ingested = journal.count(expected["job_id"], "ingested")
        assert ingested == len(journal.keys(expected["job_id"], "ingested")) == len(kept)
    finally:
        journal.close()
        reference_journal.close()
