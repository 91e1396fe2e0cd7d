"""What the examples share: their environment (the agent's own SQLite database, reached through one tool,
`run_sql`) and their command line."""

from __future__ import annotations

import argparse
import sqlite3

RUN_SQL = {
    "type": "function",
    "function": {
        "name": "run_sql",
        "description": "Run one SQL statement on the database and see its result.",
        "parameters": {
            "type": "object",
            "properties": {"query": {"type": "string", "description": "One SQL statement."}},
            "required": ["query"],
        },
    },
}


def run_sql(database: str, query: str, max_rows: int = 20) -> str:
    """The statement's result as text (columns, then rows), or `Error: ...`; the environment's observation."""
    try:
        with sqlite3.connect(database) as conn:
            cursor = conn.execute(query)
            if cursor.description is None:
                return f"OK: {cursor.rowcount} row(s) affected."
            columns = [d[0] for d in cursor.description]
            rows = cursor.fetchmany(max_rows + 1)
    except sqlite3.Error as exc:
        return f"Error: {exc}"
    lines = [" | ".join(columns)] + [" | ".join(str(v) for v in row) for row in rows[:max_rows]]
    more = " (more not shown)" if len(rows) > max_rows else ""
    return "\n".join(lines) + f"\n({min(len(rows), max_rows)} rows{more})"


def first_observation(database: str) -> str:
    return "Connected to the database. Tables: " + run_sql(
        database, "SELECT name FROM sqlite_master WHERE type = 'table'"
    )


def arguments(doc: str) -> argparse.Namespace:
    """The examples' command line: where lbi is, which dataset, the database, the task, the model."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument(
        "--target", default="127.0.0.1:50052", help="The retrieval service (lbi up serves episodes there too)."
    )
    parser.add_argument("--dataset", default="sql-demo")
    parser.add_argument("--database", required=True, help="The SQLite file the agent works on.")
    parser.add_argument("--task", required=True)
    parser.add_argument("--model", default="gpt-4o", help="Any litellm model.")
    parser.add_argument("--token", default=None, help="Bearer token (when the services have LBI_AUTH_TOKENS).")
    return parser.parse_args()
