"""The records that flow through the stages: Resource -> Instruction -> Trajectory -> Example.

Ids are deterministic hashes of content, so writing the same record twice is a no-op everywhere
(journal rows, Qdrant points). Each record converts to and from its protobuf message in lbi.v1.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, cast

from google.protobuf import json_format, struct_pb2, timestamp_pb2

from lbi.errors import InvalidArgument
from lbi.v1 import common_pb2 as pb


def content_id(kind: str, *parts: Any) -> str:
    """A 32-hex-digit id derived from a record kind and its content (canonical JSON)."""
    blob = json.dumps([kind, *parts], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


def to_timestamp(seconds: float) -> timestamp_pb2.Timestamp:
    """A protobuf Timestamp of seconds since the epoch."""
    stamp = timestamp_pb2.Timestamp()
    stamp.FromNanoseconds(int(seconds * 1e9))
    return stamp


def to_struct(data: dict[str, Any] | None) -> struct_pb2.Struct:
    """A protobuf Struct of a JSON-like dict (values that are not JSON become strings)."""
    message = struct_pb2.Struct()
    message.update(json.loads(json.dumps(data or {}, default=str)))
    return message


def struct_to_dict(message: struct_pb2.Struct, field: str) -> dict[str, Any]:
    """A request's Struct field as a dict; INVALID_ARGUMENT naming the field when it holds NaN or infinity."""
    try:
        return json_format.MessageToDict(message)
    except ValueError as exc:
        raise InvalidArgument(field, f"not valid JSON: {exc}") from None


_EPISODE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")


def check_episode_id(value: str) -> str:
    """An agent-chosen episode id, if usable (1-128 letters, digits, '_', '.', ':', '-'); ValueError otherwise."""
    if not _EPISODE_ID.fullmatch(value):  # fullmatch: `$` alone lets a trailing newline through
        raise ValueError("episode ids are 1-128 letters, digits, '_', '.', ':', '-', starting with a letter or digit")
    return value


def point_uuid(record_id: str) -> str:
    """The Qdrant point id (a UUID) of a content id, or of any string."""
    if len(record_id) == 32 and all(c in "0123456789abcdef" for c in record_id):
        return str(uuid.UUID(hex=record_id))
    return str(uuid.uuid5(uuid.NAMESPACE_URL, record_id))


class Origin(str, Enum):
    """Where an example's instruction came from."""

    FORWARD = "forward"
    BACKWARD_TASK = "backward-task"
    BACKWARD_SUMMARY = "backward-summary"
    ONLINE = "online"  # learned from a production agent's reported episode (metadata: episode, tenant, kind)

    def to_proto(self) -> pb.Origin:
        return _ORIGIN_TO_PB[self]

    @classmethod
    def from_proto(cls, value: int) -> Origin:
        for origin, number in _ORIGIN_TO_PB.items():
            if number == value:
                return origin
        raise ValueError(f"unknown origin {value}")


_ORIGIN_TO_PB: dict[Origin, pb.Origin] = {
    Origin.FORWARD: pb.ORIGIN_FORWARD,
    Origin.BACKWARD_TASK: pb.ORIGIN_BACKWARD_TASK,
    Origin.BACKWARD_SUMMARY: pb.ORIGIN_BACKWARD_SUMMARY,
    Origin.ONLINE: pb.ORIGIN_ONLINE,
}


class Outcome(str, Enum):
    """How a rollout ended."""

    STOPPED = "stopped"
    DONE = "done"
    MAX_STEPS = "max_steps"
    ERROR = "error"

    def to_proto(self) -> pb.Outcome:
        return cast(pb.Outcome, pb.Outcome.Value(f"OUTCOME_{self.name}"))  # the stubs say int

    @classmethod
    def from_proto(cls, value: int) -> Outcome:
        return cls[pb.Outcome.Name(value).removeprefix("OUTCOME_")]


@dataclass(frozen=True)
class Resource:
    """A piece of an environment's documentation."""

    env: str
    title: str
    text: str
    uri: str = ""
    kind: str = "docs"  # docs (documentation) | introspection (read from the environment) | crawl

    @property
    def id(self) -> str:
        return content_id("resource", self.env, self.title, self.text)

    def to_proto(self) -> pb.Resource:
        return pb.Resource(id=self.id, env=self.env, title=self.title, text=self.text, uri=self.uri, kind=self.kind)

    @classmethod
    def from_proto(cls, msg: pb.Resource) -> Resource:
        return cls(env=msg.env, title=msg.title, text=msg.text, uri=msg.uri, kind=msg.kind or "docs")


@dataclass(frozen=True)
class Instruction:
    """A task an LLM wrote from a resource."""

    resource_id: str
    text: str

    @property
    def id(self) -> str:
        return content_id("instruction", self.resource_id, self.text)

    def to_proto(self) -> pb.Instruction:
        return pb.Instruction(id=self.id, resource_id=self.resource_id, text=self.text)

    @classmethod
    def from_proto(cls, msg: pb.Instruction) -> Instruction:
        return cls(resource_id=msg.resource_id, text=msg.text)


@dataclass(frozen=True)
class Step:
    """The observation the agent saw, the action it then took, its reasoning, and whether the action failed."""

    observation: str
    action: str
    thought: str = ""
    error: bool = False

    def to_proto(self) -> pb.Step:
        return pb.Step(observation=self.observation, action=self.action, thought=self.thought, error=self.error)

    @classmethod
    def from_proto(cls, msg: pb.Step) -> Step:
        return cls(observation=msg.observation, action=msg.action, thought=msg.thought, error=msg.error)

    def to_dict(self) -> dict[str, Any]:
        return {"observation": self.observation, "action": self.action, "thought": self.thought, "error": self.error}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Step:
        return cls(data["observation"], data["action"], data.get("thought", ""), bool(data.get("error", False)))


def state_at(steps: Sequence[Step] | Sequence[dict[str, Any]], index: int, final_observation: str) -> str:
    """o_index: the observation before action `index` (steps[index]'s), or, for index == len(steps), the final one.
    The observation after action i is state_at(steps, i + 1, final). Steps may be Step records or their dicts."""
    if index < len(steps):
        step = steps[index]
        return step["observation"] if isinstance(step, dict) else step.observation
    return final_observation


def first_repeated_state(steps: tuple[Step, ...] | list[Step], final_observation: str) -> int | None:
    """Index of the first step whose action and resulting observation equal the previous step's, if any."""
    after = [s.observation for s in steps[1:]] + [final_observation]
    for i in range(1, len(steps)):
        if steps[i].action == steps[i - 1].action and after[i] == after[i - 1]:
            return i
    return None


def _steps_content(steps: tuple[Step, ...]) -> list[list[Any]]:
    return [[s.observation, s.action, s.thought, s.error] for s in steps]


@dataclass(frozen=True)
class Trajectory:
    """A rollout o0, a1, o1, ..., aL, oL: steps[i] holds o_i and a_(i+1); final_observation is oL."""

    instruction_id: str
    env: str
    steps: tuple[Step, ...]
    final_observation: str
    outcome: Outcome
    answer: str = ""
    error: str = ""  # why an ERROR episode ended (the policy's call failed, say); not part of its identity

    @property
    def id(self) -> str:
        return content_id(
            "trajectory",
            self.instruction_id,
            self.env,
            _steps_content(self.steps),
            self.final_observation,
            self.outcome.value,
            self.answer,
        )

    def to_proto(self) -> pb.Trajectory:
        return pb.Trajectory(
            id=self.id,
            instruction_id=self.instruction_id,
            env=self.env,
            steps=[s.to_proto() for s in self.steps],
            final_observation=self.final_observation,
            outcome=self.outcome.to_proto(),
            answer=self.answer,
            error=self.error,
        )

    @classmethod
    def from_proto(cls, msg: pb.Trajectory) -> Trajectory:
        return cls(
            instruction_id=msg.instruction_id,
            env=msg.env,
            steps=tuple(Step.from_proto(s) for s in msg.steps),
            final_observation=msg.final_observation,
            outcome=Outcome.from_proto(msg.outcome),
            answer=msg.answer,
            error=msg.error,
        )


CRITERIA = ("aligned", "coherent", "natural", "reasonable")


@dataclass(frozen=True)
class Verdict:
    """One committee member's answer on the four criteria, each with its reason."""

    judge: str
    criteria: tuple[tuple[str, bool, str], ...]

    @property
    def accepted(self) -> bool:
        return bool(self.criteria) and all(ok for _, ok, _ in self.criteria)

    def to_proto(self) -> pb.Verdict:
        return pb.Verdict(
            judge=self.judge,
            accepted=self.accepted,
            criteria=[pb.CriterionVerdict(criterion=c, ok=ok, reason=r) for c, ok, r in self.criteria],
        )

    @classmethod
    def from_proto(cls, msg: pb.Verdict) -> Verdict:
        return cls(judge=msg.judge, criteria=tuple((c.criterion, c.ok, c.reason) for c in msg.criteria))


@dataclass(frozen=True)
class Example:
    """An (instruction, trajectory slice) pair: the unit that is filtered, stored and retrieved."""

    instruction: str
    env: str
    steps: tuple[Step, ...]
    final_observation: str
    origin: Origin
    source_trajectory_id: str
    span_start: int
    span_end: int
    verdicts: tuple[Verdict, ...] = ()
    kept: bool = False
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @functools.cached_property
    def id(self) -> str:
        """Depends on what the example says, not on how it was judged (hashed once per example object)."""
        return content_id(
            "example",
            self.instruction,
            self.env,
            _steps_content(self.steps),
            self.final_observation,
            self.origin.value,
            self.source_trajectory_id,
            self.span_start,
            self.span_end,
        )

    @functools.cached_property
    def demonstration_key(self) -> str:
        """What an agent is shown (instruction, observations, actions, errors, final observation): two examples
        from different trajectories with the same key are the same demonstration."""
        shown = [[s.observation, s.action, s.error] for s in self.steps]
        return content_id("demonstration", self.instruction, self.env, shown, self.final_observation)

    @functools.cached_property
    def proto(self) -> pb.Example:
        """The message, built once per example object (a retrieval service serves the same cached examples again
        and again): read-only, copy it to change it."""
        return self.to_proto()

    def to_proto(self) -> pb.Example:
        return pb.Example(
            id=self.id,
            instruction=self.instruction,
            env=self.env,
            steps=[s.to_proto() for s in self.steps],
            final_observation=self.final_observation,
            origin=self.origin.to_proto(),
            source_trajectory_id=self.source_trajectory_id,
            span_start=self.span_start,
            span_end=self.span_end,
            verdicts=[v.to_proto() for v in self.verdicts],
            kept=self.kept,
            metadata=to_struct(self.metadata),
        )

    @classmethod
    def from_proto(cls, msg: pb.Example) -> Example:
        return cls(
            instruction=msg.instruction,
            env=msg.env,
            steps=tuple(Step.from_proto(s) for s in msg.steps),
            final_observation=msg.final_observation,
            origin=Origin.from_proto(msg.origin),
            source_trajectory_id=msg.source_trajectory_id,
            span_start=msg.span_start,
            span_end=msg.span_end,
            verdicts=tuple(Verdict.from_proto(v) for v in msg.verdicts),
            kept=msg.kept,
            metadata=json_format.MessageToDict(msg.metadata),
        )
