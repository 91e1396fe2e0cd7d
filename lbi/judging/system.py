"""Checks of the system's state as OSWorld's basic_os and general metrics define them: `check_moved_jpgs` (a folder
holds exactly the expected files), `run_sqlite3` (a query's first value on a database the session left),
`is_utc_0` (timedatectl's time zone is at +0000), `file_contains` (a text file holds every expected string) and
`diff_text_file` (how much of the expected file's lines the result keeps, difflib's ratio)."""

from __future__ import annotations

import difflib
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


def file_contains(result: str | None, rules: Mapping[str, Any]) -> float:
    """1.0 if the text file contains every string of `rules["expected"]`."""
    expected = rule_value(rules, "expected")
    if not isinstance(expected, list) or not all(isinstance(e, str) for e in expected):
        raise JudgingError("expected.rules.expected: a list of strings")
    text = text_or_none(result)
    return float(text is not None and all(e in text for e in expected))


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
