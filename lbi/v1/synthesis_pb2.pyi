import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BackwardMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BACKWARD_MODE_UNSPECIFIED: _ClassVar[BackwardMode]
    BACKWARD_MODE_PAPER: _ClassVar[BackwardMode]
    BACKWARD_MODE_WINDOW: _ClassVar[BackwardMode]
    BACKWARD_MODE_BATCHED: _ClassVar[BackwardMode]

class FilterPolicy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FILTER_POLICY_UNSPECIFIED: _ClassVar[FilterPolicy]
    FILTER_POLICY_STRICT: _ClassVar[FilterPolicy]
    FILTER_POLICY_RELAXED: _ClassVar[FilterPolicy]

class JobState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATE_UNSPECIFIED: _ClassVar[JobState]
    JOB_STATE_PENDING: _ClassVar[JobState]
    JOB_STATE_RUNNING: _ClassVar[JobState]
    JOB_STATE_SUCCEEDED: _ClassVar[JobState]
    JOB_STATE_FAILED: _ClassVar[JobState]
    JOB_STATE_CANCELLED: _ClassVar[JobState]
    JOB_STATE_BUDGET_EXHAUSTED: _ClassVar[JobState]

class Stage(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STAGE_UNSPECIFIED: _ClassVar[Stage]
    STAGE_RESOURCES: _ClassVar[Stage]
    STAGE_SELF_INSTRUCT: _ClassVar[Stage]
    STAGE_ROLLOUT: _ClassVar[Stage]
    STAGE_BACKWARD: _ClassVar[Stage]
    STAGE_FILTER: _ClassVar[Stage]
    STAGE_INGEST: _ClassVar[Stage]

class RecordKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RECORD_KIND_UNSPECIFIED: _ClassVar[RecordKind]
    RECORD_KIND_RESOURCE: _ClassVar[RecordKind]
    RECORD_KIND_TASK: _ClassVar[RecordKind]
    RECORD_KIND_TRAJECTORY: _ClassVar[RecordKind]
    RECORD_KIND_CANDIDATE: _ClassVar[RecordKind]
BACKWARD_MODE_UNSPECIFIED: BackwardMode
BACKWARD_MODE_PAPER: BackwardMode
BACKWARD_MODE_WINDOW: BackwardMode
BACKWARD_MODE_BATCHED: BackwardMode
FILTER_POLICY_UNSPECIFIED: FilterPolicy
FILTER_POLICY_STRICT: FilterPolicy
FILTER_POLICY_RELAXED: FilterPolicy
JOB_STATE_UNSPECIFIED: JobState
JOB_STATE_PENDING: JobState
JOB_STATE_RUNNING: JobState
JOB_STATE_SUCCEEDED: JobState
JOB_STATE_FAILED: JobState
JOB_STATE_CANCELLED: JobState
JOB_STATE_BUDGET_EXHAUSTED: JobState
STAGE_UNSPECIFIED: Stage
STAGE_RESOURCES: Stage
STAGE_SELF_INSTRUCT: Stage
STAGE_ROLLOUT: Stage
STAGE_BACKWARD: Stage
STAGE_FILTER: Stage
STAGE_INGEST: Stage
RECORD_KIND_UNSPECIFIED: RecordKind
RECORD_KIND_RESOURCE: RecordKind
RECORD_KIND_TASK: RecordKind
RECORD_KIND_TRAJECTORY: RecordKind
RECORD_KIND_CANDIDATE: RecordKind

class Models(_message.Message):
    __slots__ = ("policy", "labeller", "committee", "instructor")
    POLICY_FIELD_NUMBER: _ClassVar[int]
    LABELLER_FIELD_NUMBER: _ClassVar[int]
    COMMITTEE_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTOR_FIELD_NUMBER: _ClassVar[int]
    policy: str
    labeller: str
    committee: _containers.RepeatedScalarFieldContainer[str]
    instructor: str
    def __init__(self, policy: _Optional[str] = ..., labeller: _Optional[str] = ..., committee: _Optional[_Iterable[str]] = ..., instructor: _Optional[str] = ...) -> None: ...

class Budget(_message.Message):
    __slots__ = ("max_llm_calls", "max_tokens")
    MAX_LLM_CALLS_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    max_llm_calls: int
    max_tokens: int
    def __init__(self, max_llm_calls: _Optional[int] = ..., max_tokens: _Optional[int] = ...) -> None: ...

class Concurrency(_message.Message):
    __slots__ = ("rollouts", "llm_calls")
    ROLLOUTS_FIELD_NUMBER: _ClassVar[int]
    LLM_CALLS_FIELD_NUMBER: _ClassVar[int]
    rollouts: int
    llm_calls: int
    def __init__(self, rollouts: _Optional[int] = ..., llm_calls: _Optional[int] = ...) -> None: ...

class JobSpec(_message.Message):
    __slots__ = ("env", "env_config", "runner_endpoints", "resource_paths", "resource_filter", "models", "instructions_per_resource", "max_steps", "backward_mode", "backward_window", "filter_policy", "dataset", "concurrency", "budget", "dedup_threshold", "runners")
    ENV_FIELD_NUMBER: _ClassVar[int]
    ENV_CONFIG_FIELD_NUMBER: _ClassVar[int]
    RUNNER_ENDPOINTS_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_PATHS_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FILTER_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTIONS_PER_RESOURCE_FIELD_NUMBER: _ClassVar[int]
    MAX_STEPS_FIELD_NUMBER: _ClassVar[int]
    BACKWARD_MODE_FIELD_NUMBER: _ClassVar[int]
    BACKWARD_WINDOW_FIELD_NUMBER: _ClassVar[int]
    FILTER_POLICY_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    DEDUP_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    RUNNERS_FIELD_NUMBER: _ClassVar[int]
    env: str
    env_config: _struct_pb2.Struct
    runner_endpoints: _containers.RepeatedScalarFieldContainer[str]
    resource_paths: _containers.RepeatedScalarFieldContainer[str]
    resource_filter: _containers.RepeatedScalarFieldContainer[str]
    models: Models
    instructions_per_resource: int
    max_steps: int
    backward_mode: BackwardMode
    backward_window: int
    filter_policy: FilterPolicy
    dataset: str
    concurrency: Concurrency
    budget: Budget
    dedup_threshold: float
    runners: RunnerPods
    def __init__(self, env: _Optional[str] = ..., env_config: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., runner_endpoints: _Optional[_Iterable[str]] = ..., resource_paths: _Optional[_Iterable[str]] = ..., resource_filter: _Optional[_Iterable[str]] = ..., models: _Optional[_Union[Models, _Mapping]] = ..., instructions_per_resource: _Optional[int] = ..., max_steps: _Optional[int] = ..., backward_mode: _Optional[_Union[BackwardMode, str]] = ..., backward_window: _Optional[int] = ..., filter_policy: _Optional[_Union[FilterPolicy, str]] = ..., dataset: _Optional[str] = ..., concurrency: _Optional[_Union[Concurrency, _Mapping]] = ..., budget: _Optional[_Union[Budget, _Mapping]] = ..., dedup_threshold: _Optional[float] = ..., runners: _Optional[_Union[RunnerPods, _Mapping]] = ...) -> None: ...

class RunnerPods(_message.Message):
    __slots__ = ("replicas", "template")
    REPLICAS_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    replicas: int
    template: _struct_pb2.Struct
    def __init__(self, replicas: _Optional[int] = ..., template: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class StageStats(_message.Message):
    __slots__ = ("stage", "done", "total", "failed", "llm_calls", "tokens", "cost_usd", "wall_seconds")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    LLM_CALLS_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    WALL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    stage: Stage
    done: int
    total: int
    failed: int
    llm_calls: int
    tokens: int
    cost_usd: float
    wall_seconds: float
    def __init__(self, stage: _Optional[_Union[Stage, str]] = ..., done: _Optional[int] = ..., total: _Optional[int] = ..., failed: _Optional[int] = ..., llm_calls: _Optional[int] = ..., tokens: _Optional[int] = ..., cost_usd: _Optional[float] = ..., wall_seconds: _Optional[float] = ...) -> None: ...

class JobStats(_message.Message):
    __slots__ = ("resources", "instructions", "trajectories", "candidates_forward", "candidates_backward_task", "candidates_backward_summary", "kept", "dropped", "llm_calls", "tokens", "cost_usd", "stages", "yields", "llm_failures", "failed_rollouts", "label_failures")
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTIONS_FIELD_NUMBER: _ClassVar[int]
    TRAJECTORIES_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FORWARD_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_BACKWARD_TASK_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_BACKWARD_SUMMARY_FIELD_NUMBER: _ClassVar[int]
    KEPT_FIELD_NUMBER: _ClassVar[int]
    DROPPED_FIELD_NUMBER: _ClassVar[int]
    LLM_CALLS_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    STAGES_FIELD_NUMBER: _ClassVar[int]
    YIELDS_FIELD_NUMBER: _ClassVar[int]
    LLM_FAILURES_FIELD_NUMBER: _ClassVar[int]
    FAILED_ROLLOUTS_FIELD_NUMBER: _ClassVar[int]
    LABEL_FAILURES_FIELD_NUMBER: _ClassVar[int]
    resources: int
    instructions: int
    trajectories: int
    candidates_forward: int
    candidates_backward_task: int
    candidates_backward_summary: int
    kept: int
    dropped: int
    llm_calls: int
    tokens: int
    cost_usd: float
    stages: _containers.RepeatedCompositeFieldContainer[StageStats]
    yields: _containers.RepeatedCompositeFieldContainer[KindYield]
    llm_failures: _containers.RepeatedCompositeFieldContainer[LLMFailures]
    failed_rollouts: int
    label_failures: int
    def __init__(self, resources: _Optional[int] = ..., instructions: _Optional[int] = ..., trajectories: _Optional[int] = ..., candidates_forward: _Optional[int] = ..., candidates_backward_task: _Optional[int] = ..., candidates_backward_summary: _Optional[int] = ..., kept: _Optional[int] = ..., dropped: _Optional[int] = ..., llm_calls: _Optional[int] = ..., tokens: _Optional[int] = ..., cost_usd: _Optional[float] = ..., stages: _Optional[_Iterable[_Union[StageStats, _Mapping]]] = ..., yields: _Optional[_Iterable[_Union[KindYield, _Mapping]]] = ..., llm_failures: _Optional[_Iterable[_Union[LLMFailures, _Mapping]]] = ..., failed_rollouts: _Optional[int] = ..., label_failures: _Optional[int] = ...) -> None: ...

class LLMFailures(_message.Message):
    __slots__ = ("stage", "role", "kind", "count", "first_reason")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    FIRST_REASON_FIELD_NUMBER: _ClassVar[int]
    stage: str
    role: str
    kind: str
    count: int
    first_reason: str
    def __init__(self, stage: _Optional[str] = ..., role: _Optional[str] = ..., kind: _Optional[str] = ..., count: _Optional[int] = ..., first_reason: _Optional[str] = ...) -> None: ...

class KindYield(_message.Message):
    __slots__ = ("kind", "resources", "instructions", "kept")
    KIND_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTIONS_FIELD_NUMBER: _ClassVar[int]
    KEPT_FIELD_NUMBER: _ClassVar[int]
    kind: str
    resources: int
    instructions: int
    kept: int
    def __init__(self, kind: _Optional[str] = ..., resources: _Optional[int] = ..., instructions: _Optional[int] = ..., kept: _Optional[int] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ("id", "spec", "state", "stage", "stats", "error", "created_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    spec: JobSpec
    state: JobState
    stage: Stage
    stats: JobStats
    error: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., spec: _Optional[_Union[JobSpec, _Mapping]] = ..., state: _Optional[_Union[JobState, str]] = ..., stage: _Optional[_Union[Stage, str]] = ..., stats: _Optional[_Union[JobStats, _Mapping]] = ..., error: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateJobRequest(_message.Message):
    __slots__ = ("spec", "job_id")
    SPEC_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    spec: JobSpec
    job_id: str
    def __init__(self, spec: _Optional[_Union[JobSpec, _Mapping]] = ..., job_id: _Optional[str] = ...) -> None: ...

class GetJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "newest_first")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    NEWEST_FIRST_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    newest_first: bool
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., newest_first: _Optional[bool] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("jobs", "next_page_token")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[Job]
    next_page_token: str
    def __init__(self, jobs: _Optional[_Iterable[_Union[Job, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CancelJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class WatchJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class JobEvent(_message.Message):
    __slots__ = ("job_id", "state", "stage", "done", "total", "kept", "dropped", "llm_calls", "tokens", "cost_usd", "message", "errors", "time", "details")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    KEPT_FIELD_NUMBER: _ClassVar[int]
    DROPPED_FIELD_NUMBER: _ClassVar[int]
    LLM_CALLS_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    state: JobState
    stage: Stage
    done: int
    total: int
    kept: int
    dropped: int
    llm_calls: int
    tokens: int
    cost_usd: float
    message: str
    errors: _containers.RepeatedScalarFieldContainer[str]
    time: _timestamp_pb2.Timestamp
    details: _struct_pb2.Struct
    def __init__(self, job_id: _Optional[str] = ..., state: _Optional[_Union[JobState, str]] = ..., stage: _Optional[_Union[Stage, str]] = ..., done: _Optional[int] = ..., total: _Optional[int] = ..., kept: _Optional[int] = ..., dropped: _Optional[int] = ..., llm_calls: _Optional[int] = ..., tokens: _Optional[int] = ..., cost_usd: _Optional[float] = ..., message: _Optional[str] = ..., errors: _Optional[_Iterable[str]] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., details: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ListJobRecordsRequest(_message.Message):
    __slots__ = ("job_id", "kind", "page_size", "page_token", "kept", "reason_contains", "origin", "resource_id", "keys")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    KEPT_FIELD_NUMBER: _ClassVar[int]
    REASON_CONTAINS_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    kind: RecordKind
    page_size: int
    page_token: str
    kept: bool
    reason_contains: str
    origin: str
    resource_id: str
    keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, job_id: _Optional[str] = ..., kind: _Optional[_Union[RecordKind, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., kept: _Optional[bool] = ..., reason_contains: _Optional[str] = ..., origin: _Optional[str] = ..., resource_id: _Optional[str] = ..., keys: _Optional[_Iterable[str]] = ...) -> None: ...

class JobRecord(_message.Message):
    __slots__ = ("key", "kind", "ok", "reason", "payload", "resource_id", "task_key")
    KEY_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_KEY_FIELD_NUMBER: _ClassVar[int]
    key: str
    kind: RecordKind
    ok: bool
    reason: str
    payload: _struct_pb2.Struct
    resource_id: str
    task_key: str
    def __init__(self, key: _Optional[str] = ..., kind: _Optional[_Union[RecordKind, str]] = ..., ok: _Optional[bool] = ..., reason: _Optional[str] = ..., payload: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., resource_id: _Optional[str] = ..., task_key: _Optional[str] = ...) -> None: ...

class ListJobRecordsResponse(_message.Message):
    __slots__ = ("records", "next_page_token", "total")
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[JobRecord]
    next_page_token: str
    total: int
    def __init__(self, records: _Optional[_Iterable[_Union[JobRecord, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total: _Optional[int] = ...) -> None: ...
