"""Offline labeller (backward construction): says what a sub-trajectory did, from its actions and observations."""

from __future__ import annotations

from typing import Any

from lbi.llm.offline.sqltext import is_schema_query
from lbi.llm.offline.steps import describe_action, observation_after
from lbi.records import state_at


def _succeeded(steps: list[dict[str, Any]], final_observation: str) -> list[int]:
    return [
        i
        for i, s in enumerate(steps)
        if not s.get("error") and not observation_after(steps, i, final_observation).startswith("Error:")
    ]


def label_span(env: str, kind: str, steps: list[dict[str, Any]], final_observation: str) -> str:
    if not steps:  # an empty span: nothing was done
        return (
            "Replicate the following: look at the current state without acting."
            if kind == "summary"
            else ("Look at the current state of the environment without changing it.")
        )
    if kind == "summary":
        parts = []
        for i, step in enumerate(steps, start=1):
            failed = step.get("error") or observation_after(steps, i - 1, final_observation).startswith("Error:")
            parts.append(f"{i}. {describe_action(env, step['action'])}{' (this fails)' if failed else ''}.")
        return "Replicate the following: " + " ".join(parts)
    ok = _succeeded(steps, final_observation)
    main = [
        i for i in ok if not is_schema_query(steps[i]["action"]) and not steps[i]["action"].upper().endswith("LIMIT 3;")
    ]
    chosen = (main or ok or [len(steps) - 1])[-1]
    return describe_action(env, steps[chosen]["action"]) + "."


def label(x: dict[str, Any]) -> dict[str, Any]:
    return {"instruction": label_span(x["env"], x["kind"], x["steps"], x["final_observation"])}


def label_batch(x: dict[str, Any]) -> dict[str, Any]:
    steps, final = x["steps"], x["final_observation"]
    labels = []
    for end in x["ends"]:
        upto = max(0, min(int(end), len(steps)))
        span_final = state_at(steps, upto, final)
        labels.append({"end": end, "instruction": label_span(x["env"], x["kind"], steps[:upto], span_final)})
    return {"labels": labels}
