"""What every stage of a job shares: the spec, the journal, journaled LLM calls, runners, progress events."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lbi.dataset import DatasetStore
from lbi.llm.gateway import LLMError, LLMGateway, LLMResult
from lbi.llm.roles import OUTPUT_MODELS, Role
from lbi.records import content_id
from lbi.telemetry import tracer
from synth_service.journal import Journal
from synth_service.llm_slots import PrioritySlots
from synth_service.runner_pool import RunnerPool
from synth_service.spec import JobSpec
from synth_service.stages.names import PIPELINE

_tracer = tracer("lbi.synthesis")
# Who gets a free LLM slot first (synth_service/llm_slots.py): the pilot (the job's first instruction, whose calls
# never queue: its examples reach the store one chain of calls after the start, and a broken environment or
# model shows at once), then the stages furthest down the pipeline (examples that are nearly done reach the store
# early and leave memory).
_PRIORITY = {stage: -position for position, stage in enumerate(PIPELINE)}
PILOT = -len(PIPELINE) - 1
pilot: contextvars.ContextVar[bool] = contextvars.ContextVar("lbi_synth_pilot", default=False)


class BudgetExhausted(Exception):
    """The job's LLM budget (calls or tokens) is used up."""


class JobCancelled(Exception):
    """The job was cancelled; its journal stays resumable."""


@dataclass
class JobContext:
    job_id: str
    spec: JobSpec
    journal: Journal
    gateway: LLMGateway
    datasets: DatasetStore
    runners: RunnerPool | None
    publish: Callable[[dict[str, Any]], None]
    cancel: asyncio.Event = field(default_factory=asyncio.Event)
    env_description: str = ""
    action_space: str = ""
    store_wait_s: float = 600.0  # how long writes to an unavailable store are retried before the job fails
    slots: PrioritySlots | None = (
        None  # an LLM bound shared with other contexts (an online job's episodes); else the job's own
    )

    def __post_init__(self) -> None:
        self._llm_slots = self.slots or PrioritySlots(self.spec.llm_concurrency)
        self._in_flight: dict[str, asyncio.Future] = {}
        totals = self.journal.llm_totals(self.job_id).values()
        self.calls_used = sum(t[0] for t in totals)
        self.tokens_used = sum(t[1] for t in totals)

    @property
    def pool(self) -> RunnerPool:
        if self.runners is None:
            raise RuntimeError("this stage needs env runners, and the job has none")
        return self.runners

    def check_cancel(self) -> None:
        if self.cancel.is_set():
            raise JobCancelled()

    def _reserve_call(self) -> None:
        """Counts a call before it is sent, so concurrent calls cannot overshoot the budget."""
        spec = self.spec
        if spec.max_llm_calls and self.calls_used >= spec.max_llm_calls:
            raise BudgetExhausted(f"LLM call budget of {spec.max_llm_calls} used")
        if spec.max_tokens and self.tokens_used >= spec.max_tokens:
            raise BudgetExhausted(f"token budget of {spec.max_tokens} used")
        self.calls_used += 1

    async def llm(self, stage: str, role: Role, inputs: dict[str, Any], model: str = "") -> LLMResult:
        """A journaled LLM call: answered from the journal when it finished before, else sent (within budget, in the
        job's one LLM bound). The same call asked twice at once is sent once."""
        model = model or self.gateway.sampling(role).model
        # the prompt version and sampling are part of the key: a resume after changing either asks again
        key = content_id("llm", role.value, *self.gateway.cache_identity(role, model), inputs)
        if key in self._in_flight:
            result = await asyncio.shield(self._in_flight[key])
            return LLMResult(result.output, model, 0, 0, 0)
        future = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            result = await self._call(stage, role, inputs, model, key)
            future.set_result(result)
            return result
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: a call nobody else waited for is not an unhandled error
            raise
        finally:
            del self._in_flight[key]

    async def _call(self, stage: str, role: Role, inputs: dict[str, Any], model: str, key: str) -> LLMResult:
        known = await self.journal.allm_output(self.job_id, key)
        if known is not None:
            return LLMResult(OUTPUT_MODELS[role].model_validate(known), model, 0, 0, 0)
        self.check_cancel()
        async with self._llm_slots.slot(PILOT if pilot.get() else _PRIORITY.get(stage, 0)):
            self._reserve_call()
            with _tracer.start_as_current_span(
                f"synth.llm.{role.value}", attributes={"stage": stage, "llm.model": model}
            ):
                try:
                    result = await self.gateway.call(role, inputs, model=model)
                except LLMError as exc:
                    used = exc.usage
                    self.calls_used += max(used.attempts - 1, 0)
                    self.tokens_used += used.prompt_tokens + used.completion_tokens
                    await self.journal.aput_llm_failure(
                        self.job_id,
                        stage,
                        role.value,
                        exc.kind,
                        exc.reason,
                        used.prompt_tokens,
                        used.completion_tokens,
                        used.cost_usd,
                        max(used.attempts, 1),
                    )
                    raise
            self.calls_used += result.attempts - 1  # a retried reply is a second call
            self.tokens_used += result.prompt_tokens + result.completion_tokens
        await self.journal.aput_llm_call(
            self.job_id,
            key,
            stage,
            role.value,
            result.prompt_tokens,
            result.completion_tokens,
            result.cost_usd,
            result.attempts,
            result.output.model_dump(),
        )
        return result


class StageGateway:
    """Looks like an LLMGateway to code that calls `.call(role, inputs, model)`; journals through the job."""

    def __init__(self, ctx: JobContext, stage: str):
        self.ctx = ctx
        self.stage = stage

    async def call(self, role: Role, inputs: dict[str, Any], model: str | None = None) -> LLMResult:
        return await self.ctx.llm(self.stage, role, inputs, model or "")
