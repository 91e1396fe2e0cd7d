"""Shell sessions behave as a shell benchmark's container does: the check compares the reference's and the agent's
outputs under one rule (both whole up to 1 MB, however little the agent was shown), the process list names no
path of the host and is the same in every session, and the tools benchmark tasks use are there."""

import asyncio

import pytest

from lbi.evaluation.task_check import judged_episode

LONG = "seq 1 3000"  # about 14,000 characters of output: far more than the 4,000 an agent sees


async def test_a_reference_longer_than_the_agents_cap_passes_its_own_check(runner):
    check = {"kind": "shell", "gold": LONG, "compare": "output"}
    solved = await judged_episode(runner, "shell", [LONG], check)
    assert solved.ok, solved.reason
    # the agent saw a truncated observation, and the judge still told a wrong long output apart
    wrong = await judged_episode(runner, "shell", ["seq 1 2999"], check)
    assert not wrong.ok and "line 3000" in wrong.reason


async def test_the_agent_sees_its_output_capped(runner):
    session, _ = await runner.open_session("shell", {"output_cap": 500})
    try:
        result = await runner.step(session, LONG)
        assert "[... output truncated:" in result.text and len(result.text) < 1_000
    finally:
        await runner.close_session(session)


async def _output(runner, command: str, config: dict | None = None) -> str:
    session, _ = await runner.open_session("shell", config or {})
    try:
        return (await runner.step(session, command)).text
    finally:
        await runner.close_session(session)


@pytest.mark.parametrize("as_root", [False, True])
async def test_the_process_list_is_neutral_and_the_same_in_every_session(runner, as_root):
    listings = [await _output(runner, "ps -eo pid,user,args", {"as_root": as_root}) for _ in range(2)]
    assert listings[0] == listings[1]
    first = listings[0]
    assert "bwrap" not in first and "merged" not in first and "/tmp/" not in first and "__lbi_" not in first
    assert first.splitlines()[1].split()[0] == "1" and "tini" in first.splitlines()[1]
    tree = await _output(runner, "pstree -p 1", {"as_root": as_root})
    assert "tini(1)" in tree and "bash(2)" in tree


TOOLS = {
    "cal": "cal 2 2026",
    "ncal": "ncal -h 2 2026",
    "bc": "echo '6*7' | bc",
    "file": "file --version",
    "less": "less --version",
    "tree": "tree --version",
    "zip": "zip -v",
    "unzip": "unzip -v",
    "jq": "jq --version",
    "xxd": "xxd -v",
    "rsync": "rsync --version",
    "pstree": "pstree --version",
    "lsof": "lsof -v",
}


async def test_the_tools_shell_benchmarks_use_are_in_the_image(runner):
    session, _ = await runner.open_session("shell", {})
    try:
        for tool, command in TOOLS.items():
            result = await runner.step(session, f"{command} 2>&1; echo rc=$?")
            assert "command not found" not in result.text and "rc=127" not in result.text, (tool, result.text)
        assert "42" in (await runner.step(session, TOOLS["bc"])).text
    finally:
        await runner.close_session(session)


async def test_output_of_process_substitutions_is_kept_in_order(runner):
    session, _ = await runner.open_session("shell", {})
    try:
        for _ in range(3):  # every time, not by luck of timing
            result = await runner.step(session, "printf 'a\\nb\\nc\\n' | tee >(wc -l) >/dev/null")
            assert result.text.split("\n")[0].strip() == "3", result.text
            both = await runner.step(session, "echo first; echo second > >(cat)")
            assert both.text.startswith("first\nsecond\n"), both.text
        # a background job is not waited for
        started = asyncio.get_running_loop().time()
        await runner.step(session, "sleep 30 &")
        assert (await runner.step(session, "echo next")).text.startswith("next")
        assert asyncio.get_running_loop().time() - started < 3
    finally:
        await runner.close_session(session)
