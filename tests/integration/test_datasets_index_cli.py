"""`lbi datasets index`: builds a dataset's HNSW indexes now; beside a running service that owns the store it says the
store is unavailable, touching nothing."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

from lbi.dataset import EXAMPLES, DatasetStore, collection
from lbi.store.base import PointData
from lbi.store.edge import EdgeStore


class _TinyEncoder:
    """Enough of an embedder to create a dataset's collections (4-d vectors)."""

    dim, model_name = 4, "tiny"

    async def aencode(self, texts: Sequence[str]) -> list[list[float]]:
        return [[1.0, float(len(t)), 0.0, 1.0] for t in texts]


def _lbi_datasets_index(data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LBI_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    lbi = str(Path(sys.executable).parent / "lbi")
    return subprocess.run([lbi, "datasets", "index", "d"], capture_output=True, text=True, env=env, timeout=300)


async def test_lbi_datasets_index_beside_a_service_and_alone(tmp_path):
    store = EdgeStore(tmp_path / "qdrant", index_threshold=0)  # a running service owns the store
    datasets = DatasetStore(store, _TinyEncoder())
    await datasets.ensure("d", "job", ["sql"])
    name = collection("d", EXAMPLES)
    await store.upsert(
        name, [PointData(str(uuid.UUID(int=i + 1)), {"instruction": [1.0, i, 0, 1]}, {}) for i in range(400)]
    )
    beside = await asyncio.to_thread(_lbi_datasets_index, tmp_path)
    assert beside.returncode == 1 and "UNAVAILABLE" in beside.stdout, beside.stdout + beside.stderr
    assert "Traceback" not in beside.stdout + beside.stderr
    assert await store.count(name) == 400 and not list((tmp_path / "qdrant").glob(".indexing-*"))
    await store.close()
    alone = await asyncio.to_thread(_lbi_datasets_index, tmp_path)
    assert alone.returncode == 0, alone.stdout + alone.stderr
    assert "d__examples: indexed" in alone.stdout and "d__steps: indexed" in alone.stdout
    reopened = EdgeStore(tmp_path / "qdrant", index_threshold=0)
    assert reopened._shard(name).info().indexed_vectors_count == 400
    await reopened.close()
