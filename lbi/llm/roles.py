"""The LLM roles of the pipeline and the JSON each must answer with (pydantic models = JSON schemas).

Every call names its role explicitly; the gateway validates the reply against the role's model.
"""

from __future__ import annotations

import functools
import json
from enum import Enum
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, Field, StringConstraints, WithJsonSchema, model_validator


def _clipped(limit: int) -> BeforeValidator:
    """A model's over-long text is clipped (at a word boundary when one is near), not rejected."""

    def clip(value: object) -> object:
        if not isinstance(value, str) or len(value) <= limit:
            return value
        cut = value[:limit]
        space = cut.rfind(" ")
        return (cut[:space] if space > limit * 0.8 else cut).rstrip()

    return BeforeValidator(clip)


def _first(limit: int) -> BeforeValidator:
    """A list longer than the schema allows keeps its first `limit` items."""
    return BeforeValidator(lambda value: value[:limit] if isinstance(value, list) else value)


# The schemas keep their limits (a provider that constrains decoding to the schema stops there); validation clips.
ShortText = Annotated[str, _clipped(500), WithJsonSchema({"type": "string", "maxLength": 500})]
QueryText = Annotated[
    str,
    StringConstraints(min_length=1),
    _clipped(120),
    WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 120}),
]


class Role(str, Enum):
    SELF_INSTRUCT = "self_instruct"
    ACT = "act"
    LABEL = "label"
    LABEL_BATCH = "label_batch"
    JUDGE = "judge"
    QUERY = "query"


class TasksOut(BaseModel):
    """self_instruct: tasks users commonly perform, written from one resource. An empty list is an answer (a table
    of contents suggests no task); the schema still asks a model for at least one."""

    tasks: Annotated[list[ShortText], _first(50)] = Field(json_schema_extra={"minItems": 1, "maxItems": 50})


class ActOut(BaseModel):
    """act: the agent's next move: an action, or stop=true, or both (the action runs, then the episode ends with
    `answer` as the final answer). A reply with neither is not a move."""

    thought: str = ""
    action: str = ""
    stop: bool = False
    answer: str = ""

    @model_validator(mode="after")
    def _moves(self) -> ActOut:
        if not self.stop and not self.action.strip():
            raise ValueError("the reply needs an 'action' (a non-empty string), or 'stop': true")
        return self


class LabelOut(BaseModel):
    """label: the instruction a sub-trajectory accomplishes (kind task) or its step-by-step summary."""

    instruction: str = Field(min_length=1)


class SpanLabel(BaseModel):
    end: int = Field(ge=1)
    instruction: str = Field(min_length=1)


class LabelBatchOut(BaseModel):
    """label_batch: one label per span end, for the spans starting at one step."""

    labels: Annotated[list[SpanLabel], _first(500)] = Field(min_length=1, json_schema_extra={"maxItems": 500})


class Criterion(BaseModel):
    ok: bool
    reason: str = ""


class JudgeOut(BaseModel):
    """judge: the four filter criteria of the paper, each with a reason."""

    aligned: Criterion
    coherent: Criterion
    natural: Criterion
    reasonable: Criterion


class QueryOut(BaseModel):
    """query: retrieval queries written from (task, history, observation)."""

    queries: Annotated[list[QueryText], _first(3)] = Field(min_length=1, json_schema_extra={"maxItems": 3})


OUTPUT_MODELS: dict[Role, type[BaseModel]] = {
    Role.SELF_INSTRUCT: TasksOut,
    Role.ACT: ActOut,
    Role.LABEL: LabelOut,
    Role.LABEL_BATCH: LabelBatchOut,
    Role.JUDGE: JudgeOut,
    Role.QUERY: QueryOut,
}


@functools.cache
def output_schema(role: Role) -> str:
    """A role's output JSON schema as text (built once per role: pydantic takes milliseconds per build)."""
    return json.dumps(OUTPUT_MODELS[role].model_json_schema())
