"""A reported episode: validated from its request (INVALID_ARGUMENT names the field), redacted, as journaled."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from lbi.clients.episodes import OUTCOMES
from lbi.dataset import check_name
from lbi.errors import InvalidArgument
from lbi.records import Step, content_id
from lbi.records import check_episode_id as _check_id
from lbi.v1 import episodes_pb2 as pb
from synth_service.online.redact import Redactor

OUTCOME_NAMES = {value: name for name, value in OUTCOMES.items()}
MAX_TEXT = 1_000_000  # bytes per observation
MAX_TOTAL = 16_000_000  # bytes per episode


@dataclass
class Episode:
    dataset: str
    episode_id: str
    tenant: str
    env: str
    task: str
    steps: list[dict[str, Any]]
    final_observation: str
    outcome: str
    reward: float | None = None
    feedback: str = ""
    ended_at: float = 0.0
    received_at: float = 0.0
    redactions: dict[str, int] = field(default_factory=dict)
    key: str = ""  # its key in the journal (`episode_key`); "" in rows journaled before ids were per tenant

    @property
    def journal_key(self) -> str:
        return self.key or self.episode_id

    @property
    def trajectory_id(self) -> str:
        """The source trajectory id of every example learned from this episode (deleting it deletes them): one
        tenant's episode never shares it with another tenant's episode of the same id."""
        if self.key:
            return content_id("episode", self.dataset, self.tenant, self.episode_id)
        return content_id("episode", self.dataset, self.episode_id)

    def trajectory(self) -> dict[str, Any]:
        return {
            "id": self.trajectory_id,
            "env": self.env,
            "steps": self.steps,
            "final_observation": self.final_observation,
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Episode:
        return cls(**data)


def episode_key(episode_id: str, tenant: str) -> str:
    """An episode's key in its dataset's journal: episode ids are each tenant's own (an id holds no '/'), so one
    tenant reporting an id first neither drops another's episode of that id as a duplicate nor learns it was used."""
    return f"{episode_id}/{tenant}"


def check_episode_id(value: str, field_name: str = "episode_id") -> str:
    try:
        return _check_id(value)
    except ValueError as exc:
        raise InvalidArgument(field_name, str(exc)) from None


def parse_report(
    msg: pb.ReportEpisodeRequest, tenant: str, default_env: str, max_steps: int, redactor: Redactor
) -> Episode:
    """The episode a request reports, redacted; INVALID_ARGUMENT names the first bad field."""
    try:
        check_name(msg.dataset)
    except ValueError as exc:
        raise InvalidArgument("dataset", str(exc)) from None
    check_episode_id(msg.episode_id)
    if not msg.task.strip():
        raise InvalidArgument("task", "must not be empty")
    if not msg.steps:
        raise InvalidArgument("steps", "an episode needs at least one step")
    if len(msg.steps) > max_steps:
        raise InvalidArgument("steps", f"more than the dataset's policy allows ({max_steps})")
    for i, step in enumerate(msg.steps):
        if not step.action.strip():
            raise InvalidArgument(f"steps[{i}].action", "must not be empty")
        if len(step.observation.encode()) > MAX_TEXT:
            raise InvalidArgument(f"steps[{i}].observation", f"larger than {MAX_TEXT} bytes")
    if len(msg.final_observation.encode()) > MAX_TEXT:
        raise InvalidArgument("final_observation", f"larger than {MAX_TEXT} bytes")
    if msg.ByteSize() > MAX_TOTAL:
        raise InvalidArgument("steps", f"the episode is larger than {MAX_TOTAL} bytes")
    if msg.outcome not in OUTCOME_NAMES:
        raise InvalidArgument("outcome", "must be success, failure or unknown")
    env = msg.env or default_env
    if not env:
        raise InvalidArgument("env", "must name the environment (the dataset's policy names no default)")
    counts: Counter = Counter()
    steps = [
        Step(
            redactor.text(s.observation, counts),
            redactor.text(s.action, counts),
            redactor.text(s.thought, counts),
            s.error,
        ).to_dict()
        for s in msg.steps
    ]
    now = time.time()
    ended = msg.ended_at.ToNanoseconds() / 1e9 if msg.HasField("ended_at") else now
    return Episode(
        dataset=msg.dataset,
        episode_id=msg.episode_id,
        tenant=tenant,
        env=env,
        task=redactor.text(msg.task, counts),
        steps=steps,
        final_observation=redactor.text(msg.final_observation, counts),
        outcome=OUTCOME_NAMES[msg.outcome],
        reward=msg.reward if msg.HasField("reward") else None,
        feedback=redactor.text(msg.feedback, counts),
        ended_at=min(ended, now),
        received_at=now,
        redactions=dict(counts),
        key=episode_key(msg.episode_id, tenant),
    )
