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
    table: str
    referred: list[str]


@dataclass
class TableSchema:
    name: str
    columns: list[ColumnSchema]
    primary: set[str]
    foreign_keys: list[ForeignKey]


def read_schema(conn: Connection, limit: int) -> list[TableSchema]:
    """The first `limit` tables by name, of the connection's default schema."""
    if conn.dialect.name == "duckdb":
        return _duckdb(conn, limit)
    inspector = sa.inspect(conn)
    tables = []
    for name in sorted(inspector.get_table_names())[:limit]:
        primary = set(inspector.get_pk_constraint(name).get("constrained_columns") or [])
        fks = [ForeignKey(fk["constrained_columns"], fk["referred_table"], fk["referred_columns"])
               for fk in inspector.get_foreign_keys(name) if fk.get("referred_table")]
        columns = [ColumnSchema(c["name"], str(c["type"]) or "ANY", bool(c.get("nullable", True)))
                   for c in inspector.get_columns(name)]
        tables.append(TableSchema(name, columns, primary, fks))
    return tables


def _duckdb(conn: Connection, limit: int) -> list[TableSchema]:
    names = [r[0] for r in conn.exec_driver_sql(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = current_schema() AND NOT internal "
        "ORDER BY table_name").fetchall()][:limit]
    tables = []
    for name in names:
        columns = [ColumnSchema(c, t, bool(n)) for c, t, n in conn.exec_driver_sql(
            "SELECT column_name, data_type, is_nullable FROM duckdb_columns() WHERE schema_name = current_schema() "
            "AND table_name = ? ORDER BY column_index", (name,)).fetchall()]
        primary: set[str] = set()
        fks = []
        for kind, cols, table, referred in conn.exec_driver_sql(
                "SELECT constraint_type, constraint_column_names, referenced_table, referenced_column_names "
                "FROM duckdb_constraints() WHERE schema_name = current_schema() AND table_name = ? "
                "AND constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY')", (name,)).fetchall():
            if kind == "PRIMARY KEY":
                primary |= set(cols)
            elif table:
                fks.append(ForeignKey(list(cols), table, list(referred)))
        tables.append(TableSchema(name, columns, primary, fks))
    return tables
