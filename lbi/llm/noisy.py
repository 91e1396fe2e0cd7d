"""The noisy stand-in `noisy/<anything>`: the offline policy's answers, written with real models' habits.

A test instrument, not a model. Real models put prose around their JSON, fence it (in json or in another
language), think out loud in `<think>` blocks, quote with single quotes and leave trailing commas, fence their
actions, run out of tokens, return nothing, refuse, fail with 429 and 500, and refuse prompts longer than their
context window. This provider answers every call with the offline backend's content (lbi.llm.offline) and, at
configurable rates, one or more of those habits, so the gateway, the agent loop and every stage can be measured
against them without a hosted model.

Rates (`LBI_NOISY_RATES`, JSON merged over `DEFAULT_RATES`) are per call; the draw is a hash of the prompt and the
reply budget, so the same call always behaves the same and a re-ask (a new prompt) or a larger budget draws anew.
Replies longer than `max_tokens` (4 characters a token) are cut there with `finish_reason="length"`, as a provider
cuts them. The window is `LBI_LLM_CONTEXT_TOKENS` (unset: no limit): a longer prompt (litellm's token counter) is
refused with `ContextWindowExceededError`.
"""

from __future__ import annotations

import collections
import hashlib
import json
import math
import os
import random
from typing import Any

import litellm
from litellm import CustomLLM

from lbi.llm.offline.handler import answer

DEFAULT_RATES: dict[str, float] = {
    "prose": 0.30,  # a sentence before the JSON and one after (sometimes with braces in it)
    "json_fence": 0.25,  # ```json fence
    "other_fence": 0.05,  # a fence in a language that is not json
    "think": 0.15,  # a <think> block first
    "python_literals": 0.05,  # single quotes, trailing commas, True/False
    "fenced_action": 0.10,  # act: the action itself fenced in the environment's language
    "truncated": 0.04,  # cut at max_tokens with finish_reason "length"
    "empty": 0.03,  # no content at all (a reasoning model that spent its budget)
    "refusal": 0.02,  # prose only, no JSON
    "rate_limited": 0.02,  # HTTP 429
    "server_error": 0.01,  # HTTP 500
}
_FENCE_LANGUAGE = {"sql": "sql", "shell": "bash", "repo": "bash"}


def rates() -> dict[str, float]:
    """The configured rates (LBI_NOISY_RATES over the defaults)."""
    configured = json.loads(os.environ.get("LBI_NOISY_RATES") or "{}")
    unknown = set(configured) - set(DEFAULT_RATES)
    if unknown:
        raise ValueError(f"LBI_NOISY_RATES: unknown habits {sorted(unknown)}; known: {sorted(DEFAULT_RATES)}")
    return {**DEFAULT_RATES, **{k: float(v) for k, v in configured.items()}}


def _tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


def _dress(content: str, role: str, env: str, rng: random.Random, p: dict[str, float]) -> str:
    """The content written with some habits."""
    data = json.loads(content)
    if role == "act" and isinstance(data.get("action"), str) and data["action"] and rng.random() < p["fenced_action"]:
        language = _FENCE_LANGUAGE.get(env, "")
        data["action"] = f"```{language}\n{data['action']}\n```"
    if rng.random() < p["python_literals"]:
        text = repr(data)[:-1] + ",}"  # single quotes, True/False, a trailing comma
    else:
        text = json.dumps(data, ensure_ascii=False, indent=2 if rng.random() < 0.5 else None)
    if rng.random() < p["json_fence"]:
        text = f"```json\n{text}\n```"
    elif rng.random() < p["other_fence"]:
        text = f"```{rng.choice(['python', 'javascript', 'text'])}\n{text}\n```"
    if rng.random() < p["prose"]:
        before = rng.choice(["Sure! Here is my answer:", "Based on the observation, I will proceed.", "Answer:"])
        after = rng.choice(["Let me know if you need anything else.", "Note: the {braces} above are JSON.", ""])
        text = f"{before}\n{text}\n{after}"
    if rng.random() < p["think"]:
        text = f"<think>\nThe user wants {{something}}. Let me think step by step about the schema.\n</think>\n{text}"
    return text


class NoisyLLM(CustomLLM):
    """The offline policy with real models' habits behind `model="noisy/<anything>"`."""

    def __init__(self) -> None:
        super().__init__()
        self._sent: collections.Counter[bytes] = collections.Counter()  # transport faults draw anew on each resend

    def completion(
        self, model: str, messages: list[dict[str, Any]], *args: Any, **kwargs: Any
    ) -> litellm.ModelResponse:
        p = rates()
        optional = kwargs.get("optional_params") or {}
        max_tokens = int(optional.get("max_tokens") or 4096)
        metadata = (kwargs.get("litellm_params") or {}).get("metadata") or {}
        role = str(metadata.get("lbi_role", ""))
        window = int(os.environ.get("LBI_LLM_CONTEXT_TOKENS") or 0)
        if window:
            prompt_tokens = litellm.token_counter(model=f"noisy/{model}", messages=messages)
            if prompt_tokens > window:
                raise litellm.ContextWindowExceededError(
                    f"This model's maximum context length is {window} tokens; the prompt has {prompt_tokens}",
                    model=model,
                    llm_provider="noisy",
                )
        seed = hashlib.sha256(json.dumps([messages, max_tokens], default=str).encode()).digest()
        rng = random.Random(seed)
        self._sent[seed] += 1
        transport = random.Random(seed + self._sent[seed].to_bytes(4, "big"))
        if transport.random() < p["rate_limited"]:
            raise litellm.RateLimitError("noisy stand-in: rate limited (429)", model=model, llm_provider="noisy")
        if transport.random() < p["server_error"]:
            raise litellm.InternalServerError("noisy stand-in: server error (500)", model=model, llm_provider="noisy")
        content, finish = answer(metadata), "stop"
        env = str((metadata.get("lbi_inputs") or {}).get("env", ""))
        draw = rng.random()
        if draw < p["empty"]:
            text = ""
        elif draw < p["empty"] + p["refusal"]:
            text = "I'm sorry, but I can't determine that from the information given."
        else:
            text = _dress(content, role, env, rng, p)
            if rng.random() < p["truncated"]:
                text, finish = text[: max(1, len(text) // 2)], "length"
        if _tokens(text) > max_tokens:
            text, finish = text[: max_tokens * 4], "length"
        prompt = sum(_tokens(str(m.get("content", ""))) for m in messages)
        completion = _tokens(text) if text else 0
        return litellm.ModelResponse(
            model=f"noisy/{model}",
            choices=[
                litellm.Choices(index=0, finish_reason=finish, message=litellm.Message(role="assistant", content=text))
            ],
            usage=litellm.Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion),
        )

    async def acompletion(
        self, model: str, messages: list[dict[str, Any]], *args: Any, **kwargs: Any
    ) -> litellm.ModelResponse:
        return self.completion(model, messages, *args, **kwargs)
