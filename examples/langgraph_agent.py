"""A LangGraph agent whose graph asks lbi for demonstrations before every model call and reports its episode.

demonstrations ─▶ agent ─(tool call)─▶ tools ─▶ demonstrations ...
                    └─(answer)─▶ report ─▶ END

python examples/langgraph_agent.py --database shop.db --dataset sql-demo --task "How many orders are pending?"
"""

from __future__ import annotations

import asyncio
import json
import operator
import sys
from pathlib import Path
from typing import Annotated, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from example_env import RUN_SQL, arguments, first_observation, run_sql
from langgraph.graph import END, START, StateGraph

from lbi.clients.retrieval import AsyncRetrievalClient
from lbi.integrations.langgraph_nodes import EpisodeState, LbiNodes, add_step
from lbi.integrations.tool_steps import tool_action, with_demonstrations
from lbi.llm.litellm_setup import get_litellm

INSTRUCTIONS = "You answer questions about a SQLite database with the run_sql tool, then answer in plain text."


class State(EpisodeState, total=False):
    start: str  # the first observation
    messages: Annotated[list[dict[str, Any]], operator.add]
    answer: str


def build(client: AsyncRetrievalClient, dataset: str, database: str, model: str):
    nodes = LbiNodes(client, dataset)

    async def agent(state: State) -> dict:
        messages = [
            {"role": "system", "content": with_demonstrations(INSTRUCTIONS, state.get("demonstrations", ""))},
            {"role": "user", "content": f"{state['task']}\n\nCurrent observation:\n{state['start']}"},
            *state.get("messages", []),
        ]
        reply = (await get_litellm().acompletion(model=model, messages=messages, tools=[RUN_SQL])).choices[0].message
        if not reply.tool_calls:
            return {"answer": reply.content or ""}
        call = reply.tool_calls[0]
        return {
            "messages": [
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": call.id,
                            "type": "function",
                            "function": {"name": call.function.name, "arguments": call.function.arguments},
                        }
                    ],
                }
            ]
        }

    def tools(state: State) -> dict:
        call = state["messages"][-1]["tool_calls"][0]
        arguments = json.loads(call["function"]["arguments"] or "{}")
        observation = run_sql(database, arguments.get("query", ""))
        return {
            **add_step(state, tool_action(call["function"]["name"], arguments), observation),
            "messages": [{"role": "tool", "tool_call_id": call["id"], "content": observation}],
        }

    graph = StateGraph(State)
    graph.add_node("demonstrations", nodes.demonstrations)
    graph.add_node("agent", agent)
    graph.add_node("tools", tools)
    graph.add_node("report", nodes.report)
    graph.add_edge(START, "demonstrations")
    graph.add_edge("demonstrations", "agent")
    graph.add_conditional_edges("agent", lambda state: "report" if "answer" in state else "tools")
    graph.add_edge("tools", "demonstrations")
    graph.add_edge("report", END)
    return graph.compile()


async def main(target: str, dataset: str, database: str, task: str, model: str, token: str | None = None) -> dict:
    client = AsyncRetrievalClient(target, token=token)
    try:
        graph = build(client, dataset, database, model)
        start = first_observation(database)
        final = await graph.ainvoke(
            {"task": task, "start": start, "observation": start, "steps": [], "messages": []}, {"recursion_limit": 40}
        )
    finally:
        await client.close()  # waits (briefly) for the episode's report
    return {
        "answer": final.get("answer", ""),
        "steps": len(final.get("steps", [])),
        "episode_id": final.get("episode_id", ""),
        "reports": client.reporter.stats.as_dict(),
    }


if __name__ == "__main__":
    a = arguments(__doc__)
    print(json.dumps(asyncio.run(main(a.target, a.dataset, a.database, a.task, a.model, a.token))))
