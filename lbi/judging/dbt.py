"""dbt checks of Spider2-V: a project's YAML file against rules (`check_yaml_file`) and the database a project built
against the gold one (`check_local_database`, DuckDB or SQLite, opened read-only).

`check_yaml_file(result, rules)`: every rule `[match, key_path, value]` holds for the YAML file. The key path walks
the document: a key of a mapping, an index into a list, or a `[key, value]` pair choosing the first item of a list
whose `key` is `value` (`["models", ["name", "customers"], "description"]`). A match is `match` (equal), `in` (the
value found is among the rule's), `contain` (the value found contains the rule's) or `not_null` (the value found is
not empty). A path that leads nowhere fails the rule.

`check_local_database(result, expected, db_type="duckdb", check_type=["table", "view"], table_targets=[],
view_targets=[])`: the two databases have the same names of tables (`table`) and views (`view`) of every schema, among
the targets when given; `table-schema` / `view-schema` add the same columns (name, type, nullability, default, key)
for each, and `table-schema-content` / `view-schema-content` the same rows in the same order (each implies the checks
before it). Spider2-V's tasks also give a `schema_name`, which its function ignores, and so does this one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, closing, contextmanager
from typing import Any

import duckdb
import yaml

from lbi.judging.errors import JudgingError

MATCHES: dict[str, Callable[[Any, Any], bool]] = {
    "match": lambda found, value: bool(found == value),
    "in": lambda found, value: found in value,
    "contain": lambda found, value: value in found,
    "not_null": lambda found, _value: bool(found),
}


def _rules(rules: Any) -> list[tuple[Callable[[Any, Any], bool], list[Any], Any]]:
    if not isinstance(rules, list):
        raise JudgingError("expected.rules: a list of [match, key_path, value]")
    checked = []
    for i, rule in enumerate(rules):
        if not isinstance(rule, list | tuple) or len(rule) != 3 or not isinstance(rule[1], list):
            raise JudgingError(f"expected.rules[{i}]: [match, key_path, value]")
        if rule[0] not in MATCHES:
            raise JudgingError(f"expected.rules[{i}]: {rule[0]!r} is not one of {', '.join(MATCHES)}")
        checked.append((MATCHES[rule[0]], rule[1], rule[2]))
    return checked


def _walk(document: Any, key_path: Sequence[Any]) -> Any:
    """The value at `key_path` in the document; LookupError or TypeError when there is none."""
    value = document
    for key in key_path:
        if isinstance(value, Mapping):
            value = value[key]
        elif isinstance(key, list | tuple):
            name, wanted = key
            value = next(item for item in value if isinstance(item, Mapping) and item.get(name) == wanted)
        else:
            value = value[int(key)]
    return value


def check_yaml_file(result: str | None, rules: list[list[Any]]) -> float:
    """1.0 if every rule `[match, key_path, value]` holds for the YAML file, else 0.0."""
    checked = _rules(rules)
    if not result:
        return 0.0
    try:
        with open(result, encoding="utf-8") as f:
            document = yaml.safe_load(f)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return 0.0
    for match, key_path, value in checked:
        try:
            if not match(_walk(document, key_path), value):
                return 0.0
        except (LookupError, TypeError, ValueError, StopIteration):
            return 0.0
    return 1.0


KINDS = ("table", "view")
CHECK_TYPES = (*KINDS, "table-schema", "view-schema", "table-schema-content", "view-schema-content")
DB_TYPES = ("duckdb", "sqlite3")


class _Database:
    """One database file opened read-only: its tables and views, their columns and rows."""

    def __init__(self, connection: Any, db_type: str):
        self.connection = connection
        self.db_type = db_type

    def names(self, kind: str, targets: Sequence[str]) -> list[tuple[str, str]]:
        """(name, its schema) of the tables or views, by name; only the `targets` when there are any."""
        if self.db_type == "sqlite3":
            query = "SELECT name, 'main' FROM sqlite_master WHERE type = ?"
        else:
            query = (
                "SELECT table_name, table_schema FROM information_schema.tables WHERE table_type = ? "
                "AND table_schema NOT IN ('information_schema', 'pg_catalog')"
            )
        kind_name = kind if self.db_type == "sqlite3" else {"table": "BASE TABLE", "view": "VIEW"}[kind]
        found = sorted((str(n), str(s)) for n, s in self.connection.execute(query, [kind_name]).fetchall())
        return [(name, schema) for name, schema in found if not targets or name in targets]

    def columns(self, name: str, schema: str) -> list[Any]:
        if self.db_type == "sqlite3":
            return list(self.connection.execute(f"PRAGMA table_info({_quoted(name)})").fetchall())
        return list(
            self.connection.execute("SELECT * FROM pragma_table_info(?)", [_qualified(schema, name)]).fetchall()
        )

    def rows(self, name: str, schema: str) -> list[Any]:
        return list(self.connection.execute(f"SELECT * FROM {_qualified(schema, name)}").fetchall())


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _qualified(schema: str, name: str) -> str:
    return f"{_quoted(schema)}.{_quoted(name)}"


@contextmanager
def _opened(path: str, db_type: str) -> Iterator[_Database]:
    if db_type == "sqlite3":
        connection: Any = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    else:
        connection = duckdb.connect(path, read_only=True)
    with closing(connection):
        yield _Database(connection, db_type)


def _check_types(check_type: Sequence[str]) -> set[str]:
    unknown = sorted(set(check_type) - set(CHECK_TYPES))
    if unknown:
        raise JudgingError(f"check_type: {unknown[0]!r} is not one of {', '.join(CHECK_TYPES)}")
    checks = set(check_type)
    for kind in KINDS:
        if f"{kind}-schema-content" in checks:
            checks.add(f"{kind}-schema")
        if f"{kind}-schema" in checks:
            checks.add(kind)
    return checks


def check_options(options: Mapping[str, Any]) -> None:
    """check_local_database's options: JudgingError naming the one that is not what it takes."""
    if options.get("db_type", "duckdb") not in DB_TYPES:
        raise JudgingError(f"db_type: {options.get('db_type')!r} is not one of {', '.join(DB_TYPES)}")
    check_type = options.get("check_type", list(KINDS))
    if not isinstance(check_type, list):
        raise JudgingError("check_type: a list of checks")
    _check_types(check_type)
    for key in ("table_targets", "view_targets"):
        if not isinstance(options.get(key, []), list):
            raise JudgingError(f"{key}: a list of names")


def check_local_database(
    result: str | None,
    expected: str,
    *,
    db_type: str = "duckdb",
    check_type: Sequence[str] = KINDS,
    table_targets: Sequence[str] = (),
    view_targets: Sequence[str] = (),
    schema_name: str | None = None,
) -> float:
    """1.0 if the result database has the expected one's tables and views (and their columns and rows, as
    `check_type` asks), else 0.0."""
    check_options({"db_type": db_type, "check_type": list(check_type)})
    checks = _check_types(check_type)
    targets = {"table": table_targets, "view": view_targets}
    with ExitStack() as stack:
        try:
            gold = stack.enter_context(_opened(expected, db_type))
        except (OSError, sqlite3.Error, duckdb.Error) as e:
            raise JudgingError(f"expected: cannot open the database {expected} ({e})") from None
        if not result:
            return 0.0
        try:
            mine = stack.enter_context(_opened(result, db_type))
            return float(_same(mine, gold, checks, targets))
        except (sqlite3.Error, duckdb.Error):
            return 0.0


def _same(mine: _Database, gold: _Database, checks: set[str], targets: Mapping[str, Sequence[str]]) -> bool:
    for kind in KINDS:
        if kind not in checks:
            continue
        ours, theirs = mine.names(kind, targets[kind]), gold.names(kind, targets[kind])
        if [name for name, _ in ours] != [name for name, _ in theirs]:
            return False
        pairs = list(zip(ours, theirs, strict=True))
        if f"{kind}-schema" in checks and any(mine.columns(*a) != gold.columns(*b) for a, b in pairs):
            return False
        if f"{kind}-schema-content" in checks and any(mine.rows(*a) != gold.rows(*b) for a, b in pairs):
            return False
    return True
