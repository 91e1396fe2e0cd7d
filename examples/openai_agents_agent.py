"""An OpenAI Agents SDK agent that gets lbi's demonstrations for every step (run hooks) and reports its episode.

    python examples/openai_agents_agent.py --database shop.db --dataset sql-demo --task "How many orders are pending?" \
        --model gpt-4o
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from agents import Agent, Runner, function_tool, set_tracing_disabled
from agents.extensions.models.litellm_model import LitellmModel
from example_env import arguments, first_observation, run_sql

from lbi.clients.retrieval import AsyncRetrievalClient
from lbi.integrations.openai_agents_hooks import LbiRunHooks

INSTRUCTIONS = "You answer questions about a SQLite database with the run_sql tool, then answer in plain text."


async def main(target: str, dataset: str, database: str, task: str, model: str, token: str | None = None) -> dict:
    set_tracing_disabled(True)  # the SDK's own trace export goes to OpenAI; lbi's spans use OpenTelemetry

    @function_tool
    def run_sql_tool(query: str) -> str:
        """Run one SQL statement on the database and see its result."""
        return run_sql(database, query)

    run_sql_tool.name = "run_sql"
    observation = first_observation(database)
    client = AsyncRetrievalClient(target, token=token)
    try:
        hooks = LbiRunHooks(client, dataset, task, observation)
        agent = Agent(
            name="database agent",
            instructions=hooks.instructions(INSTRUCTIONS),
            tools=[run_sql_tool],
            model=LitellmModel(model=model),
        )
        await hooks.start()
        result = await Runner.run(agent, f"{task}\n\nCurrent observation:\n{observation}", hooks=hooks, max_turns=12)
    finally:
        await client.close()  # waits (briefly) for the episode's report
    return {
        "answer": str(result.final_output),
        "steps": len(hooks.episode.steps),
        "episode_id": hooks.episode.episode_id,
        "reports": client.reporter.stats.as_dict(),
    }


if __name__ == "__main__":
    a = arguments(__doc__)
    print(json.dumps(asyncio.run(main(a.target, a.dataset, a.database, a.task, a.model, a.token))))
