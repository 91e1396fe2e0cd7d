"""LangGraph nodes: demonstrations for the current step into the graph's state, and the episode reported at the end.

    nodes = LbiNodes(client, "shop")
    graph = StateGraph(State)                      # State has task, observation, steps, episode_id, demonstrations
    graph.add_node("demonstrations", nodes.demonstrations)
    graph.add_node("agent", agent); graph.add_node("tools", tools)
    graph.add_node("report", nodes.report)
    ... agent → tools → demonstrations → agent ...; agent → report → END

The nodes keep nothing in memory: what they need is in the state (`steps`: the episode so far, as
{"observation", "action"} dicts), so a checkpointed graph resumes with them. Extra: `pip install lbi[langgraph]`.
"""

from __future__ import annotations

import uuid
from typing import Any, TypedDict

from lbi.clients.episodes import report_request
from lbi.clients.retrieval import AsyncRetrievalClient
from lbi.records import Step


class EpisodeState(TypedDict, total=False):
    task: str
    observation: str
    steps: list[dict[str, str]]
    episode_id: str
    demonstrations: str
    outcome: str


class LbiNodes:
    def __init__(self, client: AsyncRetrievalClient, dataset: str, max_chars: int = 4000, mode: str = "agentic"):
        self.client, self.dataset, self.max_chars, self.mode = client, dataset, max_chars, mode

    async def demonstrations(self, state: EpisodeState) -> dict[str, Any]:
        """Node: the prompt block for the current observation (and task and recent steps) into `demonstrations`."""
        episode_id = state.get("episode_id") or uuid.uuid4().hex
        history = [Step(s["observation"], s["action"]) for s in state.get("steps", [])[-5:]]
        result = await self.client.retrieve(
            self.dataset,
            observation=state["observation"],
            instruction=state["task"],
            history=history,
            mode=self.mode,
            prompt_budget_chars=self.max_chars,
            episode_id=episode_id,
        )
        return {"demonstrations": result.prompt_block, "episode_id": episode_id}

    async def report(self, state: EpisodeState) -> dict[str, Any]:
        """Node: reports the episode in the background (retried within bounds, never blocking the graph)."""
        steps = [Step(s["observation"], s["action"]) for s in state.get("steps", [])]
        if steps:
            self.client.reporter.submit(
                report_request(
                    self.dataset,
                    state.get("episode_id") or uuid.uuid4().hex,
                    state["task"],
                    steps,
                    state["observation"],
                    state.get("outcome") or "unknown",
                )
            )
        return {}


def add_step(state: EpisodeState, action: str, observation: str) -> dict[str, Any]:
    """The state update a tool node returns: the step taken from the current observation, and the new observation."""
    return {
        "steps": [*state.get("steps", []), {"observation": state["observation"], "action": action}],
        "observation": observation,
    }
