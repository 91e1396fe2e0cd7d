"""The LLM gateway: every LLM call of lbi goes through here, and through litellm.

One call = one role, its inputs, and optionally a model. The gateway renders the role's prompt within the model's
context window (lbi.llm.budget), sends it through a litellm Router (lbi.llm.routers: timeouts, retries of
transient errors with backoff, fallbacks, rate limits), reads the reply as real models write them
(lbi.llm.replies), asks again once when the reply was cut or unusable, and accounts tokens and cost, of failed
attempts too. The role and its structured inputs travel in litellm metadata, which is how the offline backend
reads them; real models read the rendered prompt.

Structured output (`LBI_LLM_RESPONSE_FORMAT`, default `auto`): where litellm says the model calls functions
(`litellm.supports_function_calling`), the role's schema is offered as the one function the model must call (the
agent's move is a call `act(thought, action, stop, answer)`) and the call's arguments are read; else, where it
says the model takes a response schema (`supports_response_schema`), the schema goes as a JSON-schema
`response_format`; else the model writes text, read in every form lbi.llm.replies knows. A tool call's arguments
are read as leniently as text; a reply with no usable call is read from its text.
"""

from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass
from typing import Any, Protocol

from lbi.config import CommonSettings
from lbi.llm import routers
from lbi.llm.budget import context_window, fit_prompt
from lbi.llm.litellm_setup import get_litellm, litellm_loaded, reads_inputs
from lbi.llm.prompts import PROMPT_VERSION, answer_form
from lbi.llm.replies import ReplyError, parse_reply, strip_thinking
from lbi.llm.roles import OUTPUT_MODELS, ActOut, Role, output_schema
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
    """An LLM call failed; `reason` says why, `kind` what kind of failure (FAILURE_KINDS), `usage` what the
    attempts spent before it failed (tokens and cost are counted even when nothing came of them)."""

    kind = "call_failed"

    def __init__(self, reason: str, kind: str = "", usage: Usage | None = None):
        super().__init__(reason)
        self.reason = reason
        self.kind = kind or type(self).kind
        if self.kind not in FAILURE_KINDS:
            raise ValueError(f"unknown LLM failure kind {self.kind!r}")
        self.usage = usage or Usage()


class LLMOutputError(LLMError):
    """The model answered, but never with JSON that fits the role's schema (unusable, truncated or empty)."""

    kind = "unusable_reply"


# The failure kinds a job counts: the provider failed (after retries of transient errors), the prompt did not fit
# the window, the reply did not fit the schema, was cut at max_tokens even with a larger budget, or was empty.
FAILURE_KINDS = ("call_failed", "context_window", "unusable_reply", "truncated", "empty_reply")


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    attempts: int = 0

    def add(self, reply: _Reply) -> None:
        self.prompt_tokens += reply.prompt_tokens
        self.completion_tokens += reply.completion_tokens
        self.cost_usd += reply.cost_usd
        self.attempts += 1


@dataclass(frozen=True)
class LLMResult:
    output: Any  # the role's output model (roles.py), validated
    model: str
    prompt_tokens: int
    completion_tokens: int
    attempts: int
    cost_usd: float = 0.0


@dataclass(frozen=True)
class _Reply:
    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    arguments: str | None = None  # the arguments of the reply's tool call, when it made one

    @property
    def shown(self) -> str:
        """What the model answered, as it is shown back to it in a re-ask."""
        return self.arguments if self.arguments is not None else self.text


class LLMCaller(Protocol):
    """What agents and stages need of a gateway: one role call (an LLMGateway, or a wrapper that counts or
    journals its calls)."""

    async def call(self, role: Role, inputs: dict[str, Any], model: str | None = None) -> LLMResult: ...


@dataclass(frozen=True)
class Sampling:
    """What a role's call is sent with: its model, temperature and reply budget."""

    model: str
    temperature: float | None
    max_tokens: int


_RESERVE = 600  # tokens kept free in the window for the one re-ask (the unusable reply, clipped, and a note)
_ECHO_CHARS = 600


class LLMGateway:
    """Async, schema-checked LLM calls through litellm Routers (one per model, shared by every gateway of the process
    with the same settings, so the Router's concurrency and rate limits hold across the service)."""

    def __init__(self, settings: CommonSettings | None = None, meter: UsageMeter | None = None):
        self.settings = settings or CommonSettings()
        self.meter = meter or UsageMeter()
        self._unpriced: set[str] = set()  # models litellm has no price for

    def sampling(self, role: Role, model: str | None = None) -> Sampling:
        """The model, temperature and reply budget a call of `role` uses (LBI_LLM_ROLES over the global settings)."""
        s = self.settings
        own = s.llm_roles.get(role)
        return Sampling(
            model=model or (own.model if own and own.model else s.llm_model),
            temperature=own.temperature if own and own.temperature is not None else s.llm_temperature,
            max_tokens=own.max_tokens if own and own.max_tokens else s.llm_max_tokens,
        )

    def cache_identity(self, role: Role, model: str | None = None) -> tuple[str, str, float | None, int]:
        """What besides the inputs decides a reply: the prompt version and the sampling (a journal's cache key)."""
        sampling = self.sampling(role, model)
        return PROMPT_VERSION, sampling.model, sampling.temperature, sampling.max_tokens

    def structured_form(self, model: str) -> str:
        """How a call to `model` asks for its answer: tools, json_schema, json_object or text (see the module)."""
        kind = self.settings.llm_response_format
        if reads_inputs(model):  # the offline backend and stand-ins built on it read the inputs, not a form
            return "text"
        if kind == "auto":
            listed = {str(d.get("model_name")): d for d in self.settings.llm_model_list}
            underlying = str((listed.get(model) or {}).get("litellm_params", {}).get("model") or model)
            return _provider_form(underlying)
        return "text" if kind == "none" else kind

    def _response_format(self, role: Role, model: str) -> dict[str, Any]:
        form = self.structured_form(model)
        if form == "text":
            return {}
        if form == "json_object":
            return {"response_format": {"type": "json_object"}}
        schema = json.loads(output_schema(role))  # a fresh dict per call: nothing downstream can change the cache
        if form == "tools":
            function = {"name": role.value, "description": _FUNCTION_DOC[role], "parameters": schema}
            return {
                "tools": [{"type": "function", "function": function}],
                "tool_choice": {"type": "function", "function": {"name": role.value}},
            }
        return {"response_format": {"type": "json_schema", "json_schema": {"name": role.value, "schema": schema}}}

    async def _complete(
        self,
        sampling: Sampling,
        max_tokens: int,
        role: Role,
        messages: list[dict[str, str]],
        inputs: dict[str, Any],
        usage: Usage,
    ) -> _Reply:
        litellm = get_litellm()
        model = sampling.model
        try:
            router, offline = routers.router_for(self.settings, model)
            # the offline backend (and stand-ins built on it) read the inputs from the metadata; no other provider does
            metadata = {"lbi_role": role.value, **({"lbi_inputs": inputs} if offline else {})}
            extra: dict[str, Any] = {"max_tokens": max_tokens}
            if sampling.temperature is not None:
                extra["temperature"] = sampling.temperature
            if self.settings.llm_reasoning_effort:
                extra["reasoning_effort"] = self.settings.llm_reasoning_effort
            response = await router.acompletion(
                model=model, messages=messages, metadata=metadata, **extra, **self._response_format(role, model)
            )
        except Exception as exc:
            self.meter.record(role.value, 0, 0, 0.0, ok=False)
            usage.attempts += 1
            first_line = (str(exc).strip().splitlines() or [""])[0]
            kind = "context_window" if isinstance(exc, litellm.ContextWindowExceededError) else "call_failed"
            raise LLMError(f"{type(exc).__name__}: {first_line[:500]}", kind, usage) from exc
        choice = response.choices[0]
        text = choice.message.content or ""
        calls = getattr(choice.message, "tool_calls", None) or []
        arguments = next((str(c.function.arguments or "") for c in calls if getattr(c, "function", None)), None)
        usage_block = getattr(response, "usage", None)
        prompt_tokens = int(getattr(usage_block, "prompt_tokens", 0) or 0)
        completion_tokens = int(getattr(usage_block, "completion_tokens", 0) or 0)
        # litellm prices the call as it logs it; computing it again costs about 0.6 ms of CPU per call
        priced = (getattr(response, "_hidden_params", None) or {}).get("response_cost")
        cost = float(priced) if isinstance(priced, int | float) else 0.0
        if priced is None and model not in self._unpriced:
            try:
                cost = float(litellm.completion_cost(completion_response=response) or 0.0)
            except Exception:
                self._unpriced.add(model)
        reply = _Reply(text, str(choice.finish_reason or ""), prompt_tokens, completion_tokens, cost, arguments)
        usage.add(reply)
        return reply

    def _budget(self, sampling: Sampling, max_tokens: int) -> int:
        window = context_window(sampling.model, self.settings.llm_context_tokens)
        return window - max_tokens - min(_RESERVE, window // 8)

    async def call(self, role: Role, inputs: dict[str, Any], model: str | None = None) -> LLMResult:
        """One role call; raises LLMError (the call failed) or LLMOutputError (no usable reply).

        A reply cut at max_tokens (or empty, as a reasoning model that spent its budget thinking leaves it) is asked
        again once with twice the budget; an unusable reply (a cut one too, after that) is asked again once with the
        problem shown; a prompt the provider still finds too long for its window is sent once more at half the
        budget. At most three replies per call."""
        await litellm_loaded()
        sampling = self.sampling(role, model)
        schema = OUTPUT_MODELS[role]
        max_tokens = sampling.max_tokens
        messages, cut_to_fit = fit_prompt(role, inputs, sampling.model, self._budget(sampling, max_tokens))
        usage = Usage()
        grown = reasked = shrunk = False
        # GenAI semantic conventions: "chat <model>", the operation, the model, token usage; the role is lbi's
        attributes = {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": sampling.model,
            "lbi.llm.role": role.value,
        }
        with _tracer.start_as_current_span(f"chat {sampling.model}", attributes=attributes) as span:
            span.set_attribute("lbi.llm.prompt_cut_to_fit", cut_to_fit)
            try:
                while True:
                    started = time.perf_counter()
                    try:
                        reply = await self._complete(sampling, max_tokens, role, messages, inputs, usage)
                    except LLMError as exc:
                        if exc.kind != "context_window" or shrunk:
                            raise
                        shrunk = True  # the provider counts differently: half the budget, once
                        messages, _ = fit_prompt(role, inputs, sampling.model, self._budget(sampling, max_tokens) // 2)
                        continue
                    finally:
                        DURATION.record(time.perf_counter() - started, attributes)
                    self.meter.record(role.value, reply.prompt_tokens, reply.completion_tokens, reply.cost_usd)
                    TOKEN_USAGE.record(reply.prompt_tokens, {**attributes, "gen_ai.token.type": "input"})
                    TOKEN_USAGE.record(reply.completion_tokens, {**attributes, "gen_ai.token.type": "output"})
                    cut = reply.finish_reason == "length"
                    empty = not strip_thinking(reply.text) and not (reply.arguments or "").strip()
                    try:
                        output = _read(reply, schema, cut)
                    except ReplyError as exc:
                        if (cut or empty) and not grown:
                            grown = True
                            max_tokens *= 2
                            messages, _ = fit_prompt(role, inputs, sampling.model, self._budget(sampling, max_tokens))
                            continue
                        if not reasked:
                            reasked = True
                            messages = [
                                *messages,
                                *_reask(reply.shown, exc, cut, role, self.structured_form(sampling.model)),
                            ]
                            continue
                        if cut:
                            raise LLMOutputError(
                                f"the reply was cut at max_tokens ({max_tokens}) again: {exc}", "truncated", usage
                            ) from exc
                        if empty:
                            raise LLMOutputError(f"the reply was empty again: {exc}", "empty_reply", usage) from exc
                        raise LLMOutputError(f"unusable reply after a retry: {exc}", "unusable_reply", usage) from exc
                    span.set_attributes(
                        {
                            "gen_ai.usage.input_tokens": usage.prompt_tokens,
                            "gen_ai.usage.output_tokens": usage.completion_tokens,
                        }
                    )
                    return LLMResult(
                        output,
                        sampling.model,
                        usage.prompt_tokens,
                        usage.completion_tokens,
                        usage.attempts,
                        usage.cost_usd,
                    )
            except LLMError as exc:
                span.set_attribute("error.type", exc.kind)
                span.set_attribute("lbi.llm.error", exc.reason[:500])
                raise


_FUNCTION_DOC = {
    Role.SELF_INSTRUCT: "Give the tasks users commonly perform with this documentation.",
    Role.ACT: "Make your next move: an action for the environment, or stop with your final answer, or both.",
    Role.LABEL: "Give the instruction the interaction accomplishes.",
    Role.LABEL_BATCH: "Give one label per span end.",
    Role.JUDGE: "Give your verdict on each of the four criteria, with a reason.",
    Role.QUERY: "Give the search queries.",
}


@functools.cache
def _provider_form(model: str) -> str:
    """tools when litellm says the model calls functions, json_schema when it takes a response schema, else text."""
    litellm = get_litellm()
    for form, supports in (
        ("tools", litellm.supports_function_calling),
        ("json_schema", litellm.supports_response_schema),
    ):
        try:
            if supports(model=model):
                return form
        except Exception:  # litellm raises for providers it does not know
            continue
    return "text"


def _read(reply: _Reply, schema: type[Any], cut: bool) -> Any:
    """The reply's tool call read into `schema`, else its text; a move called without a thought takes the text the
    model wrote beside the call as its thought."""
    if reply.arguments is not None:
        try:
            output = parse_reply(reply.arguments, schema, truncated=cut)
        except ReplyError:
            if not strip_thinking(reply.text):
                raise
        else:
            if isinstance(output, ActOut) and not output.thought and strip_thinking(reply.text):
                output = output.model_copy(update={"thought": strip_thinking(reply.text)[:500]})
            return output
    return parse_reply(reply.text, schema, truncated=cut)


def _reask(text: str, problem: Exception, cut: bool, role: Role, form: str) -> list[dict[str, str]]:
    """The unusable reply (clipped) and a note saying what was wrong with it and the form wanted."""
    shorter = " Keep it short: your answer was cut at the token limit." if cut else ""
    wanted = (
        f"Call the function `{role.value}` once, with arguments like {answer_form(role)}."
        if form == "tools"
        else f"Answer again with one JSON object matching the schema, like {answer_form(role)}, and nothing else."
    )
    return [
        {"role": "assistant", "content": text[:_ECHO_CHARS]},
        {"role": "user", "content": f"Your answer could not be used ({problem}). {wanted}{shorter}"},
    ]
