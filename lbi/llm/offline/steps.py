"""Reading step dicts (as sent in role inputs) the way every offline role needs: actions and their outcome."""

from __future__ import annotations

from typing import Any

from lbi.llm.offline.sqltext import describe as describe_sql


def describe_action(env: str, action: str) -> str:
    """One sentence for an action: SQL is described in English, anything else is quoted."""
    if env == "sql":
        return describe_sql(action)
    return f"Run `{' '.join(action.split())[:120]}`"


def observation_after(steps: list[dict[str, Any]], index: int, final_observation: str) -> str:
    return steps[index + 1]["observation"] if index + 1 < len(steps) else final_observation


def repeated_state(steps: list[dict[str, Any]], final_observation: str) -> int | None:
    """Index of the first step whose action and resulting observation equal the previous step's, if any."""
    for i in range(1, len(steps)):
        same_action = steps[i]["action"] == steps[i - 1]["action"]
        if same_action and observation_after(steps, i, final_observation) == observation_after(steps, i - 1, final_observation):
            return i
    return None
