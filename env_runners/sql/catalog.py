"""A database's schema as plain data: tables, their columns, primary keys and foreign keys.

Read through SQLAlchemy's inspector, which speaks every engine's catalog (PostgreSQL, MySQL/MariaDB, SQLite),
except DuckDB: duckdb-engine's inspector sends PostgreSQL catalog queries DuckDB does not answer, so DuckDB's
own catalog functions (`duckdb_tables()`, `duckdb_columns()`, `duckdb_constraints()`) are read instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection


@dataclass
class ColumnSchema:
    name: str
    type: str
    nullable: bool


@dataclass
class ForeignKey:
    columns: list[str]
    table: str  # as TableSchema.name: qualified by its schema when that is not the default one
    referred: list[str]


@dataclass
class TableSchema:
    name: str  # `table`, or `schema.table` outside the connection's default schema
    columns: list[ColumnSchema]
    primary: set[str]
    foreign_keys: list[ForeignKey]
    schema: str | None = None  # None: the default schema
    bare: str = ""  # the table's own name

    def __post_init__(self) -> None:
        self.bare = self.bare or self.name


SYSTEM_SCHEMAS = {"information_schema", "pg_catalog", "pg_toast", "mysql", "performance_schema", "sys"}


def _qualified(schema: str | None, table: str) -> str:
    return f"{schema}.{table}" if schema else table


def read_schema(conn: Connection, limit: int) -> list[TableSchema]:
    """The first `limit` tables: the default schema's by name, then (PostgreSQL, where a database often keeps its
    tables in schemas of their own, `sales`, `hr`, ...) the other schemas' the connection can see."""
    if conn.dialect.name == "duckdb":
        return _duckdb(conn, limit)
    inspector = sa.inspect(conn)
    schemas: list[str | None] = [None]
    if conn.dialect.name == "postgresql":
        default = inspector.default_schema_name
        schemas += sorted(
            s
            for s in inspector.get_schema_names()
            if s not in SYSTEM_SCHEMAS and s != default and not s.startswith("pg_")
        )
    partitions = _partitions(conn)
    tables: list[TableSchema] = []
    for schema in schemas:
        for name in sorted(inspector.get_table_names(schema=schema)):
            if (schema or inspector.default_schema_name, name) in partitions:
                continue  # a partition's rows are its parent table's: the parent is what is queried
            if len(tables) == limit:
                return tables
            primary = set(inspector.get_pk_constraint(name, schema=schema).get("constrained_columns") or [])
            fks = [
                ForeignKey(
                    fk["constrained_columns"],
                    _qualified(fk.get("referred_schema"), fk["referred_table"]),
                    fk["referred_columns"],
                )
                for fk in inspector.get_foreign_keys(name, schema=schema)
                if fk.get("referred_table")
            ]
            columns = [
                ColumnSchema(c["name"], str(c["type"]) or "ANY", bool(c.get("nullable", True)))
                for c in inspector.get_columns(name, schema=schema)
            ]
            tables.append(TableSchema(_qualified(schema, name), columns, primary, fks, schema, name))
    return tables


def _partitions(conn: Connection) -> set[tuple[str, str]]:
    """(schema, table) of PostgreSQL's partitions."""
    if conn.dialect.name != "postgresql":
        return set()
    return {
        (n, t)
        for n, t in conn.exec_driver_sql(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relispartition"
        ).fetchall()
    }


def _duckdb(conn: Connection, limit: int) -> list[TableSchema]:
    names = [
        r[0]
        for r in conn.exec_driver_sql(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = current_schema() AND NOT internal "
            "ORDER BY table_name"
        ).fetchall()
    ][:limit]
    tables = []
    for name in names:
        columns = [
            ColumnSchema(c, t, bool(n))
            for c, t, n in conn.exec_driver_sql(
                "SELECT column_name, data_type, is_nullable FROM duckdb_columns() WHERE schema_name = current_schema() "
                "AND table_name = ? ORDER BY column_index",
                (name,),
            ).fetchall()
        ]
        primary: set[str] = set()
        fks = []
        for kind, cols, table, referred in conn.exec_driver_sql(
            "SELECT constraint_type, constraint_column_names, referenced_table, referenced_column_names "
            "FROM duckdb_constraints() WHERE schema_name = current_schema() AND table_name = ? "
            "AND constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY')",
            (name,),
        ).fetchall():
            if kind == "PRIMARY KEY":
                primary |= set(cols)
            elif table:
                fks.append(ForeignKey(list(cols), table, list(referred)))
        tables.append(TableSchema(name, columns, primary, fks))
    return tables
