"""Server backend: a Qdrant server or distributed cluster through qdrant-client's async API.

`location=":memory:"` gives qdrant-client's local mode, which implements the server API and is what
the congruence tests run this backend against. Collections are created with the configured shard
number and replication factor, so on a cluster the data is sharded and replicated by Qdrant itself.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from qdrant_client import AsyncQdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from lbi.store.base import (
    RRF_K,
    CollectionNotFound,
    CollectionSpec,
    Fields,
    Filter,
    Hit,
    PointData,
    Sparse,
    StoreUnavailable,
    VectorQuery,
    VectorStore,
    db_span,
    qdrant_filter,
    qdrant_payload,
    qdrant_vector,
    to_hit,
)


def _filter(flt: Filter | None) -> models.Filter | None:
    filtered: models.Filter | None = qdrant_filter(flt, models)
    return filtered


def _vector(value: Sequence[float] | Sparse) -> Any:
    return qdrant_vector(value, models)


def _consistency(value: str) -> Any:
    if not value:
        return None
    if value.isdigit():
        return int(value)
    return models.ReadConsistencyType(value)


class ServerStore(VectorStore):
    """Collections on a Qdrant server (or qdrant-client's local mode)."""

    backend = "server"

    def __init__(
        self,
        url: str = "",
        api_key: str = "",
        prefer_grpc: bool = True,
        location: str | None = None,
        shard_number: int = 1,
        replication_factor: int = 1,
        timeout: float = 10.0,
        write_consistency_factor: int = 1,
        read_consistency: str = "",
    ):
        if location:
            self.client = AsyncQdrantClient(location=location)
        else:
            self.client = AsyncQdrantClient(
                url=url,
                api_key=api_key or None,
                prefer_grpc=prefer_grpc,
                timeout=int(timeout),
                check_compatibility=False,
            )
        self.shard_number = shard_number
        self.replication_factor = replication_factor
        self.write_consistency_factor = write_consistency_factor
        # Reads ask this many replicas on a cluster (None: the server's default).
        self.consistency = _consistency(read_consistency)

    async def _call(self, name: str, coro: Any) -> Any:
        try:
            return await coro
        except (ValueError, UnexpectedResponse) as exc:
            if "not found" in str(exc).lower():
                raise CollectionNotFound(name) from exc
            raise
        except (ResponseHandlingException, ConnectionError, OSError) as exc:
            raise StoreUnavailable(f"Qdrant unreachable: {exc}") from exc
        except Exception as exc:
            if type(exc).__name__ in ("AioRpcError", "_InactiveRpcError") and "UNAVAILABLE" in str(exc):
                raise StoreUnavailable(f"Qdrant unreachable: {exc}") from exc
            if "not found" in str(exc).lower():
                raise CollectionNotFound(name) from exc
            raise

    async def ensure_collection(self, name: str, spec: CollectionSpec) -> None:
        if await self.collection_exists(name):
            return
        await self._call(
            name,
            self.client.create_collection(
                name,
                vectors_config={
                    n: models.VectorParams(size=d, distance=models.Distance.COSINE) for n, d in spec.dense.items()
                },
                sparse_vectors_config={n: models.SparseVectorParams(modifier=models.Modifier.IDF) for n in spec.sparse},
                shard_number=self.shard_number,
                replication_factor=self.replication_factor,
                write_consistency_factor=self.write_consistency_factor,
            ),
        )
        indexes = [(f, models.PayloadSchemaType.KEYWORD) for f in spec.keyword_fields]
        indexes += [(f, models.PayloadSchemaType.INTEGER) for f in spec.integer_fields]
        with warnings.catch_warnings():  # local mode warns that payload indexes do nothing there
            warnings.simplefilter("ignore", UserWarning)
            for field_name, schema in indexes:
                await self._call(name, self.client.create_payload_index(name, field_name, schema))

    async def collection_exists(self, name: str) -> bool:
        return bool(await self._call(name, self.client.collection_exists(name)))

    async def list_collections(self) -> list[str]:
        response = await self._call("", self.client.get_collections())
        return sorted(c.name for c in response.collections)

    async def delete_collection(self, name: str) -> None:
        await self._call(name, self.client.delete_collection(name))

    async def upsert(self, name: str, points: Sequence[PointData]) -> None:
        if not points:
            return
        structs = [
            models.PointStruct(id=p.id, vector={k: _vector(v) for k, v in p.vectors.items()}, payload=p.payload)
            for p in points
        ]
        await self._call(name, self.client.upsert(name, structs, wait=True))

    async def set_payloads(self, name: str, payloads: Sequence[tuple[str, dict[str, Any]]]) -> None:
        if not payloads:
            return
        operations = [
            models.OverwritePayloadOperation(overwrite_payload=models.SetPayload(payload=payload, points=[point_id]))
            for point_id, payload in payloads
        ]
        await self._call(name, self.client.batch_update_points(name, operations, wait=True))

    async def delete_where(self, name: str, filter: Filter) -> None:
        condition = _filter(filter)
        if condition is None:
            raise ValueError("delete_where needs a non-empty filter")
        await self._call(
            name, self.client.delete(name, points_selector=models.FilterSelector(filter=condition), wait=True)
        )

    async def search(
        self,
        name: str,
        query: VectorQuery,
        limit: int,
        filter: Filter | None = None,
        fields: Fields = None,
    ) -> list[Hit]:
        using, vector = query
        with db_span("search", name, "server"):
            response = await self._call(
                name,
                self.client.query_points(
                    name,
                    query=_vector(vector),
                    using=using,
                    limit=limit,
                    query_filter=_filter(filter),
                    with_payload=qdrant_payload(fields, list),
                    consistency=self.consistency,
                ),
            )
        return [to_hit(p) for p in response.points]

    async def search_fused(
        self,
        name: str,
        queries: Sequence[VectorQuery],
        limit: int,
        filter: Filter | None = None,
        prefetch_limit: int | None = None,
        fields: Fields = None,
    ) -> list[Hit]:
        flt = _filter(filter)
        prefetch = [
            models.Prefetch(query=_vector(v), using=u, limit=prefetch_limit or limit, filter=flt) for u, v in queries
        ]
        with db_span("search", name, "server"):
            response = await self._call(
                name,
                self.client.query_points(
                    name,
                    prefetch=prefetch,
                    query=models.RrfQuery(rrf=models.Rrf(k=RRF_K)),
                    limit=limit,
                    query_filter=flt,
                    with_payload=qdrant_payload(fields, list),
                    consistency=self.consistency,
                ),
            )
        return [to_hit(p) for p in response.points]

    async def retrieve(self, name: str, ids: Sequence[str]) -> list[Hit]:
        with db_span("retrieve", name, "server"):
            records = await self._call(
                name, self.client.retrieve(name, list(ids), with_payload=True, consistency=self.consistency)
            )
        found = {str(r.id): to_hit(r) for r in records}
        return [found[i] for i in ids if i in found]

    async def count(self, name: str, filter: Filter | None = None) -> int:
        response = await self._call(name, self.client.count(name, count_filter=_filter(filter), exact=True))
        return int(response.count)

    async def scroll(
        self,
        name: str,
        limit: int,
        offset: str | None = None,
        filter: Filter | None = None,
    ) -> tuple[list[Hit], str | None]:
        records, next_offset = await self._call(
            name,
            self.client.scroll(
                name,
                scroll_filter=_filter(filter),
                limit=limit,
                offset=offset,
                with_payload=True,
                consistency=self.consistency,
            ),
        )
        return [to_hit(r) for r in records], (str(next_offset) if next_offset is not None else None)

    async def ping(self) -> None:
        await self._call("", self.client.get_collections())

    async def close(self) -> None:
        await self.client.close()
