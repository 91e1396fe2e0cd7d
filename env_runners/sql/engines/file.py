"""What the file engines share (SQLite, DuckDB): a session works on a private copy of the database file, removed
when it closes, or opens the file itself read-only."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from env_runners.sql.engines.base import Database, Handle
from lbi.paths import opened


class FileDatabase(Database):
    isolation = "private copy"
    companions: tuple[str, ...] = ()  # files beside the database that belong to it (DuckDB's write-ahead log)
    field = "config.database"  # the config field that named the file (database_for sets it)

    @property
    def path(self) -> Path:
        return Path(self.resolved.url.database or "")

    @property
    def name(self) -> str:
        return self.path.name

    def private_copy(self) -> Path:
        """A copy of the file (and its companions) in a folder of its own; the folder goes with the session. The file
        is read through one descriptor of the path that was checked (lbi.paths.opened)."""
        folder = Path(tempfile.mkdtemp(prefix=f"lbi-{self.dialect}-"))
        copy = folder / self.path.name
        try:
            with opened(self.field, self.path) as source:
                shutil.copyfile(source, copy)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        for suffix in self.companions:
            companion = self.path.with_name(self.path.name + suffix)
            if companion.exists():
                shutil.copyfile(companion, copy.with_name(copy.name + suffix))
        return copy

    def release(self, conn: Handle) -> None:
        try:
            conn.dbapi.close()
        finally:
            if conn.scratch is not None:
                shutil.rmtree(conn.scratch, ignore_errors=True)

    def interrupt(self, conn: Handle) -> None:
        conn.dbapi.interrupt()
