"""Shared fixtures: isolated data directories, a real env-runner on 127.0.0.1, markers by folder."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest
import pytest_asyncio

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
# The shell and repo sessions' root file system, built once by make (`lbi runner build-rootfs`); every runner
# the tests start, in-process or as a child process, uses it whatever its data directory.
ROOTFS_DIR = Path(__file__).resolve().parents[1] / ".lbi" / "rootfs"
os.environ.setdefault("LBI_RUNNER_ROOTFS_DIR", str(ROOTFS_DIR))

from lbi.clients.runner import RunnerClient  # noqa: E402
from lbi.config import RunnerSettings  # noqa: E402


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).parts
        if "unit" in parts:
            item.add_marker(pytest.mark.unit)
        elif "integration" in parts:
            item.add_marker(pytest.mark.integration)
        elif "reliability" in parts:
            item.add_marker(pytest.mark.reliability)
        elif "deploy" in parts:
            item.add_marker(pytest.mark.deploy)


@pytest.fixture(scope="session")
def shared_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data directory for the session (the sample database is built once)."""
    return tmp_path_factory.mktemp("lbi-data")


@pytest.fixture
def runner_settings(shared_data_dir: Path) -> RunnerSettings:
    return RunnerSettings(
        data_dir=shared_data_dir, runner_port=0, runner_step_timeout_s=2.0, runner_observation_cap=2000
    )


@contextlib.asynccontextmanager
async def serving(settings: RunnerSettings, timeout_s: float):
    """A real EnvRunner gRPC server on 127.0.0.1 (free port) and a client of it, stopped afterwards."""
    from env_runners.server import start_runner

    server, service = await start_runner(settings)
    client = RunnerClient(f"127.0.0.1:{server.port}", timeout_s=timeout_s)
    try:
        yield client
    finally:
        await client.close()
        await service.shutdown()
        await server.stop(0)


@pytest_asyncio.fixture
async def runner(runner_settings: RunnerSettings):
    """A real EnvRunner gRPC server on 127.0.0.1 (free port) and a client of it."""
    async with serving(runner_settings, 30) as client:
        yield client


@pytest_asyncio.fixture
async def desktop_runner(shared_data_dir: Path):
    """A real EnvRunner for desktop sessions: a step may read a large tree or wait for an application, so steps get
    the 10 s a runner has by default rather than the 2 s of `runner`."""
    settings = RunnerSettings(data_dir=shared_data_dir, runner_port=0, runner_step_timeout_s=10.0)
    async with serving(settings, 60) as client:
        yield client


@pytest.fixture(scope="session")
def embedder():
    """The real embedding model, loaded once per test session."""
    from lbi.embedding import Embedder

    return Embedder()


@pytest_asyncio.fixture
async def repo_runner(tmp_path):
    """A real EnvRunner whose data directory holds the sample repository's archive (as `make` fetched it)."""
    import shutil

    from env_runners.repo import sample
    from env_runners.server import start_runner

    archive = Path(__file__).resolve().parents[1] / ".lbi" / "envs" / "repo" / f"{sample.SDIST}.tar.gz"
    if not archive.exists():
        pytest.skip("sample repository not downloaded (make fetches it)")
    (tmp_path / "envs" / "repo").mkdir(parents=True)
    shutil.copy(archive, tmp_path / "envs" / "repo")
    server, service = await start_runner(RunnerSettings(data_dir=tmp_path, runner_port=0, runner_step_timeout_s=60))
    client = RunnerClient(f"127.0.0.1:{server.port}")
    yield client
    await client.close()
    await service.shutdown()
    await server.stop(0)


@pytest_asyncio.fixture
async def synth_engine(tmp_path, embedder):
    """A synthesis engine on an embedded store, with a local runner whose steps may take long (repo test runs)."""
    from lbi.cli.local_runner import launch_runner
    from lbi.store.edge import EdgeStore
    from synth_service.config import SynthSettings
    from synth_service.engine import Engine

    store = EdgeStore(tmp_path / "qdrant")
    engine = Engine(
        SynthSettings(data_dir=tmp_path, runner_step_timeout_s=150), store, embedder, launch_runner=launch_runner
    )
    yield engine
    await engine.close()
    await store.close()


def _database_server(start):
    """A real database server on 127.0.0.1 for the session (tests/fixtures/db_servers.py); skipped, with the reason,
    when none can be had."""
    from tests.fixtures import db_servers

    try:
        server = start()
    except db_servers.Unavailable as exc:
        pytest.skip(str(exc))
    return server


@pytest.fixture(scope="session")
def postgres_server():
    from tests.fixtures import db_servers

    server = _database_server(db_servers.postgres)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mariadb_server():
    from tests.fixtures import db_servers

    server = _database_server(db_servers.mariadb)
    yield server
    server.stop()
