"""A stand-in that knows every answer solves the tasks whichever way it writes them (issue 37, replies).

`lbi eval`'s harness (mode none: no retrieval) runs our own task sets, a bicycle co-op's SQLite database and a
workshop's files in the shell (tests/fixtures/styled_tasks.py), against tests/fixtures/styled_model.py: an
OpenAI-compatible server on 127.0.0.1 reached through litellm's real HTTP path, writing the gold action of each
task as ReAct text, XML-like tags, a Python literal, bold markdown labels around a fence, JSON with trailing
commas, or a tool call, while it answers 429 with Retry-After, 503, and cuts replies at max_tokens. At least 95 %
of the tasks must pass in every style. The other roles (labeller, batched labeller, committee, query writer, task
writer) read every style at the first reply.
"""

from __future__ import annotations

from typing import Any

import pytest
import pytest_asyncio

from lbi.config import CommonSettings, RunnerSettings
from lbi.evaluation.harness import Harness
from lbi.evaluation.tasks import load_tasks
from lbi.llm.gateway import LLMGateway
from lbi.llm.roles import Role
from tests.conftest import serving
from tests.fixtures.styled_model import STYLES, Faults, StyledModel
from tests.fixtures.styled_tasks import write_shell_tasks, write_sql_tasks

# Models litellm knows to call functions get the move as a tool call; a model it does not know gets text.
TOOL_MODEL = "openai/gpt-4o-mini"
TEXT_MODEL = "openai/coop-house-model"
FAULTS = Faults(rate_limited_every=17, retry_after="1", unavailable_every=13, truncated=0.08, truncated_every=11)


@pytest_asyncio.fixture
async def runner(shared_data_dir):
    """The runner of these tests: steps get the 10 s a runner has by default (the shared fixture's 2 s measures a busy
    machine as much as the reader under test)."""
    settings = RunnerSettings(data_dir=shared_data_dir, runner_port=0, runner_step_timeout_s=10.0)
    async with serving(settings, 60) as client:
        yield client


async def _solved(
    runner, env: str, task_file, answers: dict[str, str], style: str
) -> tuple[float, list[str], StyledModel]:
    tasks = load_tasks(task_file)
    with StyledModel(answers, style, FAULTS) as model:
        settings = CommonSettings(
            llm_model=TOOL_MODEL if style == "tool_calls" else TEXT_MODEL,
            llm_api_base=model.api_base,
            llm_retries=3,
            llm_timeout_s=10,
            llm_max_tokens=512,
        )
        described = {e.name: e for e in await runner.list_environments()}
        harness = Harness(LLMGateway(settings), runner, None, env, "none", described[env].action_space, max_steps=4)
        _, results = await harness.run_mode(tasks, "none")
    failed = [f"{r.task_id}: {r.reason[:300]}" for r in results if not r.success]
    return 1 - len(failed) / len(results), failed, model


@pytest.mark.parametrize("style", STYLES)
async def test_sql_tasks_are_solved_in_every_style(runner, tmp_path, style):
    task_file, answers = write_sql_tasks(tmp_path)
    rate, failed, model = await _solved(runner, "sql", task_file, answers, style)
    assert rate >= 0.95, failed
    assert model.served.rate_limited and model.served.unavailable and model.served.truncated  # faults were served
    assert (model.served.tool_calls > 0) == (style == "tool_calls")


@pytest.mark.parametrize("style", STYLES)
async def test_shell_tasks_are_solved_in_every_style(runner, tmp_path, style):
    session = None
    try:
        session, _ = await runner.open_session("shell")
    except Exception as exc:  # no root file system built (make builds it): sessions are refused
        pytest.skip(f"shell sessions unavailable here: {exc}")
    await runner.close_session(session)
    task_file, answers = write_shell_tasks(tmp_path)
    rate, failed, model = await _solved(runner, "shell", task_file, answers, style)
    assert rate >= 0.95, failed
    assert model.served.rate_limited and model.served.unavailable and model.served.truncated
    assert (model.served.tool_calls > 0) == (style == "tool_calls")


STEPS = [
    {"observation": "Connected.", "action": "SELECT name FROM members WHERE city = 'Ghent'", "thought": ""},
    {"observation": "name\nAiko Mori\nLena Fuchs", "action": "SELECT COUNT(*) FROM bikes", "thought": ""},
]
ROLE_INPUTS: dict[Role, dict[str, Any]] = {
    Role.LABEL: {"env": "sql", "steps": STEPS, "final_observation": "10", "kind": "task"},
    Role.LABEL_BATCH: {"env": "sql", "steps": STEPS, "final_observation": "10", "kind": "task", "ends": [1, 2]},
    Role.JUDGE: {
        "env": "sql",
        "instruction": "Count the bikes.",
        "steps": STEPS,
        "final_observation": "10",
        "origin": "backward-task",
    },
    Role.QUERY: {"env": "sql", "task": "Count the bikes of Ghent members.", "history": STEPS, "observation": "10"},
    Role.SELF_INSTRUCT: {
        "env": "sql",
        "env_description": "A database.",
        "resource_title": "Members",
        "resource_text": "The members table lists every member of the co-op.",
        "n": 2,
    },
}


@pytest.mark.parametrize("style", STYLES)
async def test_labellers_committee_query_writer_and_task_writer_read_every_style(style):
    with StyledModel({}, style) as model:
        settings = CommonSettings(
            llm_model=TOOL_MODEL if style == "tool_calls" else TEXT_MODEL, llm_api_base=model.api_base, llm_retries=0
        )
        gateway = LLMGateway(settings)
        outputs = {role: (await gateway.call(role, inputs)) for role, inputs in ROLE_INPUTS.items()}
    assert all(result.attempts == 1 for result in outputs.values()), {r: o.attempts for r, o in outputs.items()}
    assert outputs[Role.LABEL].output.instruction.startswith("Reproduce what the interaction did")
    assert [label.end for label in outputs[Role.LABEL_BATCH].output.labels] == [1, 2]
    judged = outputs[Role.JUDGE].output
    assert all(c.ok for c in (judged.aligned, judged.coherent, judged.natural, judged.reasonable))
    assert "coherent" in judged.coherent.reason
    assert outputs[Role.QUERY].output.queries[0] == "Count the bikes of Ghent members."
    assert len(outputs[Role.SELF_INSTRUCT].output.tasks) == 2
