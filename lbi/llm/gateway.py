"""The LLM gateway: every LLM call of lbi goes through here, and through litellm.

One call = one role, its inputs, and optionally a model. The gateway renders the role's prompt, sends it
through a litellm Router (timeouts, retries with backoff, fallbacks), validates the JSON reply against
the role's schema, asks once more with the parse error shown when the reply is unusable, and accounts
tokens and cost. The role and its structured inputs travel in litellm metadata, which is how the
offline backend reads them; real models read the rendered prompt.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from lbi.config import CommonSettings
from lbi.llm.litellm_setup import get_litellm, reads_inputs
from lbi.llm.prompts import render
from lbi.llm.roles import OUTPUT_MODELS, Role, output_schema
from lbi.llm.usage import UsageMeter
from lbi.telemetry import meter, tracer

_tracer = tracer("lbi.llm")
_meter = meter("lbi.llm")
# GenAI semantic conventions' client metrics
TOKEN_USAGE = _meter.create_histogram(
    "gen_ai.client.token.usage", unit="{token}", description="Tokens used per LLM call"
)
DURATION = _meter.create_histogram("gen_ai.client.operation.duration", unit="s", description="LLM call duration")


class LLMError(Exception):
    """An LLM call failed after its retries and fallbacks; `reason` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class LLMOutputError(LLMError):
    """The model answered twice, but not with JSON that fits the role's schema."""


@dataclass(frozen=True)
class LLMResult:
    output: Any  # the role's output model (roles.py), validated
    model: str
    prompt_tokens: int
    completion_tokens: int
    attempts: int
    cost_usd: float = 0.0


class LLMCaller(Protocol):
    """What agents and stages need of a gateway: one role call (an LLMGateway, or a wrapper that counts or
    journals its calls)."""

    async def call(self, role: Role, inputs: dict[str, Any], model: str | None = None) -> LLMResult: ...


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)


Reply = TypeVar("Reply", bound=BaseModel)


def parse_json_reply(text: str, model: type[Reply]) -> Reply:
    """The reply's JSON object validated against `model`; raises ValueError saying what is wrong."""
    if not text or not text.strip():
        raise ValueError("the reply was empty")
    fenced = _FENCE.search(text)
    body = fenced.group(1) if fenced else text
    start, end = body.find("{"), body.rfind("}")
    if start < 0 or end <= start:
        raise ValueError("the reply holds no JSON object")
    try:
        data = json.loads(body[start : end + 1])
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON: {exc}") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'root'}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"JSON does not match the schema: {problems}") from exc


class LLMGateway:
    """Async, schema-checked LLM calls through litellm Routers (one per model)."""

    def __init__(self, settings: CommonSettings | None = None, meter: UsageMeter | None = None):
        self.settings = settings or CommonSettings()
        self.meter = meter or UsageMeter()
        self._routers: dict[str, Any] = {}
        self._offline: dict[str, bool] = {}  # model -> whether its router may call a provider reading the inputs
        self._unpriced: set[str] = set()  # models litellm has no price for

    def _router(self, model: str) -> Any:
        if model not in self._routers:
            litellm = get_litellm()
            s = self.settings
            names = [model, *[f for f in s.llm_fallbacks if f != model]]
            deployments: list[dict[str, Any]] = []
            for name in names:
                params: dict[str, Any] = {"model": name, "timeout": s.llm_timeout_s, "max_tokens": s.llm_max_tokens}
                if s.llm_temperature is not None:
                    params["temperature"] = s.llm_temperature
                if s.llm_api_base and not name.startswith("offline/"):
                    params.update(api_base=s.llm_api_base, api_key="dummy")
                deployments.append({"model_name": name, "litellm_params": params})
            listed = {d.get("model_name") for d in s.llm_model_list}
            deployments = [d for d in deployments if d["model_name"] not in listed] + list(s.llm_model_list)
            self._offline[model] = any(
                reads_inputs(str(d.get("litellm_params", {}).get("model", ""))) for d in deployments
            )
            self._routers[model] = litellm.Router(
                model_list=deployments,
                fallbacks=[{model: names[1:]}] if len(names) > 1 else [],
                num_retries=s.llm_retries,
                timeout=s.llm_timeout_s,
                retry_after=0,
            )
        return self._routers[model]

    def _response_format(self, role: Role, model: str) -> dict[str, Any]:
        kind = self.settings.llm_response_format
        if kind == "none" or model.startswith("offline/"):
            return {}
        if kind == "json_object":
            return {"response_format": {"type": "json_object"}}
        return {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": role.value, "schema": json.loads(output_schema(role))},
            }
        }  # a fresh dict per call: nothing downstream can change the cached schema

    async def _complete(
        self, model: str, role: Role, messages: list[dict[str, str]], inputs: dict[str, Any]
    ) -> tuple[str, int, int, float]:
        litellm = get_litellm()
        try:
            router = self._router(model)
            # the offline backend (and stand-ins built on it) read the inputs from the metadata; no other provider does
            metadata = {"lbi_role": role.value, **({"lbi_inputs": inputs} if self._offline[model] else {})}
            response = await router.acompletion(
                model=model, messages=messages, metadata=metadata, **self._response_format(role, model)
            )
        except Exception as exc:
            self.meter.record(role.value, 0, 0, 0.0, ok=False)
            first_line = (str(exc).strip().splitlines() or [""])[0]
            raise LLMError(f"{type(exc).__name__}: {first_line[:500]}") from exc
        text = response.choices[0].message.content or ""
        usage = getattr(response, "usage", None)
        prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
        # litellm prices the call as it logs it; computing it again costs about 0.6 ms of CPU per call
        priced = (getattr(response, "_hidden_params", None) or {}).get("response_cost")
        cost = float(priced) if isinstance(priced, int | float) else 0.0
        if priced is None and model not in self._unpriced:
            try:
                cost = float(litellm.completion_cost(completion_response=response) or 0.0)
            except Exception:
                self._unpriced.add(model)
        self.meter.record(role.value, prompt_tokens, completion_tokens, cost)
        return text, prompt_tokens, completion_tokens, cost

    async def call(self, role: Role, inputs: dict[str, Any], model: str | None = None) -> LLMResult:
        """One role call; raises LLMError (call failed) or LLMOutputError (unusable reply, twice)."""
        model = model or self.settings.llm_model
        schema = OUTPUT_MODELS[role]
        messages = render(role, inputs)
        prompt_tokens = completion_tokens = 0
        cost = 0.0
        # GenAI semantic conventions: "chat <model>", the operation, the model, token usage; the role is lbi's
        attributes = {"gen_ai.operation.name": "chat", "gen_ai.request.model": model, "lbi.llm.role": role.value}
        with _tracer.start_as_current_span(f"chat {model}", attributes=attributes) as span:
            for attempt in (1, 2):
                started = time.perf_counter()
                text, p, c, call_cost = await self._complete(model, role, messages, inputs)
                DURATION.record(time.perf_counter() - started, attributes)
                TOKEN_USAGE.record(p, {**attributes, "gen_ai.token.type": "input"})
                TOKEN_USAGE.record(c, {**attributes, "gen_ai.token.type": "output"})
                prompt_tokens, completion_tokens, cost = prompt_tokens + p, completion_tokens + c, cost + call_cost
                try:
                    output = parse_json_reply(text, schema)
                except ValueError as exc:
                    if attempt == 2:
                        span.set_attribute("error.type", "unusable_reply")
                        span.set_attribute("lbi.llm.parse_error", str(exc))
                        raise LLMOutputError(f"unusable reply after a retry: {exc}") from exc
                    messages = [
                        *messages,
                        {"role": "assistant", "content": text},
                        {
                            "role": "user",
                            "content": (
                                f"Your answer could not be used ({exc}). Answer again with one JSON object "
                                "matching the schema."
                            ),
                        },
                    ]
                    continue
                span.set_attributes(
                    {"gen_ai.usage.input_tokens": prompt_tokens, "gen_ai.usage.output_tokens": completion_tokens}
                )
                return LLMResult(output, model, prompt_tokens, completion_tokens, attempt, cost)
        raise AssertionError("unreachable")
