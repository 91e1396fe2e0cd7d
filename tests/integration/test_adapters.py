"""Each agent-framework adapter's example runs against a scripted model and a real local stack (retrieval service
with the EpisodeService, online job, embedded store): the model sees demonstrations at every step after the first
observation, the tool runs on a real SQLite database, and the episode is reported and learned.

The database is a bakery's orders (a domain no sample has); the dataset is the retrieval tests' small sql one.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sqlite3
import sys
from pathlib import Path

import pytest

from lbi.clients.retrieval import AsyncRetrievalClient
from lbi.dataset import DatasetStore
from lbi.integrations.tool_steps import DEMONSTRATIONS_HEADING
from tests.fixtures.scripted_llm import scripted_model
from tests.integration.test_online import Stack, _learned
from tests.integration.test_retrieval_service import EXAMPLES

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"
TASK = "How many bakery orders are still pending?"
SCRIPT = [
    ("tool", "run_sql", {"query": "SELECT status, COUNT(*) FROM orders GROUP BY status"}),
    ("tool", "run_sql", {"query": "SELECT COUNT(*) FROM orders WHERE status = 'pending'"}),
    ("text", "3 orders are pending."),
]


def _example(name: str):
    sys.path.insert(0, str(EXAMPLES_DIR))
    spec = importlib.util.spec_from_file_location(f"lbi_example_{name}", EXAMPLES_DIR / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # type hints (LangGraph reads its state's) resolve in the module's namespace
    spec.loader.exec_module(module)
    return module


def _bakery(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT, quantity INTEGER, status TEXT)")
        conn.executemany(
            "INSERT INTO orders (item, quantity, status) VALUES (?, ?, ?)",
            [
                ("sourdough", 2, "pending"),
                ("croissant", 12, "baked"),
                ("rye", 1, "pending"),
                ("baguette", 4, "delivered"),
                ("brioche", 6, "pending"),
            ],
        )
    return str(path)


@pytest.mark.parametrize("name", ["litellm_agent", "langgraph_agent", "openai_agents_agent", "smolagents_agent"])
async def test_the_example_retrieves_at_every_step_and_reports_its_episode(name, tmp_path, embedder):
    module = _example(name)
    database = _bakery(tmp_path / "bakery.db")
    async with Stack(tmp_path, embedder, dataset="shop") as stack:
        await DatasetStore(stack.store, embedder).ingest("shop", EXAMPLES, job_id="job-1")
        with scripted_model(list(SCRIPT)) as model:
            if asyncio.iscoroutinefunction(module.main):
                result = await module.main(stack.target, "shop", database, TASK, "scripted/bakery")
            else:
                result = await asyncio.to_thread(module.main, stack.target, "shop", database, TASK, "scripted/bakery")
        assert "3" in result["answer"] and result["steps"] == 2, result
        assert result["reports"]["reported"] == 1 and not result["reports"]["dropped"], result
        assert model.calls and all(model.saw(DEMONSTRATIONS_HEADING)), "a model call came without demonstrations"
        assert all(model.saw("pending | 3")[1:]), "the first tool result did not reach the later model calls"
        async with AsyncRetrievalClient(stack.target) as client:
            stats = await _learned(client, "shop", 1)
            assert stats.episodes_received == 1 and stats.candidates > 0
