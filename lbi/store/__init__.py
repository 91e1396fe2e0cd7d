"""The vector store: one interface (base.py), an embedded and a server backend, and a factory."""

from lbi.store.base import (
    CollectionNotFound,
    CollectionSpec,
    Filter,
    Hit,
    PointData,
    Sparse,
    StoreUnavailable,
    VectorStore,
)
from lbi.store.factory import open_store

__all__ = [
    "CollectionNotFound",
    "CollectionSpec",
    "Filter",
    "Hit",
    "PointData",
    "Sparse",
    "StoreUnavailable",
    "VectorStore",
    "open_store",
]
