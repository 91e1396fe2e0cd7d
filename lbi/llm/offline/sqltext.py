"""SQL as the offline backend reads it: schema from observations, error repair, and plain-English descriptions.

Deterministic text processing: the tables a statement reads come from sqlglot's parse (quoted names, names that
are keywords, CTEs and aliases handled), with a pattern for what sqlglot cannot parse (a statement cut short).
Good enough to describe and repair the SQL an agent writes against a documented database, honest about what it
cannot describe, and never raising on any statement.
"""

from __future__ import annotations

import difflib
import functools
import re

import sqlglot
from sqlalchemy import dialects as sa_dialects
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.tokens import TokenType

SCHEMA_QUERY = "SELECT name, sql FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name;"
_SCHEMA_HINT = re.compile(r"Inspect the schema with: (.+?;)")
_SCHEMA_MARKERS = re.compile(
    r"\b(sqlite_master|sqlite_schema|information_schema|duckdb_columns|duckdb_tables)\b|"
    r"^\s*(SHOW\s+TABLES|DESCRIBE)\b",
    re.I,
)
# "table_name | columns" rows: a schema listed one table per row, its columns as "name type, name type, ..."
_LISTING = re.compile(r"^table_name\s*\|\s*columns\s*$")

# an identifier as engines write it: "double quoted", `backticked`, [bracketed] or bare
_IDENT = r'(?:"([^"]+)"|`([^`]+)`|\[([^\]]+)\]|([A-Za-z_][\w$]*))'
_CREATE = re.compile(
    rf"CREATE\s+(?:TABLE|VIEW)\s+(?:IF NOT EXISTS\s+)?{_IDENT}\s*\((.*?)\)\s*(?:\||$)", re.I | re.S | re.M
)
_FIRST_IDENT = re.compile(rf"^\s*{_IDENT}")
_AFTER_KEYWORD = re.compile(rf"\b(?:FROM|JOIN|INTO|UPDATE)\s+{_IDENT}", re.I)
_SYSTEM_TABLES = {"sqlite_master", "sqlite_schema", "information_schema"}


def _ident(groups: tuple[str, ...]) -> str:
    return next((g for g in groups if g), "")


# the engine a session runs on, as its action space names it (env_runners.sql.engines.base.action_space), and the
# sqlglot dialect it speaks; sessions whose action space names none are SQLite's
_ENGINE = re.compile(r"\bexactly one (\w+) SQL statement\b")
DIALECTS = {"SQLite": "sqlite", "PostgreSQL": "postgres", "MySQL": "mysql", "MariaDB": "mysql", "DuckDB": "duckdb"}
_SQLALCHEMY = {"sqlite": "sqlite", "postgres": "postgresql", "mysql": "mysql", "duckdb": "postgresql"}


def dialect_of(action_space: str) -> str:
    """The sqlglot dialect of the engine a session's action space names (SQLite's when it names none)."""
    match = _ENGINE.search(action_space or "")
    return DIALECTS.get(match.group(1), "sqlite") if match else "sqlite"


@functools.lru_cache(maxsize=8)
def _reserved(dialect: str) -> frozenset[str]:
    """Words a bare name may not be in `dialect`: sqlglot's reserved keywords and the engine's own list (SQLAlchemy's,
    which has PostgreSQL's and SQLite's where sqlglot has none), upper-case."""
    words = {w.upper() for w in Dialect.get_or_raise(dialect).generator_class.RESERVED_KEYWORDS}
    engine = sa_dialects.registry.load(_SQLALCHEMY.get(dialect, "sqlite"))()
    return frozenset(words | {w.upper() for w in engine.identifier_preparer.reserved_words})


def quote_name(name: str, dialect: str = "sqlite") -> str:
    """One identifier as `dialect` must write it: bare when the engine reads it back as the same name, else quoted its
    way ("x", MySQL's `x`). A name the engine would fold to another case is quoted (PostgreSQL folds bare names to
    lower case: a table created as "ObservingRun" is `"ObservingRun"`, `observingrun` is another table), as are
    reserved words and names that are not plain words."""
    needs = (
        not exp.SAFE_IDENTIFIER_RE.match(name)
        or Dialect.get_or_raise(dialect).case_sensitive(name)
        or name.upper() in _reserved(dialect)
    )
    return exp.Identifier(this=name, quoted=needs).sql(dialect=dialect)


def quote_table(name: str, dialect: str = "sqlite") -> str:
    """A table as a schema listing shows it (`schema.table` outside the default schema), as `dialect` writes it."""
    return ".".join(quote_name(part, dialect) for part in name.split("."))


_CONSTRAINT = re.compile(r"^(PRIMARY|FOREIGN|UNIQUE|CHECK|CONSTRAINT)\b", re.I)


def schema_query(action_space: str) -> str:
    """The statement that lists the schema, as the session's action space says for its engine (SQLite's by default)."""
    match = _SCHEMA_HINT.search(action_space or "")
    return match.group(1) if match else SCHEMA_QUERY


def is_schema_query(sql: str) -> bool:
    return bool(_SCHEMA_MARKERS.search(sql))


def schema_from_text(text: str) -> dict[str, list[str]]:
    """Tables and their columns, read from CREATE statements or a `table_name | columns` listing in observations."""
    schema: dict[str, list[str]] = {}
    for match in _CREATE.finditer(text):
        columns = []
        for part in re.split(r",(?![^(]*\))", match.group(5)):
            part = part.strip()
            ident = _FIRST_IDENT.match(part)
            if part and ident and not _CONSTRAINT.match(part):
                columns.append(_ident(ident.groups()))
        schema[_ident(match.groups()[:4])] = columns
    listing = False
    for line in text.splitlines():
        if _LISTING.match(line.strip()):
            listing = True
        elif listing and (row := re.match(r"^([^|]*[^|\s])\s*\|\s*(.+)$", line.strip())):  # any name: "Order Lines"
            schema[row.group(1)] = [part.split()[0] for part in row.group(2).split(", ") if part.split()]
        elif listing and not line.startswith("-"):
            listing = False
    return schema


@functools.lru_cache(maxsize=4096)
def _parsed_tables(sql: str) -> tuple[str, ...] | None:
    try:
        trees = [t for t in sqlglot.parse(sql, error_level=sqlglot.ErrorLevel.RAISE) if t is not None]
    except Exception:  # sqlglot's parse and tokenize errors: fall back to the pattern
        return None
    names: list[str] = []
    for tree in trees:
        ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
        names += [t.name for t in tree.find_all(exp.Table) if t.name and t.name not in ctes]
    return tuple(names)


def tables_in(sql: str) -> list[str]:
    """Table names a statement reads or writes, in order of appearance (system catalogues left out)."""
    parsed = _parsed_tables(sql)
    if parsed is None:
        parsed = tuple(_ident(m.groups()) for m in _AFTER_KEYWORD.finditer(sql))
    positions = {name: sql.find(name) for name in parsed}
    ordered = sorted(dict.fromkeys(parsed), key=lambda name: positions[name] if positions[name] >= 0 else len(sql))
    return [t for t in ordered if t.lower() not in _SYSTEM_TABLES]


def repair(sql: str, error: str, schema: dict[str, list[str]], dialect: str = "sqlite") -> str | None:
    """A corrected statement for an unknown column or table, using the real name closest to the one the engine
    reports (the same name in another case first: PostgreSQL reports a bare `ObservingRun` as "observingrun"),
    written as `dialect` needs it; None if unknown. Reads the engines' own messages: SQLite, PostgreSQL, MySQL/MariaDB
    and DuckDB."""
    found = _unknown_name(error)
    if not found or not schema:
        return None
    kind, bad = found
    bare = bad.split(".")[-1]
    names = list(schema) if kind == "table" else sorted({c for cols in schema.values() for c in cols})
    by_lower = {n.lower(): n for n in reversed(names)}  # the first of names that differ only in case
    close = difflib.get_close_matches(bare.lower(), list(by_lower), n=1, cutoff=0.5)
    best = by_lower[close[0]] if close else None
    if best is None or best == bare:
        return None
    return _renamed(sql, bare, quote_name(best, dialect), dialect)


def _renamed(sql: str, name: str, written: str, dialect: str) -> str:
    """`sql` with every mention of the name `name` (bare in any case, or quoted exactly) written as `written`; the
    rest of the statement as it was (sqlglot's tokens say where the names are, so literals and keywords stay)."""
    try:
        tokens = sqlglot.tokenize(sql, read=dialect)
    except Exception:  # a statement sqlglot cannot tokenize (cut short): its bare words
        return re.sub(rf"(?<![\w\"`]){re.escape(name)}(?![\w\"`])", lambda _: written, sql, flags=re.I)
    out, position = [], 0
    for token in tokens:
        quoted = token.token_type == TokenType.IDENTIFIER
        literal = token.token_type == TokenType.NUMBER or "STRING" in token.token_type.name
        if literal or (token.text != name if quoted else token.text.lower() != name.lower()):
            continue
        out += [sql[position : token.start], written]
        position = token.end + 1
    return "".join(out) + sql[position:]


_UNKNOWN = [  # (kind, pattern) per engine's wording
    ("column", r"no such column: ([\w.]+)"),
    ("table", r"no such table: ([\w.]+)"),  # SQLite
    ("column", r'column "?([\w.]+)"? does not exist'),
    ("table", r'relation "?([\w.]+)"? does not exist'),  # PostgreSQL
    ("column", r"Unknown column '([\w.]+)'"),
    ("table", r"Table '([\w.]+)' doesn't exist"),  # MySQL / MariaDB
    ("column", r'Referenced column "?([\w.]+)"? not found'),
    ("table", r"Table with name ([\w.]+) does not exist"),  # DuckDB
]


def _unknown_name(error: str) -> tuple[str, str] | None:
    for kind, pattern in _UNKNOWN:
        match = re.search(pattern, error)
        if match:
            return kind, match.group(1)
    return None


def _human(expr: str) -> str:
    expr = expr.strip()
    alias = re.search(rf"\bAS\s+{_IDENT}\s*$", expr, re.I)
    if alias:
        return _ident(alias.groups()).replace("_", " ")
    agg = re.match(r"(COUNT|SUM|AVG|MIN|MAX)\s*\(\s*(DISTINCT\s+)?(.*?)\s*\)$", expr, re.I)
    if agg:
        func, distinct, arg = agg.group(1).upper(), agg.group(2), _human(agg.group(3))
        if func == "COUNT":
            return "the number of " + ("distinct " + arg if distinct else "rows" if arg == "*" else arg + " values")
        return {"SUM": "the total", "AVG": "the average", "MIN": "the lowest", "MAX": "the highest"}[func] + " " + arg
    return expr.split(".")[-1].strip('"`[]').replace("_", " ")


def _split_top(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _join_words(items: list[str]) -> str:
    if not items:
        return ""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


_CLAUSES = re.compile(
    r"^SELECT\s+(?P<select>.*?)\s+FROM\s+(?P<from>.*?)"
    r"(?:\s+WHERE\s+(?P<where>.*?))?(?:\s+GROUP BY\s+(?P<group>.*?))?(?:\s+HAVING\s+(?P<having>.*?))?"
    r"(?:\s+ORDER BY\s+(?P<order>.*?))?(?:\s+LIMIT\s+(?P<limit>\d+))?\s*;?\s*$",
    re.I | re.S,
)


def _describe_select(sql: str) -> str:
    m = _CLAUSES.match(sql)
    tables = tables_in(sql)
    if not m:
        return f"Query the {_join_words(tables)} table{'s' if len(tables) > 1 else ''}" if tables else "Run a query"
    if not tables:
        return "Run a query"
    select = m.group("select").strip()
    distinct = select.upper().startswith("DISTINCT ")
    columns = [_human(c) for c in _split_top(select[9:] if distinct else select)] or ["*"]
    what = "all columns" if columns == ["*"] else _join_words(columns)
    limit, order = m.group("limit"), m.group("order")
    descending = bool(order and re.search(r"\bDESC\b", order, re.I))
    if limit and order:
        head = f"List the top {limit} rows ({what})" if descending else f"List the first {limit} rows ({what})"
    elif limit:
        head = f"Show {limit} rows of {what}"
    else:
        head = f"Find {what}" if what.startswith("the ") else f"List the {'distinct ' if distinct else ''}{what}"
    text = f"{head} from the {_join_words(tables)} table{'s' if len(tables) > 1 else ''}"
    if m.group("where"):
        text += f" where {' '.join(m.group('where').split())}"
    if m.group("group"):
        text += f", for each {_join_words([_human(g) for g in _split_top(m.group('group'))])}"
    if m.group("having"):
        text += f", keeping groups where {' '.join(m.group('having').split())}"
    if order:
        keys = [_human(re.sub(r"\s+(ASC|DESC)$", "", o, flags=re.I)) for o in _split_top(order)]
        text += f", sorted by {_join_words(keys)}{' from highest to lowest' if descending else ''}"
    return text


def describe(sql: str) -> str:
    """One plain-English sentence saying what a statement does."""
    s = " ".join(sql.strip().rstrip(";").split())
    upper = s.upper()
    if is_schema_query(s):
        return "List the tables of the database with their definitions"
    pragma = re.match(rf"PRAGMA\s+table_info\s*\(\s*(?:'([^']+)'|{_IDENT})", s, re.I)
    if pragma:
        return f"Show the columns of the {_ident(pragma.groups())} table"
    peek = re.match(rf"SELECT \* FROM {_IDENT} LIMIT (\d+)$", s, re.I)
    if peek:
        return f"Show the first {peek.group(5)} rows of the {_ident(peek.groups()[:4])} table"
    if upper.startswith("WITH "):
        main = re.search(r"\)\s*(SELECT\s.*)$", s, re.I | re.S)
        return (_describe_select(main.group(1)) if main else "Run a query") + ", using a common table expression"
    if upper.startswith("SELECT"):
        return _describe_select(s)
    tables = tables_in(s)
    target = tables[0] if tables else "the database"
    if upper.startswith("INSERT"):
        return f"Add rows to the {target} table"
    if upper.startswith("UPDATE"):
        where = re.search(r"\bWHERE\s+(.*)$", s, re.I)
        setting = re.search(r"\bSET\s+(.*?)(?:\s+WHERE|$)", s, re.I)
        return f"In the {target} table, set {setting.group(1) if setting else 'values'}" + (
            f" where {where.group(1)}" if where else ""
        )
    if upper.startswith("DELETE"):
        where = re.search(r"\bWHERE\s+(.*)$", s, re.I)
        return f"Delete rows from the {target} table" + (f" where {where.group(1)}" if where else "")
    created = re.match(rf"CREATE\s+(?:UNIQUE\s+)?(TABLE|VIEW|INDEX)\s+(?:IF NOT EXISTS\s+)?{_IDENT}", s, re.I)
    if created:
        return f"Create the {created.group(1).lower()} {_ident(created.groups()[1:])}"
    return f"Run `{s[:80]}`"
