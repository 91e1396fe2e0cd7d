"""PostgreSQL: a session is one transaction on the user's database, rolled back at close (see `transactional`).

PostgreSQL's DDL is transactional, so a session may also create, alter and drop tables, views and indexes; what
cannot run inside a transaction (`CREATE DATABASE`, `VACUUM`, `CREATE INDEX CONCURRENTLY`, `ALTER SYSTEM`) is the
engine's own error. A DDL statement locks its table until the session ends, which makes concurrent sessions
that read that table wait (then fail after the statement timeout). `read_only` opens the transaction
`READ ONLY`. The statement timeout is the engine's `statement_timeout` (and `lock_timeout`); a statement still
running when the runner's step timeout passes is cancelled through the protocol (`cancel_safe`). The server must
authenticate the session by SCRAM (`require_auth`): a server that asks for the password in clear gets nothing.
"""

from __future__ import annotations

from typing import Any

import psycopg

from env_runners.sql.engines.base import Handle
from env_runners.sql.engines.transactional import READER_TIMEOUT_S, TransactionalDatabase


class PostgresDatabase(TransactionalDatabase):
    title = "PostgreSQL"
    dialect = "postgresql"

    @property
    def errors(self) -> tuple[type[BaseException], ...]:
        return (psycopg.Error,)

    def connect_args(self) -> dict[str, Any]:
        """SCRAM when there is a password to send (never the password in clear, nor its MD5); no authentication
        at all when the URL has none, so libpq sends none of the runner's own (`PGPASSWORD`, `~/.pgpass`)."""
        return {"require_auth": "scram-sha-256" if self.resolved.url.password else "none"}

    def connect(self) -> Handle:
        overrides = {} if "connect_timeout" in self.resolved.url.query else {"connect_timeout": 10}
        conn = Handle(self.driver_connect(**overrides))
        try:
            conn.dbapi.autocommit = True  # the transaction is ours: begun here, rolled back in release()
            ms = max(1, int(self.timeout_s * 1000))
            self.execute(conn, "BEGIN READ ONLY" if self.read_only else "BEGIN")
            self.execute(conn, f"SET LOCAL statement_timeout = {ms}")
            self.execute(conn, f"SET LOCAL lock_timeout = {ms}")
            self.execute(conn, "SET LOCAL application_name = 'lbi-session'")
        except BaseException:
            conn.dbapi.close()
            raise
        return conn

    def reader_settings(self, dbapi_connection: object) -> list[str]:
        return [f"SET statement_timeout = {int(READER_TIMEOUT_S * 1000)}", "SET default_transaction_read_only = on"]

    def interrupt(self, conn: Handle) -> None:
        conn.dbapi.cancel_safe()

    def version(self, conn: Handle) -> str:
        return str(conn.dbapi.info.parameter_status("server_version") or "").split(" ")[0]

    def tables_sql(self) -> str:
        """The default schema's tables, then those of every other schema the role can see (a database may keep
        its tables in schemas of their own: `sales`, `hr`, ...)."""
        return (
            "SELECT CASE WHEN table_schema = current_schema() THEN NULL ELSE table_schema END, table_name "
            "FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
            "AND table_type = 'BASE TABLE' AND NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON "
            "n.oid = c.relnamespace WHERE c.relispartition AND n.nspname = table_schema AND c.relname = table_name) "
            "ORDER BY table_schema <> current_schema(), table_schema, table_name"
        )

    def estimate_sql(self, ref: str) -> str | None:
        literal = ref.replace("'", "''")
        return f"SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass('{literal}')"
