"""The job journal: every stage's output, durably, in SQLite under the data directory.

One row per record, keyed by (job, stage, deterministic content key); writes are INSERT OR IGNORE and
committed before they count, so a job killed at any moment (SIGKILL) resumes with nothing lost and
nothing written twice. Finished LLM calls are journaled too, keyed by their role, model and inputs:
on resume a call whose answer is known is answered from the journal, never sent again.

Payloads are JSON, zlib-compressed when longer than a few hundred bytes (a trajectory's observations repeat
much of one another: a candidate's rows shrink several times); rows written as plain JSON text by older
versions are read as they are.

Counts are kept up to date as rows are written (`counts`, `llm_counts`): a job's statistics are a few
small reads however large the job, not a decode of every payload per progress event. The `a*` methods
run the same statements on the journal's own thread, so a pipeline on the event loop never waits on a
commit's fsync.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import threading
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

SCHEMA = """
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


COMPRESS_ABOVE = 512  # bytes of JSON from which a payload is stored compressed


def encode(value: Any) -> str | bytes:
    """A payload as stored: JSON text, or zlib-compressed JSON bytes (a BLOB) when it is long."""
    text = json.dumps(value, ensure_ascii=False)
    return zlib.compress(text.encode(), 1) if len(text) > COMPRESS_ABOVE else text


def decode(stored: str | bytes) -> Any:
    return json.loads(zlib.decompress(stored) if isinstance(stored, bytes) else stored)


_JOB_KEYS = ("id", "spec", "state", "stage", "error", "created_at", "updated_at")
_JOB_COLUMNS = ", ".join(_JOB_KEYS)


def _job(row: tuple[Any, ...]) -> dict[str, Any]:
    """A jobs row (the columns of _JOB_COLUMNS) as the job's dict."""
    job = dict(zip(_JOB_KEYS, row, strict=True))
    job["spec"] = json.loads(job["spec"])
    return job


class Journal:
    """A SQLite file shared by the jobs of one synthesis service; safe across threads."""

    def __init__(self, path: Path, kill_after: str = ""):
        """`kill_after` is fault injection for the crash tests only (SynthSettings.test_fault_kill_after): "stage:N"
        SIGKILLs this process right after the N-th committed write to that stage; "llm:N" after the N-th journaled
        LLM call, "llm@rollout:N" after the N-th of one pipeline stage; "*:N" after the N-th write of any kind."""
        self._kill_after = kill_after
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        fresh = not self._conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'counts'").fetchall()
        self._conn.executescript(SCHEMA)
        if fresh:
            self._backfill_counts()
        self._lock = threading.Lock()
        self._writes: dict[str, int] = {}
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="journal")

    def _backfill_counts(self) -> None:
        """A journal written before the counters existed gets them once, from its rows."""
        self._conn.executescript("""
          BEGIN;
          INSERT INTO counts SELECT job_id, stage, ok, COALESCE(json_extract(payload, '$.origin'), ''), COUNT(*)
            FROM records GROUP BY 1, 2, 3, 4;
          INSERT INTO llm_counts SELECT job_id, stage, SUM(calls), SUM(prompt_tokens + completion_tokens), SUM(cost)
            FROM llm_calls GROUP BY 1, 2;
          COMMIT;
        """)

    async def _off_loop(self, method, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._thread, method, *args)

    def _maybe_die(self, *names: str) -> None:
        if not self._kill_after:
            return
        target, _, count = self._kill_after.rpartition(":")
        with self._lock:
            for counted in (*names, "*"):
                self._writes[counted] = self._writes.get(counted, 0) + 1
            if target in (*names, "*") and self._writes[target] >= int(count):
                os.kill(os.getpid(), signal.SIGKILL)

    def close(self) -> None:
        self._thread.shutdown(wait=True)
        with self._lock:
            self._conn.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction under the lock: committed when the block ends, rolled back if it raises."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def _execute(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    # jobs
    def create_job(self, job_id: str, spec: dict[str, Any]) -> bool:
        """Registers a job; False when it already exists (then it is resumed, spec unchanged)."""
        now = time.time()
        with self._lock:
            cursor = self._conn.execute(
                "INSERT OR IGNORE INTO jobs (id, spec, state, created_at, updated_at) VALUES (?, ?, 'PENDING', ?, ?)",
                (job_id, json.dumps(spec, sort_keys=True), now, now),
            )
            return cursor.rowcount == 1

    def job(self, job_id: str) -> dict[str, Any] | None:
        rows = self._execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,))
        return _job(rows[0]) if rows else None

    def jobs(self) -> list[dict[str, Any]]:
        """Every job, oldest first (one query)."""
        return [_job(r) for r in self._execute(f"SELECT {_JOB_COLUMNS} FROM jobs ORDER BY created_at, id")]

    def set_job(self, job_id: str, **fields: str) -> None:
        sets = ", ".join(f"{k} = ?" for k in fields)
        self._execute(f"UPDATE jobs SET {sets}, updated_at = ? WHERE id = ?", (*fields.values(), time.time(), job_id))

    async def aset_job(self, job_id: str, **fields: str) -> None:
        await self._off_loop(lambda: self.set_job(job_id, **fields))

    # records
    def put(self, job_id: str, stage: str, items: list[tuple[str, Any, bool, str]]) -> int:
        """Writes (key, payload, ok, reason) rows of a stage in one transaction; existing keys are kept. Returns how
        many rows were new."""
        with self._transaction() as conn:
            seq = conn.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM records WHERE job_id = ? AND stage = ?", (job_id, stage)
            ).fetchone()[0]
            added: dict[tuple[int, str], int] = {}
            for key, payload, ok, reason in items:
                seq += 1
                cursor = conn.execute(
                    "INSERT OR IGNORE INTO records (job_id, stage, key, seq, ok, reason, payload) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (job_id, stage, key, seq, int(ok), reason, encode(payload)),
                )
                if cursor.rowcount == 1:
                    origin = payload.get("origin", "") if isinstance(payload, dict) else ""
                    added[int(ok), origin] = added.get((int(ok), origin), 0) + 1
            for (ok_int, origin), n in added.items():
                conn.execute(
                    "INSERT INTO counts VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET n = n + excluded.n",
                    (job_id, stage, ok_int, origin, n),
                )
        self._maybe_die(stage)
        return sum(added.values())

    async def aput(self, job_id: str, stage: str, items: list[tuple[str, Any, bool, str]]) -> int:
        return await self._off_loop(self.put, job_id, stage, items)

    def delete(self, job_id: str, stage: str, keys: list[str]) -> int:
        """Deletes rows of a stage by key (their counts with them); returns how many there were."""
        removed: dict[tuple[int, str], int] = {}
        with self._transaction() as conn:
            for key in keys:
                row = conn.execute(
                    "DELETE FROM records WHERE job_id = ? AND stage = ? AND key = ? RETURNING ok, payload",
                    (job_id, stage, key),
                ).fetchone()
                if row is not None:
                    payload = decode(row[1])
                    origin = payload.get("origin", "") if isinstance(payload, dict) else ""
                    removed[row[0], origin] = removed.get((row[0], origin), 0) + 1
            for (ok, origin), n in removed.items():
                conn.execute(
                    "UPDATE counts SET n = n - ? WHERE job_id = ? AND stage = ? AND ok = ? AND origin = ?",
                    (n, job_id, stage, ok, origin),
                )
        return sum(removed.values())

    def jobs_with(self, stage: str, prefix: str) -> list[str]:
        """Ids of the jobs, starting with `prefix`, that wrote rows of `stage` (the online jobs with episodes)."""
        rows = self._execute(
            "SELECT DISTINCT job_id FROM records WHERE stage = ? AND job_id >= ? AND job_id < ?",
            (stage, prefix, prefix + "\U0010ffff"),
        )
        return sorted(r[0] for r in rows)

    def delete_job(self, job_id: str) -> None:
        """Deletes every row a job wrote, in every table (its records, LLM calls, counts and times)."""
        with self._transaction() as conn:
            for table in ("records", "llm_calls", "counts", "llm_counts", "stage_times"):
                conn.execute(f"DELETE FROM {table} WHERE job_id = ?", (job_id,))
            conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    def has_rows(self, job_id: str) -> bool:
        """Whether any record or LLM call is journaled under `job_id` (with or without a job of that id)."""
        return bool(
            self._execute(
                "SELECT 1 FROM records WHERE job_id = ? UNION ALL SELECT 1 FROM llm_calls WHERE job_id = ? LIMIT 1",
                (job_id, job_id),
            )
        )

    def get(self, job_id: str, stage: str, keys: list[str]) -> dict[str, tuple[Any, bool, str]]:
        """key -> (payload, ok, reason) for those of `keys` that are written."""
        found: dict[str, tuple[Any, bool, str]] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for key, payload, ok, reason in self._execute(
                f"SELECT key, payload, ok, reason FROM records WHERE job_id = ? AND stage = ? AND key IN ({marks})",
                (job_id, stage, *chunk),
            ):
                found[key] = (decode(payload), bool(ok), reason)
        return found

    async def aget(self, job_id: str, stage: str, keys: list[str]) -> dict[str, tuple[Any, bool, str]]:
        return await self._off_loop(self.get, job_id, stage, keys)

    def keys(self, job_id: str, stage: str) -> set[str]:
        return {r[0] for r in self._execute("SELECT key FROM records WHERE job_id = ? AND stage = ?", (job_id, stage))}

    def pending(self, job_id: str, stage: str, done_stage: str, limit: int) -> list[str]:
        """Keys of `stage` with no row yet in `done_stage`, oldest first, at most `limit` (payloads are not read)."""
        return [
            r[0]
            for r in self._execute(
                "SELECT key FROM records WHERE job_id = ? AND stage = ? AND key NOT IN "
                "(SELECT key FROM records WHERE job_id = ? AND stage = ?) ORDER BY seq LIMIT ?",
                (job_id, stage, job_id, done_stage, limit),
            )
        ]

    def records(self, job_id: str, stage: str, ok: bool | None = None) -> Iterator[tuple[str, Any, bool, str]]:
        """(key, payload, ok, reason) in the order they were written."""
        sql = "SELECT key, payload, ok, reason FROM records WHERE job_id = ? AND stage = ?"
        args: tuple = (job_id, stage)
        if ok is not None:
            sql += " AND ok = ?"
            args += (int(ok),)
        for key, payload, row_ok, reason in self._execute(sql + " ORDER BY seq", args):
            yield key, decode(payload), bool(row_ok), reason

    def page(
        self, job_id: str, stage: str, after: int, limit: int, ok: bool | None = None, reason_like: str = ""
    ) -> list[tuple[int, str, Any, bool, str]]:
        """(seq, key, payload, ok, reason) of the rows after sequence number `after`, oldest first, at most `limit`;
        `reason_like` keeps rows whose reason contains it (case-insensitive)."""
        sql = "SELECT seq, key, payload, ok, reason FROM records WHERE job_id = ? AND stage = ? AND seq > ?"
        args: tuple = (job_id, stage, after)
        if ok is not None:
            sql += " AND ok = ?"
            args += (int(ok),)
        if reason_like:
            escaped = reason_like.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            sql += " AND reason LIKE ? ESCAPE '\\'"
            args += (f"%{escaped}%",)
        rows = self._execute(sql + " ORDER BY seq LIMIT ?", (*args, limit))
        return [(seq, key, decode(payload), bool(row_ok), reason) for seq, key, payload, row_ok, reason in rows]

    def count(self, job_id: str, stage: str, ok: bool | None = None) -> int:
        sql = "SELECT COALESCE(SUM(n), 0) FROM counts WHERE job_id = ? AND stage = ?"
        args: tuple = (job_id, stage)
        if ok is not None:
            sql += " AND ok = ?"
            args += (int(ok),)
        return self._execute(sql, args)[0][0]

    def count_by_origin(self, job_id: str, stage: str) -> dict[str, int]:
        """Rows of a stage per the `origin` their payloads carry."""
        return dict(
            self._execute(
                "SELECT origin, SUM(n) FROM counts WHERE job_id = ? AND stage = ? GROUP BY origin", (job_id, stage)
            )
        )

    # LLM calls
    def llm_output(self, job_id: str, key: str) -> dict[str, Any] | None:
        rows = self._execute("SELECT output FROM llm_calls WHERE job_id = ? AND key = ?", (job_id, key))
        return decode(rows[0][0]) if rows else None

    async def allm_output(self, job_id: str, key: str) -> dict[str, Any] | None:
        return await self._off_loop(self.llm_output, job_id, key)

    def put_llm_call(
        self,
        job_id: str,
        key: str,
        stage: str,
        role: str,
        prompt_tokens: int,
        completion_tokens: int,
        cost: float,
        calls: int,
        output: dict[str, Any],
    ) -> None:
        with self._transaction() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO llm_calls VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (job_id, key, stage, role, prompt_tokens, completion_tokens, cost, calls, encode(output)),
            )
            if cursor.rowcount == 1:
                conn.execute(
                    "INSERT INTO llm_counts VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET calls = calls + "
                    "excluded.calls, tokens = tokens + excluded.tokens, cost = cost + excluded.cost",
                    (job_id, stage, calls, prompt_tokens + completion_tokens, cost),
                )
        self._maybe_die("llm", f"llm@{stage}")

    async def aput_llm_call(self, *args: Any) -> None:
        await self._off_loop(self.put_llm_call, *args)

    def put_llm_failure(
        self,
        job_id: str,
        stage: str,
        role: str,
        kind: str,
        reason: str,
        prompt_tokens: int,
        completion_tokens: int,
        cost: float,
        calls: int,
    ) -> None:
        """A call that failed: its attempts, tokens and cost go into the stage's totals (they were spent), and the
        failure is counted by kind with the first reason kept."""
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO llm_failures VALUES (?, ?, ?, ?, 1, ?) ON CONFLICT DO UPDATE SET n = n + 1",
                (job_id, stage, role, kind, reason[:1000]),
            )
            conn.execute(
                "INSERT INTO llm_counts VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET calls = calls + "
                "excluded.calls, tokens = tokens + excluded.tokens, cost = cost + excluded.cost",
                (job_id, stage, calls, prompt_tokens + completion_tokens, cost),
            )

    async def aput_llm_failure(self, *args: Any) -> None:
        await self._off_loop(self.put_llm_failure, *args)

    def llm_failures(self, job_id: str) -> list[tuple[str, str, str, int, str]]:
        """(stage, role, kind, count, first reason) of every kind of failed LLM call of the job."""
        rows = self._execute(
            "SELECT stage, role, kind, n, first_reason FROM llm_failures WHERE job_id = ? ORDER BY stage, role, kind",
            (job_id,),
        )
        return [(r[0], r[1], r[2], int(r[3]), r[4]) for r in rows]

    def llm_totals(self, job_id: str) -> dict[str, tuple[int, int, float]]:
        """Per stage: (calls, tokens, cost) of finished LLM calls."""
        rows = self._execute("SELECT stage, calls, tokens, cost FROM llm_counts WHERE job_id = ?", (job_id,))
        return {r[0]: (int(r[1]), int(r[2]), float(r[3])) for r in rows}

    # wall time
    def add_time(self, job_id: str, stage: str, seconds: float) -> None:
        self._execute(
            "INSERT INTO stage_times VALUES (?, ?, ?) ON CONFLICT(job_id, stage) DO UPDATE SET seconds = seconds + ?",
            (job_id, stage, seconds, seconds),
        )

    def times(self, job_id: str) -> dict[str, float]:
        return {r[0]: r[1] for r in self._execute("SELECT stage, seconds FROM stage_times WHERE job_id = ?", (job_id,))}
