"""The `sql` environment: one real SQLite database per session, actions are SQL statements.

Each session works on a private copy of the database file (writes never leak between sessions), or
opens it read-only. Observations are compact result tables or the engine's exact error message.
A statement still running at the step timeout is interrupted inside SQLite.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path

from pydantic import Field

from env_runners.base import EnvConfig, Environment, Session, StepResult, Turn, Verdict
from env_runners.sql import sample_db
from env_runners.sql.checks import SqlResultCheck, judge_result
from env_runners.sql.introspect import introspect_sqlite
from env_runners.sql.table_text import format_table
from lbi.errors import InvalidArgument
from lbi.ingest import SourceError, ingest, resources_from_files
from lbi.records import Resource

DOCS_DIR = Path(__file__).parent / "docs"
COUNT_LIMIT = 10_000


class SqlConfig(EnvConfig):
    database: str = Field("", description="Path of a SQLite file; empty uses the sample shop database.")
    read_only: bool = Field(False, description="Open the database read-only instead of on a private copy.")
    max_rows: int = Field(20, ge=1, le=1000, description="Rows shown in an observation.")
    setup_sql: str = Field("", description="SQL script run on the session's copy before the first observation.")
    resources: list[str] = Field(default_factory=list, description="Markdown, HTML or text files/folders of documentation, used besides what is read from the database itself (schema, values, worked examples).")


class SqlSession(Session):
    def __init__(self, source: Path, config: SqlConfig):
        self.source = source
        self.config = config
        self._dir = tempfile.mkdtemp(prefix="lbi-sql-")
        self.name = source.name
        if config.read_only:
            self.conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True, check_same_thread=False)
        else:
            copy = Path(self._dir) / source.name
            shutil.copyfile(source, copy)
            self.conn = sqlite3.connect(copy, check_same_thread=False)
        self.conn.isolation_level = None  # autocommit: each statement is its own transaction
        self._lock = threading.Lock()
        if config.setup_sql:
            try:
                self.conn.executescript(config.setup_sql)
            except sqlite3.Error as exc:
                self.close()
                raise InvalidArgument("config.setup_sql", str(exc)) from None

    def first_observation(self) -> str:
        tables = [r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        counts = ", ".join(f"{t} ({self._count(t)} rows)" for t in tables)
        mode = "read-only" if self.config.read_only else "private copy"
        return f"Connected to SQLite database {self.name} ({mode}).\nTables: {counts or 'none'}.\nEach action is one SQL statement."

    def _count(self, table: str) -> int:
        quoted = '"' + table.replace('"', '""') + '"'
        return self.conn.execute(f"SELECT COUNT(*) FROM {quoted}").fetchone()[0]

    def step(self, action: str) -> StepResult:
        statement = action.strip()
        if not statement:
            return StepResult("Error: empty statement; send one SQL statement.", error=True)
        with self._lock:
            try:
                cursor = self.conn.execute(statement)
                if cursor.description is None:
                    affected = max(cursor.rowcount, 0)
                    return StepResult(f"OK: statement executed; {affected} row(s) affected.", info={"rows_affected": affected})
                columns = [d[0] for d in cursor.description]
                shown = cursor.fetchmany(self.config.max_rows)
                rest = cursor.fetchmany(COUNT_LIMIT - len(shown)) if len(shown) == self.config.max_rows else []
                exact = len(rest) < COUNT_LIMIT - len(shown) or not rest
                total = len(shown) + len(rest) + (0 if exact else 1)
                return StepResult(format_table(columns, shown, total, exact), info={"rows": total, "columns": columns})
            except sqlite3.Warning as exc:
                return StepResult(f"Error: {exc}", error=True)
            except sqlite3.Error as exc:
                message = str(exc)
                if message == "interrupted":
                    message = "interrupted: the statement ran past the step timeout"
                return StepResult(f"Error: {message}", error=True)

    def interrupt(self) -> None:
        self.conn.interrupt()

    def close(self) -> None:
        try:
            self.conn.close()
        finally:
            shutil.rmtree(self._dir, ignore_errors=True)


class SqlEnvironment(Environment):
    name = "sql"
    description = (
        "A real SQLite database. By default, the sample 'shop' database of a small online electronics shop "
        "(categories, suppliers, products, customers, employees, orders, order_items, payments, reviews)."
    )
    action_space = (
        "Each action is exactly one SQLite statement (SELECT, INSERT, UPDATE, DELETE, CREATE VIEW, PRAGMA, ...), "
        "sent as plain text without surrounding quotes or code fences. The observation is the result as a text "
        "table (column names, the first rows, a row count) or the engine's error message starting with 'Error:'. "
        "Inspect the schema with: SELECT name, sql FROM sqlite_master WHERE type = 'table';"
    )
    config_model = SqlConfig
    checks = {"sql_result": SqlResultCheck}

    def _database(self, config: SqlConfig) -> Path:
        if not config.database:
            return sample_db.ensure(self.settings.data_dir)
        path = Path(config.database).expanduser()
        if not path.is_file():
            raise InvalidArgument("config.database", f"no such SQLite file: {config.database}")
        with open(path, "rb") as handle:
            if handle.read(16) != b"SQLite format 3\x00":
                raise InvalidArgument("config.database", f"not a SQLite database: {config.database}")
        return path

    def resources(self, config: SqlConfig) -> Iterable[Resource]:
        """The user's documentation (config.resources; the sample database's own guide only for the sample database),
        then what the database itself shows: schema, value profile, relations and worked examples that were run."""
        database = self._database(config)
        try:
            docs = (ingest(config.resources, self.name, self.settings.docs_allowed_hosts) if config.resources else
                    [] if config.database else resources_from_files(self.name, sorted(DOCS_DIR.glob("*.md"))))
        except SourceError as exc:
            raise InvalidArgument("config.resources", str(exc)) from None
        return docs + introspect_sqlite(str(database), self.name)

    def open(self, config: SqlConfig) -> Session:
        return SqlSession(self._database(config), config)

    def judge(self, session: SqlSession, check: SqlResultCheck, turns: list[Turn], answer: str) -> Verdict:
        """On a fresh session of the same config: the database before the agent touched it."""
        fresh = SqlSession(session.source, session.config.model_copy(update={"read_only": not session.config.setup_sql}))
        try:
            return judge_result(check, turns, fresh.conn)
        finally:
            fresh.close()
