"""Starts the retrieval gRPC server over a store (shared with other services in `lbi up`)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from lbi.auth import TokenTable, interceptors
from lbi.dataset import DatasetStore
from lbi.embedding import Embedder
from lbi.grpc_server import Server, start_server
from lbi.llm.gateway import LLMGateway
from lbi.llm.litellm_setup import get_litellm
from lbi.store import VectorStore, open_store
from lbi.store_health import StoreHealth
from lbi.v1 import retrieval_pb2_grpc
from retrieval_service.batcher import EmbeddingBatcher
from retrieval_service.config import RetrievalSettings
from retrieval_service.retriever import Retriever
from retrieval_service.service import RetrievalService

SERVICE_NAME = "lbi.v1.RetrievalService"


async def start_retrieval(
    settings: RetrievalSettings,
    store: VectorStore | None = None,
    embedder: Embedder | None = None,
    also_serve: Sequence[tuple] = (),
) -> tuple[Server, RetrievalService]:
    """A started retrieval server on settings.retrieval_host:retrieval_port (0 = any free port); `also_serve` adds
    services composed elsewhere ((add_to_server, servicer, name), as `start_server` takes them)."""
    store = store or open_store(settings)
    embedder = embedder or Embedder.from_settings(settings)
    await asyncio.to_thread(lambda: embedder.dim)  # load the model before serving
    # and litellm (seconds to import), so the first query-writing request is not slow
    await asyncio.to_thread(get_litellm)
    batcher = EmbeddingBatcher(
        embedder, settings.retrieval_batch_wait_ms, settings.retrieval_max_batch, settings.retrieval_cache_size
    )
    retriever = Retriever(
        store,
        batcher,
        LLMGateway(settings),
        settings.retrieval_query_model,
        settings.retrieval_candidates,
        settings.retrieval_settle_ties,
    )
    service = RetrievalService(settings, retriever, DatasetStore(store, embedder), TokenTable(settings.auth_tokens))
    server = await start_server(
        "lbi-retrieval",
        [(retrieval_pb2_grpc.add_RetrievalServiceServicer_to_server, service, SERVICE_NAME), *also_serve],
        host=settings.retrieval_host,
        port=settings.retrieval_port,
        extra_interceptors=interceptors(settings.auth_tokens),
        tls_cert_file=settings.tls_cert_file,
        tls_key_file=settings.tls_key_file,
    )
    service.store_health = StoreHealth(store, server, SERVICE_NAME, settings.health_interval_s)
    await service.store_health.start()
    return server, service
