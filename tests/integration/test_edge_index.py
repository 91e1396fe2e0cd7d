"""The embedded store builds a collection's HNSW index beside the live shard, in a child process, once enough
vectors are unindexed and writes pause; searches go on meanwhile and see the index from their next call, and a
build that writes overtook is dropped, never losing those writes."""

from __future__ import annotations

import asyncio
import time
import uuid

import numpy as np

from lbi.store.base import CollectionSpec, PointData
from lbi.store.edge import EdgeStore

SPEC = CollectionSpec(dense={"v": 64}, keyword_fields=("dataset",))


def _points(rng: np.random.Generator, n: int) -> list[PointData]:
    vectors = rng.standard_normal((n, 64))
    return [
        PointData(str(uuid.UUID(int=int(rng.integers(1 << 62)))), {"v": v.tolist()}, {"dataset": "d", "i": i})
        for i, v in enumerate(vectors)
    ]


def _indexed(store: EdgeStore, name: str) -> int:
    return store._shard(name).info().indexed_vectors_count


async def test_the_index_is_built_beside_the_live_shard_and_swapped_in(tmp_path):
    rng = np.random.default_rng(3)
    store = EdgeStore(tmp_path, index_threshold=1500, index_quiet_s=0.3)
    await store.ensure_collection("c", SPEC)
    points = _points(rng, 2000)
    for start in range(0, len(points), 500):
        await store.upsert("c", points[start : start + 500])
    assert _indexed(store, "c") == 0
    probes = points[:20]
    exact = [(await store.search("c", ("v", p.vectors["v"]), 1))[0].id for p in probes]
    assert exact == [p.id for p in probes]
    deadline = time.monotonic() + 120
    while _indexed(store, "c") < 2000:  # searches keep working while the child process builds it
        assert time.monotonic() < deadline, "the index was never built"
        assert (await store.search("c", ("v", probes[0].vectors["v"]), 1))[0].id == probes[0].id
        await asyncio.sleep(0.2)
    assert [(await store.search("c", ("v", p.vectors["v"]), 1))[0].id for p in probes] == exact
    more = _points(rng, 10)
    await store.upsert("c", more)  # the swapped-in shard takes writes
    assert await store.count("c") == 2010
    assert (await store.search("c", ("v", more[3].vectors["v"]), 1))[0].id == more[3].id
    await store.close()
    reopened = EdgeStore(tmp_path, index_threshold=0)
    assert await reopened.count("c") == 2010 and _indexed(reopened, "c") >= 2000
    assert not list(tmp_path.glob(".indexing-*")) and await reopened.list_collections() == ["c"]
    await reopened.close()


async def test_a_build_overtaken_by_writes_is_dropped(tmp_path):
    rng = np.random.default_rng(4)
    store = EdgeStore(tmp_path, index_threshold=0)  # no automatic builds: the steps are driven by hand
    await store.ensure_collection("c", SPEC)
    await store.upsert("c", _points(rng, 300))
    staging = tmp_path / ".indexing-c"
    generation = store.copy_for_index("c", staging)
    late = _points(rng, 5)
    await store.upsert("c", late)  # a write after the copy
    assert store.swap_indexed("c", staging, generation) is False
    assert await store.count("c") == 305
    assert await store.index("c") is True  # built again from the current folder
    assert await store.count("c") == 305 and _indexed(store, "c") == 305
    assert (await store.search("c", ("v", late[0].vectors["v"]), 1))[0].id == late[0].id
    await store.close()
