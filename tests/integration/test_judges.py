"""Every check kind judged by the runner on a live session, with hand-made passing and failing episodes."""

from typing import Any

import grpc
import pytest

from tests.fixtures.episodes import judged_episode as episode
from tests.fixtures.field_station import SETUP as STATION

GOLD_ORDERED = {"kind": "sql_result", "gold_sql": "SELECT name, price FROM products ORDER BY price DESC LIMIT 3"}
GOLD_SET = {"kind": "sql_result", "gold_sql": "SELECT loyalty_tier, COUNT(*) FROM customers GROUP BY loyalty_tier"}


@pytest.mark.parametrize(
    "check, actions, ok",
    [
        (GOLD_ORDERED, ["SELECT name, price FROM products ORDER BY price DESC LIMIT 3"], True),
        (GOLD_ORDERED, ["SELECT p.name, p.price FROM products AS p ORDER BY 2 DESC LIMIT 3;"], True),
        (GOLD_ORDERED, ["SELECT name, price FROM products ORDER BY price ASC LIMIT 3"], False),
        (GOLD_ORDERED, ["SELECT name FROM products ORDER BY price DESC LIMIT 3"], False),
        (GOLD_SET, ["SELECT loyalty_tier, COUNT(*) AS n FROM customers GROUP BY loyalty_tier ORDER BY n DESC"], True),
        (GOLD_SET, ["SELECT loyalty_tier, COUNT(*) FROM customers GROUP BY loyalty_tier", "SELEC oops"], True),
        (
            GOLD_SET,
            ["SELECT loyalty_tier, COUNT(*) FROM customers WHERE country = 'France' GROUP BY loyalty_tier"],
            False,
        ),
        (GOLD_SET, ["DELETE FROM customers"], False),
        (GOLD_SET, [], False),
    ],
)
async def test_sql_result(runner, check, actions, ok):
    verdict = await episode(runner, "sql", actions, check)
    assert verdict.ok is ok and not verdict.check_error, verdict.reason


async def test_sql_judges_on_the_tasks_own_database_not_the_agents_writes(runner, tmp_path):
    import sqlite3

    database = tmp_path / "league.db"
    conn = sqlite3.connect(database)
    conn.executescript(
        "CREATE TABLE country (name TEXT, cups INT); INSERT INTO country VALUES ('Peru', 2), ('Chile', 2);"
    )
    conn.commit()
    conn.close()
    check: dict[str, Any] = {"kind": "sql_result", "gold_sql": "SELECT name FROM country WHERE cups > 1"}
    config = {"database": str(database)}
    assert (await episode(runner, "sql", ["SELECT name FROM country WHERE cups >= 2"], check, config)).ok
    # the agent cannot make its answer right by changing the data: its query is re-run on a fresh copy
    cheat = ["DELETE FROM country WHERE name = 'Chile'", "SELECT 'Peru' AS name"]
    verdict = await episode(runner, "sql", cheat, {**check, "gold_sql": "SELECT name FROM country"}, config)
    assert not verdict.ok and "expected 2" in verdict.reason


async def test_a_broken_check_is_a_check_error_or_invalid_argument(runner):
    verdict = await episode(runner, "sql", ["SELECT 1"], {"kind": "sql_result", "gold_sql": "SELECT * FROM nowhere"})
    assert not verdict.ok and verdict.check_error and "no such table: nowhere" in verdict.reason
    broken: list[tuple[dict[str, Any], str]] = [
        ({"kind": "sql_result"}, "check.gold_sql"),
        ({"kind": "shell", "gold": "ls"}, "check.kind"),
        ({"kind": "sql_result", "gold_sql": "SELECT 1", "extra": 1}, "check.extra"),
    ]
    for check, field in broken:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await episode(runner, "sql", [], check)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and field in str(err.value.details())


SHELL = {"setup": STATION}
ARCHIVE = {"kind": "shell", "gold": "mkdir -p backup && cp station/logs/sync.log backup/ && wc -l < backup/sync.log"}


@pytest.mark.parametrize(
    "actions, ok, reason",
    [
        (["mkdir backup", "cp station/logs/sync.log backup/sync.log", "wc -l < backup/sync.log"], True, "match"),
        (["mkdir -p backup; cp station/logs/sync.log backup/", "cat backup/sync.log | wc -l"], True, "match"),
        (["mkdir backup", "cp station/logs/sync.log backup/", "wc -l backup/sync.log"], False, "last output differs"),
        (
            ["mkdir backup", "cp station/notes/volunteers.md backup/sync.log", "echo 5"],
            False,
            "~/backup/sync.log differs",
        ),
        (
            ["mkdir backup", "cp station/logs/sync.log backup/", "rm station/stations.json", "wc -l < backup/sync.log"],
            False,
            "~/station/stations.json exists after the gold command but not after the agent's",
        ),
        ([], False, "ran no command"),
    ],
)
async def test_shell_gold_command_in_a_fresh_session(runner, actions, ok, reason):
    verdict = await episode(runner, "shell", actions, ARCHIVE, SHELL)
    assert verdict.ok is ok and reason in verdict.reason, verdict.reason


async def test_shell_output_only_and_a_failing_gold(runner):
    count = {"kind": "shell", "gold": "grep -c dunlin station/surveys/2025/*.csv", "compare": "output"}
    assert (
        await episode(
            runner,
            "shell",
            ["cd station/surveys/2025 && grep -c dunlin *.csv | sed 's|^|station/surveys/2025/|'"],
            count,
            SHELL,
        )
    ).ok
    broken = await episode(runner, "shell", ["ls"], {"kind": "shell", "gold": "tally-birds station"}, SHELL)
    assert broken.check_error and "the gold command exited with 127 (it was not found)" in broken.reason


async def test_web_checks_on_the_default_site(runner):
    roadmap = await episode(runner, "web", ["goto [/roadmap]"], {"kind": "url_match", "url": "/roadmap"})
    assert roadmap.ok, roadmap.reason
    wrong = await episode(runner, "web", ["goto [/timeline]"], {"kind": "url_match", "url": "/roadmap"})
    assert not wrong.ok and "expected (exact)" in wrong.reason
    query = await episode(
        runner, "web", ["goto [/query?status=new&owner=x]"], {"kind": "url_match", "url": "/query?owner=x&status=new"}
    )
    assert query.ok, query.reason  # query parameters in any order
    answer = {"kind": "answer_match", "must_include": ["1.6"]}
    assert (await episode(runner, "web", ["goto [/about]"], answer, answer="It runs Trac 1.6.")).ok
    assert not (await episode(runner, "web", ["goto [/about]"], answer, answer="Trac 1.4")).ok
    assert (await episode(runner, "web", ["stop [Milestone4]"], {"kind": "answer_match", "exact": "milestone4"})).ok
    ticket = ["goto [/newticket]", "type [Summary:] [Kiln door does not latch]", "click [Create ticket]"]
    created = {"kind": "program", "sql": "SELECT 1 FROM ticket WHERE summary = 'Kiln door does not latch'"}
    assert (await episode(runner, "web", ticket, created)).ok
    assert not (await episode(runner, "web", ticket[:2], created)).ok  # typed but never sent
    broken = await episode(runner, "web", [], {"kind": "program", "sql": "SELECT nope FROM ticket"})
    assert broken.check_error and "no such column" in broken.reason
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await episode(runner, "web", [], {"kind": "answer_match"})
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "exact or must_include" in str(err.value.details())


BUG = {"setup": "sed -i 's/d\\[item\\] += 1/d[item] += 2/' toolz/itertoolz.py"}
FREQUENCIES = {
    "kind": "tests",
    "fail_to_pass": ["toolz/tests/test_itertoolz.py::test_frequencies"],
    "pass_to_pass": ["toolz/tests/test_recipes.py", "toolz/tests/test_itertoolz.py::test_groupby"],
}


async def test_repo_tests_fail_to_pass_and_pass_to_pass(repo_runner):
    fixed = await episode(
        repo_runner, "repo", ["edit toolz/itertoolz.py 'd[item] += 2' 'd[item] += 1'"], FREQUENCIES, BUG
    )
    assert fixed.ok, fixed.reason
    untouched = await episode(repo_runner, "repo", ["git diff --stat"], FREQUENCIES, BUG)
    assert (
        not untouched.ok
        and "fail-to-pass test toolz/tests/test_itertoolz.py::test_frequencies failed" in untouched.reason
    )
    broke_more = await episode(
        repo_runner,
        "repo",
        [
            "edit toolz/itertoolz.py 'd[item] += 2' 'd[item] += 1'",
            "edit toolz/recipes.py 'frequencies(map(key, seq))' 'frequencies(seq)'",
        ],
        FREQUENCIES,
        BUG,
    )
    assert not broke_more.ok and "pass-to-pass test toolz/tests/test_recipes.py failed" in broke_more.reason
    missing = await episode(
        repo_runner, "repo", [], {"kind": "tests", "fail_to_pass": ["toolz/tests/test_nothing.py::test_x"]}
    )
    assert missing.check_error and "does not exist" in missing.reason
