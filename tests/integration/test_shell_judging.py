"""The shell check compares the reference's and the agent's outputs under one rule: both whole up to the judge's
limit (1 MB), however little of it the agent was shown."""

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
