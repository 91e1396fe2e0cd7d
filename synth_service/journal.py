"""The job journal: every stage's output, durably, in SQLite under the data directory (the embedded default) or in
PostgreSQL (LBI_JOURNAL_URL; where and how it opens is journal_db.py's, its tables journal_schema.py's).

One row per record, keyed by (job, stage, deterministic content key); writes are INSERT ... ON CONFLICT DO NOTHING
and committed before they count, so a job killed at any moment (SIGKILL) resumes with nothing lost and nothing
written twice. Finished LLM calls are journaled too, keyed by their role, model and inputs: on resume a call whose
answer is known is answered from the journal, never sent again. Each query is written once, in SQLAlchemy Core, and
runs on both back ends.

Payloads are JSON, zlib-compressed when longer than a few hundred bytes (a trajectory's observations repeat
much of one another: a candidate's rows shrink several times); rows written as plain JSON text by older
versions are read as they are.

Counts are kept up to date as rows are written (`counts`, `llm_counts`): a job's statistics are a few
small reads however large the job, not a decode of every payload per progress event. The `a*` methods
run the same statements on the journal's own threads, so a pipeline on the event loop never waits on a
commit's fsync.

Several writers of one job (threads, or processes sharing a PostgreSQL journal): a stage's rows are numbered in
write order (`seq`, what pages and `pending` follow) under a lock per (job, stage) (SQLite: the write transaction;
PostgreSQL: a transaction-scoped advisory lock), and counters are incremented in the statement that writes them,
only for rows that were new; so two writers of the same rows store and count them once.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from synth_service.journal_db import journal_url, open_engine, sqlite_url
from synth_service.journal_queries import QUERIES
from synth_service.journal_schema import decode, encode, jobs

if TYPE_CHECKING:
    from synth_service.config import SynthSettings

CHUNK = 500  # keys per IN (...) list
POSTGRES_THREADS = 4  # threads of the a* methods on PostgreSQL (SQLite: one, its connection is one)


def journal_location(settings: SynthSettings) -> Path | str:
    """The service's journal: LBI_JOURNAL_URL when set, else the SQLite file under the data directory."""
    return settings.journal_url or settings.data_dir / "synthesis" / "journal.sqlite"


def _job(row: sa.Row[Any]) -> dict[str, Any]:
    job = dict(row._mapping)
    job["spec"] = json.loads(job["spec"])
    return job


def _origin(payload: Any) -> str:
    return payload.get("origin", "") if isinstance(payload, dict) else ""


def _lock_key(*names: str) -> int:
    """A signed 64-bit advisory lock key for the names (PostgreSQL's pg_advisory_xact_lock)."""
    return int.from_bytes(hashlib.blake2b("\x1f".join(names).encode(), digest_size=8).digest(), "big", signed=True)


class Journal:
    """The journal of one synthesis service's jobs (a SQLite file, or a PostgreSQL database several processes may
    share); safe across threads."""

    def __init__(self, where: Path | str, kill_after: str = ""):
        """`where`: a SQLite file's path, or a journal URL (sqlite:///..., postgresql://...).

        `kill_after` is fault injection for the crash tests only (SynthSettings.test_fault_kill_after): "stage:N"
        SIGKILLs this process right after the N-th committed write to that stage; "llm:N" after the N-th journaled
        LLM call, "llm@rollout:N" after the N-th of one pipeline stage; "*:N" after the N-th write of any kind."""
        self._kill_after = kill_after
        self._engine = open_engine(journal_url(sqlite_url(where) if isinstance(where, Path) else where))
        self._sqlite = self._engine.dialect.name == "sqlite"
        self._q = QUERIES[self._engine.dialect.name]
        # SQLite: one connection for the process, used by one thread at a time (reads outside transactions);
        # PostgreSQL: a connection from the pool per call, reads in autocommit.
        self._lock = threading.Lock()
        self._conn = self._engine.connect() if self._sqlite else None
        self._reads = self._engine.execution_options(isolation_level="AUTOCOMMIT")
        self._count_lock = threading.Lock()
        self._writes: dict[str, int] = {}
        self._thread = ThreadPoolExecutor(1 if self._sqlite else POSTGRES_THREADS, thread_name_prefix="journal")

    async def _off_loop(self, method, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._thread, method, *args)

    def _maybe_die(self, *names: str) -> None:
        if not self._kill_after:
            return
        target, _, count = self._kill_after.rpartition(":")
        with self._count_lock:
            for counted in (*names, "*"):
                self._writes[counted] = self._writes.get(counted, 0) + 1
            if target in (*names, "*") and self._writes[target] >= int(count):
                os.kill(os.getpid(), signal.SIGKILL)

    def close(self) -> None:
        self._thread.shutdown(wait=True)
        with self._lock:
            if self._conn is not None:
                self._conn.close()
            self._engine.dispose()

    @contextlib.contextmanager
    def _connection(self, reads: bool = False) -> Iterator[sa.Connection]:
        if self._conn is not None:
            with self._lock:
                yield self._conn
        else:
            with (self._reads if reads else self._engine).connect() as conn:
                yield conn

    @contextlib.contextmanager
    def _transaction(self, *serialize: str) -> Iterator[sa.Connection]:
        """One write transaction: committed when the block ends, rolled back if it raises. Transactions naming the same
        `serialize` values run one after another (on SQLite every write transaction does)."""
        with self._connection() as conn:
            if self._sqlite:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            elif serialize:
                conn.execute(self._q.advisory_lock, {"lock": _lock_key(*serialize)})
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    def _read(self, statement: sa.Executable, **params: Any) -> list[Any]:
        with self._connection(reads=True) as conn:
            return list(conn.execute(statement, params))

    def _write(self, statement: sa.Executable, **params: Any) -> list[Any]:
        """One statement in a transaction of its own; returns the rows it returns."""
        with self._transaction() as conn:
            result = conn.execute(statement, params)
            return list(result) if result.returns_rows else []

    # jobs
    def create_job(self, job_id: str, spec: dict[str, Any]) -> bool:
        """Registers a job; False when it already exists (then it is resumed, spec unchanged)."""
        now, spec_text = time.time(), json.dumps(spec, sort_keys=True)
        created = self._write(
            self._q.create_job, id=job_id, spec=spec_text, state="PENDING", created_at=now, updated_at=now
        )
        return bool(created)

    def job(self, job_id: str) -> dict[str, Any] | None:
        rows = self._read(self._q.job, job_id=job_id)
        return _job(rows[0]) if rows else None

    def jobs(self) -> list[dict[str, Any]]:
        """Every job, oldest first (one query)."""
        return [_job(r) for r in self._read(self._q.jobs)]

    def set_job(self, job_id: str, **fields: str) -> None:
        self._write(sa.update(jobs).where(jobs.c.id == job_id).values(**fields, updated_at=time.time()))

    async def aset_job(self, job_id: str, **fields: str) -> None:
        await self._off_loop(lambda: self.set_job(job_id, **fields))

    # records
    def put(self, job_id: str, stage: str, items: list[tuple[str, Any, bool, str]]) -> int:
        """Writes (key, payload, ok, reason) rows of a stage in one transaction; existing keys are kept. Returns how
        many rows were new."""
        if not items:
            return 0
        with self._transaction(job_id, stage) as conn:
            seq = conn.execute(self._q.next_seq, {"job_id": job_id, "stage": stage}).scalar_one()
            rows, kinds = [], {}
            for key, payload, ok, reason in items:
                seq += 1
                if key not in kinds:  # of a key given twice in one call, the first is kept
                    kinds[key] = (int(ok), _origin(payload))
                    row = {"job_id": job_id, "stage": stage, "key": key, "seq": seq, "ok": int(ok), "reason": reason}
                    rows.append(row | {"payload": encode(payload)})
            added = collections.Counter(kinds[key] for key in conn.execute(self._q.put, rows).scalars())
            for (ok_int, origin), n in added.items():
                conn.execute(
                    self._q.add_count, {"job_id": job_id, "stage": stage, "ok": ok_int, "origin": origin, "n": n}
                )
        self._maybe_die(stage)
        return sum(added.values())

    async def aput(self, job_id: str, stage: str, items: list[tuple[str, Any, bool, str]]) -> int:
        return await self._off_loop(self.put, job_id, stage, items)

    def delete(self, job_id: str, stage: str, keys: list[str]) -> int:
        """Deletes rows of a stage by key (their counts with them); returns how many there were."""
        removed: collections.Counter[tuple[int, str]] = collections.Counter()
        with self._transaction(job_id, stage) as conn:
            for start in range(0, len(keys), CHUNK):
                chunk = keys[start : start + CHUNK]
                for ok, payload in conn.execute(self._q.delete, {"j": job_id, "s": stage, "keys": chunk}):
                    removed[ok, _origin(decode(payload))] += 1
            for (ok, origin), n in removed.items():
                conn.execute(self._q.uncount, {"j": job_id, "s": stage, "o": ok, "g": origin, "removed": n})
        return sum(removed.values())

    def jobs_with(self, stage: str, prefix: str) -> list[str]:
        """Ids of the jobs, starting with `prefix`, that wrote rows of `stage` (the online jobs with episodes)."""
        rows = self._read(self._q.jobs_with, stage=stage, low=prefix, high=prefix + "\U0010ffff")
        return sorted(r[0] for r in rows)

    def delete_job(self, job_id: str) -> None:
        """Deletes every row a job wrote, in every table (its records, LLM calls and failures, counts and times)."""
        with self._transaction(job_id) as conn:
            for statement in self._q.delete_job:
                conn.execute(statement, {"j": job_id})

    def has_rows(self, job_id: str) -> bool:
        """Whether any record or LLM call is journaled under `job_id` (with or without a job of that id)."""
        return bool(self._read(self._q.has_rows, j=job_id)[0][0])

    def get(self, job_id: str, stage: str, keys: list[str]) -> dict[str, tuple[Any, bool, str]]:
        """key -> (payload, ok, reason) for those of `keys` that are written."""
        if len(keys) == 1:  # what a stage asks before each item's work
            rows = self._read(self._q.get_one, job_id=job_id, stage=stage, key=keys[0])
        else:
            rows = []
            for start in range(0, len(keys), CHUNK):
                rows += self._read(self._q.get, job_id=job_id, stage=stage, keys=keys[start : start + CHUNK])
        return {key: (decode(payload), bool(ok), reason) for key, payload, ok, reason in rows}

    async def aget(self, job_id: str, stage: str, keys: list[str]) -> dict[str, tuple[Any, bool, str]]:
        return await self._off_loop(self.get, job_id, stage, keys)

    def keys(self, job_id: str, stage: str) -> set[str]:
        return {r[0] for r in self._read(self._q.keys, job_id=job_id, stage=stage)}

    def pending(self, job_id: str, stage: str, done_stage: str, limit: int) -> list[str]:
        """Keys of `stage` with no row yet in `done_stage`, oldest first, at most `limit` (payloads are not read)."""
        rows = self._read(self._q.pending, job_id=job_id, stage=stage, done_stage=done_stage, limit=limit)
        return [r[0] for r in rows]

    def records(self, job_id: str, stage: str, ok: bool | None = None) -> Iterator[tuple[str, Any, bool, str]]:
        """(key, payload, ok, reason) in the order they were written."""
        statement = self._q.records[ok is not None]
        for key, payload, row_ok, reason in self._read(statement, job_id=job_id, stage=stage, ok=int(bool(ok))):
            yield key, decode(payload), bool(row_ok), reason

    def page(
        self, job_id: str, stage: str, after: int, limit: int, ok: bool | None = None, reason_like: str = ""
    ) -> list[tuple[int, str, Any, bool, str]]:
        """(seq, key, payload, ok, reason) of the rows after sequence number `after`, oldest first, at most `limit`;
        `reason_like` keeps rows whose reason contains it (case-insensitive)."""
        escaped = reason_like.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self._read(
            self._q.page[ok is not None, bool(reason_like)],
            job_id=job_id,
            stage=stage,
            ok=int(bool(ok)),
            pattern=f"%{escaped}%",
            after=after,
            limit=limit,
        )
        return [(seq, key, decode(payload), bool(row_ok), reason) for seq, key, payload, row_ok, reason in rows]

    def count(self, job_id: str, stage: str, ok: bool | None = None) -> int:
        return int(self._read(self._q.count[ok is not None], job_id=job_id, stage=stage, ok=int(bool(ok)))[0][0])

    def count_by_origin(self, job_id: str, stage: str) -> dict[str, int]:
        """Rows of a stage per the `origin` their payloads carry."""
        return {origin: int(n) for origin, n in self._read(self._q.count_by_origin, job_id=job_id, stage=stage)}

    # LLM calls
    def llm_output(self, job_id: str, key: str) -> dict[str, Any] | None:
        rows = self._read(self._q.llm_output, job_id=job_id, key=key)
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
        call = {"job_id": job_id, "key": key, "stage": stage, "role": role, "prompt_tokens": prompt_tokens}
        call |= {"completion_tokens": completion_tokens, "cost": cost, "calls": calls, "output": encode(output)}
        totals = {"job_id": job_id, "stage": stage, "calls": calls, "tokens": prompt_tokens + completion_tokens}
        with self._transaction() as conn:
            if conn.execute(self._q.put_llm_call, call).first() is not None:
                conn.execute(self._q.add_llm_totals, totals | {"cost": cost})
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
        failure = {"job_id": job_id, "stage": stage, "role": role, "kind": kind, "n": 1, "first_reason": reason[:1000]}
        totals = {"job_id": job_id, "stage": stage, "calls": calls, "tokens": prompt_tokens + completion_tokens}
        with self._transaction() as conn:
            conn.execute(self._q.add_llm_failure, failure)
            conn.execute(self._q.add_llm_totals, totals | {"cost": cost})

    async def aput_llm_failure(self, *args: Any) -> None:
        await self._off_loop(self.put_llm_failure, *args)

    def llm_failures(self, job_id: str) -> list[tuple[str, str, str, int, str]]:
        """(stage, role, kind, count, first reason) of every kind of failed LLM call of the job."""
        return [(r[0], r[1], r[2], int(r[3]), r[4]) for r in self._read(self._q.llm_failures, job_id=job_id)]

    def llm_totals(self, job_id: str) -> dict[str, tuple[int, int, float]]:
        """Per stage: (calls, tokens, cost) of finished LLM calls."""
        return {r[0]: (int(r[1]), int(r[2]), float(r[3])) for r in self._read(self._q.llm_totals, job_id=job_id)}

    # wall time
    def add_time(self, job_id: str, stage: str, seconds: float) -> None:
        self._write(self._q.add_time, job_id=job_id, stage=stage, seconds=seconds)

    def times(self, job_id: str) -> dict[str, float]:
        return {r[0]: float(r[1]) for r in self._read(self._q.times, job_id=job_id)}
