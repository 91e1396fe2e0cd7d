"""The prompts a real LLM sees for each role, rendered from the same inputs the offline backend reads.

`PROMPT_VERSION` changes whenever a prompt's wording changes, so a journal never answers a new prompt with a reply
to an old one. A step list may hold `{"elided": N}` entries (lbi.llm.budget leaves them where it cut steps to fit a
context window): they render as a marker, and the steps after keep their numbers.
"""

from __future__ import annotations

import functools
import json
from typing import Any, get_args, get_origin

from pydantic import BaseModel

from lbi.llm.roles import OUTPUT_MODELS, Role, output_schema

PROMPT_VERSION = "2026-12-04"
SYSTEM = "You help adapt an AI agent to a new environment. Answer with one JSON object only, no prose."
FAILED = "(this action failed)"

# What the committee asks of each kind of example (the label kind travels in the judge's inputs as `origin`).
_KIND_CRITERIA = {
    "backward-summary": (
        "This instruction is a step-by-step summary written from the interaction ('Replicate the following: "
        "1. ... 2. ...'): that is an intended instruction style, natural when each step it lists matches an action "
        "of the interaction. Example: 'Replicate the following: 1. List the tables. 2. Count the rows of orders.' "
        "is aligned with an interaction that does exactly those two things."
    ),
    "backward-task": (
        "This instruction was written afterwards for what the interaction actually did; judge whether the "
        "interaction accomplishes it. Example: 'Count the orders placed in 2023.' is aligned with an interaction "
        "whose last action counts those orders and shows the count."
    ),
    "forward": (
        "This is the task the agent was given; the interaction may or may not accomplish it. Example: 'Find the "
        "three most expensive products.' is not aligned with an interaction that only lists the tables."
    ),
    "online": (
        "This is a production agent's own task and episode. Example: a task 'Rename the file a.txt to b.txt' is "
        "aligned with an episode whose last action renames it without an error."
    ),
}


def _steps_text(steps: list[dict[str, Any]], final_observation: str | None = None, first: int = 0) -> str:
    lines, i = [], first
    for step in steps:
        if "elided" in step:
            lines.append(f"[... {step['elided']} steps not shown to fit the context window ...]")
            i += int(step["elided"])
            continue
        lines.append(f"Observation {i}:\n{step['observation']}")
        if step.get("thought"):
            lines.append(f"Thought {i + 1}: {step['thought']}")
        lines.append(f"Action {i + 1}: {step['action']}{' ' + FAILED if step.get('error') else ''}")
        i += 1
    if final_observation is not None:
        lines.append(f"Observation {i}:\n{final_observation}")
    return "\n".join(lines)


def _task(role: Role, x: dict[str, Any]) -> str:
    if role is Role.SELF_INSTRUCT:
        return (
            f"Environment: {x['env']}. {x.get('env_description', '')}\n\n"
            f"Documentation ({x['resource_title']}):\n{x['resource_text']}\n\n"
            f"Write {x['n']} different tasks that users of this environment commonly perform and that this "
            "documentation helps with. Each task is one self-contained instruction a user would give."
        )
    if role is Role.ACT:
        reference = f"\nDocumentation for reference:\n{x['resource_text']}\n" if x.get("resource_text") else ""
        examples = f"\nAdditional information for reference:\n{x['examples']}\n" if x.get("examples") else ""
        return (
            f"Environment: {x['env']}.\nAction space:\n{x['action_space']}\n{reference}{examples}\n"
            f"Task: {x['task']}\n\nSo far:\n{_steps_text(x.get('history', []), x['observation'])}\n\n"
            "Give your next action in `action`, exactly as the environment takes it (no code fence). Set stop to "
            "true (with your final answer) when the task is done; an action given with stop runs first, then the "
            "episode ends."
        )
    if role is Role.LABEL:
        what = (
            "Write the instruction a user would give for which this interaction is a correct, complete solution."
            if x["kind"] == "task"
            else "Summarise the interaction step by step, starting with 'Replicate the following: '."
        )
        return f"Environment: {x['env']}.\nInteraction:\n{_steps_text(x['steps'], x['final_observation'])}\n\n{what}"
    if role is Role.LABEL_BATCH:
        what = (
            "the instruction a user would give for which it is a correct, complete solution"
            if x["kind"] == "task"
            else "a step-by-step summary starting with 'Replicate the following: '"
        )
        return (
            f"Environment: {x['env']}.\nInteraction:\n{_steps_text(x['steps'], x['final_observation'])}\n\n"
            f"For each end E in {x['ends']}, consider the interaction from its start up to Action E and the "
            f"observation after it, and write {what}. Answer with one label per end."
        )
    if role is Role.JUDGE:
        kind = _KIND_CRITERIA.get(x.get("origin", ""), "")
        return (
            f"Environment: {x['env']}.\nInstruction: {x['instruction']}\n"
            f"Interaction:\n{_steps_text(x['steps'], x['final_observation'])}\n\n"
            "Judge four criteria, each yes/no with a reason: aligned (the interaction accomplishes the "
            "instruction), coherent (each action follows from the previous observation), natural (a user "
            "would plausibly ask this), reasonable (no detours, no going back and forth). An action marked "
            f"{FAILED} ended in an error in the environment.\n{kind}"
        )
    if role is Role.QUERY:
        return (
            f"Environment: {x['env']}.\nTask: {x['task']}\n"
            f"Recent steps:\n{_steps_text(x.get('history', []), x['observation'])}\n\n"
            "Write one or two short search queries describing what the agent needs to do next; they are "
            "matched against a library of solved instructions."
        )
    raise ValueError(f"no prompt for role {role}")


def render(role: Role, inputs: dict[str, Any]) -> list[dict[str, str]]:
    """Chat messages for a role: the task, and the JSON schema the answer must follow."""
    user = f"{_task(role, inputs)}\n\nAnswer with a JSON object matching this schema:\n{output_schema(role)}"
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def _example(annotation: Any) -> Any:
    if get_origin(annotation) is not None and str(get_origin(annotation)).endswith("Annotated"):
        annotation = get_args(annotation)[0]
    if get_origin(annotation) is list:
        return [_example((get_args(annotation) or (str,))[0])]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {name: _example(field.annotation) for name, field in annotation.model_fields.items()}
    return {bool: False, int: 1}.get(annotation, "...")


@functools.cache
def answer_form(role: Role) -> str:
    """A one-line example of the JSON a role answers with (the re-ask shows it to a model whose reply was unusable)."""
    return json.dumps(_example(OUTPUT_MODELS[role]))
