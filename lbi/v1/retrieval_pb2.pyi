import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from lbi.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RetrievalMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RETRIEVAL_MODE_UNSPECIFIED: _ClassVar[RetrievalMode]
    RETRIEVAL_MODE_OBSERVATION: _ClassVar[RetrievalMode]
    RETRIEVAL_MODE_QUERY: _ClassVar[RetrievalMode]
    RETRIEVAL_MODE_INSTRUCTION: _ClassVar[RetrievalMode]
    RETRIEVAL_MODE_AGENTIC: _ClassVar[RetrievalMode]
RETRIEVAL_MODE_UNSPECIFIED: RetrievalMode
RETRIEVAL_MODE_OBSERVATION: RetrievalMode
RETRIEVAL_MODE_QUERY: RetrievalMode
RETRIEVAL_MODE_INSTRUCTION: RetrievalMode
RETRIEVAL_MODE_AGENTIC: RetrievalMode

class RetrievalFilters(_message.Message):
    __slots__ = ("envs", "origins")
    ENVS_FIELD_NUMBER: _ClassVar[int]
    ORIGINS_FIELD_NUMBER: _ClassVar[int]
    envs: _containers.RepeatedScalarFieldContainer[str]
    origins: _containers.RepeatedScalarFieldContainer[_common_pb2.Origin]
    def __init__(self, envs: _Optional[_Iterable[str]] = ..., origins: _Optional[_Iterable[_Union[_common_pb2.Origin, str]]] = ...) -> None: ...

class RetrieveRequest(_message.Message):
    __slots__ = ("dataset", "instruction", "observation", "history", "queries", "modes", "k_observation", "k_query", "k_instruction", "filters", "prompt_budget_chars", "generate_queries", "window", "dense_observation", "per_trajectory", "episode_id", "max_tokens", "tokenizer", "min_score", "metadata_only")
    DATASET_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTION_FIELD_NUMBER: _ClassVar[int]
    OBSERVATION_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    QUERIES_FIELD_NUMBER: _ClassVar[int]
    MODES_FIELD_NUMBER: _ClassVar[int]
    K_OBSERVATION_FIELD_NUMBER: _ClassVar[int]
    K_QUERY_FIELD_NUMBER: _ClassVar[int]
    K_INSTRUCTION_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_BUDGET_CHARS_FIELD_NUMBER: _ClassVar[int]
    GENERATE_QUERIES_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    DENSE_OBSERVATION_FIELD_NUMBER: _ClassVar[int]
    PER_TRAJECTORY_FIELD_NUMBER: _ClassVar[int]
    EPISODE_ID_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TOKENIZER_FIELD_NUMBER: _ClassVar[int]
    MIN_SCORE_FIELD_NUMBER: _ClassVar[int]
    METADATA_ONLY_FIELD_NUMBER: _ClassVar[int]
    dataset: str
    instruction: str
    observation: str
    history: _containers.RepeatedCompositeFieldContainer[_common_pb2.Step]
    queries: _containers.RepeatedScalarFieldContainer[str]
    modes: _containers.RepeatedScalarFieldContainer[RetrievalMode]
    k_observation: int
    k_query: int
    k_instruction: int
    filters: RetrievalFilters
    prompt_budget_chars: int
    generate_queries: bool
    window: int
    dense_observation: bool
    per_trajectory: int
    episode_id: str
    max_tokens: int
    tokenizer: str
    min_score: float
    metadata_only: bool
    def __init__(self, dataset: _Optional[str] = ..., instruction: _Optional[str] = ..., observation: _Optional[str] = ..., history: _Optional[_Iterable[_Union[_common_pb2.Step, _Mapping]]] = ..., queries: _Optional[_Iterable[str]] = ..., modes: _Optional[_Iterable[_Union[RetrievalMode, str]]] = ..., k_observation: _Optional[int] = ..., k_query: _Optional[int] = ..., k_instruction: _Optional[int] = ..., filters: _Optional[_Union[RetrievalFilters, _Mapping]] = ..., prompt_budget_chars: _Optional[int] = ..., generate_queries: _Optional[bool] = ..., window: _Optional[int] = ..., dense_observation: _Optional[bool] = ..., per_trajectory: _Optional[int] = ..., episode_id: _Optional[str] = ..., max_tokens: _Optional[int] = ..., tokenizer: _Optional[str] = ..., min_score: _Optional[float] = ..., metadata_only: _Optional[bool] = ...) -> None: ...

class RetrievedExample(_message.Message):
    __slots__ = ("example", "score", "mode", "matched_step", "query", "window_start")
    EXAMPLE_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    MATCHED_STEP_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    WINDOW_START_FIELD_NUMBER: _ClassVar[int]
    example: _common_pb2.Example
    score: float
    mode: RetrievalMode
    matched_step: int
    query: str
    window_start: int
    def __init__(self, example: _Optional[_Union[_common_pb2.Example, _Mapping]] = ..., score: _Optional[float] = ..., mode: _Optional[_Union[RetrievalMode, str]] = ..., matched_step: _Optional[int] = ..., query: _Optional[str] = ..., window_start: _Optional[int] = ...) -> None: ...

class RetrieveResponse(_message.Message):
    __slots__ = ("examples", "prompt_block", "queries", "timings_ms", "degraded")
    class TimingsMsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    PROMPT_BLOCK_FIELD_NUMBER: _ClassVar[int]
    QUERIES_FIELD_NUMBER: _ClassVar[int]
    TIMINGS_MS_FIELD_NUMBER: _ClassVar[int]
    DEGRADED_FIELD_NUMBER: _ClassVar[int]
    examples: _containers.RepeatedCompositeFieldContainer[RetrievedExample]
    prompt_block: str
    queries: _containers.RepeatedScalarFieldContainer[str]
    timings_ms: _containers.ScalarMap[str, float]
    degraded: str
    def __init__(self, examples: _Optional[_Iterable[_Union[RetrievedExample, _Mapping]]] = ..., prompt_block: _Optional[str] = ..., queries: _Optional[_Iterable[str]] = ..., timings_ms: _Optional[_Mapping[str, float]] = ..., degraded: _Optional[str] = ...) -> None: ...

class BatchRetrieveRequest(_message.Message):
    __slots__ = ("requests",)
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[RetrieveRequest]
    def __init__(self, requests: _Optional[_Iterable[_Union[RetrieveRequest, _Mapping]]] = ...) -> None: ...

class BatchRetrieveItem(_message.Message):
    __slots__ = ("response", "error_code", "error_message")
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    response: RetrieveResponse
    error_code: str
    error_message: str
    def __init__(self, response: _Optional[_Union[RetrieveResponse, _Mapping]] = ..., error_code: _Optional[str] = ..., error_message: _Optional[str] = ...) -> None: ...

class BatchRetrieveResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[BatchRetrieveItem]
    def __init__(self, items: _Optional[_Iterable[_Union[BatchRetrieveItem, _Mapping]]] = ...) -> None: ...

class ListDatasetsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListDatasetsResponse(_message.Message):
    __slots__ = ("datasets",)
    DATASETS_FIELD_NUMBER: _ClassVar[int]
    datasets: _containers.RepeatedCompositeFieldContainer[DatasetInfo]
    def __init__(self, datasets: _Optional[_Iterable[_Union[DatasetInfo, _Mapping]]] = ...) -> None: ...

class DescribeDatasetRequest(_message.Message):
    __slots__ = ("dataset",)
    DATASET_FIELD_NUMBER: _ClassVar[int]
    dataset: str
    def __init__(self, dataset: _Optional[str] = ...) -> None: ...

class DatasetInfo(_message.Message):
    __slots__ = ("name", "examples", "steps", "embedding_model", "embedding_dim", "created_by_jobs", "envs", "created_at", "online_examples")
    NAME_FIELD_NUMBER: _ClassVar[int]
    EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_MODEL_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_DIM_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_JOBS_FIELD_NUMBER: _ClassVar[int]
    ENVS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    ONLINE_EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    name: str
    examples: int
    steps: int
    embedding_model: str
    embedding_dim: int
    created_by_jobs: _containers.RepeatedScalarFieldContainer[str]
    envs: _containers.RepeatedScalarFieldContainer[str]
    created_at: _timestamp_pb2.Timestamp
    online_examples: int
    def __init__(self, name: _Optional[str] = ..., examples: _Optional[int] = ..., steps: _Optional[int] = ..., embedding_model: _Optional[str] = ..., embedding_dim: _Optional[int] = ..., created_by_jobs: _Optional[_Iterable[str]] = ..., envs: _Optional[_Iterable[str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., online_examples: _Optional[int] = ...) -> None: ...

class ListExamplesRequest(_message.Message):
    __slots__ = ("dataset", "page_size", "page_token", "filters", "full")
    DATASET_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    FULL_FIELD_NUMBER: _ClassVar[int]
    dataset: str
    page_size: int
    page_token: str
    filters: RetrievalFilters
    full: bool
    def __init__(self, dataset: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filters: _Optional[_Union[RetrievalFilters, _Mapping]] = ..., full: _Optional[bool] = ...) -> None: ...

class ListedExample(_message.Message):
    __slots__ = ("example", "step_count", "job_id")
    EXAMPLE_FIELD_NUMBER: _ClassVar[int]
    STEP_COUNT_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    example: _common_pb2.Example
    step_count: int
    job_id: str
    def __init__(self, example: _Optional[_Union[_common_pb2.Example, _Mapping]] = ..., step_count: _Optional[int] = ..., job_id: _Optional[str] = ...) -> None: ...

class ListExamplesResponse(_message.Message):
    __slots__ = ("examples", "next_page_token", "total")
    EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    examples: _containers.RepeatedCompositeFieldContainer[ListedExample]
    next_page_token: str
    total: int
    def __init__(self, examples: _Optional[_Iterable[_Union[ListedExample, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total: _Optional[int] = ...) -> None: ...

class GetExamplesRequest(_message.Message):
    __slots__ = ("dataset", "ids")
    DATASET_FIELD_NUMBER: _ClassVar[int]
    IDS_FIELD_NUMBER: _ClassVar[int]
    dataset: str
    ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, dataset: _Optional[str] = ..., ids: _Optional[_Iterable[str]] = ...) -> None: ...

class GetExamplesResponse(_message.Message):
    __slots__ = ("examples", "missing")
    EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    MISSING_FIELD_NUMBER: _ClassVar[int]
    examples: _containers.RepeatedCompositeFieldContainer[ListedExample]
    missing: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, examples: _Optional[_Iterable[_Union[ListedExample, _Mapping]]] = ..., missing: _Optional[_Iterable[str]] = ...) -> None: ...

class DeleteExamplesRequest(_message.Message):
    __slots__ = ("dataset", "ids")
    DATASET_FIELD_NUMBER: _ClassVar[int]
    IDS_FIELD_NUMBER: _ClassVar[int]
    dataset: str
    ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, dataset: _Optional[str] = ..., ids: _Optional[_Iterable[str]] = ...) -> None: ...

class DeleteExamplesResponse(_message.Message):
    __slots__ = ("examples",)
    EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    examples: int
    def __init__(self, examples: _Optional[int] = ...) -> None: ...
