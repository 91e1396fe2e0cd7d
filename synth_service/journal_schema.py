"""The job journal's tables as the journal's queries see them (SQLAlchemy Core), one definition for SQLite and
PostgreSQL; synth_service/migrations/ creates and changes them, one versioned revision at a time.

Rows are keyed by (job, stage, content key), so a work item of a stage is named by the same three values: a table of
leased work items (owner, lease expiry, attempts) can join `records` on them without changing it.

Two column types differ by back end. Text compares bytewise on both (PostgreSQL columns use the "C" collation, as
SQLite's BINARY does), so orderings and a job-id prefix's range are the same everywhere. A payload is JSON text or
zlib-compressed JSON: SQLite stores either as it is (TEXT or BLOB in one column, as journals written before this
module hold them); PostgreSQL stores bytes (BYTEA), JSON text as its UTF-8 (`decode` tells them apart).
"""

from __future__ import annotations

import json
import zlib
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

COMPRESS_ABOVE = 512  # bytes of JSON from which a payload is stored compressed


def encode(value: Any) -> str | bytes:
    """A payload as stored: JSON text, or zlib-compressed JSON bytes (a BLOB) when it is long."""
    text = json.dumps(value, ensure_ascii=False)
    return zlib.compress(text.encode(), 1) if len(text) > COMPRESS_ABOVE else text


def decode(stored: str | bytes | memoryview) -> Any:
    """A stored payload's value: text is JSON; bytes are compressed JSON (zlib's header starts with 'x', which no JSON
    text does) or, on PostgreSQL, JSON text's UTF-8."""
    if isinstance(stored, str):
        return json.loads(stored)
    data = bytes(stored)
    return json.loads(zlib.decompress(data) if data[:1] == b"x" else data)


class Str(sa.types.TypeDecorator[str]):
    """Text compared bytewise; PostgreSQL cannot hold NUL characters in text, so they are dropped there."""

    impl = sa.Text
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.TEXT(collation="C"))
        return dialect.type_descriptor(sa.Text())

    def process_bind_param(self, value: str | None, dialect: sa.Dialect) -> str | None:
        if dialect.name == "postgresql" and value is not None and "\x00" in value:
            return value.replace("\x00", "")
        return value


class Payload(sa.types.TypeDecorator[Any]):
    """JSON text or compressed JSON bytes: as they are on SQLite, as bytes on PostgreSQL."""

    impl = sa.Text
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.BYTEA())
        return dialect.type_descriptor(sa.Text())

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        if dialect.name == "postgresql" and isinstance(value, str):
            return value.encode()
        return value


metadata = sa.MetaData()

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", Str, primary_key=True),
    sa.Column("spec", Str, nullable=False),
    sa.Column("state", Str, nullable=False),
    sa.Column("stage", Str, nullable=False, server_default=""),
    sa.Column("error", Str, nullable=False, server_default=""),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

records = sa.Table(
    "records",
    metadata,
    sa.Column("job_id", Str, primary_key=True),
    sa.Column("stage", Str, primary_key=True),
    sa.Column("key", Str, primary_key=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("ok", sa.Integer, nullable=False),
    sa.Column("reason", Str, nullable=False, server_default=""),
    sa.Column("payload", Payload, nullable=False),
)

llm_calls = sa.Table(
    "llm_calls",
    metadata,
    sa.Column("job_id", Str, primary_key=True),
    sa.Column("key", Str, primary_key=True),
    sa.Column("stage", Str, nullable=False),
    sa.Column("role", Str, nullable=False),
    sa.Column("prompt_tokens", sa.BigInteger, nullable=False),
    sa.Column("completion_tokens", sa.BigInteger, nullable=False),
    sa.Column("cost", sa.Float, nullable=False),
    sa.Column("calls", sa.BigInteger, nullable=False),
    sa.Column("output", Payload, nullable=False),
)

counts = sa.Table(
    "counts",
    metadata,
    sa.Column("job_id", Str, primary_key=True),
    sa.Column("stage", Str, primary_key=True),
    sa.Column("ok", sa.Integer, primary_key=True),
    sa.Column("origin", Str, primary_key=True),
    sa.Column("n", sa.BigInteger, nullable=False),
)

llm_counts = sa.Table(
    "llm_counts",
    metadata,
    sa.Column("job_id", Str, primary_key=True),
    sa.Column("stage", Str, primary_key=True),
    sa.Column("calls", sa.BigInteger, nullable=False),
    sa.Column("tokens", sa.BigInteger, nullable=False),
    sa.Column("cost", sa.Float, nullable=False),
)

llm_failures = sa.Table(
    "llm_failures",
    metadata,
    sa.Column("job_id", Str, primary_key=True),
    sa.Column("stage", Str, primary_key=True),
    sa.Column("role", Str, primary_key=True),
    sa.Column("kind", Str, primary_key=True),
    sa.Column("n", sa.BigInteger, nullable=False),
    sa.Column("first_reason", Str, nullable=False),
)

stage_times = sa.Table(
    "stage_times",
    metadata,
    sa.Column("job_id", Str, primary_key=True),
    sa.Column("stage", Str, primary_key=True),
    sa.Column("seconds", sa.Float, nullable=False),
)

PER_JOB = (records, llm_calls, counts, llm_counts, llm_failures, stage_times)  # tables with a job_id column
