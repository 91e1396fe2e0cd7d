"""Offline judge: yes when the trajectory reaches no error observation and never repeats a state, with reasons."""

from __future__ import annotations

from typing import Any

from lbi.llm.offline.steps import observation_after, repeated_state


def judge(x: dict[str, Any]) -> dict[str, Any]:
    steps, final = x["steps"], x["final_observation"]
    failed = [
        i for i, s in enumerate(steps) if s.get("error") or observation_after(steps, i, final).startswith("Error:")
    ]
    repeat = repeated_state(steps, final)
    words = len(x["instruction"].split())
    if failed:
        first = (
            observation_after(steps, failed[0], final).splitlines()[0]
            if observation_after(steps, failed[0], final)
            else "error"
        )
        error_reason = f"action {failed[0] + 1} ends in an error ({first[:160]})"
    else:
        error_reason = ""
    return {
        "aligned": {
            "ok": not failed,
            "reason": error_reason or "every action succeeds and the last result is what the instruction asks for",
        },
        "coherent": {"ok": not failed, "reason": error_reason or "each action follows from the observation before it"},
        "natural": {"ok": 3 <= words <= 150, "reason": f"the instruction has {words} words"},
        "reasonable": {
            "ok": repeat is None,
            "reason": f"action {repeat + 1} repeats the previous state"
            if repeat is not None
            else "no state is repeated",
        },
    }
