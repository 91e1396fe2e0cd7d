"""smolagents: a step callback that records each step, adds the next step's demonstrations, and reports the episode.

    lbi = LbiStepCallback(client, "shop", task, observation)  # client: the blocking RetrievalClient
    agent = ToolCallingAgent(tools=[run_sql], model=LiteLLMModel("gpt-4o"), step_callbacks=[lbi])
    agent.run(lbi.task_prompt())  # the task, the first observation, its demonstrations

After each action step the callback records (observation before, tool calls) as the episode's step, retrieves
demonstrations for the step's observations and appends them to those observations, which the model reads at
its next step. The final answer ends the episode, reported in the background (outcome from `outcome(answer)`,
else unknown). Extra: `pip install lbi[smolagents]`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lbi.clients.retrieval import RetrievalClient
from lbi.integrations.tool_steps import DEMONSTRATIONS_HEADING, tool_action


class LbiStepCallback:
    def __init__(
        self,
        client: RetrievalClient,
        dataset: str,
        task: str,
        observation: str,
        max_chars: int = 4000,
        outcome: Callable[[Any], str] | None = None,
        episode_id: str = "",
    ):
        self.client, self.max_chars, self.outcome = client, max_chars, outcome
        self.episode = client.episode(dataset, task, episode_id=episode_id)
        self.episode.observe(observation)

    def _demonstrations(self) -> str:
        block = self.episode.retrieve(prompt_budget_chars=self.max_chars).prompt_block
        return f"\n\n{DEMONSTRATIONS_HEADING}\n{block}" if block else ""

    def task_prompt(self) -> str:
        """The task for `agent.run`: the task, the first observation and its demonstrations."""
        return f"{self.episode.task}\n\nCurrent observation:\n{self.episode.observation}{self._demonstrations()}"

    def __call__(self, step: Any, agent: Any = None) -> None:
        calls = [c for c in (getattr(step, "tool_calls", None) or []) if c.name != "final_answer"]
        if calls:
            observation = step.observations or ""
            self.episode.step("; ".join(tool_action(c.name, c.arguments) for c in calls), observation)
            if not getattr(step, "is_final_answer", False):
                step.observations = observation + self._demonstrations()
        if getattr(step, "is_final_answer", False):
            self.episode.report(self.outcome(step.action_output) if self.outcome else "unknown")
