"""Export round trips: chat JSONL, ShareGPT JSONL and a `datasets` folder hold every kept example."""

import itertools
import json

import pytest
import pytest_asyncio

from env_runners.registry import action_space
from lbi.dataset import DatasetStore
from lbi.embedding import Embedder
from lbi.export import export
from lbi.records import Example, Origin, Step
from lbi.store.edge import EdgeStore

EXAMPLES = [
    Example(
        "Count the customers.",
        "sql",
        (Step("Connected.", "SELECT COUNT(*) FROM customers"),),
        "900",
        Origin.FORWARD,
        "t1",
        0,
        1,
        kept=True,
    ),
    Example(
        "List the tables, then count orders.",
        "sql",
        (
            Step("Connected.", "SELECT name FROM sqlite_master"),
            Step("orders\ncustomers", "SELECT COUNT(*) FROM orders"),
        ),
        "2600",
        Origin.BACKWARD_TASK,
        "t2",
        0,
        2,
        kept=True,
    ),
    Example(
        "Replicate the following: 1. Count orders.",
        "sql",
        (Step("orders", "SELECT COUNT(*) FROM orders"),),
        "2600",
        Origin.BACKWARD_SUMMARY,
        "t2",
        1,
        2,
        kept=True,
    ),
]


@pytest_asyncio.fixture
async def datasets(tmp_path):
    store = EdgeStore(tmp_path / "qdrant")
    datasets = DatasetStore(store, Embedder())
    await datasets.ingest("exp", EXAMPLES, job_id="j")
    yield datasets
    await store.close()


async def test_chat_jsonl_round_trip(datasets, tmp_path):
    out = tmp_path / "chat.jsonl"
    stats = await export(datasets, "exp", "chat-jsonl", out, action_space=action_space)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == stats.examples == len(EXAMPLES)
    for record in lines:
        roles = [m["role"] for m in record["messages"]]
        assert roles[0] == "system" and roles[-1] == "assistant"
        assert all(a != b for a, b in itertools.pairwise(roles))  # user and assistant alternate
        assert all(isinstance(m["content"], str) and m["content"] for m in record["messages"])
        assert "one SQL statement" in record["messages"][0]["content"]
        assert record["messages"][1]["content"].startswith("Task: ")
    assert stats.by_origin == {"forward": 1, "backward-task": 1, "backward-summary": 1}


async def test_origin_filter_and_sharegpt(datasets, tmp_path):
    out = tmp_path / "share.jsonl"
    stats = await export(datasets, "exp", "sharegpt", out, origins=["backward-task"])
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert stats.examples == len(lines) == 1
    assert [t["from"] for t in lines[0]["conversations"]] == ["system", "human", "gpt", "human", "gpt"]


async def test_hf_folder_loads_with_datasets(datasets, tmp_path):
    import datasets as hf

    await export(datasets, "exp", "hf", tmp_path / "hf")
    loaded = hf.load_from_disk(str(tmp_path / "hf"))
    assert len(loaded) == len(EXAMPLES)
    assert set(loaded.column_names) >= {"id", "messages", "origin", "instruction"}
    assert loaded[0]["messages"][0]["role"] == "system"


async def test_unknown_format_is_refused(datasets, tmp_path):
    with pytest.raises(ValueError, match="format"):
        await export(datasets, "exp", "csv", tmp_path / "x")
