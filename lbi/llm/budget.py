"""Context budgeting: one rule that keeps every role's prompt inside the model's window.

The window is `LBI_LLM_CONTEXT_TOKENS`, else litellm's model info (`max_input_tokens`), else 32,768 tokens (a
model litellm does not know, such as one served by vLLM: set the window). A prompt may use the window less the
reply's budget and a small reserve (for the one re-ask with the unusable reply shown).

A prompt that does not fit is rendered again from shrunk inputs, in this order of sacrifice:
- documentation and demonstrations (`resource_text`, `examples`, `env_description`) keep their head, each at most
  a fifth of the room;
- the current observation keeps its head and tail, at most a quarter;
- steps share what is left: each observation keeps head and tail; when even short steps do not fit, old steps
  are elided (the first step and the newest are kept) with a marker that keeps the step numbers right;
then, only if the prompt still does not fit, the whole user message keeps its head and tail. Tokens are counted
with litellm's `token_counter` for the model; a prompt with no more characters than the budget has tokens is
never counted (a token is at least one character).
"""

from __future__ import annotations

import functools
from typing import Any

from lbi.llm.litellm_setup import get_litellm
from lbi.llm.prompts import render
from lbi.llm.roles import Role

DEFAULT_WINDOW = 32_768
_DOCS = ("resource_text", "examples", "env_description")
_OBSERVATIONS = ("observation", "final_observation")
_STEP_LISTS = ("history", "steps")
_MIN_STEP_OBSERVATION = 240
_ACTION_CAP = 2_000
_THOUGHT_CAP = 400
_MIN_BUDGET = 256


def clip_middle(text: str, cap: int) -> str:
    """`text` with its middle replaced by a marker when longer than `cap` characters (two thirds head, one third
    tail kept)."""
    if len(text) <= cap:
        return text
    marker = f"\n[... {len(text) - cap} characters not shown ...]\n"
    keep = max(0, cap - len(marker))
    head = keep * 2 // 3
    return text[:head] + marker + text[len(text) - (keep - head) :]


def clip_head(text: str, cap: int) -> str:
    if len(text) <= cap:
        return text
    marker = f"\n[... {len(text) - cap} more characters not shown ...]"
    return text[: max(0, cap - len(marker))] + marker


@functools.cache
def context_window(model: str, configured: int = 0) -> int:
    """The model's input window in tokens: the setting, else litellm's model info, else DEFAULT_WINDOW."""
    if configured:
        return configured
    try:
        info = get_litellm().get_model_info(model)
    except Exception:  # litellm raises for models it does not know
        return DEFAULT_WINDOW
    return int(info.get("max_input_tokens") or info.get("max_tokens") or DEFAULT_WINDOW)


def count_tokens(model: str, messages: list[dict[str, str]]) -> int:
    """Tokens of the messages for `model` (litellm's counter; its default tokenizer for models it does not know)."""
    try:
        return int(get_litellm().token_counter(model=model, messages=messages))
    except Exception:  # a tokenizer litellm cannot load here: count conservatively, one token per 3 characters
        return sum(len(m.get("content", "")) for m in messages) // 3 + 8 * len(messages)


def _chars(messages: list[dict[str, str]]) -> int:
    return sum(len(m.get("content", "")) for m in messages)


def _shrink_steps(steps: list[dict[str, Any]], room: int) -> list[dict[str, Any]]:
    """Steps within about `room` characters: each observation cut to a share, old steps elided when needed."""
    if not steps:
        return steps
    trimmed = [
        {
            **s,
            "action": clip_middle(str(s.get("action", "")), _ACTION_CAP),
            "thought": clip_middle(str(s.get("thought", "") or ""), _THOUGHT_CAP),
        }
        for s in steps
    ]
    fixed = [len(s["action"]) + len(s["thought"]) + 40 for s in trimmed]
    share = (room - sum(fixed)) // len(trimmed)
    if share >= _MIN_STEP_OBSERVATION:
        return [{**s, "observation": clip_middle(str(s.get("observation", "")), share)} for s in trimmed]
    # keep the first step and as many of the newest as fit with short observations
    per_step = [f + _MIN_STEP_OBSERVATION for f in fixed]
    kept_tail: list[int] = []
    used = per_step[0] + 80
    for index in range(len(trimmed) - 1, 0, -1):
        if used + per_step[index] > room:
            break
        used += per_step[index]
        kept_tail.append(index)
    kept = [0, *sorted(kept_tail)] if room >= per_step[0] else sorted(kept_tail)
    out: list[dict[str, Any]] = []
    previous = -1
    for index in kept:
        if index - previous > 1:
            out.append({"elided": index - previous - 1})
        step = trimmed[index]
        out.append({**step, "observation": clip_middle(str(step.get("observation", "")), _MIN_STEP_OBSERVATION)})
        previous = index
    if previous < len(trimmed) - 1:
        out.append({"elided": len(trimmed) - 1 - previous})
    return out


def shrink_inputs(inputs: dict[str, Any], room: int) -> dict[str, Any]:
    """The inputs with their variable parts cut to share `room` characters."""
    out = dict(inputs)
    room = max(room, 1_000)
    used = 0
    for key in _DOCS:
        if isinstance(out.get(key), str):
            out[key] = clip_head(out[key], room // 5)
            used += len(out[key])
    for key in _OBSERVATIONS:
        if isinstance(out.get(key), str):
            out[key] = clip_middle(out[key], room // 4)
            used += len(out[key])
    for key in ("task", "instruction"):
        if isinstance(out.get(key), str):
            out[key] = clip_middle(out[key], room // 10)
            used += len(out[key])
    for key in _STEP_LISTS:
        if isinstance(out.get(key), list):
            out[key] = _shrink_steps(out[key], max(room - used, _MIN_STEP_OBSERVATION * 2))
    return out


def _clip_user(messages: list[dict[str, str]], cap: int) -> list[dict[str, str]]:
    return [{**m, "content": clip_middle(m["content"], cap)} if m["role"] == "user" else m for m in messages]


def fit_prompt(role: Role, inputs: dict[str, Any], model: str, budget: int) -> tuple[list[dict[str, str]], bool]:
    """The role's messages within `budget` tokens, and whether anything was cut to fit."""
    budget = max(budget, _MIN_BUDGET)
    messages = render(role, inputs)
    chars = _chars(messages)
    if chars <= budget:
        return messages, False
    tokens = count_tokens(model, messages)
    if tokens <= budget:
        return messages, False
    ratio = max(1.0, min(4.0, chars / max(tokens, 1)))  # characters per token of this prompt
    fixed = _chars(render(role, _emptied(inputs)))
    target = int(budget * ratio * 0.9)
    for _ in range(6):
        candidate = render(role, shrink_inputs(inputs, target - fixed))
        tokens = count_tokens(model, candidate)
        if tokens <= budget:
            return candidate, True
        target = int(target * budget / tokens * 0.9)
        messages = candidate
    cap = budget  # a token is at least one character: halve until the counter agrees
    while True:
        clipped = _clip_user(messages, max(cap - 200, 200))
        if count_tokens(model, clipped) <= budget or cap <= 400:
            return clipped, True
        cap //= 2


def _emptied(inputs: dict[str, Any]) -> dict[str, Any]:
    """The inputs with every variable part empty: what the prompt costs without them."""
    out = dict(inputs)
    for key in (*_DOCS, *_OBSERVATIONS, "task", "instruction"):
        if isinstance(out.get(key), str):
            out[key] = ""
    for key in _STEP_LISTS:
        if isinstance(out.get(key), list):
            out[key] = []
    return out
