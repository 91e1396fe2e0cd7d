from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Origin(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORIGIN_UNSPECIFIED: _ClassVar[Origin]
    ORIGIN_FORWARD: _ClassVar[Origin]
    ORIGIN_BACKWARD_TASK: _ClassVar[Origin]
    ORIGIN_BACKWARD_SUMMARY: _ClassVar[Origin]
    ORIGIN_ONLINE: _ClassVar[Origin]

class Outcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OUTCOME_UNSPECIFIED: _ClassVar[Outcome]
    OUTCOME_STOPPED: _ClassVar[Outcome]
    OUTCOME_DONE: _ClassVar[Outcome]
    OUTCOME_MAX_STEPS: _ClassVar[Outcome]
    OUTCOME_ERROR: _ClassVar[Outcome]
ORIGIN_UNSPECIFIED: Origin
ORIGIN_FORWARD: Origin
ORIGIN_BACKWARD_TASK: Origin
ORIGIN_BACKWARD_SUMMARY: Origin
ORIGIN_ONLINE: Origin
OUTCOME_UNSPECIFIED: Outcome
OUTCOME_STOPPED: Outcome
OUTCOME_DONE: Outcome
OUTCOME_MAX_STEPS: Outcome
OUTCOME_ERROR: Outcome

class Resource(_message.Message):
    __slots__ = ("id", "env", "title", "text", "uri", "kind")
    ID_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    URI_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    id: str
    env: str
    title: str
    text: str
    uri: str
    kind: str
    def __init__(self, id: _Optional[str] = ..., env: _Optional[str] = ..., title: _Optional[str] = ..., text: _Optional[str] = ..., uri: _Optional[str] = ..., kind: _Optional[str] = ...) -> None: ...

class Instruction(_message.Message):
    __slots__ = ("id", "resource_id", "text")
    ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    id: str
    resource_id: str
    text: str
    def __init__(self, id: _Optional[str] = ..., resource_id: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class Step(_message.Message):
    __slots__ = ("observation", "action", "thought", "error")
    OBSERVATION_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    THOUGHT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    observation: str
    action: str
    thought: str
    error: bool
    def __init__(self, observation: _Optional[str] = ..., action: _Optional[str] = ..., thought: _Optional[str] = ..., error: _Optional[bool] = ...) -> None: ...

class Trajectory(_message.Message):
    __slots__ = ("id", "instruction_id", "env", "steps", "final_observation", "outcome", "answer", "error")
    ID_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTION_ID_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    FINAL_OBSERVATION_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    id: str
    instruction_id: str
    env: str
    steps: _containers.RepeatedCompositeFieldContainer[Step]
    final_observation: str
    outcome: Outcome
    answer: str
    error: str
    def __init__(self, id: _Optional[str] = ..., instruction_id: _Optional[str] = ..., env: _Optional[str] = ..., steps: _Optional[_Iterable[_Union[Step, _Mapping]]] = ..., final_observation: _Optional[str] = ..., outcome: _Optional[_Union[Outcome, str]] = ..., answer: _Optional[str] = ..., error: _Optional[str] = ...) -> None: ...

class CriterionVerdict(_message.Message):
    __slots__ = ("criterion", "ok", "reason")
    CRITERION_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    criterion: str
    ok: bool
    reason: str
    def __init__(self, criterion: _Optional[str] = ..., ok: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class Verdict(_message.Message):
    __slots__ = ("judge", "criteria", "accepted")
    JUDGE_FIELD_NUMBER: _ClassVar[int]
    CRITERIA_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    judge: str
    criteria: _containers.RepeatedCompositeFieldContainer[CriterionVerdict]
    accepted: bool
    def __init__(self, judge: _Optional[str] = ..., criteria: _Optional[_Iterable[_Union[CriterionVerdict, _Mapping]]] = ..., accepted: _Optional[bool] = ...) -> None: ...

class Example(_message.Message):
    __slots__ = ("id", "instruction", "env", "steps", "final_observation", "origin", "source_trajectory_id", "span_start", "span_end", "verdicts", "kept", "metadata")
    ID_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTION_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    FINAL_OBSERVATION_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    SOURCE_TRAJECTORY_ID_FIELD_NUMBER: _ClassVar[int]
    SPAN_START_FIELD_NUMBER: _ClassVar[int]
    SPAN_END_FIELD_NUMBER: _ClassVar[int]
    VERDICTS_FIELD_NUMBER: _ClassVar[int]
    KEPT_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    id: str
    instruction: str
    env: str
    steps: _containers.RepeatedCompositeFieldContainer[Step]
    final_observation: str
    origin: Origin
    source_trajectory_id: str
    span_start: int
    span_end: int
    verdicts: _containers.RepeatedCompositeFieldContainer[Verdict]
    kept: bool
    metadata: _struct_pb2.Struct
    def __init__(self, id: _Optional[str] = ..., instruction: _Optional[str] = ..., env: _Optional[str] = ..., steps: _Optional[_Iterable[_Union[Step, _Mapping]]] = ..., final_observation: _Optional[str] = ..., origin: _Optional[_Union[Origin, str]] = ..., source_trajectory_id: _Optional[str] = ..., span_start: _Optional[int] = ..., span_end: _Optional[int] = ..., verdicts: _Optional[_Iterable[_Union[Verdict, _Mapping]]] = ..., kept: _Optional[bool] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...
