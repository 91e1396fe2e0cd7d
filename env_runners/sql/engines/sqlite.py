"""SQLite: each session works on a private copy of the database file, or opens it read-only.

A statement still running at the step timeout is interrupted inside SQLite (`sqlite3.Connection.interrupt`).
`ATTACH` is refused by an authorizer: a session may not open another file of the runner.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import urllib.parse
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from env_runners.sql.engines.base import Database, Handle


def _authorize(action: int, *_: Any) -> int:
    return sqlite3.SQLITE_DENY if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH) else sqlite3.SQLITE_OK


class SqliteDatabase(Database):
    title = "SQLite"
    dialect = "sqlite"
    isolation = "private copy"

    @property
    def path(self) -> Path:
        return Path(self.resolved.url.database or "")

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def errors(self) -> tuple[type[BaseException], ...]:
        return (sqlite3.Error, sqlite3.Warning)

    def _uri(self) -> str:
        return f"file:{urllib.parse.quote(str(self.path.absolute()))}?mode=ro"  # any path: spaces, '#', '?'

    def connect(self) -> Handle:
        folder = None
        if self.read_only:
            conn = sqlite3.connect(self._uri(), uri=True, check_same_thread=False)
        else:
            folder = Path(tempfile.mkdtemp(prefix="lbi-sql-"))
            copy = folder / self.path.name
            shutil.copyfile(self.path, copy)
            conn = sqlite3.connect(copy, check_same_thread=False)
        conn.isolation_level = None  # autocommit: each statement is its own transaction
        conn.set_authorizer(_authorize)
        return Handle(conn, scratch=folder)

    def sqlalchemy_engine(self) -> sa.Engine:
        uri = self._uri()
        return sa.create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True, check_same_thread=False))

    def interrupt(self, conn: Handle) -> None:
        conn.dbapi.interrupt()

    def release(self, conn: Handle) -> None:
        try:
            conn.dbapi.close()
        finally:
            if conn.scratch is not None:
                shutil.rmtree(conn.scratch, ignore_errors=True)

    def error_text(self, exc: BaseException) -> str:
        message = str(exc)
        return "interrupted: the statement ran past the step timeout" if message == "interrupted" else message

    def tables_sql(self) -> str:
        return "SELECT NULL, name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
