"""The store on a Qdrant cluster: collections are created with the configured shard number, replication
factor and write consistency, and reads carry the configured read consistency. No cluster can run here,
so the calls qdrant-client makes are recorded on its local mode (which accepts and ignores them)."""

from lbi.config import CommonSettings
from lbi.dataset import DatasetStore
from lbi.store.factory import open_store
from lbi.store.server import ServerStore
from tests.integration.test_retrieval_service import EXAMPLES


def _record(store: ServerStore, names: list[str]) -> list[tuple[str, dict]]:
    calls = []
    for name in names:
        original = getattr(store.client, name)

        def recorded(*args, _name=name, _original=original, **kwargs):
            calls.append((_name, kwargs))
            return _original(*args, **kwargs)

        setattr(store.client, name, recorded)
    return calls


async def test_cluster_settings_reach_every_call(embedder):
    settings = CommonSettings(
        qdrant_url="http://qdrant:6334",
        qdrant_shard_number=6,
        qdrant_replication_factor=2,
        qdrant_write_consistency_factor=2,
        qdrant_read_consistency="majority",
    )
    configured = open_store(settings)
    assert isinstance(configured, ServerStore)
    assert (configured.shard_number, configured.replication_factor, configured.write_consistency_factor) == (6, 2, 2)
    await configured.close()

    store = ServerStore(
        location=":memory:",
        shard_number=6,
        replication_factor=2,
        write_consistency_factor=2,
        read_consistency="majority",
    )
    calls = _record(store, ["create_collection", "query_points", "retrieve", "scroll"])
    datasets = DatasetStore(store, embedder)
    await datasets.ingest("cluster", EXAMPLES, job_id="job-1")
    await store.search("cluster__examples", ("instruction", [0.1] * 384), 3)
    await store.scroll("cluster__examples", 10)
    created = [kw for name, kw in calls if name == "create_collection"]
    assert created and all(
        (kw["shard_number"], kw["replication_factor"], kw["write_consistency_factor"]) == (6, 2, 2) for kw in created
    )
    reads = [kw for name, kw in calls if name != "create_collection"]
    assert reads and all(str(kw["consistency"].value) == "majority" for kw in reads)
    await store.close()
