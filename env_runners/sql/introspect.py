"""Resources read from a database itself: schema, value profile, relations, and worked examples that were run.

When a user brings a database and no documentation, this is what self-instruct reads. The schema comes from
SQLAlchemy's inspector (tables, columns with types, keys and nullability, foreign keys), so the same code
serves every engine SQLAlchemy speaks; the profile and the examples are plain SELECTs. Every worked example
is generated from the schema and the real values, **executed before it is written down**, and shown with an
excerpt of its real result; one that fails or returns nothing is left out. Resources are Markdown (one per
table, one on how tables relate, and the worked examples in small groups), of kind `introspection`.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from env_runners.sql.catalog import ForeignKey, read_schema
from env_runners.sql.table_text import format_table
from lbi.records import Resource

SAMPLE_ROWS = 200_000  # a larger table's columns are profiled over its first this many rows
LOW_CARDINALITY = 12  # distinct values up to which a column counts as categorical (its values are listed)
MIN_EXAMPLES = 6  # worked examples a table gets at least (plainer ones fill in when its columns give fewer)
EXCERPT_ROWS = 5
EXAMPLES_PER_RESOURCE = 3
MAX_TABLES = 60
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_BIND = re.compile(r"(?<![:\w\\]):(?=\w)")  # what SQLAlchemy's text() would take for a bind parameter


@dataclass
class Column:
    name: str
    type: str
    nullable: bool
    primary_key: bool
    foreign_key: bool = False
    unique: bool = False  # every row has its own value (a name or code, not a category)
    distinct: int = 0
    values: list[Any] = field(default_factory=list)  # all of them when categorical, else a few samples
    low: Any = None
    high: Any = None

    @property
    def words(self) -> str:
        return words(self.name)

    @property
    def categorical(self) -> bool:
        return 2 <= self.distinct <= LOW_CARDINALITY and not (self.primary_key or self.foreign_key or self.unique)

    @property
    def numeric(self) -> bool:
        return (
            isinstance(self.low, (int, float, decimal.Decimal))
            and not isinstance(self.low, bool)
            and not (self.primary_key or self.foreign_key)
        )

    @property
    def date(self) -> bool:
        return isinstance(self.low, (dt.date, dt.datetime)) or (
            isinstance(self.low, str)
            and bool(_DATE.match(self.low))
            and isinstance(self.high, str)
            and bool(_DATE.match(self.high))
        )


@dataclass
class Table:
    name: str  # as shown: `schema.table` outside the default schema
    rows: int | None  # None: not counted within the statement timeout (a very large table)
    columns: list[Column]
    foreign_keys: list[ForeignKey]
    ref: str = ""  # how SQL names it, quoted as the dialect needs
    bare: str = ""  # its own name, without the schema

    @property
    def words(self) -> str:
        return words(self.bare or self.name)

    @property
    def size(self) -> str:
        return f"{self.rows} rows" if self.rows is not None else "too many rows to count quickly"

    @property
    def label(self) -> Column:
        """The column that names a row best: the first text column that is not a key, else the first column."""
        texts = [
            c for c in self.columns if not (c.primary_key or c.foreign_key) and isinstance(c.low, str) and not c.date
        ]
        return texts[0] if texts else self.columns[0]


@dataclass
class Example:
    table: str
    lead: str
    sql: str
    result: str


def words(identifier: str) -> str:
    """An identifier as words: `order_items` -> `order items`, `PatientVisits` -> `patient visits`."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", identifier).replace("_", " ")
    return " ".join(spaced.split()).lower()


def _indented(text: str) -> str:
    """A result excerpt as an indented block: shown as text, never taken for an example to run (those are fenced)."""
    return "\n".join("    " + line for line in text.splitlines())


def _literal(value: Any) -> str:
    """A value as a SQL literal: numbers bare (a `Decimal` as its digits), JSON as JSON text, the rest quoted."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    text = json.dumps(value) if isinstance(value, (dict, list)) else str(value)
    return "'" + text.replace("'", "''") + "'"


class Introspector:
    """Reads one database through an engine; `resources()` is the whole product."""

    def __init__(self, engine: Engine, env: str, uri: str):
        self.engine, self.env, self.uri = engine, env, uri
        self.quote = engine.dialect.identifier_preparer.quote

    def _text(self, column: str) -> str:
        """`column` cast to text in the engine's dialect (CAST(x AS VARCHAR), MySQL's CAST(x AS CHAR), ...)."""
        return str(sa.cast(sa.literal_column(column), sa.String).compile(dialect=self.engine.dialect))

    def resources(self) -> list[Resource]:
        with self.engine.connect() as conn:
            tables = self._tables(conn)
            examples = [e for table in tables for e in self._examples(conn, table, tables)]
        resources = [self._overview(tables)] + [self._table_resource(t) for t in tables]
        if any(t.foreign_keys for t in tables):
            resources.append(self._relations_resource(tables))
        for table in tables:
            own = [e for e in examples if e.table == table.name]
            for start in range(0, len(own), EXAMPLES_PER_RESOURCE):
                group = own[start : start + EXAMPLES_PER_RESOURCE]
                part = start // EXAMPLES_PER_RESOURCE + 1
                text = "\n\n".join(
                    f"{e.lead}\n\n```sql\n{e.sql}\n```\n\nIts result:\n\n{_indented(e.result)}" for e in group
                )
                resources.append(
                    Resource(
                        env=self.env,
                        title=f"Worked examples on {table.name} ({part})",
                        text=text,
                        uri=f"{self.uri}#examples/{table.name}/{part}",
                        kind="introspection",
                    )
                )
        return resources

    # -- reading ---------------------------------------------------------------------------------------------

    def _tables(self, conn: Connection) -> list[Table]:
        tables = []
        for schema in read_schema(conn, MAX_TABLES):
            referring = {column for fk in schema.foreign_keys for column in fk.columns}
            columns = [
                Column(c.name, c.type, c.nullable, c.name in schema.primary, c.name in referring)
                for c in schema.columns
            ]
            ref = (self.quote(schema.schema) + "." if schema.schema else "") + self.quote(schema.bare)
            rows = self._scalar(conn, f"SELECT COUNT(*) FROM {ref}")
            table = Table(schema.name, rows, columns, schema.foreign_keys, ref, schema.bare)
            for column in columns:
                self._profile(conn, table, column)
            tables.append(table)
        return tables

    def _execute(self, conn: Connection, sql: str) -> sa.CursorResult:
        """`sql` as written: a colon before a word (`' :x'` in a literal) is not taken for a bind parameter."""
        return conn.execute(sa.text(_BIND.sub(r"\\:", sql)))

    def _scalar(self, conn: Connection, sql: str) -> Any:
        try:
            return self._execute(conn, sql).scalar()
        except sa.exc.DBAPIError:
            conn.rollback()
            return None

    def _rows(self, conn: Connection, sql: str) -> tuple[list[str], list[tuple]] | None:
        try:
            result = self._execute(conn, sql)
            return list(result.keys()), [tuple(r) for r in result.fetchmany(200)]
        except sa.exc.DBAPIError:
            conn.rollback()
            return None

    def _profile(self, conn: Connection, table: Table, column: Column) -> None:
        """Distinct count, range and frequent values of a column; over its first SAMPLE_ROWS rows when the table is
        larger (or too large to count), so that a production table is profiled in bounded time."""
        c = self.quote(column.name)
        sampled = table.rows is None or table.rows > SAMPLE_ROWS
        t = f"(SELECT {c} FROM {table.ref} LIMIT {SAMPLE_ROWS}) {self.quote('sample')}" if sampled else table.ref
        column.distinct = self._scalar(conn, f"SELECT COUNT(DISTINCT {c}) FROM {t}") or 0
        column.unique = column.distinct == min(table.rows or SAMPLE_ROWS, SAMPLE_ROWS)
        bounds = self._rows(conn, f"SELECT MIN({c}), MAX({c}) FROM {t} WHERE {c} IS NOT NULL")
        if bounds and bounds[1]:
            column.low, column.high = bounds[1][0]
        limit = LOW_CARDINALITY if column.distinct <= LOW_CARDINALITY else 3
        order = "n DESC" if column.distinct <= LOW_CARDINALITY else "1"
        found = self._rows(
            conn,
            f"SELECT {c}, COUNT(*) AS n FROM {t} WHERE {c} IS NOT NULL GROUP BY {c} ORDER BY {order} LIMIT {limit}",
        )
        column.values = [row[0] for row in found[1]] if found else []

    # -- writing ---------------------------------------------------------------------------------------------

    def _overview(self, tables: list[Table]) -> Resource:
        """The database in a few lines (what self-instruct is told about the environment)."""
        dialect = self.engine.dialect.name
        lines = [f"A {dialect} database with {len(tables)} tables:", ""]
        lines += [
            f"- `{t.name}` ({t.size}): {', '.join(c.name for c in t.columns[:12])}"
            + (", ..." if len(t.columns) > 12 else "")
            for t in tables
        ]
        return Resource(
            env=self.env,
            title="Overview of the database",
            text="\n".join(lines),
            uri=f"{self.uri}#overview",
            kind="introspection",
        )

    def _table_resource(self, table: Table) -> Resource:
        spelled = f" Write it as `{table.ref}` in SQL." if table.ref != table.name else ""
        lines = [
            f"# Table {table.name}",
            "",
            f"The `{table.name}` table ({table.words}) has {table.size}.{spelled}",
            "",
            "| column | type | key | nullable | values |",
            "|---|---|---|---|---|",
        ]
        refs = {
            col: f"references {fk.table}({', '.join(fk.referred)})" for fk in table.foreign_keys for col in fk.columns
        }
        for column in table.columns:
            key = "primary key" if column.primary_key else refs.get(column.name, "")
            lines.append(
                f"| {column.name} | {column.type} | {key} | {'yes' if column.nullable else 'no'} | "
                f"{self._values(column)} |"
            )
        return Resource(
            env=self.env,
            title=f"Table {table.name}",
            text="\n".join(lines),
            uri=f"{self.uri}#table/{table.name}",
            kind="introspection",
        )

    @staticmethod
    def _values(column: Column) -> str:
        if column.categorical:
            return "one of " + ", ".join(_literal(v) for v in column.values)
        if column.low is not None and (column.numeric or column.date):
            return f"from {column.low} to {column.high} ({column.distinct} distinct)"
        if column.values:
            return f"{column.distinct} distinct, e.g. " + ", ".join(
                _literal(v if not isinstance(v, str) else v[:40]) for v in column.values
            )
        return "always NULL" if column.distinct == 0 else f"{column.distinct} distinct"

    def _relations_resource(self, tables: list[Table]) -> Resource:
        lines = ["# How the tables relate", ""]
        by_name = {t.name: t for t in tables}
        for table in tables:
            for fk in table.foreign_keys:
                lines.append(
                    f"- Each row of `{table.name}` points to one row of `{fk.table}`: "
                    f"`{table.name}.{', '.join(fk.columns)}` = `{fk.table}.{', '.join(fk.referred)}` "
                    f"(join them with `JOIN {by_name[fk.table].ref if fk.table in by_name else fk.table} ON ...`)."
                )
        return Resource(
            env=self.env,
            title="How the tables relate",
            text="\n".join(lines),
            uri=f"{self.uri}#relations",
            kind="introspection",
        )

    def _examples(self, conn: Connection, table: Table, tables: list[Table]) -> Iterator[Example]:
        """The candidate examples of one table, each run; those that fail or return no row are dropped. A table whose
        columns give few (all values distinct, few rows) gets plainer ones, up to MIN_EXAMPLES: every table is
        something users ask about."""
        made = 0
        for lead, sql in self._candidates(table, {t.name: t for t in tables}):
            example = self._run_example(conn, table, lead, sql)
            if example is not None:
                made += 1
                yield example
        for lead, sql in self._plain_candidates(table):
            if made >= MIN_EXAMPLES:
                return
            example = self._run_example(conn, table, lead, sql)
            if example is not None:
                made += 1
                yield example

    def _run_example(self, conn: Connection, table: Table, lead: str, sql: str) -> Example | None:
        found = self._rows(conn, sql)
        if not (found and found[1]):
            return None
        columns, rows = found
        return Example(
            table.name, lead, sql + ";", format_table(columns, rows[:EXCERPT_ROWS], len(rows), len(rows) < 200)
        )

    def _plain_candidates(self, table: Table) -> Iterator[tuple[str, str]]:
        """Questions any table answers, whatever its values: a few rows, sorted names, distinct counts, numeric
        summaries and rows above the average."""
        q, t, name = self.quote, table.ref, table.words
        yield f"Show the first 5 rows of the {name} table.", f"SELECT * FROM {t} LIMIT 5"
        label = table.label
        if isinstance(label.low, str):
            yield (
                f"List the {label.words} of the {name} rows in alphabetical order.",
                f"SELECT {q(label.name)} FROM {t} ORDER BY {q(label.name)} LIMIT 20",
            )
        for column in table.columns:
            c = q(column.name)
            if column.numeric and column.distinct >= 2 and not column.categorical:
                if column.distinct <= LOW_CARDINALITY:  # the richer questions above skipped it
                    yield (
                        f"What are the average, lowest and highest {column.words} of the {name} rows?",
                        f"SELECT AVG({c}) AS {q('average')}, MIN({c}) AS {q('lowest')}, MAX({c}) AS {q('highest')} "
                        f"FROM {t}",
                    )
                yield (
                    f"Which {name} rows have a {column.words} above the average?",
                    f"SELECT * FROM {t} WHERE {c} > (SELECT AVG({c}) FROM {t}) ORDER BY {c} DESC LIMIT 20",
                )
            elif not (column.primary_key or column.categorical) and column.distinct >= 2:
                yield (
                    f"How many different {column.words} values do the {name} rows have?",
                    f"SELECT COUNT(DISTINCT {c}) AS {q('distinct_values')} FROM {t}",
                )

    def _candidates(self, table: Table, by_name: dict[str, Table]) -> Iterator[tuple[str, str]]:
        q, t, name = self.quote, table.ref, table.words
        yield f"Count how many {name} rows there are.", f"SELECT COUNT(*) AS {q('count')} FROM {t}"
        label = table.label
        for column in table.columns:
            c = q(column.name)
            if column.categorical:
                yield (
                    f"How many {name} rows are there for each {column.words}?",
                    f"SELECT {c}, COUNT(*) AS {q('count')} FROM {t} GROUP BY {c} ORDER BY {q('count')} DESC",
                )
                value = column.values[-1]
                yield (
                    f"List the {name} rows whose {column.words} is {_literal(value)}.",
                    f"SELECT * FROM {t} WHERE {c} = {_literal(value)} LIMIT 20",
                )
            elif column.numeric and column.distinct > LOW_CARDINALITY:
                yield (
                    f"Which 5 {name} rows have the highest {column.words}?",
                    f"SELECT {q(label.name)}, {c} FROM {t} ORDER BY {c} DESC LIMIT 5",
                )
                yield (
                    f"What are the average, lowest and highest {column.words} of the {name} rows?",
                    f"SELECT AVG({c}) AS {q('average')}, MIN({c}) AS {q('lowest')}, MAX({c}) AS {q('highest')} FROM "
                    f"{t}",
                )
            elif column.date:
                yield (
                    f"How many {name} rows fall in each year of their {column.words}?",
                    f"SELECT SUBSTR({self._text(c)}, 1, 4) AS {q('year')}, COUNT(*) AS {q('count')} FROM {t} "
                    f"GROUP BY 1 ORDER BY 1",
                )
                yield (
                    f"List the 10 most recent {name} rows by {column.words}.",
                    f"SELECT * FROM {t} ORDER BY {c} DESC LIMIT 10",
                )
        for fk in table.foreign_keys:
            parent = by_name.get(fk.table)
            if parent is None or len(fk.columns) != 1:
                continue
            p = parent.ref
            on = f"{t}.{q(fk.columns[0])} = {p}.{q(fk.referred[0])}"
            shown = q(parent.label.name)
            yield (
                f"For each {parent.words} row, count its {name} rows (by {words(fk.columns[0])}).",
                f"SELECT {p}.{shown}, COUNT(*) AS {q('count')} FROM {t} JOIN {p} ON {on} "
                f"GROUP BY {p}.{q(fk.referred[0])}, {p}.{shown} ORDER BY {q('count')} DESC LIMIT 10",
            )
            yield (
                f"List {name} rows together with the {parent.label.words} of their {parent.words}.",
                f"SELECT {t}.*, {p}.{shown} AS {q(parent.bare + '_' + parent.label.name)} FROM {t} JOIN {p} ON {on} "
                "LIMIT 10",
            )
            for grand_fk in parent.foreign_keys:  # two joins: through the parent to its own parent
                grand = by_name.get(grand_fk.table)
                if grand is None or len(grand_fk.columns) != 1 or grand.name == table.name:
                    continue
                g = grand.ref
                on2 = f"{p}.{q(grand_fk.columns[0])} = {g}.{q(grand_fk.referred[0])}"
                yield (
                    f"For each {grand.words} row, count the {name} rows linked to it through {parent.words}.",
                    f"SELECT {g}.{q(grand.label.name)}, COUNT(*) AS {q('count')} FROM {t} JOIN {p} ON {on} JOIN {g} ON "
                    f"{on2} "
                    f"GROUP BY {g}.{q(grand_fk.referred[0])}, {g}.{q(grand.label.name)} ORDER BY {q('count')} DESC "
                    "LIMIT 10",
                )


def introspect(engine: Engine, env: str, uri: str) -> list[Resource]:
    """The resources of the database `engine` reads (`uri` names it in each resource's address, without secrets)."""
    try:
        return Introspector(engine, env, uri).resources()
    finally:
        engine.dispose()
