"""The LLM roles of the pipeline and the JSON each must answer with (pydantic models = JSON schemas).

Every call names its role explicitly; the gateway validates the reply against the role's model.
"""

from __future__ import annotations

import functools
import json
from enum import Enum
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

ShortText = Annotated[str, StringConstraints(max_length=500)]
QueryText = Annotated[str, StringConstraints(min_length=1, max_length=120)]


class Role(str, Enum):
    SELF_INSTRUCT = "self_instruct"
    ACT = "act"
    LABEL = "label"
    LABEL_BATCH = "label_batch"
    JUDGE = "judge"
    QUERY = "query"


class TasksOut(BaseModel):
    """self_instruct: tasks users commonly perform, written from one resource."""

    tasks: list[ShortText] = Field(min_length=1, max_length=50)


class ActOut(BaseModel):
    """act: the agent's next move. With stop=true the episode ends and `answer` is the final answer."""

    thought: str = ""
    action: str = ""
    stop: bool = False
    answer: str = ""


class LabelOut(BaseModel):
    """label: the instruction a sub-trajectory accomplishes (kind task) or its step-by-step summary."""

    instruction: str = Field(min_length=1)


class SpanLabel(BaseModel):
    end: int = Field(ge=1)
    instruction: str = Field(min_length=1)


class LabelBatchOut(BaseModel):
    """label_batch: one label per span end, for the spans starting at one step."""

    labels: list[SpanLabel] = Field(min_length=1, max_length=500)


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

    queries: list[QueryText] = Field(min_length=1, max_length=3)


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
