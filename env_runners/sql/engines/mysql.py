"""MySQL and MariaDB: a session is one transaction on the user's database, rolled back at close (see
`transactional`).

MySQL commits implicitly before and after DDL (`CREATE`, `ALTER`, `DROP`, `RENAME`, `TRUNCATE`), `LOCK TABLES`,
account statements, and table maintenance (`ANALYZE`, `OPTIMIZE`, `REPAIR`, `CHECK`, `FLUSH`): one of them
would commit the session's writes into the user's database. Such sessions therefore refuse those statements
with that reason; `CREATE TEMPORARY TABLE` (no implicit commit) is allowed. `read_only` is
`START TRANSACTION READ ONLY`. The statement timeout is MariaDB's `max_statement_time` (every statement) or
MySQL's `max_execution_time` (SELECT only), and `innodb_lock_wait_timeout`; a statement still running when the
runner's step timeout passes is ended with `KILL QUERY` from a second connection. A server that asks for the
password in clear (`mysql_clear_password`, the `dialog` plugin's password prompt) gets nothing: PyMySQL would send it.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any, NoReturn

import pymysql

from env_runners.sql.engines.base import Handle
from env_runners.sql.engines.transactional import READER_TIMEOUT_S, TransactionalDatabase
from env_runners.sql.statements import Statement


class _ClearTextRefused:
    """PyMySQL's handler for an authentication plugin that would send the password in clear: refuses."""

    def __init__(self, _connection: pymysql.connections.Connection):
        pass

    def authenticate(self, _packet: Any) -> NoReturn:
        raise pymysql.err.OperationalError(2059, "the server asked for the password in clear text; refused")


CLEAR_TEXT_PLUGINS = {"mysql_clear_password": _ClearTextRefused, "dialog": _ClearTextRefused}


class MySqlDatabase(TransactionalDatabase):
    title = "MySQL"
    dialect = "mysql"

    @property
    def errors(self) -> tuple[type[BaseException], ...]:
        return (pymysql.err.Error,)

    def connect_args(self) -> dict[str, Any]:
        return {"auth_plugin_map": CLEAR_TEXT_PLUGINS}

    def connect(self) -> Handle:
        raw = self.driver_connect(autocommit=True)
        conn = Handle(raw, server_id=raw.thread_id())
        try:
            if "MariaDB" in raw.get_server_info():
                self.title = "MariaDB"
            self.execute(conn, self._timeout(raw, self.timeout_s))
            self.execute(conn, f"SET SESSION innodb_lock_wait_timeout = {max(1, math.ceil(self.timeout_s))}")
            self.execute(conn, "START TRANSACTION READ ONLY" if self.read_only else "START TRANSACTION")
        except BaseException:
            raw.close()
            raise
        return conn

    def reader_settings(self, dbapi_connection: pymysql.connections.Connection) -> list[str]:
        return [self._timeout(dbapi_connection, READER_TIMEOUT_S), "SET SESSION TRANSACTION READ ONLY"]

    @staticmethod
    def _timeout(raw: pymysql.connections.Connection, seconds: float) -> str:
        """The statement timeout in the server's own variable: MariaDB's (every statement) or MySQL's (SELECT)."""
        if "MariaDB" in raw.get_server_info():
            return f"SET SESSION max_statement_time = {seconds:.3f}"
        return f"SET SESSION max_execution_time = {max(1, int(seconds * 1000))}"

    def refusal(self, statement: Statement) -> str | None:
        if (reason := super().refusal(statement)) is not None:
            return reason
        if statement.commits_on_mysql:
            return (
                f"{' '.join(statement.words[:2])} is not allowed: {self.title} commits the open transaction "
                "implicitly before it, and this session is one transaction that is rolled back when it ends "
                "(CREATE TEMPORARY TABLE is allowed)"
            )
        return None

    def interrupt(self, conn: Handle) -> None:
        with contextlib.suppress(pymysql.err.Error):
            killer = self.driver_connect(autocommit=True)
            try:
                with killer.cursor() as cursor:
                    cursor.execute(f"KILL QUERY {int(conn.server_id)}")
            finally:
                killer.close()

    def error_text(self, exc: BaseException) -> str:
        if len(exc.args) == 2 and isinstance(exc.args[0], int):
            return f"{exc.args[1]} (error {exc.args[0]})"
        return super().error_text(exc)

    def version(self, conn: Handle) -> str:
        return conn.dbapi.get_server_info().removeprefix("5.5.5-").split("-")[0]  # MariaDB's replication prefix

    def tables_sql(self) -> str:
        return (
            "SELECT NULL, table_name FROM information_schema.tables WHERE table_schema = DATABASE() "
            "AND table_type = 'BASE TABLE' ORDER BY table_name"
        )

    def estimate_sql(self, ref: str) -> str | None:
        table = ref[1:-1].replace("``", "`")
        literal = table.replace("\\", "\\\\").replace("'", "''")
        return (
            "SELECT table_rows FROM information_schema.tables WHERE table_schema = DATABASE() "
            f"AND table_name = '{literal}'"
        )
