"""The EnvRunner over real gRPC on 127.0.0.1 with the real `sql` environment."""

import asyncio
import sqlite3

import grpc
import pytest

from lbi.config import RunnerSettings


async def test_lists_sql_with_action_space_and_config_schema(runner):
    envs = {e.name: e for e in await runner.list_environments()}
    assert "sql" in envs
    assert "SQL statement" in envs["sql"].action_space and "dialect" in envs["sql"].action_space
    assert {"url", "database", "read_only", "max_rows", "setup_sql", "resources"} <= set(envs["sql"].config_schema)
    session, first = await runner.open_session("sql")  # the session's own action space names its dialect
    assert "one SQLite SQL statement" in first.info["action_space"] and "SQLite" in first.text
    await runner.close_session(session)


async def test_streams_documentation_with_worked_examples(runner):
    resources = await runner.resources("sql")
    titles = [r.title for r in resources]
    assert len(resources) >= 30 and "Top customers by revenue" in titles
    assert sum("```sql" in r.text for r in resources) >= 30
    assert len({r.id for r in resources}) == len(resources)


async def test_valid_and_invalid_sql(runner):
    session, first = await runner.open_session("sql")
    assert "customers (900 rows)" in first.text
    ok = await runner.step(session, "SELECT COUNT(*) AS n FROM customers")
    assert not ok.error and "900" in ok.text and "(1 row)" in ok.text
    bad = await runner.step(session, "SELECT nme FROM customers")
    assert bad.error and bad.text == "Error: no such column: nme"
    syntax = await runner.step(session, "SELEC 1")
    assert syntax.error and "syntax error" in syntax.text
    two = await runner.step(session, "SELECT 1; SELECT 2")
    assert two.error
    assert await runner.close_session(session) == 4


async def test_sessions_are_isolated_and_concurrent(runner):
    opened = await asyncio.gather(*(runner.open_session("sql") for _ in range(6)))
    ids = [sid for sid, _ in opened]
    assert len(set(ids)) == 6
    deleted = await runner.step(ids[0], "DELETE FROM reviews")
    assert "718 row(s) affected" in deleted.text
    counts = await asyncio.gather(*(runner.step(sid, "SELECT COUNT(*) FROM reviews") for sid in ids))
    assert "\n0\n" in counts[0].text
    assert all("718" in c.text for c in counts[1:])
    await asyncio.gather(*(runner.close_session(sid) for sid in ids))
    fresh, _ = await runner.open_session("sql")
    assert "718" in (await runner.step(fresh, "SELECT COUNT(*) FROM reviews")).text
    await runner.close_session(fresh)


async def test_read_only_mode_refuses_writes(runner):
    session, first = await runner.open_session("sql", {"read_only": True})
    assert "read-only" in first.text
    result = await runner.step(session, "DELETE FROM reviews")
    assert result.error and "readonly" in result.text
    await runner.close_session(session)


async def test_user_database_and_setup_sql(runner, tmp_path):
    path = tmp_path / "mine.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x INTEGER)")
    conn.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(5)])
    conn.commit()
    conn.close()
    session, first = await runner.open_session(
        "sql", {"database": str(path), "setup_sql": "INSERT INTO t VALUES (99);"}
    )
    assert "t (6 rows)" in first.text
    await runner.close_session(session)
    assert sqlite3.connect(path).execute("SELECT COUNT(*) FROM t").fetchone()[0] == 5


async def test_observation_cap_truncates_with_marker(runner):
    session, _ = await runner.open_session("sql", {"max_rows": 500})
    result = await runner.step(session, "SELECT * FROM customers")
    assert result.truncated and "[... truncated:" in result.text
    assert len(result.text) < 2100
    await runner.close_session(session)
    shell, _ = await runner.open_session("shell", {"output_cap": 100_000})
    long = await runner.step(shell, "seq 1 20000; false")
    assert long.truncated and long.text.rstrip().splitlines()[-1].startswith("[exit code 1] ")  # the end is kept
    await runner.close_session(shell)


async def test_step_timeout_interrupts_and_session_survives(runner):
    session, _ = await runner.open_session("sql")
    slow = "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT COUNT(*) FROM r"
    result = await runner.step(session, slow)
    assert result.error and "step timeout" in result.text
    after = await runner.step(session, "SELECT 42")
    assert not after.error and "42" in after.text
    await runner.close_session(session)


async def test_unknown_environment_is_not_found(runner):
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await runner.open_session("nope")
    assert err.value.code() == grpc.StatusCode.NOT_FOUND and "nope" in str(err.value.details())


@pytest.mark.parametrize(
    "config, field",
    [
        ({"max_rows": 0}, "config.max_rows"),
        ({"read_only": "perhaps"}, "config.read_only"),
        ({"colour": "blue"}, "config.colour"),
        ({"database": "/no/such/file.db"}, "config.database"),
        ({"setup_sql": "CREATE TABLE"}, "config.setup_sql"),
    ],
)
async def test_bad_config_is_invalid_argument_naming_the_field(runner, config, field):
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await runner.open_session("sql", config)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert str(err.value.details()).startswith(field)
    assert "Traceback" not in str(err.value.details())


async def test_unknown_and_empty_session_ids(runner):
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await runner.step("does-not-exist", "SELECT 1")
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await runner.step("", "SELECT 1")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "session_id" in str(err.value.details())


async def test_session_limit_and_idle_reaping(shared_data_dir):
    from env_runners.server import start_runner
    from lbi.clients.runner import RunnerClient

    settings = RunnerSettings(data_dir=shared_data_dir, runner_port=0, runner_max_sessions=2, runner_idle_timeout_s=0.2)
    server, service = await start_runner(settings)
    async with RunnerClient(f"127.0.0.1:{server.port}") as client:
        await client.open_session("sql")
        await client.open_session("sql")
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await client.open_session("sql")
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        await asyncio.sleep(0.3)
        assert await service.sessions.reap_idle() == 2
        sid, _ = await client.open_session("sql")
        await client.close_session(sid)
    await service.shutdown()
    await server.stop(0)


async def test_health_and_reflection(runner):
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    stub = health_pb2_grpc.HealthStub(runner._channel)
    response = await stub.Check(health_pb2.HealthCheckRequest(service="lbi.v1.EnvRunner"))
    assert response.status == health_pb2.HealthCheckResponse.SERVING
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    reflect = reflection_pb2_grpc.ServerReflectionStub(runner._channel)

    async def one():
        yield reflection_pb2.ServerReflectionRequest(list_services="")

    async for answer in reflect.ServerReflectionInfo(one()):
        names = {s.name for s in answer.list_services_response.service}
        assert "lbi.v1.EnvRunner" in names
        break


async def test_every_tutorial_example_runs(runner):
    from lbi.docs import worked_examples

    session, _ = await runner.open_session("sql")
    for resource in await runner.resources("sql"):
        for example in worked_examples(resource.text):
            result = await runner.step(session, example.code)
            assert not result.error, f"{resource.title}: {result.text}"
    await runner.close_session(session)
