"""A stand-in model for benchmarks: the offline policy's answers, delivered with a fixed latency and token rate.

Registered as the litellm custom provider `standin/` (`model="standin/<name>"`): each call sleeps
`latency_s + completion_tokens / tokens_per_s` (without holding the CPU), then answers exactly what the
offline backend answers for the same inputs. It stands in for a hosted model's timing, not its quality;
figures measured with it describe lbi's orchestration, not a model.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from lbi.llm.litellm_setup import get_litellm, register_provider


class StandIn:
    def __init__(self, latency_s: float, tokens_per_s: float):
        litellm = get_litellm()
        from litellm import CustomLLM

        from lbi.llm.offline.handler import answer

        self._answer = answer
        self._litellm = litellm
        self.latency_s = latency_s
        self.tokens_per_s = tokens_per_s
        self.calls = 0
        self.slept_s = 0.0
        self.spans: list[tuple[float, float]] = []  # (start, end) of every call, loop time
        outer = self

        class Handler(CustomLLM):
            async def acompletion(self, model: str, messages: list, *args: Any, **kwargs: Any):
                return await outer.complete(model, messages, kwargs)

        register_provider("standin", Handler(), reads_inputs=True)

    async def complete(self, model: str, messages: list, kwargs: dict) -> Any:
        litellm = self._litellm
        text = self._answer((kwargs.get("litellm_params") or {}).get("metadata"))
        prompt = sum(max(1, math.ceil(len(str(m.get("content", ""))) / 4)) for m in messages)
        completion = max(1, math.ceil(len(text) / 4))
        delay = self.latency_s + (completion / self.tokens_per_s if self.tokens_per_s else 0.0)
        self.calls += 1
        self.slept_s += delay
        start = asyncio.get_running_loop().time()
        if delay:
            await asyncio.sleep(delay)
        self.spans.append((start, asyncio.get_running_loop().time()))
        return litellm.ModelResponse(
            model=f"standin/{model}",
            choices=[
                litellm.Choices(index=0, finish_reason="stop", message=litellm.Message(role="assistant", content=text))
            ],
            usage=litellm.Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion),
        )


def occupancy(spans: list[tuple[float, float]], start: float, end: float, buckets: int = 10) -> list[float]:
    """Mean calls in flight in each tenth of [start, end]: where a job leaves its LLM slots idle."""
    width = (end - start) / buckets
    busy = [0.0] * buckets
    for a, b in spans:
        for k in range(buckets):
            lo, hi = start + k * width, start + (k + 1) * width
            busy[k] += max(0.0, min(b, hi) - max(a, lo))
    return [round(x / width, 1) for x in busy]
