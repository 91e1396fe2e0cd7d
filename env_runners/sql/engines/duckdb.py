"""DuckDB: each session works on a private copy of the database file and its write-ahead log (opened read-only for
a read-only session). A statement still running at the step timeout is interrupted (`DuckDBPyConnection.interrupt`), the
engine's own means; DuckDB has no statement-timeout setting.

A session may not reach outside its database: `enable_external_access = false` refuses files, URLs, `ATTACH`
and extensions, and `lock_configuration = true` keeps the agent from turning that back on.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import sqlalchemy as sa

from env_runners.sql.engines.base import Handle
from env_runners.sql.engines.file import FileDatabase

LOCKED = {
    "enable_external_access": "false",
    "lock_configuration": "true",
    "autoinstall_known_extensions": "false",
    "autoload_known_extensions": "false",
}


class DuckDatabase(FileDatabase):
    title = "DuckDB"
    dialect = "duckdb"
    companions = (".wal",)

    @property
    def errors(self) -> tuple[type[BaseException], ...]:
        return (duckdb.Error,)

    def connect(self) -> Handle:
        copy = self.private_copy()
        try:
            return Handle(duckdb.connect(str(copy), read_only=self.read_only, config=dict(LOCKED)), scratch=copy.parent)
        except BaseException:
            shutil.rmtree(copy.parent, ignore_errors=True)
            raise

    def copy_engine(self, copy: Path) -> sa.Engine:
        return sa.create_engine(
            sa.URL.create("duckdb", database=str(copy)),
            poolclass=sa.pool.NullPool,
            connect_args={"read_only": True, "config": dict(LOCKED)},
        )

    def cursor(self, conn: Handle) -> duckdb.DuckDBPyConnection:
        return conn.dbapi  # a DuckDB cursor() is a second connection, which interrupt() would not reach

    def version(self, conn: Handle) -> str:
        return str(conn.dbapi.execute("SELECT version()").fetchone()[0])
