"""A sql URL's `${NAME}` secrets reach only the hosts the operator bound them to, only as the password, and never
over clear-text password authentication (issue 36, item 2).

As a hostile tenant on a runner with auth on: the URL points at listeners of the tenant's own on 127.0.0.1 that
speak enough PostgreSQL or MySQL to ask for the password in clear text and record every byte they get
(tests/fixtures/fake_db_listeners.py). A secret in the database name, user or a query parameter, a secret sent to
a host it is not bound to, a bound host that asks for the password in clear, and a URL without a password (the
runner's own PGPASSWORD) each leave the listener without any secret, and the caller gets INVALID_ARGUMENT naming
`config.url`, without the secret.
"""

from __future__ import annotations

import grpc
import pytest

from env_runners.server import start_runner
from lbi.clients.runner import RunnerClient
from lbi.config import RunnerSettings
from tests.fixtures import fake_db_listeners

TOKENS = "admin@tok-admin,alice@tok-a=ds1:rw,bob@tok-b=ds2:rw"
SHOP_PW, DBPW, ENV_PW = "shop-secret-5521", "db-file-secret-8812", "runner-env-pgpassword-3390"


@pytest.fixture
def listeners():
    pg, my = fake_db_listeners.postgres(), fake_db_listeners.mysql()
    yield pg, my
    pg.close()
    my.close()


@pytest.fixture
def secrets_dir(tmp_path):
    folder = tmp_path / "secrets"
    folder.mkdir()
    (folder / "SHOP_PW").write_text(SHOP_PW + "\n")
    (folder / "DBPW").write_text(DBPW + "\n")
    return folder


async def _refused(client: RunnerClient, url: str) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await client.open_session("sql", {"url": url})
    details = err.value.details() or ""
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, details
    assert details.startswith("config.url: ") and "Traceback" not in details, details
    assert SHOP_PW not in details and DBPW not in details, details
    return details


async def _runner(tmp_path, secrets_dir, **extra):
    settings = RunnerSettings(
        data_dir=tmp_path / "data",
        runner_port=0,
        runner_secrets_dir=secrets_dir,
        secrets_dir=secrets_dir,
        auth_tokens=TOKENS,
        **extra,
    )
    return await start_runner(settings)


async def test_a_secret_goes_only_to_its_bound_host_and_only_as_the_password(tmp_path, secrets_dir, listeners):
    pg, my = listeners
    server, service = await _runner(tmp_path, secrets_dir, runner_secret_hosts={"SHOP_PW": ["db.internal:5432"]})
    try:
        async with RunnerClient(f"127.0.0.1:{server.port}", token="tok-a") as client:
            # the issue's own URL: the secret as password to a listener of the caller's, a secret file as database
            await _refused(client, f"postgresql://agent:${{SHOP_PW}}@127.0.0.1:{pg.port}/db_${{DBPW}}")
            await _refused(client, f"postgresql://agent:${{SHOP_PW}}@127.0.0.1:{pg.port}/shop")
            await _refused(client, f"mysql://agent:${{SHOP_PW}}@127.0.0.1:{my.port}/shop")
            await _refused(client, f"postgresql://${{DBPW}}@127.0.0.1:{pg.port}/shop")
            await _refused(client, f"postgresql://agent@127.0.0.1:{pg.port}/shop?application_name=${{DBPW}}")
            # a query parameter that moves the connection elsewhere, or reads a runner's file
            await _refused(client, "postgresql://agent:${SHOP_PW}@db.internal:5432/shop?host=127.0.0.1")
            await _refused(client, f"postgresql://agent@127.0.0.1:{pg.port}/shop?passfile=/etc/passwd")
            await _refused(client, f"mysql://agent@127.0.0.1:{my.port}/shop?local_infile=1")
            await _refused(client, "postgresql://agent:${SHOP_PW}@/shop")  # no host: the runner's own socket
    finally:
        await service.shutdown()
        await server.stop(0)
    assert not pg.leaked(SHOP_PW, DBPW) and not my.leaked(SHOP_PW, DBPW)


async def test_a_bound_host_that_asks_for_the_password_in_clear_does_not_get_it(tmp_path, secrets_dir, listeners):
    pg, my = listeners
    bound = {"SHOP_PW": [f"127.0.0.1:{pg.port}", f"127.0.0.1:{my.port}"]}
    server, service = await _runner(tmp_path, secrets_dir, runner_secret_hosts=bound)
    try:
        async with RunnerClient(f"127.0.0.1:{server.port}", token="tok-a") as client:
            await _refused(client, f"postgresql://agent:${{SHOP_PW}}@127.0.0.1:{pg.port}/shop")
            await _refused(client, f"mysql://agent:${{SHOP_PW}}@127.0.0.1:{my.port}/shop")
            await _refused(client, f"mariadb://agent:${{SHOP_PW}}@127.0.0.1:{my.port}/shop")
    finally:
        await service.shutdown()
        await server.stop(0)
    assert pg.connections and my.connections  # the bound hosts were reached: only the clear-text request is refused
    assert not pg.leaked(SHOP_PW) and not my.leaked(SHOP_PW)


async def test_a_url_without_a_password_does_not_send_the_runners_own(tmp_path, secrets_dir, listeners, monkeypatch):
    pg, _ = listeners
    monkeypatch.setenv("PGPASSWORD", ENV_PW)
    server, service = await _runner(tmp_path, secrets_dir)
    try:
        async with RunnerClient(f"127.0.0.1:{server.port}", token="tok-b") as client:
            await _refused(client, f"postgresql://agent@127.0.0.1:{pg.port}/shop")
    finally:
        await service.shutdown()
        await server.stop(0)
    assert pg.connections and not pg.leaked(ENV_PW)
