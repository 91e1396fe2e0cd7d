"""Whether an agent's episode solved its task, per check kind.

`sql_result`: the result of the agent's last successful query must equal the gold query's result on the
same database (rows compared as a multiset, or in order when the gold query sorts at its top level).
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lbi.records import Trajectory


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str


def _rows(conn: sqlite3.Connection, sql: str) -> list[tuple]:
    return [tuple(round(v, 6) if isinstance(v, float) else v for v in row) for row in conn.execute(sql).fetchall()]


def _orders(sql: str) -> bool:
    """True when the statement sorts its final result (an ORDER BY outside any parentheses)."""
    depth = 0
    for token in re.findall(r"\(|\)|\bORDER\s+BY\b", sql, re.I):
        depth += {"(": 1, ")": -1}.get(token, 0)
        if token.upper().startswith("ORDER") and depth == 0:
            return True
    return False


def last_query(trajectory: Trajectory) -> str | None:
    """The agent's last statement that returned rows without an error."""
    for step in reversed(trajectory.steps):
        if not step.error and re.match(r"\s*(SELECT|WITH)\b", step.action, re.I):
            return step.action
    return None


def check_sql_result(check: dict[str, Any], trajectory: Trajectory, database: Path) -> Verdict:
    gold = check["gold_sql"]
    candidate = last_query(trajectory)
    if candidate is None:
        return Verdict(False, "the agent ran no successful query")
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        expected = _rows(conn, gold)
        try:
            got = _rows(conn, candidate)
        except sqlite3.Error as exc:
            return Verdict(False, f"the agent's query fails on a fresh database: {exc}")
    finally:
        conn.close()
    same = got == expected if _orders(gold) else Counter(got) == Counter(expected)
    if same:
        return Verdict(True, f"{len(got)} rows match the gold result")
    return Verdict(False, f"got {len(got)} rows, expected {len(expected)}" + (" (order differs)" if Counter(got) == Counter(expected) else ""))


CHECKS: dict[str, Callable[..., Verdict]] = {"sql_result": check_sql_result}


def run_check(check: dict[str, Any], trajectory: Trajectory, **context: Any) -> Verdict:
    kind = check.get("kind", "")
    if kind not in CHECKS:
        return Verdict(False, f"unknown check kind {kind!r}")
    return CHECKS[kind](check, trajectory, **context)
