"""Reading step dicts (as sent in role inputs) the way every offline role needs: actions and their outcome."""

from __future__ import annotations

from typing import Any

from lbi.action_text import ACTION_LANGUAGES
from lbi.docs import WorkedExample, worked_examples
from lbi.llm.offline.sqltext import describe as describe_sql
from lbi.records import Step, first_repeated_state, state_at


def examples_for(env: str, text: str) -> list[WorkedExample]:
    """The worked examples of a resource that are actions of `env`."""
    return worked_examples(text or "", ACTION_LANGUAGES.get(env))


def describe_action(env: str, action: str) -> str:
    """One sentence for an action: SQL is described in English, anything else is quoted."""
    if env == "sql":
        return describe_sql(action)
    return f"Run `{' '.join(action.split())[:120]}`"


def observation_after(steps: list[dict[str, Any]], index: int, final_observation: str) -> str:
    """The observation that followed action `index`."""
    return state_at(steps, index + 1, final_observation)


def repeated_state(steps: list[dict[str, Any]], final_observation: str) -> int | None:
    """Index of the first step that repeats the previous state (see lbi.records.first_repeated_state)."""
    return first_repeated_state([Step.from_dict(s) for s in steps], final_observation)
