"""A SQLite or DuckDB file a session opens is the file that was checked, and a code base copied into a session holds
no other name of lbi's journal (issue 36, item 8).

As a hostile tenant with an allowed root on a runner with auth on: a hard link in the root to the synthesis
journal; a DuckDB database whose `.wal` companion is a symbolic link (or a hard link) to the journal; and a
read-only file swapped for a link to the journal between the path check and the open (the race is won for the
attacker by the test: the check is wrapped so the swap happens right after it); a repository folder holding a hard
link to the journal. Each is INVALID_ARGUMENT naming
the field, and the journal's private row shows nowhere.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import duckdb
import grpc
import pytest

from env_runners.server import start_runner
from lbi.clients.runner import RunnerClient
from lbi.config import RunnerSettings
from lbi.paths import PathRules

MARKER = "zq-private-row-7731"
TOKENS = "admin@tok-admin,alice@tok-a=ds1:rw"


def _sqlite(path: Path, value: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE records (payload TEXT)")
        conn.execute("INSERT INTO records VALUES (?)", (value,))
    conn.close()
    return path


@pytest.fixture
def layout(tmp_path):
    data = tmp_path / "data"
    journal = _sqlite(data / "synthesis" / "journal.sqlite", MARKER)
    allowed = tmp_path / "team-data"
    own = _sqlite(allowed / "shop.db", "hello")
    duck = allowed / "shop.duckdb"
    with duckdb.connect(str(duck)) as conn:
        conn.execute("CREATE TABLE records (payload TEXT)")
        conn.execute("INSERT INTO records VALUES ('hello')")
    return {"data": data, "journal": journal, "allowed": allowed, "own": own, "duck": duck, "tmp": tmp_path}


@pytest.fixture
async def client(layout):
    settings = RunnerSettings(
        data_dir=layout["data"],
        runner_port=0,
        runner_secrets_dir=layout["tmp"] / "secrets",
        secrets_dir=layout["tmp"] / "secrets",
        auth_tokens=TOKENS,
        allowed_paths=[str(layout["allowed"])],
    )
    server, service = await start_runner(settings)
    try:
        async with RunnerClient(f"127.0.0.1:{server.port}", token="tok-a") as runner_client:
            yield runner_client
    finally:
        await service.shutdown()
        await server.stop(0)


async def _refused(client: RunnerClient, config: dict, field: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        session, first = await client.open_session("sql", config)
        result = await client.step(session, "SELECT payload FROM records")
        raise AssertionError(f"opened: {first.text} {result.text}")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, err.value.details()
    assert err.value.details() == f"{field}: outside the allowed paths"


async def test_a_hard_link_to_the_journal_is_refused(client, layout):
    link = layout["allowed"] / "hard.db"
    os.link(layout["journal"], link)
    for read_only in (True, False):
        await _refused(client, {"database": str(link), "read_only": read_only}, "config.database")
        await _refused(client, {"url": f"sqlite:///{link}", "read_only": read_only}, "config.url")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await client.resources("sql", {"database": str(link), "read_only": True})
    assert err.value.details() == "config.database: outside the allowed paths"


@pytest.mark.parametrize("kind", ["symlink", "hardlink"])
async def test_a_duckdb_companion_leading_to_the_journal_is_refused(client, layout, kind):
    wal = layout["duck"].with_name(layout["duck"].name + ".wal")
    if kind == "symlink":
        wal.symlink_to(layout["journal"])
    else:
        os.link(layout["journal"], wal)
    for read_only in (True, False):
        await _refused(client, {"url": f"duckdb:///{layout['duck']}", "read_only": read_only}, "config.url")


async def test_a_read_only_file_swapped_after_its_check_is_not_opened(client, layout, monkeypatch):
    target = layout["allowed"] / "swapped.db"
    _sqlite(target, "hello")
    check = PathRules.check

    def check_then_swap(self: PathRules, field: str, raw: str | Path) -> Path:
        checked = check(self, field, raw)
        if Path(raw) == target:  # the attacker wins the race: the checked file becomes a link to the journal
            target.unlink()
            target.symlink_to(layout["journal"])
        return checked

    monkeypatch.setattr(PathRules, "check", check_then_swap)
    await _refused(client, {"database": str(target), "read_only": True}, "config.database")


async def test_the_teams_own_files_still_open(client, layout):
    for config in (
        {"database": str(layout["own"]), "read_only": True},
        {"database": str(layout["own"])},
        {"url": f"duckdb:///{layout['duck']}", "read_only": True},
        {"url": f"duckdb:///{layout['duck']}"},
    ):
        session, first = await client.open_session("sql", config)
        assert "records (1 rows)" in first.text, first.text
        result = await client.step(session, "SELECT payload FROM records")
        assert "hello" in result.text
        await client.close_session(session)


async def test_a_repository_holding_a_hard_link_to_the_journal_is_refused(client, layout):
    repo = layout["allowed"] / "project"
    repo.mkdir()
    (repo / "README.md").write_text("# project\n")
    os.link(layout["journal"], repo / "notes.db")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await client.resources("repo", {"repo": str(repo)})
    assert err.value.details() == "config.repo: outside the allowed paths"
