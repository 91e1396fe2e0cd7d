"""What the server engines share: a session is one transaction on the user's database, rolled back at close.

Every statement runs inside a savepoint, so a failed or timed-out statement is rolled back alone and the session
goes on. The agent may not end the transaction: transaction control (`COMMIT`, `ROLLBACK`, `BEGIN`, `SAVEPOINT`,
`SET autocommit`, ...) and several statements in one action are refused, so nothing it does is ever committed.
Other sessions see none of its writes (they are uncommitted), but its row and table locks hold until it closes:
a concurrent session that writes the same rows waits at most the statement timeout (the engine's lock timeout
is set to it) and then gets the engine's error.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from env_runners.sql.engines.base import Database, Handle
from env_runners.sql.statements import Statement

READER_TIMEOUT_S = 10.0  # each statement introspection runs (a profile of a large table is cut, not waited for)


class TransactionalDatabase(Database):
    isolation = "one transaction, rolled back when the session ends"

    def reader_settings(self, dbapi_connection: Any) -> list[str]:
        """Statements that make a connection read-only with a statement timeout of READER_TIMEOUT_S."""
        return []

    def sqlalchemy_engine(self) -> sa.Engine:
        """For introspection: every connection read-only, each statement cut after READER_TIMEOUT_S."""
        engine = super().sqlalchemy_engine()

        @sa.event.listens_for(engine, "connect")
        def _read_only(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            for statement in self.reader_settings(dbapi_connection):
                cursor.execute(statement)
            cursor.close()
            dbapi_connection.commit()  # a SET inside a transaction would be undone by the pool's rollback

        return engine

    @functools.cached_property
    def _dialect(self) -> Any:
        """SQLAlchemy's dialect for the URL, its driver loaded (made once: the interrupt's second connection uses
        it)."""
        return sa.create_engine(self.resolved.url, poolclass=sa.pool.NullPool).dialect  # connects to nothing

    def driver_connect(self, **overrides: Any) -> Any:
        """A DB-API connection made by SQLAlchemy's dialect from the URL (query parameters included) and the
        engine's `connect_args`."""
        cargs, cparams = self._dialect.create_connect_args(self.resolved.url)
        return self._dialect.connect(*cargs, **(cparams | self.connect_args() | overrides))

    def refusal(self, statement: Statement) -> str | None:
        if not statement.readable:
            return "the statement could not be read as SQL"
        if statement.controls_transaction:
            return (
                f"{statement.lead} is not allowed: this session is one transaction that is rolled back when it "
                "ends, so its changes never reach the database; send statements without transaction control"
            )
        return None

    def execute(self, conn: Handle, sql: str) -> None:
        cursor = conn.dbapi.cursor()
        try:
            cursor.execute(sql)
        finally:
            cursor.close()

    @contextlib.contextmanager
    def step_guard(self, conn: Handle) -> Iterator[None]:
        self.execute(conn, "SAVEPOINT lbi_step")
        try:
            yield
        except BaseException:
            self.execute(conn, "ROLLBACK TO SAVEPOINT lbi_step")
            raise
        self.execute(conn, "RELEASE SAVEPOINT lbi_step")

    def release(self, conn: Handle) -> None:
        try:
            self.execute(conn, "ROLLBACK")
        except self.errors:
            pass  # the connection is gone: the server rolled the transaction back itself
        finally:
            with contextlib.suppress(*self.errors):
                conn.dbapi.close()
