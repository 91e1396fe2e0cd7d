"""Every service in this process on 127.0.0.1, sharing one store and one embedding model (`lbi demo`, `lbi eval`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from lbi.embedding import Embedder
from lbi.store import VectorStore, open_store
from retrieval_service.config import RetrievalSettings
from synth_service.config import SynthSettings
from synth_service.engine import Engine


@dataclass
class LocalStack:
    runner_target: str
    retrieval_target: str
    engine: Engine
    store: VectorStore
    settings: SynthSettings


@contextlib.asynccontextmanager
async def local_stack(online_policy_file: str = "") -> AsyncIterator[LocalStack]:
    """The services in this process; `online_policy_file` (else LBI_ONLINE_POLICY_FILE) says which datasets learn online."""
    from env_runners.server import start_runner
    from retrieval_service.server import start_retrieval
    from synth_service.server import episode_service

    settings = SynthSettings(runner_port=0, auth_tokens="")  # in-process clients carry no token
    if online_policy_file:
        settings = settings.model_copy(update={"online_policy_file": online_policy_file})
    retrieval_settings = RetrievalSettings(retrieval_port=0, auth_tokens="")
    store = open_store(settings)
    embedder = Embedder.from_settings(settings)
    runner, runner_service = await start_runner(settings)
    engine = Engine(settings, store, embedder)
    retrieval, _ = await start_retrieval(retrieval_settings, store=store, embedder=embedder,
                                         also_serve=[episode_service(engine, retrieval_settings.auth_tokens)])
    engine.online.start()
    try:
        yield LocalStack(f"127.0.0.1:{runner.port}", f"127.0.0.1:{retrieval.port}", engine, store, settings)
    finally:
        await engine.close()
        await retrieval.stop(0)
        await runner_service.shutdown()
        await runner.stop(0)
        await store.close()
