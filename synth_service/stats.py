"""Job statistics like the paper's Table 1, from the journal's running counts (a few small reads per call, whatever
the job's size; the yield per resource kind, which traces every kept example back, only once a job has ended)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from synth_service.journal import Journal
from synth_service.stages.names import (
    CANDIDATES,
    FILTERED,
    INGESTED,
    INSTRUCTIONS,
    LABEL_FAILURES,
    PIPELINE,
    RESOURCES,
    TRAJECTORIES,
)


@dataclass
class StageFigures:
    llm_calls: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    wall_seconds: float = 0.0


@dataclass
class KindYield:
    """What one kind of resource (docs, introspection, crawl) gave the job."""

    resources: int = 0
    instructions: int = 0
    kept: int = 0


@dataclass
class LLMFailures:
    """LLM calls of one stage and role that failed for good, of one kind, and the first one's reason."""

    stage: str
    role: str
    kind: str
    count: int
    first_reason: str


@dataclass
class JobStats:
    resources: int = 0
    instructions: int = 0
    trajectories: int = 0
    failed_rollouts: int = 0
    candidates: dict[str, int] = field(default_factory=dict)
    label_failures: int = 0
    kept: int = 0
    dropped: int = 0
    ingested: int = 0
    llm_calls: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    stages: dict[str, StageFigures] = field(default_factory=dict)
    yields: dict[str, KindYield] = field(default_factory=dict)
    llm_failures: list[LLMFailures] = field(default_factory=list)

    @property
    def kept_fraction(self) -> float:
        total = self.kept + self.dropped
        return self.kept / total if total else 0.0

    def to_dict(self) -> dict:
        data = asdict(self)
        data["kept_fraction"] = round(self.kept_fraction, 4)
        return data


def yields_by_kind(journal: Journal, job_id: str) -> dict[str, KindYield]:
    """Resources, instructions and kept examples per resource kind (kept examples traced back through their
    trajectory and instruction to the resource the task was written from)."""
    kinds = {key: payload.get("kind", "docs") for key, payload, _, _ in journal.records(job_id, RESOURCES)}
    found: dict[str, KindYield] = {kind: KindYield() for kind in sorted(set(kinds.values()))}
    for kind in kinds.values():
        found[kind].resources += 1
    by_instruction = {}
    for key, payload, _, _ in journal.records(job_id, INSTRUCTIONS):
        by_instruction[key] = kinds.get(payload["resource_id"], "docs")
        found.setdefault(by_instruction[key], KindYield()).instructions += 1
    by_trajectory = {
        payload["id"]: by_instruction.get(payload["instruction_id"], "docs")
        for _, payload, _, _ in journal.records(job_id, TRAJECTORIES, ok=True)
    }
    for _, payload, _, _ in journal.records(job_id, FILTERED, ok=True):
        found.setdefault(by_trajectory.get(payload["source_trajectory_id"], "docs"), KindYield()).kept += 1
    return found


def job_stats(journal: Journal, job_id: str, with_yields: bool = False) -> JobStats:
    candidates = {
        "forward": 0,
        "backward-task": 0,
        "backward-summary": 0,
        **journal.count_by_origin(job_id, CANDIDATES),
    }
    llm = journal.llm_totals(job_id)
    times = journal.times(job_id)
    stages = {s: StageFigures(*llm.get(s, (0, 0, 0.0)), wall_seconds=round(times.get(s, 0.0), 3)) for s in PIPELINE}
    return JobStats(
        resources=journal.count(job_id, RESOURCES),
        instructions=journal.count(job_id, INSTRUCTIONS),
        trajectories=journal.count(job_id, TRAJECTORIES, ok=True),
        failed_rollouts=journal.count(job_id, TRAJECTORIES, ok=False),
        candidates=candidates,
        label_failures=journal.count(job_id, LABEL_FAILURES),
        kept=journal.count(job_id, FILTERED, ok=True),
        dropped=journal.count(job_id, FILTERED, ok=False),
        ingested=journal.count(job_id, INGESTED),
        llm_calls=sum(v[0] for v in llm.values()),
        tokens=sum(v[1] for v in llm.values()),
        cost_usd=round(sum(v[2] for v in llm.values()), 6),
        stages=stages,
        yields=yields_by_kind(journal, job_id) if with_yields else {},
        llm_failures=[LLMFailures(*row) for row in journal.llm_failures(job_id)],
    )
