"""Starts the synthesis gRPC server over an engine (sharing a store with other services in `lbi up`): the
SynthesisService and the EpisodeService (online adaptation)."""

from __future__ import annotations

from lbi.auth import TokenTable, interceptors
from lbi.embedding import Embedder
from lbi.grpc_server import Server, start_server
from lbi.store import VectorStore, open_store
from lbi.v1 import episodes_pb2_grpc, synthesis_pb2_grpc
from synth_service.config import SynthSettings
from synth_service.engine import Engine
from synth_service.online.service import SERVICE_NAME as EPISODES_SERVICE
from synth_service.online.service import EpisodeService
from synth_service.recovery import recover
from synth_service.runner_provisioning import RunnerLauncher
from synth_service.service import SynthesisService

SERVICE_NAME = "lbi.v1.SynthesisService"


async def start_synthesis(
    settings: SynthSettings,
    store: VectorStore | None = None,
    embedder: Embedder | None = None,
    local_runner: str = "",
    launch_runner: RunnerLauncher | None = None,
) -> tuple[Server, Engine]:
    engine = Engine(
        settings, store or open_store(settings), embedder, local_runner=local_runner, launch_runner=launch_runner
    )
    server = await start_server(
        "lbi-synthesis",
        [
            (
                synthesis_pb2_grpc.add_SynthesisServiceServicer_to_server,
                SynthesisService(engine, TokenTable(settings.auth_tokens)),
                SERVICE_NAME,
            ),
            episode_service(engine, settings.auth_tokens),
        ],
        host=settings.synth_host,
        port=settings.synth_port,
        extra_interceptors=interceptors(settings.auth_tokens),
        tls_cert_file=settings.tls_cert_file,
        tls_key_file=settings.tls_key_file,
    )
    if settings.synth_resume_on_start:
        await recover(engine)
    engine.online.start()
    return server, engine


def episode_service(engine: Engine, auth_tokens: str) -> tuple:
    """The EpisodeService over the engine's online jobs, as `start_server` registers it (the synthesis server hosts
    it; `lbi up` also hosts it on the retrieval port, so an agent reaches both APIs at one address)."""
    return (
        episodes_pb2_grpc.add_EpisodeServiceServicer_to_server,
        EpisodeService(engine.online, TokenTable(auth_tokens)),
        EPISODES_SERVICE,
    )
