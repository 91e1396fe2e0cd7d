"""The evaluation task sets every environment ships: at least 30 tasks across three difficulty levels, written
from the environment (none is a near copy of a sentence of its documentation), every check valid, every task
solvable (its reference solution, performed as an episode, passes the runner's judgement) and not solved by
doing nothing."""

import difflib
import json
import re
from pathlib import Path

import pytest

from env_runners.registry import builtin_tasks
from lbi.evaluation.tasks import load_tasks

ENVS = ["sql", "shell", "web", "repo", "desktop"]
NEAR = 0.75  # similarity (difflib ratio of normalised words) from which a task counts as an edit of a doc sentence


def _normalise(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


def _doc_sentences(env: str) -> list[str]:
    docs = " ".join(p.read_text() for p in (Path(builtin_tasks(env)).parents[1] / "docs").glob("*.md"))
    docs = re.sub(r"```.*?```", " ", docs, flags=re.S)
    return [_normalise(s) for s in re.split(r"(?<=[.!?])\s+|\n", docs) if len(s.split()) >= 4]


@pytest.mark.parametrize("env", ENVS)
def test_a_task_set_of_30_across_difficulties_not_copied_from_the_docs(env):
    tasks = load_tasks(builtin_tasks(env))
    assert len(tasks) >= 30 and {t.difficulty for t in tasks} == {"easy", "medium", "hard"}
    sentences = _doc_sentences(env)
    for task in tasks:
        mine = _normalise(task.instruction)
        closest = max((difflib.SequenceMatcher(None, mine, s).ratio(), s) for s in sentences)
        assert closest[0] < NEAR, (task.id, task.instruction, closest)
    if env != "sql":  # an sql task's solution is its gold query
        assert all(
            "solution" in json.loads(line) for line in builtin_tasks(env).read_text().splitlines() if line.strip()
        )


async def _solvable(runner, env, concurrency=1):
    """`lbi tasks check` on the shipped set (lbi.evaluation.task_check: each task's reference solution as an
    episode, then an episode with no action, `concurrency` tasks at once): no task is flagged. One at a time but
    for the desktop: the suite runs on two workers already, and web pages and repository test runs slowed down by
    neighbours read as failures."""
    from lbi.evaluation.task_check import check_tasks

    kinds = {e.name: set(e.check_schema) for e in await runner.list_environments()}[env]
    tasks = load_tasks(builtin_tasks(env))
    assert all(t.check["kind"] in kinds for t in tasks)
    flags = await check_tasks(runner, env, tasks, concurrency=concurrency)
    if env == "desktop" and flags:  # a desktop flagged once is checked again alone: applications race on a busy CI
        again = {f.task_id for f in flags}
        flags = await check_tasks(runner, env, [t for t in tasks if t.id in again], concurrency=1)
    assert not flags, [(f.task_id, f.reason, f.detail) for f in flags]


@pytest.mark.parametrize("env", ["sql", "shell", "web"])
async def test_every_task_is_solvable_and_not_solved_by_doing_nothing(runner, env):
    await _solvable(runner, env)


async def test_every_desktop_task_is_solvable_and_not_solved_by_doing_nothing(desktop_runner):
    await _solvable(desktop_runner, "desktop", concurrency=2)


async def test_every_repo_task_is_solvable_and_its_tests_fail_before(repo_runner):
    await _solvable(repo_runner, "repo")
