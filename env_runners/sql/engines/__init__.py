"""The engines a sql session can run on, by the backend of its URL; `open_database` is the one way in."""

from __future__ import annotations

from pathlib import Path

from env_runners.sql.engines.base import Database, Handle, SqlSession, action_space
from env_runners.sql.engines.duckdb import DuckDatabase
from env_runners.sql.engines.file import FileDatabase
from env_runners.sql.engines.mysql import MySqlDatabase
from env_runners.sql.engines.postgres import PostgresDatabase
from env_runners.sql.engines.sqlite import SqliteDatabase
from env_runners.sql.url import FIELD, Resolved
from lbi.errors import InvalidArgument
from lbi.paths import opened

ENGINES: dict[str, type[Database]] = {
    "sqlite": SqliteDatabase,
    "duckdb": DuckDatabase,
    "postgresql": PostgresDatabase,
    "mysql": MySqlDatabase,
    "mariadb": MySqlDatabase,
}
SQLITE_MAGIC = b"SQLite format 3\x00"

__all__ = ["ENGINES", "Database", "Handle", "SqlSession", "action_space", "database_for"]


def database_for(resolved: Resolved, read_only: bool, timeout_s: float, field: str = FIELD) -> Database:
    """The engine's `Database` for a resolved URL; a file engine's file must exist (INVALID_ARGUMENT on `field`)."""
    backend = resolved.url.get_backend_name()
    database = ENGINES[backend](resolved, read_only, timeout_s)
    if isinstance(database, FileDatabase):
        database.field = field
        path = Path(resolved.url.database or "")
        if not resolved.url.database or resolved.url.database == ":memory:" or not path.is_file():
            raise InvalidArgument(field, f"no such {database.title} file: {resolved.url.database or '(none given)'}")
        if backend == "sqlite":
            with opened(field, path) as checked, open(checked, "rb") as handle:
                if handle.read(16) != SQLITE_MAGIC:
                    raise InvalidArgument(field, f"not a SQLite database: {resolved.url.database}")
    return database
