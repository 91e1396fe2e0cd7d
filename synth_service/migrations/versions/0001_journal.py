"""The journal as it was before migrations were versioned: jobs, records, LLM calls and the running counts.

Creates each table that is missing and keeps those that exist, so a journal an earlier lbi wrote (no
`alembic_version` yet) is adopted as it is, rows untouched. A journal written before the counters existed gets them
once, from its rows.

Revision ID: 0001
Revises:
Create Date: 2026-12-08
"""

from __future__ import annotations

import collections

import sqlalchemy as sa
from alembic import op

from synth_service.journal_schema import Payload, Str, decode

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

COUNTED = sa.text("SELECT job_id, stage, ok, payload FROM records")
LLM_BACKFILL = (
    "INSERT INTO llm_counts SELECT job_id, stage, SUM(calls), SUM(prompt_tokens + completion_tokens), SUM(cost) "
    "FROM llm_calls GROUP BY 1, 2"
)


def _backfill_counts() -> None:
    """The counters of a journal's rows, from the rows (payloads decoded as the journal reads them)."""
    bind = op.get_bind()
    found: collections.Counter[tuple[str, str, int, str]] = collections.Counter()
    for job_id, stage, ok, payload in bind.execute(COUNTED):
        value = decode(payload)
        found[job_id, stage, ok, value.get("origin", "") if isinstance(value, dict) else ""] += 1
    rows = [{"job_id": j, "stage": s, "ok": ok, "origin": o, "n": n} for (j, s, ok, o), n in found.items()]
    if rows:
        bind.execute(sa.text("INSERT INTO counts VALUES (:job_id, :stage, :ok, :origin, :n)"), rows)
    bind.execute(sa.text(LLM_BACKFILL))


def _key(name: str) -> sa.Column:
    return sa.Column(name, Str, nullable=False, primary_key=True)


def upgrade() -> None:
    had = set(sa.inspect(op.get_bind()).get_table_names())
    op.create_table(
        "jobs",
        _key("id"),
        sa.Column("spec", Str, nullable=False),
        sa.Column("state", Str, nullable=False),
        sa.Column("stage", Str, nullable=False, server_default=""),
        sa.Column("error", Str, nullable=False, server_default=""),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "records",
        _key("job_id"),
        _key("stage"),
        _key("key"),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("ok", sa.Integer, nullable=False),
        sa.Column("reason", Str, nullable=False, server_default=""),
        sa.Column("payload", Payload, nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "llm_calls",
        _key("job_id"),
        _key("key"),
        sa.Column("stage", Str, nullable=False),
        sa.Column("role", Str, nullable=False),
        sa.Column("prompt_tokens", sa.BigInteger, nullable=False),
        sa.Column("completion_tokens", sa.BigInteger, nullable=False),
        sa.Column("cost", sa.Float, nullable=False),
        sa.Column("calls", sa.BigInteger, nullable=False),
        sa.Column("output", Payload, nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "counts",
        _key("job_id"),
        _key("stage"),
        sa.Column("ok", sa.Integer, nullable=False, primary_key=True),
        _key("origin"),
        sa.Column("n", sa.BigInteger, nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "llm_counts",
        _key("job_id"),
        _key("stage"),
        sa.Column("calls", sa.BigInteger, nullable=False),
        sa.Column("tokens", sa.BigInteger, nullable=False),
        sa.Column("cost", sa.Float, nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "llm_failures",
        _key("job_id"),
        _key("stage"),
        _key("role"),
        _key("kind"),
        sa.Column("n", sa.BigInteger, nullable=False),
        sa.Column("first_reason", Str, nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "stage_times",
        _key("job_id"),
        _key("stage"),
        sa.Column("seconds", sa.Float, nullable=False),
        if_not_exists=True,
    )
    if "records" in had and "counts" not in had:  # only SQLite journals predate the counters
        _backfill_counts()


def downgrade() -> None:
    for table in ("stage_times", "llm_failures", "llm_counts", "counts", "llm_calls", "records", "jobs"):
        op.drop_table(table)
