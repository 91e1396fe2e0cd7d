"""One dataset's continuous online job: reported episodes become kept examples, in small batches, crash-safe.

    report ─▶ journal (committed before the RPC answers) ─▶ batch of pending episodes, in arrival order:
        backward construction + committee (concurrently, journaled per episode) ─▶ one episode at a time:
        near-duplicates dropped ─▶ ingest (origin online, episode and tenant in the metadata) ─▶ `learned` row

Each episode is a journal job of its own (`online/<dataset>/<episode id>/<tenant>`): its labels, verdicts and LLM
calls are journaled as a batch job's are, so an episode whose learning a SIGKILL interrupted is learned again
from the journal (no LLM call repeated) and ingested under the same content ids: nothing is lost or doubled.
Deleting an episode deletes that job's rows, the episode, and every example learned from it.

Rules: the episode itself is a candidate (its task and every step) unless its outcome is failure; a failed
episode teaches only through the relabelled spans (hindsight relabelling). Near-duplicates: see
`DatasetStore.near_duplicates`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from dataclasses import replace
from typing import Any

from lbi.dataset import DatasetStore, example_from_payload
from lbi.llm.gateway import LLMGateway
from lbi.metrics import percentile
from lbi.records import Example, Origin
from lbi.store.base import StoreUnavailable
from lbi.telemetry import meter, tracer
from synth_service.context import JobContext
from synth_service.journal import Journal
from synth_service.llm_slots import PrioritySlots
from synth_service.online.episode import Episode, episode_key
from synth_service.online.policy import OnlinePolicy
from synth_service.spec import JobSpec, Models
from synth_service.stages import backward
from synth_service.stages import filter as filter_stage

log = logging.getLogger(__name__)
_tracer = tracer("lbi.online")
_meter = meter("lbi.online")
EPISODES_RECEIVED = _meter.create_counter("lbi.online.episodes", description="Episodes reported, by result")
EXAMPLES = _meter.create_counter("lbi.online.examples", description="Candidates learned from episodes, by result")
DELAY = _meter.create_histogram(
    "lbi.online.delay", unit="s", description="From an episode's end to its examples being searchable"
)

EPISODES, LEARNED = "episodes", "learned"


def find_episodes(journal: Journal, job_id: str, episode_ids: list[str], tenant: str = "") -> dict[str, dict[str, Any]]:
    """Journal key -> payload of the episodes of these ids: of `tenant` (and others' journaled before ids were per
    tenant: the caller filters by tenant), or of every tenant when `tenant` is ""."""
    if tenant:
        keys = [k for i in dict.fromkeys(episode_ids) for k in (i, episode_key(i, tenant))]
        return {k: row[0] for k, row in journal.get(job_id, EPISODES, keys).items()}
    wanted = set(episode_ids)
    return {k: p for k, p, _, _ in journal.records(job_id, EPISODES) if p["episode_id"] in wanted}


def job_prefix(dataset: str) -> str:
    return f"online/{dataset}"


def _drop_reason(reason: str) -> str:
    if reason.startswith("the same demonstration"):
        return "same-demonstration"
    if reason.startswith("repeated state"):
        return "repeated-state"
    return "committee"


def online_example(payload: dict[str, Any], episode: Episode) -> Example:
    """A kept candidate as stored: origin online; its relabelling kind, episode, tenant and outcome in metadata."""
    example = example_from_payload(payload)
    metadata = {
        **example.metadata,
        "kind": example.origin.value,
        "episode_id": episode.episode_id,
        "tenant": episode.tenant,
        "outcome": episode.outcome,
    }
    return replace(example, origin=Origin.ONLINE, metadata=metadata)


class OnlineStats:
    """Running totals of a dataset's online job (read once from the journal at start, then kept up to date)."""

    def __init__(self) -> None:
        self.received = self.learned = self.candidates = self.kept = 0
        self.dropped: collections.Counter = collections.Counter()
        self.delays: collections.deque = collections.deque(maxlen=10_000)

    def add(self, learned: dict[str, Any]) -> None:
        self.learned += 1
        self.candidates += learned["candidates"]
        self.kept += learned["stored"]
        self.dropped.update(learned["dropped"])
        self.delays.append(learned["delay_s"])

    def delay(self, q: float) -> float:
        return round(percentile(list(self.delays), q), 3) if self.delays else 0.0

    @classmethod
    def from_journal(cls, journal: Journal, dataset: str) -> OnlineStats:
        stats = cls()
        stats.received = journal.count(job_prefix(dataset), EPISODES)
        for _, learned, _, _ in journal.records(job_prefix(dataset), LEARNED):
            stats.add(learned)
        return stats

    def summary(self) -> dict[str, Any]:
        """What `lbi datasets describe` shows of the online job: counts and yield."""
        return {
            "episodes_received": self.received,
            "episodes_learned": self.learned,
            "candidates": self.candidates,
            "examples_kept": self.kept,
            "yield": round(self.kept / self.candidates, 4) if self.candidates else 0.0,
            "examples_per_episode": round(self.kept / self.learned, 2) if self.learned else 0.0,
            "dropped": dict(self.dropped),
            "delay_p50_s": self.delay(50),
            "delay_p99_s": self.delay(99),
        }


class OnlineJob:
    def __init__(
        self,
        dataset: str,
        policy: OnlinePolicy,
        journal: Journal,
        gateway: LLMGateway,
        datasets: DatasetStore,
        sweep_s: float = 3600.0,
        llm_concurrency: int = 8,
    ):
        self.dataset, self.policy = dataset, policy
        self.journal, self.gateway, self.datasets = journal, gateway, datasets
        self.job_id = job_prefix(dataset)
        self.sweep_s = sweep_s
        self.slots = PrioritySlots(llm_concurrency)
        self.stats = OnlineStats()
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()  # a dataset's ingests and deletions, one at a time
        self._task: asyncio.Task | None = None
        self._reload_stats()

    def _reload_stats(self) -> None:
        self.stats = OnlineStats.from_journal(self.journal, self.dataset)

    # lifecycle
    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"online job {self.dataset}")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    @property
    def pending(self) -> int:
        return max(0, self.stats.received - self.stats.learned)

    # reports
    async def report(self, episode: Episode) -> bool:
        """Journals the episode (durably, before returning); False when its id was reported before."""
        earlier = await self.journal.aget(
            self.job_id, EPISODES, [episode.episode_id]
        )  # journaled before keys had tenants
        if earlier and earlier[episode.episode_id][0]["tenant"] == episode.tenant:
            added = 0
        else:
            added = await self.journal.aput(self.job_id, EPISODES, [(episode.journal_key, episode.to_dict(), True, "")])
        EPISODES_RECEIVED.add(1, {"dataset": self.dataset, "result": "accepted" if added else "duplicate"})
        if added:
            self.stats.received += 1
            self._wake.set()
        return bool(added)

    # the loop
    async def _run(self) -> None:
        last_sweep = 0.0
        failures = 0
        while True:
            try:
                if self.policy.retention_days and time.monotonic() - last_sweep >= self.sweep_s:
                    await self.sweep()
                    last_sweep = time.monotonic()
                keys = await asyncio.to_thread(self._pending_keys)
                if not keys:
                    self._wake.clear()
                    if not await asyncio.to_thread(self._pending_keys):  # a report may have come meanwhile
                        wait = self.sweep_s if self.policy.retention_days else None
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._wake.wait(), wait)
                    continue
                await self._learn(keys)
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception:
                failures += 1
                log.exception("online job %s: a batch failed (attempt %d); retrying", self.dataset, failures)
                await asyncio.sleep(min(60.0, 0.5 * 2**failures))

    def _pending_keys(self) -> list[str]:
        """The next batch: episodes not learned yet, in arrival order."""
        return self.journal.pending(self.job_id, EPISODES, LEARNED, self.policy.batch_episodes)

    async def _learn(self, keys: list[str]) -> None:
        rows = await self.journal.aget(self.job_id, EPISODES, keys)
        episodes = [Episode.from_dict(rows[k][0]) for k in keys if k in rows]
        with _tracer.start_as_current_span(
            "online.learn", attributes={"dataset": self.dataset, "episodes": len(episodes)}
        ):
            judged = await asyncio.gather(*(self._judge(e) for e in episodes))
            for episode, (candidates, kept, dropped) in zip(episodes, judged, strict=True):
                async with self._lock:
                    await self._store(episode, candidates, kept, dropped)

    def _context(self, episode: Episode) -> JobContext:
        spec = JobSpec(
            env=episode.env,
            dataset=self.dataset,
            backward_mode=self.policy.backward_mode,
            backward_window=self.policy.backward_window,
            filter_policy=self.policy.filter_policy,
            models=Models(committee=self.policy.committee),
        )
        return JobContext(
            f"{self.job_id}/{episode.journal_key}",
            spec,
            self.journal,
            self.gateway,
            self.datasets,
            None,
            publish=lambda event: None,
            slots=self.slots,
        )

    async def _judge(self, episode: Episode) -> tuple[int, list[Example], collections.Counter]:
        """(candidates, kept examples, dropped by reason): backward construction and the committee on one episode."""
        ctx = self._context(episode)
        dropped: collections.Counter = collections.Counter()
        candidates = await backward.construct(ctx, episode.trajectory_id, episode.trajectory(), episode.task)
        if episode.outcome == "failure":
            dropped["failed-episode-task"] = sum(1 for _, p in candidates if p["origin"] == Origin.FORWARD.value)
            candidates = [(k, p) for k, p in candidates if p["origin"] != Origin.FORWARD.value]
        # in the candidates' own order, whatever was judged before a crash: which of two near-duplicates is stored
        # must not depend on where the judging was interrupted
        judged = await filter_stage.judge_all(ctx, candidates, filter_stage.Claims().claim(candidates))
        dropped.update(_drop_reason(reason) for _, _, ok, reason in judged if not ok)
        kept = [online_example(payload, episode) for _, payload, ok, _ in judged if ok]
        return len(candidates) + dropped["failed-episode-task"], kept, dropped

    async def _store(
        self, episode: Episode, candidates: int, kept: list[Example], dropped: collections.Counter
    ) -> None:
        """Ingests an episode's kept examples (near-duplicates aside) and journals it as learned; an episode deleted
        while it was being judged is forgotten instead (the rows its judging wrote go too)."""
        episode_job = f"{self.job_id}/{episode.journal_key}"
        if not await self.journal.aget(self.job_id, EPISODES, [episode.journal_key]):
            await asyncio.to_thread(self.journal.delete_job, episode_job)
            return
        vectors = await self.datasets.embedder.aencode([e.instruction for e in kept])  # once: the check and the ingest
        duplicates = await self._retrying(
            self.datasets.near_duplicates, self.dataset, kept, vectors, self.policy.duplicate_threshold
        )
        stored = [i for i, e in enumerate(kept) if e.id not in duplicates]
        fresh = [kept[i] for i in stored]
        dropped["near-duplicate"] += len(duplicates)
        if fresh:
            await self._retrying(self.datasets.ingest, self.dataset, fresh, self.job_id, [vectors[i] for i in stored])
        delay = max(0.0, time.time() - episode.ended_at)
        learned: dict[str, Any] = {
            "candidates": candidates,
            "stored": len(fresh),
            "dropped": {k: v for k, v in dropped.items() if v},
            "delay_s": round(delay, 3),
            "examples": [e.id for e in fresh],
        }
        await self.journal.aput(self.job_id, LEARNED, [(episode.journal_key, learned, True, "")])
        self.stats.add(learned)
        attrs = {"dataset": self.dataset}
        EXAMPLES.add(len(fresh), {**attrs, "result": "kept"})
        for reason, n in learned["dropped"].items():
            EXAMPLES.add(n, {**attrs, "result": f"dropped:{reason}"})
        DELAY.record(delay, attrs)

    async def _retrying(self, method, *args: Any) -> Any:
        """A store call retried while the store is unavailable (the episode stays pending meanwhile)."""
        delay = 0.25
        while True:
            try:
                return await method(*args)
            except StoreUnavailable as exc:
                log.warning("online job %s: vector store unavailable, retrying in %.2f s: %s", self.dataset, delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    # deletion
    async def delete(
        self, episode_ids: list[str] | None = None, tenant: str = "", only_tenant: str = ""
    ) -> tuple[int, int]:
        """Deletes episodes (these ids, and/or every episode of `tenant`; with `only_tenant`, only that tenant's) and
        every example learned from them; returns (episodes, examples) deleted."""
        async with self._lock:
            chosen = await asyncio.to_thread(self._select, list(episode_ids or []), tenant, only_tenant)
            return await self._delete([e for e in chosen if not only_tenant or e.tenant == only_tenant])

    def _select(self, episode_ids: list[str], tenant: str, only_tenant: str) -> list[Episode]:
        chosen = find_episodes(self.journal, self.job_id, episode_ids, only_tenant) if episode_ids else {}
        if tenant:
            chosen.update({k: p for k, p, _, _ in self.journal.records(self.job_id, EPISODES) if p["tenant"] == tenant})
        return [Episode.from_dict(p) for p in chosen.values()]

    async def _delete(self, episodes: list[Episode]) -> tuple[int, int]:
        """The store's examples first, then the journal's rows: a crash between the two leaves the episode to delete
        again, never an example without its episode."""
        if not episodes:
            return 0, 0
        examples = await self._retrying(
            self.datasets.delete_trajectories, self.dataset, [e.trajectory_id for e in episodes]
        )

        def forget() -> None:
            for episode in episodes:
                self.journal.delete_job(f"{self.job_id}/{episode.journal_key}")
            keys = [e.journal_key for e in episodes]
            self.journal.delete(self.job_id, LEARNED, keys)
            self.journal.delete(self.job_id, EPISODES, keys)
            self._reload_stats()

        await asyncio.to_thread(forget)
        return len(episodes), examples

    async def sweep(self) -> int:
        """Deletes the episodes older than the policy's retention (and what was learned from them)."""
        cutoff = time.time() - self.policy.retention_days * 86400
        async with self._lock:
            old = await asyncio.to_thread(
                lambda: [
                    Episode.from_dict(p)
                    for _, p, _, _ in self.journal.records(self.job_id, EPISODES)
                    if p["received_at"] < cutoff
                ]
            )
            count, _ = await self._delete(old)
        if count:
            log.info("online job %s: retention deleted %d episodes", self.dataset, count)
        return count
