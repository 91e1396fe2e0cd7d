"""The `sql` environment: a real database per session (SQLite, DuckDB, PostgreSQL, MySQL or MariaDB), actions are
SQL statements.

The database is a SQLite file path (`config.database`, the sample shop database by default) or any SQLAlchemy
URL (`config.url`) whose secrets the runner holds (`url.py`). Each session is isolated by its engine's own means
(`engines/`: a private copy of a file, or one transaction rolled back at close on a server), optionally
read-only, with the engine's statement timeout. Observations are compact result tables or the engine's exact
error message, the same on every engine; the session's action space names its dialect.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

import sqlalchemy as sa
from pydantic import Field

from env_runners.base import Check, EnvConfig, Environment, Turn, Verdict
from env_runners.sql import sample_db
from env_runners.sql.checks import SqlResultCheck, judge_result
from env_runners.sql.engines import Database, SqlSession, action_space, database_for
from env_runners.sql.introspect import introspect
from env_runners.sql.url import FIELD, Resolved, resolve
from lbi.errors import InvalidArgument
from lbi.ingest import SourceError, ingest, resources_from_files
from lbi.records import Resource

DOCS_DIR = Path(__file__).parent / "docs"
TIMEOUT_SHARE = 0.9  # the engine's statement timeout, as a share of the runner's step timeout (the engine ends first)


class SqlConfig(EnvConfig):
    url: str = Field(
        "",
        description="SQLAlchemy URL of the database: postgresql://user:${SECRET}@host:5432/db, "
        "mysql:// or mariadb://, duckdb:///path/file.duckdb, sqlite:///path/file.db. A "
        "password is written as ${NAME}: the runner reads it from its environment "
        "variable LBI_SECRET_NAME or its secrets folder, never from the job spec, and sends it "
        "only to the hosts its operator bound it to (LBI_RUNNER_SECRET_HOSTS), never in clear.",
    )
    database: str = Field(
        "",
        description="Path of a SQLite file (the same as url sqlite:///path); neither url nor "
        "database uses the sample shop database.",
    )
    read_only: bool = Field(
        False,
        description="Sessions may only read (the engine's read-only mode) instead of working "
        "on their own isolated copy or transaction.",
    )
    max_rows: int = Field(20, ge=1, le=1000, description="Rows shown in an observation.")
    statement_timeout_s: float | None = Field(
        None,
        gt=0,
        description="The engine's statement timeout; at most, and by default, 0.9 of the runner's step timeout.",
    )
    setup_sql: str = Field("", description="SQL script run in the session before the first observation.")
    resources: list[str] = Field(
        default_factory=list,
        description=(
            "Markdown, HTML or text files/folders of documentation, used besides what is read from the "
            "database itself (schema, values, worked examples)."
        ),
    )


class SqlEnvironment(Environment[SqlConfig, SqlSession]):
    name = "sql"
    description = (
        "A real database: SQLite, DuckDB, PostgreSQL, MySQL or MariaDB, named by config.url or config.database. By "
        "default, the sample 'shop' SQLite database of a small online electronics shop (categories, suppliers, "
        "products, customers, employees, orders, order_items, payments, reviews)."
    )
    action_space = (
        "Each action is exactly one SQL statement (SELECT, INSERT, UPDATE, DELETE, ...) in the dialect of the "
        "session's "
        "engine (SQLite by default; the first observation names it), sent as plain text without surrounding quotes or "
        "code fences. The observation is the result as a text table (column names, the first rows, a row count) or the "
        "engine's error message starting with 'Error:'."
    )
    config_model = SqlConfig
    checks: ClassVar[dict[str, type[Check]]] = {"sql_result": SqlResultCheck}

    def _database(self, config: SqlConfig) -> Database:
        """The database a config names, for one session (nothing is connected yet)."""
        timeout = self.settings.runner_step_timeout_s * TIMEOUT_SHARE
        timeout = min(timeout, config.statement_timeout_s or timeout)
        if config.url and config.database:
            raise InvalidArgument(FIELD, "give config.url or config.database, not both")
        if config.url:
            resolved = resolve(config.url, self.settings.runner_secrets_dir, self.settings.runner_secret_hosts)
            named = resolved.url.database
            if resolved.url.get_backend_name() in ("sqlite", "duckdb") and named and named != ":memory:":
                checked = self.paths.check(FIELD, named)  # a file of this runner: only where requests may reach
                resolved = dataclasses.replace(resolved, url=resolved.url.set(database=str(checked)))
            return database_for(resolved, config.read_only, timeout)
        path = (
            self.paths.check("config.database", config.database)
            if config.database
            else sample_db.ensure(self.settings.data_dir).resolve()
        )
        sqlite = Resolved(sa.URL.create("sqlite", database=str(path)), f"sqlite:{path}")
        return database_for(sqlite, config.read_only, timeout, field="config.database")

    def resources(self, config: SqlConfig) -> Iterable[Resource]:
        """The user's documentation (config.resources; the sample database's own guide only for the sample database),
        then what the database itself shows: schema, value profile, relations and worked examples that were run."""
        database = self._database(config)
        try:
            docs = (
                ingest(
                    config.resources,
                    self.name,
                    self.settings.docs_allowed_hosts,
                    paths=self.paths,
                    field="config.resources",
                )
                if config.resources
                else []
                if config.database or config.url
                else resources_from_files(self.name, sorted(DOCS_DIR.glob("*.md")))
            )
        except SourceError as exc:
            raise InvalidArgument("config.resources", str(exc)) from None
        try:
            return docs + introspect(database.sqlalchemy_engine(), self.name, database.resolved.shown)
        except sa.exc.DBAPIError as exc:
            raise InvalidArgument(
                FIELD, f"cannot read {database.resolved.shown}: {database.resolved.scrub(str(exc.orig or exc).strip())}"
            ) from None

    def open(self, config: SqlConfig) -> SqlSession:
        database = self._database(config)
        try:
            return SqlSession(database, config.max_rows, config.setup_sql, config)
        except database.errors as exc:
            raise InvalidArgument(
                FIELD if config.url else "config.database",
                f"cannot open {database.resolved.shown}: {database.resolved.scrub(database.error_text(exc))}",
            ) from None

    def judge(self, session: SqlSession, check: Check, turns: list[Turn], answer: str) -> Verdict:
        """On a fresh session of the same config: the database before the agent touched it (with `setup_sql` run;
        read-only where nothing needs to be set up)."""
        assert isinstance(check, SqlResultCheck)
        config = session.config
        fresh = self.open(config.model_copy(update={"read_only": config.read_only or not config.setup_sql}))
        try:
            return judge_result(check, turns, fresh)
        finally:
            fresh.close()


__all__ = ["SqlConfig", "SqlEnvironment", "action_space"]
