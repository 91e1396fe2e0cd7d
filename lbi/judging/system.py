"""Checks of the system's state as OSWorld's basic_os and general metrics define them: `check_moved_jpgs` (a folder
holds exactly the expected files), `run_sqlite3` (a query's first value on a database the session left),
`is_utc_0` (timedatectl's time zone is at +0000), `check_gnome_favorite_apps` (GNOME's favourite applications, in
any order), `file_contains` (a text file holds every expected string), `check_csv` (rows matching each `expect`
record and none matching an `unexpect` one) and `diff_text_file` (how much of the expected file's lines the result
keeps, difflib's ratio)."""

from __future__ import annotations

import ast
import csv
import difflib
import io
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lbi.judging.errors import JudgingError
from lbi.judging.files import read_lines, text_or_none
from lbi.judging.values import rule_value


def check_moved_jpgs(result: Any, rules: Mapping[str, Any]) -> float:
    """1.0 if the folder (the `list_directory` getter's tree) holds exactly the files `rules["expected"]` names."""
    expected = rule_value(rules, "expected")
    if not isinstance(expected, list):
        raise JudgingError("expected.rules.expected: a list of file names")
    if not isinstance(result, Mapping) or not isinstance(result.get("children"), list):
        return 0.0
    names = [child.get("name") for child in result["children"] if isinstance(child, Mapping)]
    return float(len(names) == len(expected) and set(names) == set(expected))


def run_sqlite3(result: str | None, rules: Mapping[str, Any]) -> float:
    """The first value of the first row `rules["sql"]` gives on the database (read only), as a number; 0 when the
    query fails or gives nothing."""
    sql = rule_value(rules, "sql")
    if not isinstance(sql, str):
        raise JudgingError("expected.rules.sql: a query")
    if not result or not Path(result).is_file():
        return 0.0
    connection = sqlite3.connect(f"{Path(result).resolve().as_uri()}?mode=ro", uri=True)
    try:
        row = connection.execute(sql).fetchone()
    except sqlite3.Error:
        return 0.0
    finally:
        connection.close()
    return float(row[0] or 0) if row else 0.0


def is_utc_0(result: str | None) -> float:
    """1.0 if the fourth line of timedatectl's output (its time zone) ends at +0000."""
    lines = (result or "").split("\n")
    return float(len(lines) > 3 and lines[3].endswith("+0000)"))


def check_gnome_favorite_apps(result: str | None, rules: Mapping[str, Any]) -> float:
    """1.0 if gsettings' list of favourite applications (a Python-style list) holds exactly `rules["expected"]`."""
    expected = rule_value(rules, "expected")
    try:
        apps = ast.literal_eval((result or "").strip())
    except (ValueError, SyntaxError):
        return 0.0
    if not isinstance(apps, list) or not isinstance(expected, list):
        return 0.0
    return float(len(apps) == len(expected) and set(apps) == set(expected))


def file_contains(result: str | None, rules: Mapping[str, Any]) -> float:
    """1.0 if the text file contains every string of `rules["expected"]`."""
    expected = rule_value(rules, "expected")
    if not isinstance(expected, list) or not all(isinstance(e, str) for e in expected):
        raise JudgingError("expected.rules.expected: a list of strings")
    text = text_or_none(result)
    return float(text is not None and all(e in text for e in expected))


def check_csv(result: str | None, rules: Mapping[str, Any]) -> float:
    """1.0 if each record of `rules["expect"]` matches some row of the CSV file (a row matches when it has each of
    the record's columns with the record's value) and no row matches a record of `rules["unexpect"]`."""
    expect, unexpect = rules.get("expect", []), rules.get("unexpect", [])
    if not all(isinstance(r, Mapping) for r in [*expect, *unexpect]):
        raise JudgingError("expected.rules.expect: a list of records (column: value)")
    text = text_or_none(result)
    if text is None:
        return 0.0
    rows = list(csv.DictReader(io.StringIO(text)))

    def matches(record: Mapping[str, Any], row: Mapping[str, Any]) -> bool:
        return all(k in row and row[k] == v for k, v in record.items())

    found = all(any(matches(r, row) for row in rows) for r in expect)
    return float(found and not any(matches(r, row) for r in unexpect for row in rows))


def diff_text_file(result: str | None, expected: str) -> float:
    """difflib's similarity ratio (0..1) of the two files' lines."""
    try:
        gold = read_lines(expected)
    except OSError as e:
        raise JudgingError(f"expected: cannot read {expected} ({e.strerror})") from None
    text = text_or_none(result)
    if text is None:
        return 0.0
    return difflib.SequenceMatcher(a=text.splitlines(), b=gold).ratio()
