"""Where the job journal lives and how it is opened: a SQLite file under the data directory (the embedded default) or
a PostgreSQL database named by URL (LBI_JOURNAL_URL); the schema brought to the newest revision on open.

SQLite: one connection for the process (WAL, synchronous=FULL), used under the journal's lock, writes in
BEGIN IMMEDIATE transactions. PostgreSQL: a pool of connections (psycopg 3), checked before use, so several threads
and several processes write one journal at once; the journal serializes what must be (journal.py).

Migrations are Alembic revisions (synth_service/migrations/), run in one transaction at open, under the database's
lock, so services starting together migrate once. A journal written before revisions existed (no `alembic_version`
table) is adopted by the first revision as it is.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK = 4040_0001  # pg_advisory_xact_lock key held while the schema is migrated
POOL_SIZE = 8
_migrating = threading.Lock()


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def journal_url(url: str) -> sa.URL:
    """A journal URL as the engine opens it: postgresql:// (or postgres://) means psycopg 3."""
    parsed = sa.make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError(f"journal URL {parsed.render_as_string()}: only sqlite:// and postgresql:// journals exist")
    return parsed


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def open_engine(url: sa.URL) -> sa.Engine:
    """An engine for the journal at `url` (a SQLite file's folder is made), its schema migrated."""
    if url.get_backend_name() == "sqlite":
        if url.database:
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, poolclass=sa.pool.StaticPool, connect_args={"check_same_thread": False})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = sa.create_engine(url, pool_size=POOL_SIZE, max_overflow=POOL_SIZE, pool_pre_ping=True)
    try:
        migrate(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def migrate(engine: sa.Engine, revision: str = "head") -> None:
    """Brings the journal's schema to `revision` (the newest by default), in one transaction that holds the database's
    write lock (SQLite) or an advisory lock (PostgreSQL) throughout: of processes starting together, one migrates and
    the others find it done. Within a process, one migration at a time (Alembic loads its scripts unlocked)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with _migrating, engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK)))
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        conn.commit()
