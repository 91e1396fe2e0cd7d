"""Offline query writer: retrieval queries from the task and the latest step."""

from __future__ import annotations

from typing import Any

from lbi.llm.offline.steps import describe_action

MAX_CHARS = 120  # lbi.llm.roles.QueryText


def _short(text: str) -> str:
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS].rsplit(" ", 1)[0]


def write_queries(x: dict[str, Any]) -> dict[str, Any]:
    queries = [_short(x["task"].strip() or "next step")]
    history = x.get("history", [])
    if history and history[-1].get("action"):
        latest = _short(describe_action(x["env"], history[-1]["action"]))
        if latest not in queries:
            queries.append(latest)
    return {"queries": queries}
