"""The vector store interface every lbi service uses, and the plain data it speaks.

Two backends implement it, both Qdrant: the embedded engine (qdrant-edge, default) and a Qdrant
server or cluster (qdrant-client). Collections hold named dense vectors (cosine) and named sparse
vectors with the IDF modifier (BM25-style lexical scoring). Filters are exact matches on payload keys:
`{"env": "sql", "origin": ["forward", "backward-task"]}` (a list means any of).
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from lbi.telemetry import tracer

_tracer = tracer("lbi.store")


@contextlib.contextmanager
def db_span(operation: str, collection: str, backend: str) -> Iterator[None]:
    """A span per store query, named and attributed as the OpenTelemetry database conventions say."""
    with _tracer.start_as_current_span(
        f"{operation} {collection}",
        attributes={
            "db.system.name": "qdrant",
            "db.operation.name": operation,
            "db.collection.name": collection,
            "lbi.store.backend": backend,
        },
    ):
        yield


# Qdrant's default k for reciprocal rank fusion; both backends are given it explicitly.
RRF_K = 2

FilterValue = str | int | bool | Sequence[str] | Sequence[int]
Filter = dict[str, FilterValue]


@dataclass(frozen=True)
class Sparse:
    """A sparse vector: token ids and weights."""

    indices: tuple[int, ...]
    values: tuple[float, ...]


@dataclass(frozen=True)
class CollectionSpec:
    """What a collection holds: dense vector names with sizes, sparse vector names, indexed keyword fields."""

    dense: dict[str, int] = field(default_factory=dict)
    sparse: tuple[str, ...] = ()
    keyword_fields: tuple[str, ...] = ()
    integer_fields: tuple[str, ...] = ()


@dataclass
class PointData:
    """A point to write: a UUID string id, its vectors by name, and its payload."""

    id: str
    vectors: dict[str, list[float] | Sparse]
    payload: dict[str, Any]


@dataclass(frozen=True)
class Hit:
    """A point found by a query (score 0 for direct retrieval)."""

    id: str
    score: float
    payload: dict[str, Any]


VectorQuery = tuple[str, Sequence[float] | Sparse]
Fields = Sequence[str] | None  # payload keys a search returns: None for all of them, empty for none


def to_hit(point: Any) -> Hit:
    """A Hit of a point either Qdrant client returns (scored or retrieved: score 0)."""
    return Hit(id=str(point.id), score=float(getattr(point, "score", 0.0) or 0.0), payload=dict(point.payload or {}))


class CollectionNotFound(KeyError):
    """The named collection does not exist."""


class StoreUnavailable(ConnectionError):
    """The store cannot be reached (server down, shard closed)."""


def qdrant_filter(flt: Filter | None, models: Any) -> Any:
    """A filter in the terms of a Qdrant models module (`qdrant_client.models` and `qdrant_edge` name these
    classes alike): a list or tuple value matches any of its items, any other value itself; None when empty."""
    if not flt:
        return None
    must: list[Any] = []
    for key, value in flt.items():
        if isinstance(value, str | int | bool):
            match = models.MatchValue(value=value)
        else:
            match = models.MatchAny(any=list(value))
        must.append(models.FieldCondition(key=key, match=match))
    return models.Filter(must=must)


def qdrant_payload(fields: Fields, include: Callable[[list[str]], Any]) -> Any:
    """A search's `with_payload`: the whole payload (None), none (empty), or the keys named, in the backend's own
    terms (`include`). Reading a large payload (a state's list of examples) costs more than the search itself."""
    if fields is None:
        return True
    return include(list(fields)) if fields else False


def qdrant_vector(value: Sequence[float] | Sparse, models: Any) -> Any:
    """A point's or query's vector in the terms of a Qdrant models module (a dense list, or a SparseVector)."""
    if isinstance(value, Sparse):
        return models.SparseVector(indices=list(value.indices), values=list(value.values))
    return list(value)


class VectorStore(ABC):
    """Async access to named collections; every method is safe to call from the event loop."""

    backend: str

    @abstractmethod
    async def ensure_collection(self, name: str, spec: CollectionSpec) -> None:
        """Creates the collection if missing (no-op when it exists)."""

    @abstractmethod
    async def collection_exists(self, name: str) -> bool: ...

    @abstractmethod
    async def list_collections(self) -> list[str]: ...

    @abstractmethod
    async def delete_collection(self, name: str) -> None: ...

    @abstractmethod
    async def upsert(self, name: str, points: Sequence[PointData]) -> None:
        """Writes points; a point with an existing id replaces it (idempotent)."""

    @abstractmethod
    async def set_payloads(self, name: str, payloads: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Replaces the payloads of existing points (id, payload), leaving their vectors as they are."""

    @abstractmethod
    async def delete_where(self, name: str, filter: Filter) -> None:
        """Deletes the points that match the filter (a filter is required: this never empties a collection by
        accident)."""

    @abstractmethod
    async def search(
        self,
        name: str,
        query: VectorQuery,
        limit: int,
        filter: Filter | None = None,
        fields: Fields = None,
    ) -> list[Hit]:
        """Nearest points to one named vector (dense: cosine; sparse: IDF-weighted dot product); `fields` names the
        payload keys to return (None: the whole payload; empty: none, only ids and scores)."""

    @abstractmethod
    async def search_fused(
        self,
        name: str,
        queries: Sequence[VectorQuery],
        limit: int,
        filter: Filter | None = None,
        prefetch_limit: int | None = None,
        fields: Fields = None,
    ) -> list[Hit]:
        """Reciprocal rank fusion (k=RRF_K) of several searches, in one store call; `fields` as for `search`."""

    @abstractmethod
    async def retrieve(self, name: str, ids: Sequence[str]) -> list[Hit]:
        """Points by id, in the order asked; missing ids are skipped."""

    @abstractmethod
    async def count(self, name: str, filter: Filter | None = None) -> int: ...

    @abstractmethod
    async def scroll(
        self,
        name: str,
        limit: int,
        offset: str | None = None,
        filter: Filter | None = None,
    ) -> tuple[list[Hit], str | None]:
        """A page of points and the offset of the next page (None at the end)."""

    @abstractmethod
    async def ping(self) -> None:
        """Returns when the store answers; raises StoreUnavailable otherwise (health checks)."""

    @abstractmethod
    async def close(self) -> None: ...
