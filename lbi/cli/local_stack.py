"""Every service in one process, sharing one store, one embedding model and one env-runner: `lbi up` (the
configured ports and tokens, the synthesis service served too) and `lbi demo` / `lbi eval` (free ports on
127.0.0.1, no tokens, the synthesis engine used in-process). The retrieval port also serves the EpisodeService,
so an agent reaches both APIs at one address; jobs that name no runner use the stack's own runner."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from lbi.config import RunnerSettings
from lbi.embedding import Embedder
from lbi.grpc_server import Server
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
    synthesis: Server | None = None  # the synthesis gRPC server, when served


@contextlib.asynccontextmanager
async def running_stack(
    runner_settings: RunnerSettings,
    retrieval_settings: RetrievalSettings,
    synth_settings: SynthSettings,
    serve_synthesis: bool,
) -> AsyncIterator[LocalStack]:
    from env_runners.server import start_runner
    from retrieval_service.server import start_retrieval
    from synth_service.server import episode_service, start_synthesis

    store = open_store(retrieval_settings)
    embedder = Embedder.from_settings(retrieval_settings)
    runner, runner_service = await start_runner(runner_settings)
    runner_target = f"127.0.0.1:{runner.port}"
    synthesis = None
    if serve_synthesis:
        synthesis, engine = await start_synthesis(
            synth_settings, store=store, embedder=embedder, local_runner=runner_target
        )
    else:
        engine = Engine(synth_settings, store, embedder, local_runner=runner_target)
        engine.online.start()
    retrieval, _ = await start_retrieval(
        retrieval_settings,
        store=store,
        embedder=embedder,
        also_serve=[episode_service(engine, retrieval_settings.auth_tokens)],
    )
    try:
        yield LocalStack(runner_target, f"127.0.0.1:{retrieval.port}", engine, store, synth_settings, synthesis)
    finally:
        await engine.close()
        if synthesis is not None:
            await synthesis.stop(5)
        await retrieval.stop(5)
        await runner_service.shutdown()
        await runner.stop(5)
        await store.close()


@contextlib.asynccontextmanager
async def local_stack(online_policy_file: str = "") -> AsyncIterator[LocalStack]:
    """The services on free ports, without tokens; `online_policy_file` (else LBI_ONLINE_POLICY_FILE) says which
    datasets learn online."""
    settings = SynthSettings(runner_port=0, auth_tokens="")  # in-process clients carry no token
    if online_policy_file:
        settings = settings.model_copy(update={"online_policy_file": online_policy_file})
    async with running_stack(
        settings,
        # demo and eval compare retrieval modes: their answers must depend on the dataset alone
        RetrievalSettings(retrieval_port=0, auth_tokens="", retrieval_settle_ties=True),
        settings,
        serve_synthesis=False,
    ) as stack:
        yield stack
