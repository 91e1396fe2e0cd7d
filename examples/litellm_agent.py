"""A plain litellm tool-calling agent that asks lbi for demonstrations at every step and reports its episode.

    python examples/litellm_agent.py --database shop.db --dataset sql-demo --task "How many orders are pending?" \
        --model gpt-4o --target 127.0.0.1:50052
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from example_env import RUN_SQL, arguments, first_observation, run_sql

from lbi.clients.retrieval import AsyncRetrievalClient
from lbi.integrations.litellm_loop import run_tool_loop


async def main(target: str, dataset: str, database: str, task: str, model: str, token: str | None = None) -> dict:
    async def execute(name: str, arguments: dict) -> str:
        return run_sql(database, arguments["query"]) if name == "run_sql" else f"Error: no tool {name}"

    client = AsyncRetrievalClient(target, token=token)
    try:
        result = await run_tool_loop(client, dataset, task, first_observation(database), [RUN_SQL], execute, model)
    finally:
        await client.close()  # waits (briefly) for the episode's report
    return {
        "answer": result.answer,
        "steps": result.steps,
        "episode_id": result.episode_id,
        "reports": client.reporter.stats.as_dict(),
    }


if __name__ == "__main__":
    a = arguments(__doc__)
    print(json.dumps(asyncio.run(main(a.target, a.dataset, a.database, a.task, a.model, a.token))))
