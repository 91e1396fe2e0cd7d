"""Paths a request names reach only what they may: a runner and the synthesis service never open lbi's own state
or secrets for a caller, and with auth on nothing outside the allowed roots (lbi/paths.py).

Through the real gRPC servers with auth on and a dataset-limited token: `config.database` at the journal, outside
the roots, through a symbolic link pointing out and through `..`; `config.url` as a sqlite URL to the journal;
`config.repo` at the secrets folder and at /etc; documentation paths at /etc/passwd (a job's `resource_paths`
and `config.resources`). Each is INVALID_ARGUMENT naming the field, and nothing of the file shows anywhere.
With auth off the user's own files work, and the journal and stores stay refused.
"""

import sqlite3
from pathlib import Path

import grpc
import pytest

from env_runners.server import start_runner
from lbi.cli.local_runner import launch_runner
from lbi.clients.runner import RunnerClient
from lbi.config import RunnerSettings
from lbi.errors import InvalidArgument
from lbi.paths import PathRules
from lbi.store.edge import EdgeStore
from lbi.v1 import synthesis_pb2, synthesis_pb2_grpc
from synth_service.config import SynthSettings
from synth_service.server import start_synthesis
from synth_service.spec import spec_from_dict

MARKER = "zq-private-row-7731"
TOKENS = "admin-token,team-token=ds1:rw|ds2"


def _sqlite(path: Path, value: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE records (payload TEXT)")
        conn.execute("INSERT INTO records VALUES (?)", (value,))
    return path


@pytest.fixture
def layout(tmp_path):
    """A data directory holding a journal with a private row, a secrets folder, an allowed root with a team's own
    database, a database outside the roots, and links and `..` paths that lead out."""
    data = tmp_path / "data"
    journal = _sqlite(data / "synthesis" / "journal.sqlite", MARKER)
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "SHOP_PW").write_text(MARKER)
    allowed = tmp_path / "team-data"
    own = _sqlite(allowed / "shop.db", "hello")
    outside = _sqlite(tmp_path / "elsewhere" / "other.db", MARKER)
    (allowed / "link.db").symlink_to(journal)
    (allowed / "secrets-link").symlink_to(secrets, target_is_directory=True)
    return {
        "data": data,
        "journal": journal,
        "secrets": secrets,
        "allowed": allowed,
        "own": own,
        "outside": outside,
        "link": allowed / "link.db",
        "dotdot": allowed / ".." / "data" / "synthesis" / "journal.sqlite",
    }


def _runner_settings(layout, **extra) -> RunnerSettings:
    return RunnerSettings(
        data_dir=layout["data"],
        runner_port=0,
        runner_secrets_dir=layout["secrets"],
        secrets_dir=layout["secrets"],
        **extra,
    )


async def _refused(client: RunnerClient, env: str, config: dict, field: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await client.open_session(env, config)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, err.value.details()
    assert err.value.details() == f"{field}: outside the allowed paths"


async def test_a_limited_token_reaches_only_the_allowed_roots_through_the_runner(layout, caplog):
    settings = _runner_settings(layout, auth_tokens=TOKENS, allowed_paths=[str(layout["allowed"])])
    server, service = await start_runner(settings)
    try:
        async with RunnerClient(f"127.0.0.1:{server.port}", token="team-token") as client:
            for path in ("journal", "outside", "link", "dotdot"):
                await _refused(client, "sql", {"database": str(layout[path]), "read_only": True}, "config.database")
            await _refused(client, "sql", {"url": f"sqlite:///{layout['journal']}"}, "config.url")
            await _refused(client, "repo", {"repo": str(layout["secrets"])}, "config.repo")
            await _refused(client, "repo", {"repo": str(layout["allowed"] / "secrets-link")}, "config.repo")
            await _refused(client, "repo", {"repo": "/etc"}, "config.repo")
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await client.resources("sql", {"database": str(layout["own"]), "resources": ["/etc/passwd"]})
            assert err.value.details() == "config.resources: outside the allowed paths"
            # the team's own database, under the allowed root, works
            session, _ = await client.open_session("sql", {"database": str(layout["own"])})
            result = await client.step(session, "SELECT payload FROM records;")
            assert "hello" in result.text
            await client.close_session(session)
    finally:
        await service.shutdown()
        await server.stop(0)
    assert MARKER not in caplog.text and "root:x:0" not in caplog.text


async def test_with_auth_on_and_no_roots_no_path_is_reachable(layout):
    server, service = await start_runner(_runner_settings(layout, auth_tokens=TOKENS))
    try:
        async with RunnerClient(f"127.0.0.1:{server.port}", token="admin-token") as client:
            await _refused(client, "sql", {"database": str(layout["own"])}, "config.database")
            session, first = await client.open_session("sql", {})  # the sample database needs no path
            assert first.text
            await client.close_session(session)
    finally:
        await service.shutdown()
        await server.stop(0)


async def test_with_auth_off_own_files_work_and_lbi_state_stays_refused(layout):
    server, service = await start_runner(_runner_settings(layout))
    try:
        async with RunnerClient(f"127.0.0.1:{server.port}") as client:
            for path in ("own", "outside"):  # anywhere on the user's machine
                session, _ = await client.open_session("sql", {"database": str(layout[path])})
                await client.close_session(session)
            for path in ("journal", "link", "dotdot"):
                await _refused(client, "sql", {"database": str(layout[path]), "read_only": True}, "config.database")
            await _refused(client, "repo", {"repo": str(layout["secrets"])}, "config.repo")
            await _refused(client, "repo", {"repo": str(layout["data"] / "synthesis")}, "config.repo")
            await _refused(client, "sql", {"database": "/proc/self/environ"}, "config.database")
    finally:
        await service.shutdown()
        await server.stop(0)


async def test_a_jobs_documentation_paths_are_refused_before_the_job_exists(layout, tmp_path):
    data = tmp_path / "synthesis-data"
    store = EdgeStore(data / "qdrant")
    settings = SynthSettings(
        data_dir=data, synth_port=0, auth_tokens=TOKENS, secrets_dir=layout["secrets"], allowed_paths=[str(tmp_path)]
    )
    server, engine = await start_synthesis(launch_runner=launch_runner, settings=settings, store=store)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub = synthesis_pb2_grpc.SynthesisServiceStub(channel)
            metadata = (("authorization", "Bearer team-token"),)
            own_journal = data / "synthesis" / "journal.sqlite"
            (tmp_path / "notes.md").symlink_to(own_journal)
            for docs in (
                "/etc/passwd",
                str(own_journal),
                str(layout["secrets"] / "SHOP_PW"),
                str(tmp_path / "notes.md"),
            ):
                spec = spec_from_dict({"env": "sql", "dataset": "ds1", "resource_paths": [docs]})
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await stub.CreateJob(synthesis_pb2.CreateJobRequest(spec=spec.to_proto()), metadata=metadata)
                assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
                assert err.value.details() == "spec.resource_paths: outside the allowed paths"
            jobs = await stub.ListJobs(synthesis_pb2.ListJobsRequest(), metadata=metadata)
            assert list(jobs.jobs) == []  # nothing was created, so nothing of the files is in any journal row
    finally:
        await engine.close()
        await server.stop(0)
        await store.close()


def test_the_rule_resolves_links_and_dots(layout):
    rules = PathRules.from_settings(_runner_settings(layout, allowed_paths=[str(layout["allowed"])]))
    assert rules.check("f", layout["own"]) == layout["own"].resolve()
    for path in ("link", "dotdot", "journal", "outside", "secrets"):
        with pytest.raises(InvalidArgument, match="f: outside the allowed paths"):
            rules.check("f", layout[path])
    open_rules = PathRules.from_settings(_runner_settings(layout))
    assert open_rules.check("f", layout["outside"]) == layout["outside"].resolve()
    assert open_rules.check("f", layout["data"] / "envs" / "sql" / "shop.db")  # sample environments stay readable
    for state in ("qdrant/steps", "rootfs/layers/x", "eval/shop/latest/tasks.jsonl"):
        with pytest.raises(InvalidArgument):
            open_rules.check("f", layout["data"] / state)
