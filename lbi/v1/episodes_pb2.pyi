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

class EpisodeOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EPISODE_OUTCOME_UNSPECIFIED: _ClassVar[EpisodeOutcome]
    EPISODE_OUTCOME_SUCCESS: _ClassVar[EpisodeOutcome]
    EPISODE_OUTCOME_FAILURE: _ClassVar[EpisodeOutcome]
    EPISODE_OUTCOME_UNKNOWN: _ClassVar[EpisodeOutcome]
EPISODE_OUTCOME_UNSPECIFIED: EpisodeOutcome
EPISODE_OUTCOME_SUCCESS: EpisodeOutcome
EPISODE_OUTCOME_FAILURE: EpisodeOutcome
EPISODE_OUTCOME_UNKNOWN: EpisodeOutcome

class ReportEpisodeRequest(_message.Message):
    __slots__ = ("dataset", "episode_id", "task", "steps", "final_observation", "outcome", "reward", "feedback", "env", "ended_at")
    DATASET_FIELD_NUMBER: _ClassVar[int]
    EPISODE_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    FINAL_OBSERVATION_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REWARD_FIELD_NUMBER: _ClassVar[int]
    FEEDBACK_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    ENDED_AT_FIELD_NUMBER: _ClassVar[int]
    dataset: str
    episode_id: str
    task: str
    steps: _containers.RepeatedCompositeFieldContainer[_common_pb2.Step]
    final_observation: str
    outcome: EpisodeOutcome
    reward: float
    feedback: str
    env: str
    ended_at: _timestamp_pb2.Timestamp
    def __init__(self, dataset: _Optional[str] = ..., episode_id: _Optional[str] = ..., task: _Optional[str] = ..., steps: _Optional[_Iterable[_Union[_common_pb2.Step, _Mapping]]] = ..., final_observation: _Optional[str] = ..., outcome: _Optional[_Union[EpisodeOutcome, str]] = ..., reward: _Optional[float] = ..., feedback: _Optional[str] = ..., env: _Optional[str] = ..., ended_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReportEpisodeResponse(_message.Message):
    __slots__ = ("accepted", "duplicate", "reason", "tenant")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    accepted: bool
    duplicate: bool
    reason: str
    tenant: str
    def __init__(self, accepted: _Optional[bool] = ..., duplicate: _Optional[bool] = ..., reason: _Optional[str] = ..., tenant: _Optional[str] = ...) -> None: ...

class DeleteEpisodesRequest(_message.Message):
    __slots__ = ("dataset", "episode_ids", "tenant")
    DATASET_FIELD_NUMBER: _ClassVar[int]
    EPISODE_IDS_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    dataset: str
    episode_ids: _containers.RepeatedScalarFieldContainer[str]
    tenant: str
    def __init__(self, dataset: _Optional[str] = ..., episode_ids: _Optional[_Iterable[str]] = ..., tenant: _Optional[str] = ...) -> None: ...

class DeleteEpisodesResponse(_message.Message):
    __slots__ = ("episodes", "examples")
    EPISODES_FIELD_NUMBER: _ClassVar[int]
    EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    episodes: int
    examples: int
    def __init__(self, episodes: _Optional[int] = ..., examples: _Optional[int] = ...) -> None: ...

class GetOnlineStatsRequest(_message.Message):
    __slots__ = ("dataset",)
    DATASET_FIELD_NUMBER: _ClassVar[int]
    dataset: str
    def __init__(self, dataset: _Optional[str] = ...) -> None: ...

class OnlineStats(_message.Message):
    __slots__ = ("dataset", "accepting", "episodes_received", "episodes_learned", "episodes_pending", "candidates", "examples_kept", "dropped", "delay_p50_s", "delay_p99_s")
    class DroppedEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    DATASET_FIELD_NUMBER: _ClassVar[int]
    ACCEPTING_FIELD_NUMBER: _ClassVar[int]
    EPISODES_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    EPISODES_LEARNED_FIELD_NUMBER: _ClassVar[int]
    EPISODES_PENDING_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    EXAMPLES_KEPT_FIELD_NUMBER: _ClassVar[int]
    DROPPED_FIELD_NUMBER: _ClassVar[int]
    DELAY_P50_S_FIELD_NUMBER: _ClassVar[int]
    DELAY_P99_S_FIELD_NUMBER: _ClassVar[int]
    dataset: str
    accepting: bool
    episodes_received: int
    episodes_learned: int
    episodes_pending: int
    candidates: int
    examples_kept: int
    dropped: _containers.ScalarMap[str, int]
    delay_p50_s: float
    delay_p99_s: float
    def __init__(self, dataset: _Optional[str] = ..., accepting: _Optional[bool] = ..., episodes_received: _Optional[int] = ..., episodes_learned: _Optional[int] = ..., episodes_pending: _Optional[int] = ..., candidates: _Optional[int] = ..., examples_kept: _Optional[int] = ..., dropped: _Optional[_Mapping[str, int]] = ..., delay_p50_s: _Optional[float] = ..., delay_p99_s: _Optional[float] = ...) -> None: ...

class ListEpisodesRequest(_message.Message):
    __slots__ = ("dataset", "page_size", "page_token", "episode_ids", "full")
    DATASET_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    EPISODE_IDS_FIELD_NUMBER: _ClassVar[int]
    FULL_FIELD_NUMBER: _ClassVar[int]
    dataset: str
    page_size: int
    page_token: str
    episode_ids: _containers.RepeatedScalarFieldContainer[str]
    full: bool
    def __init__(self, dataset: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., episode_ids: _Optional[_Iterable[str]] = ..., full: _Optional[bool] = ...) -> None: ...

class EpisodeRecord(_message.Message):
    __slots__ = ("episode_id", "tenant", "task", "env", "outcome", "reward", "feedback", "step_count", "steps", "final_observation", "ended_at", "learned", "candidates", "stored", "dropped", "delay_s", "example_ids")
    class DroppedEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    EPISODE_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REWARD_FIELD_NUMBER: _ClassVar[int]
    FEEDBACK_FIELD_NUMBER: _ClassVar[int]
    STEP_COUNT_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    FINAL_OBSERVATION_FIELD_NUMBER: _ClassVar[int]
    ENDED_AT_FIELD_NUMBER: _ClassVar[int]
    LEARNED_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    STORED_FIELD_NUMBER: _ClassVar[int]
    DROPPED_FIELD_NUMBER: _ClassVar[int]
    DELAY_S_FIELD_NUMBER: _ClassVar[int]
    EXAMPLE_IDS_FIELD_NUMBER: _ClassVar[int]
    episode_id: str
    tenant: str
    task: str
    env: str
    outcome: EpisodeOutcome
    reward: float
    feedback: str
    step_count: int
    steps: _containers.RepeatedCompositeFieldContainer[_common_pb2.Step]
    final_observation: str
    ended_at: _timestamp_pb2.Timestamp
    learned: bool
    candidates: int
    stored: int
    dropped: _containers.ScalarMap[str, int]
    delay_s: float
    example_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, episode_id: _Optional[str] = ..., tenant: _Optional[str] = ..., task: _Optional[str] = ..., env: _Optional[str] = ..., outcome: _Optional[_Union[EpisodeOutcome, str]] = ..., reward: _Optional[float] = ..., feedback: _Optional[str] = ..., step_count: _Optional[int] = ..., steps: _Optional[_Iterable[_Union[_common_pb2.Step, _Mapping]]] = ..., final_observation: _Optional[str] = ..., ended_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., learned: _Optional[bool] = ..., candidates: _Optional[int] = ..., stored: _Optional[int] = ..., dropped: _Optional[_Mapping[str, int]] = ..., delay_s: _Optional[float] = ..., example_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ListEpisodesResponse(_message.Message):
    __slots__ = ("episodes", "next_page_token", "total")
    EPISODES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    episodes: _containers.RepeatedCompositeFieldContainer[EpisodeRecord]
    next_page_token: str
    total: int
    def __init__(self, episodes: _Optional[_Iterable[_Union[EpisodeRecord, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total: _Optional[int] = ...) -> None: ...
