"""The sql environment's check: `sql_result`, judged on the task's own database by the runner.

The agent's last statement that returned rows without an error is run again, with the gold query, on a fresh
session of the same config (the same database and `setup_sql`, so the agent's own writes cannot make its answer
right), on whatever engine the config names; the rows are compared as a multiset, or in order when the gold
query sorts at its top level (or `ordered` says so). Numbers compare by value whatever type the driver returns
(a PostgreSQL `numeric` is a `Decimal`, SQLite's a float). A gold query that fails is a check error, not the
agent's failure.
"""

from __future__ import annotations

import decimal
import re
from collections import Counter
from typing import Any, Literal

from pydantic import Field

from env_runners.base import Check, Turn, Verdict
from env_runners.sql.engines import SqlSession


class SqlResultCheck(Check):
    kind: Literal["sql_result"] = "sql_result"
    gold_sql: str = Field(min_length=1, description="A query whose result the agent's last query must reproduce.")
    ordered: bool | None = Field(
        None, description="Compare rows in order (default: when the gold query has a top-level ORDER BY)."
    )


def _value(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        value = float(value)
    if isinstance(value, float):
        return round(value, 6)
    return value


def _rows(session: SqlSession, sql: str) -> list[tuple]:
    return [tuple(_value(v) for v in row) for row in session.rows(sql)]


def orders(sql: str) -> bool:
    """True when the statement sorts its final result (an ORDER BY outside any parentheses)."""
    depth = 0
    for token in re.findall(r"\(|\)|\bORDER\s+BY\b", sql, re.I):
        depth += {"(": 1, ")": -1}.get(token, 0)
        if token.upper().startswith("ORDER") and depth == 0:
            return True
    return False


def last_query(turns: list[Turn]) -> str | None:
    """The agent's last statement that returned rows without an error."""
    for turn in reversed(turns):
        if not turn.result.error and re.match(r"\s*(SELECT|WITH|VALUES)\b", turn.action, re.I):
            return turn.action
    return None


def judge_result(check: SqlResultCheck, turns: list[Turn], fresh: SqlSession) -> Verdict:
    errors, scrub = fresh.database.errors, fresh.database.resolved.scrub
    try:
        expected = _rows(fresh, check.gold_sql)
    except errors as exc:
        return Verdict(
            False,
            f"the gold query fails on the task's database: {scrub(fresh.database.error_text(exc))}",
            check_error=True,
        )
    candidate = last_query(turns)
    if candidate is None:
        return Verdict(False, "the agent ran no successful query")
    try:
        got = _rows(fresh, candidate)
    except errors as exc:
        return Verdict(
            False,
            f"the agent's last query fails on a fresh copy of the database: {scrub(fresh.database.error_text(exc))}",
        )
    ordered = orders(check.gold_sql) if check.ordered is None else check.ordered
    if (got == expected) if ordered else Counter(got) == Counter(expected):
        return Verdict(True, f"{len(got)} rows match the gold result")
    if Counter(got) == Counter(expected):
        return Verdict(False, f"the {len(got)} rows match but their order differs")
    missing = next((row for row in expected if row not in got), None)
    detail = f"; first expected row missing: {missing!r}"[:200] if missing is not None else ""
    return Verdict(False, f"got {len(got)} rows, expected {len(expected)}{detail}")
