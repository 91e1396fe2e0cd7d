"""The prompts a real LLM sees for each role, rendered from the same inputs the offline backend reads."""

from __future__ import annotations

from typing import Any

from lbi.llm.roles import Role, output_schema

SYSTEM = "You help adapt an AI agent to a new environment. Answer with one JSON object only, no prose."


def _steps_text(steps: list[dict[str, Any]], final_observation: str | None = None, first: int = 0) -> str:
    lines = []
    for i, step in enumerate(steps, start=first):
        lines.append(f"Observation {i}:\n{step['observation']}")
        if step.get("thought"):
            lines.append(f"Thought {i + 1}: {step['thought']}")
        lines.append(f"Action {i + 1}: {step['action']}")
    if final_observation is not None:
        lines.append(f"Observation {first + len(steps)}:\n{final_observation}")
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
            "Give your next action. Set stop to true (with your final answer) when the task is done."
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
        return (
            f"Environment: {x['env']}.\nInstruction: {x['instruction']}\n"
            f"Interaction:\n{_steps_text(x['steps'], x['final_observation'])}\n\n"
            "Judge four criteria, each yes/no with a reason: aligned (the interaction accomplishes the "
            "instruction), coherent (each action follows from the previous observation), natural (a user "
            "would plausibly ask this), reasonable (no detours, no going back and forth)."
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
