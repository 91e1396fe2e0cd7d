"""OpenAI Agents SDK: run hooks that fetch demonstrations for each step and report the episode when the agent ends.

    hooks = LbiRunHooks(client, "shop", task, observation)
    agent = Agent(name="db", instructions=hooks.instructions("You answer questions about the database."),
                  tools=[run_sql], model=LitellmModel("gpt-4o"))
    await hooks.start()                                   # demonstrations for the first observation
    result = await Runner.run(agent, task, hooks=hooks)   # each tool result: a step, then new demonstrations

When the agent ends, the episode is reported in the background, its outcome from `outcome(final_output)` when
given, else unknown; with `report_on_end=False`, call `hooks.episode.report(outcome)` once the outcome is known.

The agent's instructions are a function of the run: its instructions plus the current step's demonstrations, so
each model call sees the demonstrations for the latest observation. Extra: `pip install lbi[openai-agents]`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agents import RunHooks

from lbi.clients.retrieval import AsyncRetrievalClient
from lbi.integrations.tool_steps import tool_action, with_demonstrations


class LbiRunHooks(RunHooks):
    def __init__(
        self,
        client: AsyncRetrievalClient,
        dataset: str,
        task: str,
        observation: str,
        max_chars: int = 4000,
        episode_id: str = "",
        outcome: Callable[[Any], str] | None = None,
        report_on_end: bool = True,
    ):
        self.client, self.max_chars = client, max_chars
        self.outcome, self.report_on_end = outcome, report_on_end
        self.episode = client.episode(dataset, task, episode_id=episode_id)
        self.episode.observe(observation)
        self.block = ""

    def instructions(self, base: str):
        """The agent's `instructions`: `base` plus the demonstrations for the current step."""

        def current(context: Any, agent: Any) -> str:
            return with_demonstrations(base, self.block)

        return current

    async def start(self) -> None:
        self.block = (await self.episode.retrieve(prompt_budget_chars=self.max_chars)).prompt_block

    async def on_tool_end(self, context: Any, agent: Any, tool: Any, result: object) -> None:
        arguments = getattr(context, "tool_arguments", "")
        self.episode.step(tool_action(tool.name, arguments), str(result))
        self.block = (await self.episode.retrieve(prompt_budget_chars=self.max_chars)).prompt_block

    async def on_agent_end(self, context: Any, agent: Any, output: Any) -> None:
        if self.report_on_end:
            self.episode.report(self.outcome(output) if self.outcome else "unknown")
