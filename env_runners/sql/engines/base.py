"""What every engine shares: a database named by a config, and a session that runs one statement per action.

A `Database` is one engine's means (how a session is isolated, made read-only, timed out and interrupted);
`SqlSession` is the same for all of them: it reads the action (`statements.Statement`), asks its database
whether the session's isolation allows it, runs it on the driver's DB-API connection inside the database's
step guard (a savepoint where the session is a transaction), and writes the observation in one format for
every engine: a result table (column names, first rows, row count) or `Error: ` and the engine's own message.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import sqlalchemy as sa
import sqlglot
from sqlglot.tokens import TokenType

from env_runners.base import Session, StepResult
from env_runners.sql.statements import DIALECTS, Statement
from env_runners.sql.table_text import format_table
from env_runners.sql.url import Resolved
from lbi.errors import FailedPrecondition, InvalidArgument

COUNT_LIMIT = 10_000  # rows counted past those shown
EXACT_COUNT_BELOW = 100_000  # tables estimated above this are not counted row by row in the first observation


@dataclass
class Handle:
    """A session's connection and what it owns besides: a private copy to remove, the server's id of the connection."""

    dbapi: Any
    scratch: Path | None = None
    server_id: Any = None


class Database(ABC):
    """One database as a config names it, on one engine."""

    title: str  # the engine as the agent is told ("PostgreSQL"); MySQL's is MariaDB on a MariaDB server
    dialect: ClassVar[str]  # SQLAlchemy's dialect name
    isolation: ClassVar[str]  # how a session is kept apart, as the first observation says it

    def __init__(self, resolved: Resolved, read_only: bool, timeout_s: float):
        self.resolved, self.read_only, self.timeout_s = resolved, read_only, timeout_s

    @property
    def name(self) -> str:
        return self.resolved.url.database or ""

    @property
    @abstractmethod
    def errors(self) -> tuple[type[BaseException], ...]:
        """The driver's exception classes (DB-API `Error`)."""

    @abstractmethod
    def connect(self) -> Handle:
        """A DB-API connection for one session: isolated, read-only if asked, with the engine's statement timeout."""

    def connect_args(self) -> dict[str, Any]:
        """Arguments every connection of the driver gets besides the URL's (how it may authenticate)."""
        return {}

    def sqlalchemy_engine(self) -> sa.Engine:
        """An engine for reading the database (introspection); sessions use `connect`."""
        return sa.create_engine(self.resolved.url, poolclass=sa.pool.NullPool, connect_args=self.connect_args())

    def refusal(self, statement: Statement) -> str | None:
        """Why this session's isolation cannot run the statement, or None."""
        return None

    @contextlib.contextmanager
    def step_guard(self, conn: Handle) -> Iterator[None]:
        """Around one statement: where a statement's failure must not end the session's transaction, a savepoint."""
        yield

    def cursor(self, conn: Handle) -> Any:
        """A DB-API cursor on the session's connection."""
        return conn.dbapi.cursor()

    def interrupt(self, conn: Handle) -> None:
        """Stops the statement running on `conn` (from another thread)."""

    @abstractmethod
    def release(self, conn: Handle) -> None:
        """Ends a session: its changes are discarded, its connection closed."""

    def error_text(self, exc: BaseException) -> str:
        return str(exc).strip() or type(exc).__name__

    def version(self, conn: Handle) -> str:
        return ""

    def tables_sql(self) -> str:
        """(schema, table) of the tables a session sees: schema NULL for the default one."""
        return (
            "SELECT NULL, table_name FROM information_schema.tables WHERE table_schema = current_schema() "
            "AND table_type = 'BASE TABLE' ORDER BY table_name"
        )

    def estimate_sql(self, ref: str) -> str | None:
        """A query for the engine's own estimate of the rows of the table `ref` (quoted), where it keeps one."""
        return None

    @functools.cached_property
    def _preparer(self) -> Any:
        return self.resolved.url.get_dialect()().identifier_preparer

    def quote(self, name: str) -> str:
        """An identifier always quoted, in the dialect's own way (`"x"`, MySQL's `` `x` ``)."""
        return self._preparer.quote_identifier(name)

    def spelled(self, schema: str | None, name: str) -> str:
        """A table as SQL must name it in this dialect: quoted only where it has to be (`"Album"`, `"order"`)."""
        quote = self._preparer.quote
        return (quote(schema) + "." if schema else "") + quote(name)


class SqlSession(Session):
    """One episode on one database: one SQL statement per action."""

    def __init__(self, database: Database, max_rows: int, setup_sql: str = "", config: Any = None):
        self.database = database
        self.max_rows = max_rows
        self.config = config  # what opened it (judging opens a fresh session of the same config)
        self._lock = threading.Lock()
        self._conn: Handle | None = database.connect()
        self.action_space = action_space(database.title)
        if setup_sql:
            try:
                self._setup(setup_sql)
            except database.errors as exc:
                self.close()
                raise InvalidArgument("config.setup_sql", database.resolved.scrub(database.error_text(exc))) from None

    @property
    def conn(self) -> Handle:
        """The session's connection (FAILED_PRECONDITION once the session is closed)."""
        if self._conn is None:
            raise FailedPrecondition("the SQL session is closed")
        return self._conn

    def _setup(self, script: str) -> None:
        cursor = self.database.cursor(self.conn)
        for piece in split_script(script, self.database.dialect):
            cursor.execute(piece)

    # -- observations ----------------------------------------------------------------------------------------

    def first_observation(self) -> str:
        with self._lock, self.database.step_guard(self.conn):
            cursor = self.database.cursor(self.conn)
            cursor.execute(self.database.tables_sql())
            tables = [(schema, name) for schema, name in cursor.fetchall()]
            counts = ", ".join(
                f"{self.database.spelled(schema, name)} ({self._count(cursor, schema, name)} rows)"
                for schema, name in tables[:60]
            )
            version = self.database.version(self.conn)
        more = f", and {len(tables) - 60} more" if len(tables) > 60 else ""
        mode = "read-only" if self.database.read_only else self.database.isolation
        engine = f"{self.database.title} {version}".strip()
        return (
            f"Connected to {engine} database {self.database.name} ({mode}).\n"
            f"Tables: {counts or 'none'}{more}.\nEach action is one SQL statement in {self.database.title}'s dialect."
        )

    def _count(self, cursor: Any, schema: str | None, table: str) -> str:
        quote = self.database.quote
        ref = (quote(schema) + "." if schema else "") + quote(table)
        estimate_sql = self.database.estimate_sql(ref)
        if estimate_sql:
            cursor.execute(estimate_sql)
            row = cursor.fetchone()
            estimate = row[0] if row else None
            if estimate is not None and estimate >= EXACT_COUNT_BELOW:
                return f"about {int(estimate)}"
        cursor.execute(f"SELECT COUNT(*) FROM {ref}")
        return str(cursor.fetchone()[0])

    def step(self, action: str) -> StepResult:
        sql = action.strip()
        if not sql:
            return StepResult("Error: empty statement; send one SQL statement.", error=True)
        statement = Statement(sql, self.database.dialect)
        if statement.count > 1:
            return StepResult("Error: one SQL statement per action; send the statements one at a time.", error=True)
        refusal = self.database.refusal(statement)
        if refusal:
            return StepResult(f"Error: {refusal}", error=True)
        with self._lock:
            try:
                with self.database.step_guard(self.conn):
                    return self._run(sql, statement)
            except self.database.errors as exc:
                return StepResult(f"Error: {self.database.resolved.scrub(self.database.error_text(exc))}", error=True)

    def _run(self, sql: str, statement: Statement) -> StepResult:
        cursor = self.database.cursor(self.conn)
        cursor.execute(sql)
        description = cursor.description
        if (
            description is not None
            and statement.writes_rows
            and "RETURNING" not in sql.upper()
            and [d[0] for d in description] == ["Count"]
        ):  # DuckDB answers a write with its row count as a table
            affected = int(cursor.fetchone()[0])
            return StepResult(f"OK: statement executed; {affected} row(s) affected.", info={"rows_affected": affected})
        if description is None:
            affected = max(cursor.rowcount or 0, 0)
            return StepResult(f"OK: statement executed; {affected} row(s) affected.", info={"rows_affected": affected})
        columns = [d[0] for d in description]
        shown = cursor.fetchmany(self.max_rows)
        rest = cursor.fetchmany(COUNT_LIMIT - len(shown)) if len(shown) == self.max_rows else []
        exact = len(rest) < COUNT_LIMIT - len(shown) or not rest
        total = len(shown) + len(rest) + (0 if exact else 1)
        return StepResult(format_table(columns, shown, total, exact), info={"rows": total, "columns": columns})

    def rows(self, sql: str) -> list[tuple]:
        """Every row of a query (for judging); raises the driver's error."""
        with self._lock, self.database.step_guard(self.conn):
            cursor = self.database.cursor(self.conn)
            cursor.execute(sql)
            return [tuple(row) for row in cursor.fetchall()] if cursor.description else []

    def interrupt(self) -> None:
        if self._conn is not None:
            self.database.interrupt(self._conn)

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self.database.release(conn)


def action_space(title: str) -> str:
    """The action space of a session on one engine: names the dialect so the agent writes SQL that runs."""
    return (
        f"Each action is exactly one {title} SQL statement (SELECT, INSERT, UPDATE, DELETE, ...), in {title}'s "
        "dialect, sent as plain text without surrounding quotes or code fences. The observation is the result as "
        "a text table (column names, the first rows, a row count) or the engine's error message starting with "
        "'Error:'. " + SCHEMA_HINTS.get(title, "")
    )


_MYSQL_SCHEMA = (
    "SELECT table_name AS table_name, GROUP_CONCAT(column_name, ' ', data_type ORDER BY ordinal_position SEPARATOR ', "
    "') AS columns FROM information_schema.columns WHERE table_schema = DATABASE() GROUP BY table_name ORDER BY "
    "table_name;"
)
SCHEMA_HINTS = {  # one statement per engine that lists every table with its columns
    "SQLite": (
        "Inspect the schema with: SELECT name, sql FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name;"
    ),
    "PostgreSQL": "Inspect the schema with: SELECT CASE WHEN table_schema = current_schema() THEN table_name ELSE "
    "table_schema || '.' || table_name END AS table_name, string_agg(column_name || ' ' || data_type, ', ' "
    "ORDER BY ordinal_position) AS columns FROM information_schema.columns WHERE table_schema NOT IN "
    "('pg_catalog', 'information_schema') GROUP BY table_schema, table_name ORDER BY 1;",
    "MariaDB": "Inspect the schema with: " + _MYSQL_SCHEMA,
    "MySQL": "Inspect the schema with: " + _MYSQL_SCHEMA,
    "DuckDB": "Inspect the schema with: SELECT table_name, string_agg(column_name || ' ' || data_type, ', ' ORDER BY "
    "column_index) AS columns FROM duckdb_columns() WHERE schema_name = current_schema() GROUP BY table_name "
    "ORDER BY table_name;",
}


def split_script(script: str, dialect: str) -> list[str]:
    """A set-up script as its statements (sqlglot's tokenizer finds the `;` that end statements)."""
    tokens = sqlglot.tokenize(script, read=DIALECTS.get(dialect))
    pieces, start = [], 0
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            pieces.append(script[start : token.start])
            start = token.end + 1
    pieces.append(script[start:])
    return [p.strip() for p in pieces if p.strip()]
