"""What the file engines share (SQLite, DuckDB): a session works on a private copy of the database file, removed
when it closes; a read-only session opens its copy read-only.

The copy is read through one descriptor of the path that was checked (lbi.paths.opened), and so are the file's
companions (DuckDB's write-ahead log): nothing is opened again by name, so a file swapped for a link after the
check, a companion that is a link, or a hard link to lbi's journal is refused, never read.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from abc import abstractmethod
from pathlib import Path

import sqlalchemy as sa

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
        """A copy of the file (and its companions) in a folder of its own; the folder goes with the session."""
        folder = Path(tempfile.mkdtemp(prefix=f"lbi-{self.dialect}-"))
        copy = folder / self.path.name
        try:
            for suffix in ("", *self.companions):
                source = self.path.with_name(self.path.name + suffix)
                if suffix and not os.path.lexists(source):
                    continue
                with opened(self.field, source) as checked:
                    shutil.copyfile(checked, copy.with_name(copy.name + suffix))
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return copy

    def sqlalchemy_engine(self) -> sa.Engine:
        """For introspection: an engine on a read-only private copy, removed with the engine."""
        copy = self.private_copy()
        engine = self.copy_engine(copy)
        weakref.finalize(engine, shutil.rmtree, copy.parent, True)
        return engine

    @abstractmethod
    def copy_engine(self, copy: Path) -> sa.Engine:
        """A SQLAlchemy engine that opens `copy` read-only."""

    def release(self, conn: Handle) -> None:
        try:
            conn.dbapi.close()
        finally:
            if conn.scratch is not None:
                shutil.rmtree(conn.scratch, ignore_errors=True)

    def interrupt(self, conn: Handle) -> None:
        conn.dbapi.interrupt()
