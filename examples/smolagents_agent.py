"""A smolagents tool-calling agent with lbi's demonstrations at every step (a step callback) and its episode reported.

    python examples/smolagents_agent.py --database shop.db --dataset sql-demo --task "How many orders are pending?" \
        --model gpt-4o
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import ClassVar

sys.path.insert(0, str(Path(__file__).resolve().parent))

from example_env import arguments, first_observation, run_sql
from smolagents import LiteLLMModel, Tool, ToolCallingAgent

from lbi.clients.retrieval import RetrievalClient
from lbi.integrations.smolagents_callback import LbiStepCallback


class RunSql(Tool):
    name = "run_sql"
    description = "Run one SQL statement on the database and see its result."
    inputs: ClassVar[dict[str, dict[str, str]]] = {"query": {"type": "string", "description": "One SQL statement."}}
    output_type = "string"

    def __init__(self, database: str):
        super().__init__()
        self.database = database

    def forward(self, query: str) -> str:
        return run_sql(self.database, query)


def main(target: str, dataset: str, database: str, task: str, model: str, token: str | None = None) -> dict:
    client = RetrievalClient(target, token=token)
    try:
        lbi = LbiStepCallback(client, dataset, task, first_observation(database))
        agent = ToolCallingAgent(
            tools=[RunSql(database)],
            model=LiteLLMModel(model_id=model),
            step_callbacks=[lbi],
            max_steps=10,
            verbosity_level=0,
        )
        answer = agent.run(lbi.task_prompt())
    finally:
        client.close()  # waits (briefly) for the episode's report
    return {
        "answer": str(answer),
        "steps": len(lbi.episode.steps),
        "episode_id": lbi.episode.episode_id,
        "reports": client.reporter.stats.as_dict(),
    }


if __name__ == "__main__":
    a = arguments(__doc__)
    print(json.dumps(main(a.target, a.dataset, a.database, a.task, a.model, a.token)))
