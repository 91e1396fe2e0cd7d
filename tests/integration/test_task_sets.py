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
from tests.fixtures.episodes import judged_episode

ENVS = ["sql", "shell", "web", "repo"]
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


def _solution(env: str, raw: dict) -> list[str]:
    return [raw["check"]["gold_sql"]] if env == "sql" else raw["solution"]


async def _judge(runner, env, raw, actions, answer=""):
    return await judged_episode(runner, env, actions, raw["check"], raw.get("config", {}), answer)


async def _solvable(runner, env):
    kinds = {e.name: set(e.check_schema) for e in await runner.list_environments()}[env]
    for line in builtin_tasks(env).read_text().splitlines():
        raw = json.loads(line)
        assert raw["check"]["kind"] in kinds
        solved = await _judge(runner, env, raw, _solution(env, raw), raw.get("answer", ""))
        assert solved.ok, (raw["id"], solved.reason)
        idle = await _judge(runner, env, raw, [])
        assert not idle.ok and not idle.check_error, (raw["id"], idle.reason)


@pytest.mark.parametrize("env", ["sql", "shell", "web"])
async def test_every_task_is_solvable_and_not_solved_by_doing_nothing(runner, env):
    await _solvable(runner, env)


async def test_every_repo_task_is_solvable_and_its_tests_fail_before(repo_runner):
    await _solvable(repo_runner, "repo")
