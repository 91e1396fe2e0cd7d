"""The sql environment on real PostgreSQL, MariaDB and DuckDB, through a real env-runner on 127.0.0.1: sessions
isolated from each other and from the database itself, read-only, statement timeouts, the engine's own errors,
secrets that never leave the runner, introspection and judging on every engine."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator

import grpc
import pytest
import pytest_asyncio

from tests.fixtures import freight_servers
from tests.fixtures.freight_servers import SECRET_NAME, LoadedDatabase

ENGINES = ["postgresql", "mariadb", "duckdb"]
TITLES = {"postgresql": "PostgreSQL", "mariadb": "MariaDB", "duckdb": "DuckDB"}


@pytest.fixture(scope="module", params=ENGINES)
def loaded(request, tmp_path_factory) -> Iterator[LoadedDatabase]:
    secret = freight_servers.new_secret()
    if request.param == "postgresql":
        database = freight_servers.postgres(request.getfixturevalue("postgres_server"), secret)
    elif request.param == "mariadb":
        database = freight_servers.mariadb(request.getfixturevalue("mariadb_server"), secret)
    else:
        database = freight_servers.duckdb(tmp_path_factory.mktemp("duckdb"), secret)
    yield database
    database.admin.dispose()


@pytest.fixture
def runner_settings(shared_data_dir):
    """The conftest's runner, whose operator bound the tests' secrets to the servers they start on 127.0.0.1."""
    from lbi.config import RunnerSettings

    return RunnerSettings(
        data_dir=shared_data_dir,
        runner_port=0,
        runner_step_timeout_s=2.0,
        runner_observation_cap=2000,
        runner_secret_hosts={name: ["127.0.0.1"] for name in (SECRET_NAME, "WRONG_PW", "MUSIC_PW")},
    )


@pytest.fixture
def secret_env(loaded, monkeypatch):
    monkeypatch.setenv(f"LBI_SECRET_{SECRET_NAME}", loaded.secret)
    return loaded


@pytest_asyncio.fixture
async def session(runner, secret_env):
    session_id, first = await runner.open_session("sql", {"url": secret_env.url})
    yield session_id, first
    await runner.close_session(session_id)


async def test_first_observation_and_action_space_name_the_engine(runner, session, loaded):
    _, first = session
    title = TITLES[loaded.engine]
    assert first.text.startswith(f"Connected to {title}") and "shipments (400 rows)" in first.text
    assert f"one {title} SQL statement" in first.info["action_space"]
    if loaded.engine == "postgresql":
        assert "workshop.repairs (40 rows)" in first.text


async def test_concurrent_sessions_do_not_see_each_others_writes(runner, secret_env):
    url = secret_env.url
    (a, _), (b, _) = await asyncio.gather(
        runner.open_session("sql", {"url": url}), runner.open_session("sql", {"url": url})
    )
    try:
        wrote = await runner.step(a, "DELETE FROM shipments WHERE status = 'cancelled'")
        assert not wrote.error and wrote.info["rows_affected"] > 0, wrote.text
        added = await runner.step(a, "INSERT INTO depots (depot_id, city, region) VALUES (99, 'Torun', 'north')")
        assert not added.error, added.text
        mine = await runner.step(a, "SELECT COUNT(*) AS n FROM depots")
        theirs = await runner.step(b, "SELECT COUNT(*) AS n FROM depots")
        assert "\n7\n" in mine.text and "\n6\n" in theirs.text, (mine.text, theirs.text)
        cancelled = await runner.step(b, "SELECT COUNT(*) AS n FROM shipments WHERE status = 'cancelled'")
        assert not cancelled.error and not re.search(r"\n0\n", cancelled.text)
    finally:
        await runner.close_session(a)
        await runner.close_session(b)
    assert secret_env.count("depots") == 6 and secret_env.count("shipments") == 400  # the database itself is unchanged


async def test_read_only_refuses_writes_with_the_engines_error(runner, secret_env):
    session_id, _ = await runner.open_session("sql", {"url": secret_env.url, "read_only": True})
    try:
        refused = await runner.step(session_id, "UPDATE trucks SET capacity_kg = 1")
        assert refused.error and refused.text.startswith("Error: ")
        assert re.search(r"read[- ]only", refused.text, re.I), refused.text
        ok = await runner.step(session_id, "SELECT COUNT(*) AS n FROM trucks")
        assert not ok.error and "25" in ok.text
    finally:
        await runner.close_session(session_id)


async def test_a_long_statement_times_out_and_the_session_goes_on(runner, session, loaded):
    session_id, _ = session
    await runner.step(session_id, "UPDATE depots SET region = 'x' WHERE depot_id = 1")
    slow = await runner.step(session_id, loaded.sleep_sql)
    assert slow.error, slow.text
    if loaded.engine == "duckdb":  # no statement timeout setting: the runner interrupts it at the step timeout
        assert "step timeout" in slow.text
    else:  # the engine's own timeout, before the runner's
        assert re.search(r"statement timeout|max_statement_time", slow.text), slow.text
    after = await runner.step(session_id, "SELECT region FROM depots WHERE depot_id = 1")
    assert not after.error and "\nx\n" in after.text  # the session and its earlier write are intact


async def test_a_bad_statement_is_the_engines_error(runner, session, loaded):
    session_id, _ = session
    bad = await runner.step(session_id, "SELECT nosuch FROM trucks")
    assert bad.error and bad.text.startswith("Error: ") and "nosuch" in bad.text
    syntax = await runner.step(session_id, "SELEC 1")
    assert syntax.error and re.search(r"syntax", syntax.text, re.I), syntax.text
    two = await runner.step(session_id, "SELECT 1; DELETE FROM trucks")
    assert two.error and "one SQL statement" in two.text
    still = await runner.step(session_id, "SELECT COUNT(*) AS n FROM trucks")
    assert "25" in still.text


async def test_the_session_cannot_commit_or_reach_outside(runner, session, loaded):
    session_id, _ = session
    await runner.step(session_id, "DELETE FROM fuel_stops")
    for attempt in (
        "COMMIT",
        "END",
        "ROLLBACK",
        "BEGIN",
        "SAVEPOINT x",
        "SET autocommit = 1",
        "commit /* a comment */",
        "  Commit;",
    ):
        result = await runner.step(session_id, attempt)
        if loaded.engine != "duckdb":
            assert result.error and "not allowed" in result.text, (attempt, result.text)
    if loaded.engine == "mariadb":
        ddl = await runner.step(session_id, "CREATE TABLE sneaky (x INT)")
        assert ddl.error and "commits the open transaction implicitly" in ddl.text
    if loaded.engine == "postgresql":  # DDL is transactional: allowed, and rolled back like the rest
        ddl = await runner.step(session_id, "CREATE TABLE scratch (x INT)")
        assert not ddl.error, ddl.text
    if loaded.engine == "duckdb":
        outside = await runner.step(session_id, "SELECT * FROM read_csv('/etc/passwd')")
        assert outside.error and "disabled" in outside.text
        attach = await runner.step(session_id, "ATTACH '/tmp/elsewhere.duckdb' AS other")
        assert attach.error
    assert loaded.count("fuel_stops") == 150


async def test_bad_url_and_bad_credentials_are_invalid_argument_without_the_secret(runner, secret_env, monkeypatch):
    loaded = secret_env
    cases = [
        loaded.url.replace("freight", "nosuchdb") if loaded.engine != "duckdb" else "duckdb:////nonexistent/x.duckdb",
        "postgresql://someone:plain-text-password@127.0.0.1:1/x",
        "nosuchengine://a/b",
        "not a url at all",
    ]
    if loaded.engine != "duckdb":  # a secret the runner does not have; a wrong password
        monkeypatch.setenv("LBI_SECRET_WRONG_PW", loaded.secret + "-wrong")
        cases += [loaded.url.replace(SECRET_NAME, "NOT_SET_ANYWHERE"), loaded.url.replace(SECRET_NAME, "WRONG_PW")]
    for url in cases:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await runner.open_session("sql", {"url": url})
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (url, str(caught.value.details()))
        details = str(caught.value.details())
        assert details.startswith("config.url"), details
        assert loaded.secret not in details and "plain-text-password" not in details, details


async def test_secrets_stay_out_of_observations_resources_and_logs(runner, secret_env, caplog):
    caplog.set_level(logging.DEBUG)
    loaded = secret_env
    resources = await runner.resources("sql", {"url": loaded.url})
    session_id, first = await runner.open_session("sql", {"url": loaded.url})
    texts = [first.text, str(first.info)] + [r.text + r.uri + r.title for r in resources]
    for action in ("SELECT current_user", "SELECT 1/0", "SELECT * FROM clients"):
        texts.append((await runner.step(session_id, action)).text)
    await runner.close_session(session_id)
    assert resources and all(loaded.secret not in text for text in texts)
    assert loaded.secret not in caplog.text


async def test_introspection_reads_every_engine_and_its_examples_run_there(runner, secret_env):
    loaded = secret_env
    resources = await runner.resources("sql", {"url": loaded.url})
    titles = {r.title for r in resources}
    assert {f"Table {t}" for t in loaded.counts} <= titles and "How the tables relate" in titles
    if loaded.engine == "postgresql":  # tables of other schemas too, named with their schema
        assert "Table workshop.repairs" in titles and "`workshop.repairs` points to one row of `trucks`" in next(
            r for r in resources if r.title == "How the tables relate"
        ).text.replace("Each row of ", "")
    relations = next(r for r in resources if r.title == "How the tables relate").text
    assert relations.count("points to one row of") == 6 + (loaded.engine == "postgresql")  # every foreign key
    shipments = next(r for r in resources if r.title == "Table shipments").text
    assert (
        "one of 'cancelled', 'delivered', 'in_transit'"
        in shipments.replace("'delivered', 'in_transit', 'cancelled'", "'cancelled', 'delivered', 'in_transit'")
        or "one of" in shipments
    )
    statements = [s.strip().rstrip(";") for r in resources for s in re.findall(r"```sql\n(.*?)```", r.text, re.S)]
    assert len(statements) >= 25
    session_id, _ = await runner.open_session("sql", {"url": loaded.url, "read_only": True})
    try:
        for statement in statements:
            result = await runner.step(session_id, statement)
            assert not result.error, (statement, result.text)
    finally:
        await runner.close_session(session_id)
    assert any(s.count(" JOIN ") == 2 for s in statements)


async def test_judging_compares_results_on_the_tasks_own_database(runner, secret_env):
    loaded = secret_env
    check = {
        "kind": "sql_result",
        "gold_sql": "SELECT c.company, SUM(s.price_eur) FROM shipments s JOIN clients c "
        "ON c.client_id = s.client_id GROUP BY c.company ORDER BY 2 DESC",
    }
    session_id, _ = await runner.open_session("sql", {"url": loaded.url})
    await runner.step(session_id, "DELETE FROM shipments")  # the agent's writes cannot make its answer right
    await runner.step(
        session_id,
        "SELECT c.company, SUM(s.price_eur) AS total FROM clients c JOIN shipments s "
        "ON s.client_id = c.client_id GROUP BY c.company ORDER BY total DESC",
    )
    verdict = await runner.judge(session_id, check)
    await runner.close_session(session_id)
    assert verdict.ok, verdict.reason
    session_id, _ = await runner.open_session("sql", {"url": loaded.url})
    await runner.step(session_id, "SELECT company FROM clients")
    wrong = await runner.judge(session_id, check)
    await runner.close_session(session_id)
    assert not wrong.ok and not wrong.check_error


async def test_a_sqlite_session_cannot_attach_another_file(runner, tmp_path):
    """The file engines' sessions stay in their own copy: ATTACH (which could open the source or another session's
    copy on the runner) is refused."""
    session_id, _ = await runner.open_session("sql")
    target = tmp_path / "other.db"
    attach = await runner.step(session_id, f"ATTACH DATABASE '{target}' AS other")
    assert attach.error and "not authorized" in attach.text, attach.text
    assert not target.exists()
    await runner.close_session(session_id)


async def test_a_postgresql_database_shaped_like_the_public_ones(runner, postgres_server, monkeypatch):
    """CamelCase names that must be quoted, reserved-word tables, enum/array/jsonb/tsvector/money/interval/uuid
    columns, a partitioned table: the first observation spells names as SQL needs them, partitions fold into their
    parent, and every worked example introspection writes runs."""
    from tests.fixtures import music_pg

    secret = freight_servers.new_secret()
    monkeypatch.setenv("LBI_SECRET_MUSIC_PW", secret)
    url = music_pg.load(postgres_server, secret)
    resources = await runner.resources("sql", {"url": url})
    titles = {r.title for r in resources}
    assert {"Table Album", "Table Track", "Table order", "Table user", "Table plays"} <= titles
    assert not {t for t in titles if "plays_20" in t}  # partitions are their parent's rows
    track = next(r.text for r in resources if r.title == "Table Track")
    assert 'Write it as `"Track"` in SQL.' in track
    assert re.search(r"\| UnitPrice \| NUMERIC\(6, 2\) \|.*one of (\d\.99, ){2}\d\.99 \|", track)  # numbers, not text
    statements = [s.strip().rstrip(";") for r in resources for s in re.findall(r"```sql\n(.*?)```", r.text, re.S)]
    session_id, first = await runner.open_session("sql", {"url": url, "read_only": True})
    try:
        assert (
            '"Album" (80 rows)' in first.text
            and '"order" (150 rows)' in first.text
            and "plays (8000 rows)" in first.text
        )
        assert len(statements) >= 25
        for statement in statements:
            result = await runner.step(session_id, statement)
            assert not result.error, (statement, result.text)
        listing = await runner.step(session_id, _match(r"Inspect the schema with: (.+?;)", first.info["action_space"]))
        assert not listing.error and "Country Code character" in listing.text
    finally:
        await runner.close_session(session_id)


def _match(pattern: str, text: str) -> str:
    """The first group of `pattern` in `text` (the test fails, showing the text, when it is not there)."""
    found = re.search(pattern, text)
    assert found is not None, text
    return found.group(1)
