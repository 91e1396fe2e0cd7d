"""Maps configuration to a store backend: a Qdrant URL means the server backend, none the embedded one."""

from __future__ import annotations

from lbi.config import CommonSettings
from lbi.store.base import VectorStore


def open_store(settings: CommonSettings) -> VectorStore:
    """The store the settings ask for (`LBI_QDRANT_URL` set: server; `:memory:`: qdrant-client local mode)."""
    if settings.qdrant_url:
        from lbi.store.server import ServerStore

        if settings.qdrant_url == ":memory:":
            return ServerStore(location=":memory:")
        return ServerStore(
            url=settings.qdrant_url,
            api_key=settings.qdrant_api_key,
            prefer_grpc=settings.qdrant_prefer_grpc,
            shard_number=settings.qdrant_shard_number,
            replication_factor=settings.qdrant_replication_factor,
            write_consistency_factor=settings.qdrant_write_consistency_factor,
            read_consistency=settings.qdrant_read_consistency,
        )
    from lbi.store.edge import EdgeStore

    return EdgeStore(settings.subdir("qdrant"), index_threshold=settings.qdrant_edge_index_threshold)
