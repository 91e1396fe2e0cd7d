"""Offline self-instruct: tasks from a resource's worked examples (the goal sentence before each code block).

A resource without worked examples (a table of contents, a tool list) gives the policy nothing it could act
on, so it writes no task for it (a real model reads the prose instead)."""

from __future__ import annotations

from typing import Any

from lbi.llm.offline.steps import examples_for


def self_instruct(x: dict[str, Any]) -> dict[str, Any]:
    tasks: list[str] = []
    for example in examples_for(x["env"], x["resource_text"]):
        lead = example.lead.strip()
        if len(lead.split()) >= 4 and lead not in tasks:
            tasks.append(lead if lead.endswith((".", "?")) else lead + ".")
    return {"tasks": tasks[: max(1, int(x.get("n", 3)))]}
