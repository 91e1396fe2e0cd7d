"""Every statement of the job journal, written once in SQLAlchemy Core and built once per back end (SQLite or
PostgreSQL differ only in their INSERT ... ON CONFLICT construct), with named parameters: a call only binds its values,
so SQLAlchemy's compiled cache serves every execution after the first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from synth_service.journal_schema import (
    PER_JOB,
    counts,
    jobs,
    llm_calls,
    llm_counts,
    llm_failures,
    records,
    stage_times,
)

P = sa.bindparam
_r = records.c
_PAYLOAD_ROW = (_r.key, _r.payload, _r.ok, _r.reason)
_PAGE_ROW = (_r.seq, *_PAYLOAD_ROW)


def _stage_rows(*columns: Any, ok: bool, after: bool = False, reason: bool = False) -> sa.Select[Any]:
    """Rows of (:job_id, :stage) in write order; with `ok`, those of :ok only; `after`: past :after, at most :limit;
    `reason`: whose reason contains :pattern (case-insensitive, a LIKE pattern with backslash escapes)."""
    statement = sa.select(*columns).where(_r.job_id == P("job_id"), _r.stage == P("stage"))
    if ok:
        statement = statement.where(_r.ok == P("ok"))
    if reason:
        statement = statement.where(_r.reason.ilike(P("pattern"), escape="\\"))
    if after:
        statement = statement.where(_r.seq > P("after")).limit(P("limit"))
    return statement.order_by(_r.seq)


class Queries:
    """The journal's statements for one back end; `insert` is its dialect's insert (with on_conflict_do_*)."""

    def __init__(self, insert: Callable[[sa.Table], Any]):
        def add(table: sa.Table, key: tuple[str, ...], summed: tuple[str, ...]) -> Any:
            """INSERT, or when a row of the same `key` exists, its `summed` columns increased by the new row's (one
            statement: concurrent writers add up, none is lost)."""
            statement = insert(table)
            return statement.on_conflict_do_update(
                index_elements=[table.c[k] for k in key], set_={c: table.c[c] + statement.excluded[c] for c in summed}
            )

        # jobs
        self.job = sa.select(jobs).where(jobs.c.id == P("job_id"))
        self.jobs = sa.select(jobs).order_by(jobs.c.created_at, jobs.c.id)
        self.create_job = insert(jobs).on_conflict_do_nothing().returning(jobs.c.id)  # a row when new
        # records
        self.next_seq = sa.select(sa.func.coalesce(sa.func.max(_r.seq), 0)).where(
            _r.job_id == P("job_id"), _r.stage == P("stage")
        )
        self.put = insert(records).on_conflict_do_nothing().returning(_r.key)
        self.add_count = add(counts, ("job_id", "stage", "ok", "origin"), ("n",))
        self.delete = (
            sa.delete(records)
            .where(_r.job_id == P("j"), _r.stage == P("s"), _r.key.in_(P("keys", expanding=True)))
            .returning(_r.ok, _r.payload)
        )
        self.uncount = (
            sa.update(counts)
            .where(
                counts.c.job_id == P("j"), counts.c.stage == P("s"), counts.c.ok == P("o"), counts.c.origin == P("g")
            )
            .values(n=counts.c.n - P("removed"))
        )
        self.jobs_with = (
            sa.select(_r.job_id).distinct().where(_r.stage == P("stage"), _r.job_id >= P("low"), _r.job_id < P("high"))
        )
        self.delete_job = [sa.delete(table).where(table.c.job_id == P("j")) for table in PER_JOB]
        self.delete_job.append(sa.delete(jobs).where(jobs.c.id == P("j")))
        self.has_rows = sa.select(
            sa.or_(sa.exists().where(_r.job_id == P("j")), sa.exists().where(llm_calls.c.job_id == P("j")))
        )
        self.get_one = _stage_rows(*_PAYLOAD_ROW, ok=False).where(_r.key == P("key"))
        self.get = _stage_rows(*_PAYLOAD_ROW, ok=False).where(_r.key.in_(P("keys", expanding=True)))
        self.keys = _stage_rows(_r.key, ok=False)
        done = sa.select(records.c.key).where(records.c.job_id == P("job_id"), records.c.stage == P("done_stage"))
        self.pending = _stage_rows(_r.key, ok=False).where(_r.key.not_in(done)).limit(P("limit"))
        self.records = {ok: _stage_rows(*_PAYLOAD_ROW, ok=ok) for ok in (False, True)}
        self.page = {
            (ok, reason): _stage_rows(*_PAGE_ROW, ok=ok, after=True, reason=reason)
            for ok in (False, True)
            for reason in (False, True)
        }
        where = (counts.c.job_id == P("job_id"), counts.c.stage == P("stage"))
        self.count = {
            False: sa.select(sa.func.coalesce(sa.func.sum(counts.c.n), 0)).where(*where),
            True: sa.select(sa.func.coalesce(sa.func.sum(counts.c.n), 0)).where(*where, counts.c.ok == P("ok")),
        }
        self.count_by_origin = (
            sa.select(counts.c.origin, sa.func.sum(counts.c.n)).where(*where).group_by(counts.c.origin)
        )
        # LLM calls
        self.llm_output = sa.select(llm_calls.c.output).where(
            llm_calls.c.job_id == P("job_id"), llm_calls.c.key == P("key")
        )
        self.put_llm_call = insert(llm_calls).on_conflict_do_nothing().returning(llm_calls.c.key)  # a row when new
        self.add_llm_totals = add(llm_counts, ("job_id", "stage"), ("calls", "tokens", "cost"))
        self.add_llm_failure = add(llm_failures, ("job_id", "stage", "role", "kind"), ("n",))
        f = llm_failures.c
        self.llm_failures = (
            sa.select(f.stage, f.role, f.kind, f.n, f.first_reason)
            .where(f.job_id == P("job_id"))
            .order_by(f.stage, f.role, f.kind)
        )
        c = llm_counts.c
        self.llm_totals = sa.select(c.stage, c.calls, c.tokens, c.cost).where(c.job_id == P("job_id"))
        # wall time
        self.add_time = add(stage_times, ("job_id", "stage"), ("seconds",))
        self.times = sa.select(stage_times.c.stage, stage_times.c.seconds).where(stage_times.c.job_id == P("job_id"))
        # PostgreSQL only: a lock held until the transaction ends
        self.advisory_lock = sa.select(sa.func.pg_advisory_xact_lock(P("lock", type_=sa.BigInteger)))


QUERIES = {"sqlite": Queries(sqlite.insert), "postgresql": Queries(postgresql.insert)}
