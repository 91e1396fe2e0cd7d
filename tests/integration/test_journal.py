"""The job journal on both back ends, a SQLite file and a real PostgreSQL on 127.0.0.1 (a fresh database per test):
exactly-once writes and their counts, the reads the console and statistics make, writers racing on one job, and the
versioned schema (a journal an earlier lbi wrote is adopted with its rows)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from synth_service.journal import Journal, decode, encode
from synth_service.journal_db import journal_url, migrate, open_engine

pytestmark = pytest.mark.integration

BIG = {"origin": "forward", "steps": [{"observation": "| a | b |\n" * 200, "action": "SELECT 1"}]}


@pytest.fixture(params=["sqlite", "postgresql"])
def where(request, tmp_path) -> Path | str:
    if request.param == "sqlite":
        return tmp_path / "synthesis" / "journal.sqlite"
    from tests.fixtures.journal_pg import journal_database

    return journal_database(request.getfixturevalue("postgres_server"))


@pytest.fixture
def journal(where):
    journal = Journal(where)
    yield journal
    journal.close()


def test_rows_are_written_once_and_counted_once(journal):
    assert journal.create_job("j", {"env": "sql"}) and not journal.create_job("j", {"env": "other"})
    assert journal.job("j")["spec"] == {"env": "sql"} and journal.job("j")["state"] == "PENDING"
    rows = [("a", {"origin": "forward"}, True, ""), ("b", BIG, True, ""), ("c", {"origin": "x"}, False, "Dup")]
    assert journal.put("j", "candidates", rows) == 3
    assert journal.put("j", "candidates", [*rows, ("a", {"origin": "other"}, False, "")]) == 0
    assert journal.put("j", "candidates", [("d", [1, 2], True, ""), ("d", [3], False, "")]) == 1
    assert [k for k, *_ in journal.records("j", "candidates")] == ["a", "b", "c", "d"]
    assert journal.get("j", "candidates", ["b", "d", "zz"]) == {"b": (BIG, True, ""), "d": ([1, 2], True, "")}
    assert journal.get("j", "candidates", ["a"]) == {"a": ({"origin": "forward"}, True, "")}
    assert journal.count("j", "candidates") == 4 and journal.count("j", "candidates", ok=False) == 1
    assert journal.count_by_origin("j", "candidates") == {"forward": 2, "x": 1, "": 1}
    assert journal.keys("j", "candidates") == {"a", "b", "c", "d"}
    assert journal.delete("j", "candidates", ["b", "c", "nope"]) == 2
    assert journal.count_by_origin("j", "candidates") == {"forward": 1, "x": 0, "": 1}
    assert journal.has_rows("j") and not journal.has_rows("k")


def test_llm_calls_failures_times_and_jobs(journal):
    journal.create_job("j", {})
    for _ in range(2):  # the same call journaled twice (a resumed job) counts once
        journal.put_llm_call("j", "call-1", "backward", "labeller", 100, 20, 0.5, 2, {"text": "x" * 2000})
    journal.put_llm_failure("j", "filter", "committee", "schema", "bad\x00 reply", 10, 5, 0.25, 3)
    journal.put_llm_failure("j", "filter", "committee", "schema", "second", 10, 5, 0.25, 3)
    assert journal.llm_output("j", "call-1") == {"text": "x" * 2000} and journal.llm_output("j", "nope") is None
    assert journal.llm_totals("j") == {"backward": (2, 120, 0.5), "filter": (6, 30, 0.5)}
    [(stage, role, kind, n, reason)] = journal.llm_failures("j")
    assert (stage, role, kind, n) == ("filter", "committee", "schema", 2) and reason.startswith("bad")
    journal.add_time("j", "rollout", 1.5)
    journal.add_time("j", "rollout", 2.0)
    assert journal.times("j") == {"rollout": 3.5}
    journal.set_job("j", state="RUNNING", stage="rollout")
    journal.create_job("online/ds/e1", {})
    journal.put("online/ds/e1", "episodes", [("e", {}, True, "")])
    journal.put("online/dt/e2", "episodes", [("e", {}, True, "")])
    assert [j["id"] for j in journal.jobs()] == ["j", "online/ds/e1"] and journal.job("j")["state"] == "RUNNING"
    assert journal.jobs_with("episodes", "online/ds/") == ["online/ds/e1"]
    journal.delete_job("j")
    assert journal.job("j") is None and not journal.has_rows("j") and not journal.llm_totals("j")
    assert not journal.llm_failures("j") and not journal.times("j")


def test_pages_filters_and_pending(journal):
    journal.create_job("j", {})
    rows = [(f"k{i:03}", {"i": i}, i % 3 != 0, ["", "Too_Long 100%", "not aligned"][i % 3]) for i in range(120)]
    journal.put("j", "filtered", rows[:70])
    journal.put("j", "filtered", rows[70:])
    seen, after = [], 0
    while page := journal.page("j", "filtered", after, 25):
        seen += [key for _, key, *_ in page]
        after = page[-1][0]
    assert seen == [key for key, *_ in rows]
    dropped = journal.page("j", "filtered", 0, 500, ok=False)
    assert len(dropped) == 40 and all(not ok for *_, ok, _ in dropped)
    assert len(journal.page("j", "filtered", 0, 500, reason_like="too_long 100%")) == 40
    assert journal.page("j", "filtered", 0, 500, reason_like="too%long") == []  # % is a character, not a wildcard
    assert len(journal.page("j", "filtered", 0, 500, ok=True, reason_like="ALIGNED")) == 40
    journal.put("j", "learned", [(key, {}, True, "") for key, *_ in rows[:100]])
    assert journal.pending("j", "filtered", "learned", 5) == [key for key, *_ in rows[100:105]]


def test_two_writers_of_one_job_store_and_count_each_row_once(where):
    """Two journals on one database (two processes' worth of connections) write overlapping rows of one job at once."""
    first, second = Journal(where), Journal(where)
    first.create_job("j", {})
    errors: list[BaseException] = []

    def write(journal: Journal, offset: int) -> None:
        try:
            for start in range(0, 200, 5):
                batch = [(f"k{i}", {"origin": "forward", "i": i}, True, "") for i in range(start, start + 5)]
                journal.put("j", "candidates", batch[offset:] + batch[:offset])
                journal.put_llm_call("j", f"call{start}", "backward", "labeller", 10, 1, 0.0, 1, {"i": start})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(j, k)) for j, k in ((first, 0), (second, 2), (second, 4))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert first.count("j", "candidates") == 200 and first.count_by_origin("j", "candidates") == {"forward": 200}
    assert first.llm_totals("j") == {"backward": (40, 440, 0.0)}
    pages = first.page("j", "candidates", 0, 500)
    assert len(pages) == 200 and len({seq for seq, *_ in pages}) == 200  # every row its own place in write order
    first.close()
    second.close()


def test_a_new_journal_is_at_the_newest_revision_and_opens_again_unchanged(where):
    journal = Journal(where)
    journal.create_job("j", {})
    journal.put("j", "s", [("a", {}, True, "")])
    journal.close()
    again = Journal(where)
    assert again.count("j", "s") == 1
    again.close()
    engine = open_engine(journal_url(where if isinstance(where, str) else f"sqlite:///{where}"))
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one() == "0001"
    engine.dispose()


def test_payloads_are_told_apart_on_every_back_end():
    for value in ({"a": "é"}, BIG, [1], "text"):
        stored = encode(value)
        assert decode(stored) == value
        assert decode(stored.encode() if isinstance(stored, str) else memoryview(stored)) == value


# The journal as lbi wrote it before migrations were versioned (synth_service/journal.py at 73dfa5f).
SCHEMA_BEFORE = """
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY, spec TEXT NOT NULL, state TEXT NOT NULL, stage TEXT NOT NULL DEFAULT '',
  error TEXT NOT NULL DEFAULT '', created_at REAL NOT NULL, updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
  job_id TEXT NOT NULL, stage TEXT NOT NULL, key TEXT NOT NULL, seq INTEGER NOT NULL,
  ok INTEGER NOT NULL, reason TEXT NOT NULL DEFAULT '', payload TEXT NOT NULL,
  PRIMARY KEY (job_id, stage, key)
);
CREATE TABLE IF NOT EXISTS llm_calls (
  job_id TEXT NOT NULL, key TEXT NOT NULL, stage TEXT NOT NULL, role TEXT NOT NULL,
  prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, cost REAL NOT NULL, calls INTEGER NOT NULL,
  output TEXT NOT NULL, PRIMARY KEY (job_id, key)
);
"""
COUNTERS_BEFORE = """
CREATE TABLE IF NOT EXISTS counts (
  job_id TEXT NOT NULL, stage TEXT NOT NULL, ok INTEGER NOT NULL, origin TEXT NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY (job_id, stage, ok, origin)
);
CREATE TABLE IF NOT EXISTS llm_counts (
  job_id TEXT NOT NULL, stage TEXT NOT NULL, calls INTEGER NOT NULL, tokens INTEGER NOT NULL, cost REAL NOT NULL,
  PRIMARY KEY (job_id, stage)
);
CREATE TABLE IF NOT EXISTS llm_failures (
  job_id TEXT NOT NULL, stage TEXT NOT NULL, role TEXT NOT NULL, kind TEXT NOT NULL, n INTEGER NOT NULL,
  first_reason TEXT NOT NULL, PRIMARY KEY (job_id, stage, role, kind)
);
CREATE TABLE IF NOT EXISTS stage_times (
  job_id TEXT NOT NULL, stage TEXT NOT NULL, seconds REAL NOT NULL, PRIMARY KEY (job_id, stage)
);
"""


def _journal_before(path: Path, counters: bool) -> None:
    """A journal file as the earlier code left it: plain-text and compressed payloads, an LLM call, counters."""
    path.parent.mkdir(parents=True)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(SCHEMA_BEFORE + (COUNTERS_BEFORE if counters else ""))
    conn.execute("INSERT INTO jobs VALUES ('old', '{\"env\": \"sql\"}', 'RUNNING', 'backward', '', 1.0, 2.0)")
    rows = [("a", 1, 1, "", encode({"origin": "forward"})), ("b", 2, 0, "dup", encode(BIG))]
    conn.executemany("INSERT INTO records VALUES ('old', 'candidates', ?, ?, ?, ?, ?)", rows)
    conn.execute("INSERT INTO llm_calls VALUES ('old', 'c1', 'backward', 'labeller', 7, 3, 0.5, 1, ?)", ("{}",))
    if counters:
        conn.execute(
            "INSERT INTO counts VALUES ('old', 'candidates', 1, 'forward', 1), ('old', 'candidates', 0, 'forward', 1)"
        )
        conn.execute("INSERT INTO llm_counts VALUES ('old', 'backward', 1, 10, 0.5)")
    conn.close()


@pytest.mark.parametrize("counters", [True, False], ids=["today", "before-counters"])
def test_a_journal_written_before_migrations_is_adopted_with_its_rows(tmp_path, counters):
    path = tmp_path / "synthesis" / "journal.sqlite"
    _journal_before(path, counters)
    journal = Journal(path)
    old = journal.job("old")
    assert old is not None and old["state"] == "RUNNING" and old["spec"] == {"env": "sql"}
    assert journal.get("old", "candidates", ["a", "b"]) == {
        "a": ({"origin": "forward"}, True, ""),
        "b": (BIG, False, "dup"),
    }
    assert journal.count_by_origin("old", "candidates") == {"forward": 2}  # kept (or backfilled), never doubled
    assert journal.llm_totals("old") == {"backward": (1, 10, 0.5)}
    assert journal.put("old", "candidates", [("a", {}, True, ""), ("c", {"origin": "forward"}, True, "")]) == 1
    assert [key for _, key, *_ in journal.page("old", "candidates", 0, 10)] == ["a", "b", "c"]
    journal.close()
    engine = sa.create_engine(f"sqlite:///{path}")
    migrate(engine)  # once more: nothing to do
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one() == "0001"
        assert conn.exec_driver_sql("SELECT SUM(n) FROM counts").scalar_one() == 3
    engine.dispose()


def test_services_starting_together_migrate_one_database_once(where):
    """Two processes' journals opened at once on a new database: one migrates, the other finds it done."""
    opened: list[Journal] = []
    errors: list[BaseException] = []

    def open_journal() -> None:
        try:
            opened.append(Journal(where))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_journal) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert opened[0].create_job("j", {}) and not opened[1].create_job("j", {})
    for journal in opened:
        journal.close()


def _write_overlapping(where: Path | str, offset: int) -> int:
    """One process's writes of the rows k0..k99 of one job (in an order of its own) and their LLM calls."""
    journal = Journal(where)
    new = 0
    for start in range(0, 100, 4):
        batch = [(f"k{i}", {"origin": "forward"}, True, "") for i in range(start, start + 4)]
        new += journal.put("j", "candidates", batch[offset:] + batch[:offset])
        journal.put_llm_call("j", f"call{start}", "backward", "labeller", 10, 1, 0.0, 1, {"i": start})
    journal.close()
    return new


def test_two_processes_writing_one_job_store_each_row_once(where):
    import multiprocessing

    Journal(where).close()  # migrated before the processes start
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        new = pool.starmap(_write_overlapping, [(where, 0), (where, 3)])
    assert sum(new) == 100
    journal = Journal(where)
    assert journal.count_by_origin("j", "candidates") == {"forward": 100}
    assert journal.llm_totals("j") == {"backward": (25, 275, 0.0)}
    assert len({seq for seq, *_ in journal.page("j", "candidates", 0, 500)}) == 100
    journal.close()
