"""SQLite: each session works on a private copy of the database file (opened read-only for a read-only session).

A statement still running at the step timeout is interrupted inside SQLite (`sqlite3.Connection.interrupt`).
`ATTACH` is refused by an authorizer: a session may not open another file of the runner.
"""

from __future__ import annotations

import shutil
import sqlite3
import urllib.parse
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from env_runners.sql.engines.base import Handle
from env_runners.sql.engines.file import FileDatabase


def _authorize(action: int, *_: Any) -> int:
    return sqlite3.SQLITE_DENY if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH) else sqlite3.SQLITE_OK


class SqliteDatabase(FileDatabase):
    title = "SQLite"
    dialect = "sqlite"

    @property
    def errors(self) -> tuple[type[BaseException], ...]:
        return (sqlite3.Error, sqlite3.Warning)

    @staticmethod
    def _read_only(copy: Path) -> sqlite3.Connection:
        uri = f"file:{urllib.parse.quote(str(copy))}?mode=ro"  # any path: spaces, '#', '?'
        return sqlite3.connect(uri, uri=True, check_same_thread=False)

    def connect(self) -> Handle:
        copy = self.private_copy()
        try:
            conn = self._read_only(copy) if self.read_only else sqlite3.connect(copy, check_same_thread=False)
        except BaseException:
            shutil.rmtree(copy.parent, ignore_errors=True)
            raise
        conn.isolation_level = None  # autocommit: each statement is its own transaction
        conn.set_authorizer(_authorize)
        return Handle(conn, scratch=copy.parent)

    def copy_engine(self, copy: Path) -> sa.Engine:
        return sa.create_engine("sqlite://", creator=lambda: self._read_only(copy))

    def error_text(self, exc: BaseException) -> str:
        message = str(exc)
        return "interrupted: the statement ran past the step timeout" if message == "interrupted" else message

    def tables_sql(self) -> str:
        return "SELECT NULL, name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
