"""The litellm custom provider `offline/`: dispatches on the role in the call's metadata.

Every role's answer is the JSON its schema asks for, serialised as the message content, so callers
parse it exactly as they parse a real model's reply. Token counts are estimated at 4 characters per
token (the reply says so in its usage).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import litellm
from litellm import CustomLLM

from lbi.llm.offline.act import act
from lbi.llm.offline.instruct import self_instruct
from lbi.llm.offline.judge import judge
from lbi.llm.offline.label import label, label_batch
from lbi.llm.offline.query import write_queries

POLICIES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "self_instruct": self_instruct,
    "act": act,
    "label": label,
    "label_batch": label_batch,
    "judge": judge,
    "query": write_queries,
}


class OfflineError(ValueError):
    """The call did not say which role it is, or its inputs are incomplete."""


def _tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


def answer(metadata: dict[str, Any] | None) -> str:
    """The JSON reply for a call's metadata (lbi_role + lbi_inputs)."""
    metadata = metadata or {}
    role = metadata.get("lbi_role")
    if role not in POLICIES:
        raise OfflineError(f"the offline backend needs metadata lbi_role, one of {sorted(POLICIES)}; got {role!r}")
    try:
        return json.dumps(POLICIES[role](metadata.get("lbi_inputs") or {}), ensure_ascii=False)
    except KeyError as exc:
        raise OfflineError(f"role {role}: missing input {exc}") from exc


class OfflineLLM(CustomLLM):
    """Deterministic policy behind `model="offline/<anything>"`."""

    def completion(
        self, model: str, messages: list[dict[str, Any]], *args: Any, **kwargs: Any
    ) -> litellm.ModelResponse:
        litellm_params = kwargs.get("litellm_params") or {}
        text = answer(litellm_params.get("metadata"))
        prompt = sum(_tokens(str(m.get("content", ""))) for m in messages)
        completion = _tokens(text)
        return litellm.ModelResponse(
            model=f"offline/{model}",
            choices=[
                litellm.Choices(index=0, finish_reason="stop", message=litellm.Message(role="assistant", content=text))
            ],
            usage=litellm.Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion),
        )

    async def acompletion(
        self, model: str, messages: list[dict[str, Any]], *args: Any, **kwargs: Any
    ) -> litellm.ModelResponse:
        return self.completion(model, messages, *args, **kwargs)
