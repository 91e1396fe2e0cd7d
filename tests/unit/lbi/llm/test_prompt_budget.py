"""Every role's prompt fits its budget, whatever the trajectory: a property test over random long trajectories
(up to 200 steps, observations up to 1 MB, online episodes), counted with litellm's token counter."""

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lbi.llm.budget import clip_middle, count_tokens, fit_prompt
from lbi.llm.prompts import render
from lbi.llm.roles import Role

MODEL = "openai/gpt-4o-mini"
WORDS = ["SELECT", "café", "naïve", "数据", "|", "\n", "0x7f", "Error:", "🙂", "customer_id", "{", "}", "…", "  "]


def _text(rng: random.Random, size: int) -> str:
    if size > 20_000:  # big observations: a repeated block (fast to build, as costly to count)
        block = " ".join(rng.choice(WORDS) for _ in range(2_000))
        return (block * (size // len(block) + 1))[:size]
    return " ".join(rng.choice(WORDS) for _ in range(max(1, size // 6)))[:size]


def _steps(rng: random.Random, n: int, big: int) -> list[dict]:
    return [
        {
            "observation": _text(rng, rng.choice([10, 500, 8_000, big])),
            "action": _text(rng, rng.choice([10, 200, 3_000])),
            "thought": _text(rng, rng.choice([0, 50, 900])),
            "error": rng.random() < 0.2,
        }
        for _ in range(n)
    ]


def _inputs(role: Role, rng: random.Random, n: int, big: int) -> dict:
    steps = _steps(rng, n, big)
    final = _text(rng, rng.choice([10, big]))
    docs = _text(rng, rng.choice([0, 5_000, big]))
    if role is Role.ACT:
        return {
            "env": "sql",
            "action_space": "SQL statements",
            "task": _text(rng, 200),
            "resource_text": docs,
            "examples": _text(rng, rng.choice([0, 30_000])),
            "history": steps,
            "observation": final,
        }
    if role is Role.QUERY:
        return {"env": "web", "task": _text(rng, 300), "history": steps, "observation": final}
    if role is Role.SELF_INSTRUCT:
        return {"env": "shell", "env_description": "bash", "resource_title": "Guide", "resource_text": docs, "n": 3}
    if role is Role.LABEL:
        return {"env": "sql", "kind": rng.choice(["task", "summary"]), "steps": steps, "final_observation": final}
    if role is Role.LABEL_BATCH:
        return {"env": "sql", "kind": "task", "steps": steps, "final_observation": final, "ends": list(range(1, n + 1))}
    return {  # the judge of an online episode: the agent's own long task and trajectory
        "env": "repo",
        "origin": rng.choice(["online", "backward-summary", "forward"]),
        "instruction": _text(rng, rng.choice([100, 5_000])),
        "steps": steps,
        "final_observation": final,
    }


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    role=st.sampled_from(list(Role)),
    n=st.integers(min_value=0, max_value=200),
    big=st.sampled_from([20_000, 200_000, 1_000_000]),
    budget=st.sampled_from([1_500, 6_000, 28_000, 120_000]),
    seed=st.integers(min_value=0, max_value=10_000),
)
def test_no_prompt_exceeds_its_budget(role, n, big, budget, seed):
    inputs = _inputs(role, random.Random(seed), n, big)
    messages, cut = fit_prompt(role, inputs, MODEL, budget)
    assert count_tokens(MODEL, messages) <= budget
    if cut:
        assert count_tokens(MODEL, render(role, inputs)) > budget


def test_old_steps_are_elided_newest_kept_with_the_numbers_right():
    rng = random.Random(7)
    steps = [{"observation": f"obs {i} " + "x" * 3_000, "action": f"ACTION-{i}", "thought": ""} for i in range(120)]
    inputs = {"env": "shell", "action_space": "bash", "task": "t", "history": steps, "observation": _text(rng, 50)}
    messages, cut = fit_prompt(Role.ACT, inputs, MODEL, 8_000)
    text = messages[-1]["content"]
    assert cut and "steps not shown to fit the context window" in text
    assert "Action 1: ACTION-0" in text and "Action 120: ACTION-119" in text  # the first and the newest
    shown = [i for i in range(120) if f"Action {i + 1}: ACTION-{i}\n" in text]
    assert 2 <= len(shown) < 120
    assert shown[0] == 0 and shown[1:] == list(range(shown[1], 120))  # the first step, then the newest ones


def test_an_observation_keeps_its_head_and_tail():
    clipped = clip_middle("HEAD" + "x" * 10_000 + "TAIL", 500)
    assert clipped.startswith("HEAD") and clipped.endswith("TAIL") and len(clipped) <= 500
    assert "characters not shown" in clipped


def test_a_prompt_that_fits_is_not_touched():
    inputs = {"env": "sql", "kind": "task", "steps": [{"observation": "o", "action": "a"}], "final_observation": "f"}
    messages, cut = fit_prompt(Role.LABEL, inputs, MODEL, 4_000)
    assert not cut and messages == render(Role.LABEL, inputs)
