"""A plain litellm tool-calling loop with per-step demonstrations and the episode reported at its end.

    result = await run_tool_loop(client, "shop", task, observation, tools, execute, model="gpt-4o")

At each step the agent's system message is its instructions plus demonstrations retrieved for the current
observation (and task and recent steps); the model answers with tool calls, which `execute(name, arguments)`
runs in the environment (its return value is the next observation), or with a final text. Works with any
litellm model (`model=`), tools in the OpenAI function format. Needs only lbi's own dependencies.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from lbi.clients.retrieval import AsyncRetrievalClient
from lbi.integrations.tool_steps import tool_action, with_demonstrations
from lbi.llm.litellm_setup import get_litellm

INSTRUCTIONS = (
    "You are an agent acting in an environment through tools. Solve the user's task, then answer in plain text."
)


@dataclass
class LoopResult:
    answer: str
    steps: int
    episode_id: str


async def run_tool_loop(
    client: AsyncRetrievalClient,
    dataset: str,
    task: str,
    observation: str,
    tools: list[dict[str, Any]],
    execute: Callable[[str, dict[str, Any]], Awaitable[str]],
    model: str,
    max_steps: int = 10,
    max_chars: int = 4000,
    instructions: str = INSTRUCTIONS,
    outcome: Callable[[str], str] | None = None,
    episode_id: str = "",
) -> LoopResult:
    """Runs the loop until the model answers in text or `max_steps` tool calls were made; the episode (its outcome
    from `outcome(answer)`, else unknown) is reported in the background when it ends."""
    litellm = get_litellm()
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": instructions},
        {"role": "user", "content": f"{task}\n\nCurrent observation:\n{observation}"},
    ]
    answer, steps = "", 0
    async with client.episode(dataset, task, episode_id=episode_id) as episode:
        episode.observe(observation)
        while steps < max_steps:
            demos = await episode.retrieve(prompt_budget_chars=max_chars)
            messages[0]["content"] = with_demonstrations(instructions, demos.prompt_block)
            reply = (await litellm.acompletion(model=model, messages=messages, tools=tools)).choices[0].message
            calls = reply.tool_calls or []
            if not calls:
                answer = reply.content or ""
                break
            messages.append(
                {
                    "role": "assistant",
                    "content": reply.content,
                    "tool_calls": [
                        {
                            "id": c.id,
                            "type": "function",
                            "function": {"name": c.function.name, "arguments": c.function.arguments},
                        }
                        for c in calls
                    ],
                }
            )
            for call in calls:
                arguments = json.loads(call.function.arguments or "{}")
                result = await execute(call.function.name, arguments)
                episode.step(tool_action(call.function.name, arguments), result)
                messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
                steps += 1
        episode.end(outcome(answer) if outcome else "unknown")
    return LoopResult(answer, steps, episode.episode_id)
