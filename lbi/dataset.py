"""A dataset's layout in Qdrant, shared by the synthesis ingest stage and the retrieval service.

Per dataset three collections:
- `<dataset>__examples`: one point per example, dense vector `instruction`, the whole example in the payload;
- `<dataset>__steps` (layout 2): one point per distinct state of each source trajectory, sparse vector
  `lexical` (BM25 of the normalised observation) and, optionally, dense vector `observation`; payload: the
  trajectory id, the state's step in the trajectory, the action taken there, environment, the origins of the
  examples through it, and those examples (`id`, `origin`, `start`, `end`: their span of the trajectory).
  Backward construction yields many overlapping spans of one trajectory; indexing each state once keeps the
  index (and its lexical statistics) the size of the distinct states, not of states x spans;
- `<dataset>__meta`: one point per ingesting job: embedding model and size, environments, layout, time.
Point ids derive from content ids, so ingesting the same examples twice changes nothing.

Layout 1 (one step point per example and state) is refused with a message naming `lbi datasets migrate`,
which rebuilds the steps collection from the examples collection.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lbi.embedding import TextEncoder
from lbi.errors import FailedPrecondition
from lbi.lexical import LexicalEncoder
from lbi.normalize import normalize_observation
from lbi.records import Example, Origin, Step, Verdict, content_id, point_uuid
from lbi.store.base import CollectionSpec, Filter, PointData, VectorStore
from lbi.vectors import distinct

EXAMPLES, STEPS, META = "examples", "steps", "meta"
LAYOUT = 2


class LayoutError(FailedPrecondition):
    """A dataset written in an older layout: the message names the command that rebuilds it."""

    def __init__(self, dataset: str, layout: int):
        super().__init__(
            f"dataset {dataset!r} was written in steps layout {layout} (one point per example and step); run `lbi "
            f"datasets migrate {dataset}` to rebuild its steps index (layout {LAYOUT}, one point per distinct state)"
        )
        self.dataset = dataset


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


def check_name(dataset: str) -> str:
    """The dataset name, if it is usable as a collection prefix; ValueError otherwise."""
    if not _NAME.fullmatch(dataset) or "__" in dataset:  # fullmatch: `$` alone lets a trailing newline through
        raise ValueError(
            "dataset names are 1-63 letters, digits, '_', '.', '-' (no '__'), starting with a letter or digit"
        )
    return dataset


def collection(dataset: str, kind: str) -> str:
    return f"{dataset}__{kind}"


def specs(dim: int, dense_observations: bool) -> dict[str, CollectionSpec]:
    return {
        EXAMPLES: CollectionSpec(
            dense={"instruction": dim}, keyword_fields=("env", "origin", "job_id", "source_trajectory_id")
        ),
        STEPS: CollectionSpec(
            dense={"observation": dim} if dense_observations else {},
            sparse=("lexical",),
            keyword_fields=("env", "origin", "trajectory_id"),
            integer_fields=("step",),
        ),
        META: CollectionSpec(dense={"meta": 1}),
    }


def example_payload(example: Example, job_id: str = "") -> dict[str, Any]:
    return {
        "id": example.id,
        "instruction": example.instruction,
        "env": example.env,
        "origin": example.origin.value,
        "steps": [s.to_dict() for s in example.steps],
        "final_observation": example.final_observation,
        "source_trajectory_id": example.source_trajectory_id,
        "span": [example.span_start, example.span_end],
        "verdicts": [{"judge": v.judge, "criteria": [list(c) for c in v.criteria]} for v in example.verdicts],
        "kept": example.kept,
        "metadata": example.metadata,
        "job_id": job_id,
    }


def example_from_payload(payload: dict[str, Any]) -> Example:
    """The example a payload stores; its id is the stored one (not hashed again: a payload's id was hashed from the
    same content when it was written)."""
    example = Example(
        instruction=payload["instruction"],
        env=payload["env"],
        steps=tuple(Step.from_dict(s) for s in payload["steps"]),
        final_observation=payload["final_observation"],
        origin=Origin(payload["origin"]),
        source_trajectory_id=payload["source_trajectory_id"],
        span_start=payload["span"][0],
        span_end=payload["span"][1],
        verdicts=tuple(
            Verdict(v["judge"], tuple(tuple(c) for c in v["criteria"])) for v in payload.get("verdicts", [])
        ),
        kept=payload.get("kept", False),
        metadata=payload.get("metadata", {}),
    )
    if "id" in payload:
        example.__dict__["id"] = payload["id"]  # primes Example.id, a cached property
    return example


def states(example: Example) -> list[str]:
    """The observations an example passes through: o_i ... o_j (steps then the final observation)."""
    return [s.observation for s in example.steps] + [example.final_observation]


def state_point_id(trajectory_id: str, step: int) -> str:
    return point_uuid(content_id("state", trajectory_id, step))


# Among examples through the same state, which one observation mode returns (see `rank_examples`).
_ORIGIN_RANK = {Origin.BACKWARD_TASK.value: 0, Origin.FORWARD.value: 1, Origin.BACKWARD_SUMMARY.value: 2}


def rank_examples(examples: list[dict[str, Any]], step: int, origins: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The examples through a matched state (of the allowed origins), best first: the first is the one the state
    stands for. Examples that start at the state come first (they show what was done from here), then the
    longest span (it shows the most of what follows), then backward-task, forward, backward-summary (a
    relabelled instruction says what the steps really did), then the smallest id."""
    allowed = [x for x in examples if not origins or x["origin"] in origins]
    return sorted(
        allowed, key=lambda x: (x["start"] != step, -(x["end"] - x["start"]), _ORIGIN_RANK.get(x["origin"], 3), x["id"])
    )


def state_entries(examples: Sequence[Example]) -> dict[str, dict[str, Any]]:
    """Point id -> the state's payload (plus `text`), one per distinct (trajectory, step) the examples pass through."""
    entries: dict[str, dict[str, Any]] = {}
    for example in examples:
        for index, text in enumerate(states(example)):
            step = example.span_start + index
            entry = entries.setdefault(
                state_point_id(example.source_trajectory_id, step),
                {
                    "trajectory_id": example.source_trajectory_id,
                    "step": step,
                    "action": "",
                    "env": example.env,
                    "origin": [],
                    "examples": [],
                    "text": text,
                },
            )
            if index < len(example.steps) and not entry["action"]:
                entry["action"] = example.steps[index].action
            entry["examples"].append(
                {"id": example.id, "origin": example.origin.value, "start": example.span_start, "end": example.span_end}
            )
    for entry in entries.values():
        entry["origin"] = sorted({x["origin"] for x in entry["examples"]})
    return entries


def merge_state(stored: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """A stored state's payload with the examples of `new` added (by id: writing an example twice adds nothing)."""
    examples = {x["id"]: x for x in stored.get("examples", [])}
    examples.update((x["id"], x) for x in new["examples"])
    merged = {
        **stored,
        "examples": sorted(examples.values(), key=lambda x: x["id"]),
        "action": stored.get("action") or new["action"],
    }
    merged["origin"] = sorted({x["origin"] for x in merged["examples"]})
    return merged


def _actions(actions: Sequence[str]) -> tuple[str, ...]:
    return tuple(" ".join(a.split()) for a in actions)


@dataclass
class DatasetInfo:
    name: str
    examples: int
    steps: int
    embedding_model: str
    embedding_dim: int
    jobs: list[str]
    envs: list[str]
    created_at: float
    online_examples: int = 0


class DatasetStore:
    """Writes and describes datasets in a vector store."""

    def __init__(
        self,
        store: VectorStore,
        embedder: TextEncoder,
        lexical: LexicalEncoder | None = None,
        dense_observations: bool = True,
    ):
        self.store = store
        self.embedder = embedder
        self.lexical = lexical or LexicalEncoder()
        self.dense_observations = dense_observations
        self._current: set[str] = set()  # datasets whose layout was checked and found current

    async def ensure(self, dataset: str, job_id: str, envs: Sequence[str]) -> None:
        check_name(dataset)
        dim = self.embedder.dim
        for kind, spec in specs(dim, self.dense_observations).items():
            await self.store.ensure_collection(collection(dataset, kind), spec)
        await self.check_layout(dataset)
        meta = {
            "job_id": job_id,
            "embedding_model": self.embedder.model_name,
            "embedding_dim": dim,
            "envs": sorted(set(envs)),
            "created_at": time.time(),
            "layout": LAYOUT,
        }
        existing = await self.store.retrieve(collection(dataset, META), [point_uuid(content_id("job", job_id))])
        if not existing:
            await self.store.upsert(
                collection(dataset, META), [PointData(point_uuid(content_id("job", job_id)), {"meta": [1.0]}, meta)]
            )

    async def ingest(
        self,
        dataset: str,
        examples: Sequence[Example],
        job_id: str = "",
        instruction_vectors: Sequence[Sequence[float]] | None = None,
    ) -> int:
        """Embeds (unless their instructions' vectors are given) and upserts examples (idempotent); returns how many
        were written."""
        if not examples:
            return 0
        await self.ensure(dataset, job_id, [e.env for e in examples])
        instructions = (
            instruction_vectors
            if instruction_vectors is not None
            else await self.embedder.aencode([e.instruction for e in examples])
        )
        await self.store.upsert(
            collection(dataset, EXAMPLES),
            [
                PointData(point_uuid(e.id), {"instruction": list(vec)}, example_payload(e, job_id))
                for e, vec in zip(examples, instructions, strict=True)
            ],
        )
        await self._write_states(dataset, examples)
        return len(examples)

    async def _write_states(self, dataset: str, examples: Sequence[Example]) -> None:
        """Adds the examples to the states they pass through: new states become points (vectors computed once per
        distinct text), states already stored get the examples added to their payload."""
        entries = state_entries(examples)
        name = collection(dataset, STEPS)
        stored = {hit.id: hit.payload for hit in await self.store.retrieve(name, list(entries))}
        updates = [
            (point_id, merge_state(stored[point_id], entry))
            for point_id, entry in entries.items()
            if point_id in stored
        ]
        fresh = {point_id: entry for point_id, entry in entries.items() if point_id not in stored}
        texts = {point_id: normalize_observation(entry.pop("text")) for point_id, entry in fresh.items()}
        dense: dict[str, list[float]] = {}
        if self.dense_observations and texts:
            unique = sorted(set(texts.values()))
            dense = dict(zip(unique, await self.embedder.aencode(unique), strict=True))
        points = []
        for point_id, entry in fresh.items():
            vectors: dict[str, Any] = {"lexical": self.lexical.document(texts[point_id])}
            if self.dense_observations:
                vectors["observation"] = dense[texts[point_id]]
            points.append(PointData(point_id, vectors, entry))
        for start in range(0, len(points), 512):
            await self.store.upsert(name, points[start : start + 512])
        if updates:
            await self.store.set_payloads(name, updates)

    async def layout(self, dataset: str) -> int:
        """The dataset's steps layout: the oldest any ingesting job wrote (1 when no job recorded one)."""
        metas, _ = await self.store.scroll(collection(dataset, META), 1000)
        return min((int(m.payload.get("layout", 1)) for m in metas), default=LAYOUT)

    async def check_layout(self, dataset: str) -> None:
        """Raises LayoutError for a dataset in an older layout (an unknown dataset passes: it is created). A dataset
        found current stays so (only `migrate` changes a layout, to the current one), so it is read once per dataset."""
        if dataset in self._current:
            return
        if await self.store.collection_exists(collection(dataset, META)):
            layout = await self.layout(dataset)
            if layout != LAYOUT:
                raise LayoutError(dataset, layout)
        self._current.add(dataset)

    async def migrate(self, dataset: str) -> tuple[int, int]:
        """Rebuilds the steps collection from the examples collection in the current layout; (examples, states)."""
        dim = self.embedder.dim
        metas, _ = await self.store.scroll(collection(dataset, META), 1000)  # CollectionNotFound for an unknown dataset
        await self.store.delete_collection(collection(dataset, STEPS))
        await self.store.ensure_collection(collection(dataset, STEPS), specs(dim, self.dense_observations)[STEPS])
        batch: list[Example] = []
        count = 0
        async for example in self.examples(dataset):
            batch.append(example)
            if len(batch) == 256:
                await self._write_states(dataset, batch)
                count, batch = count + len(batch), []
        if batch:
            await self._write_states(dataset, batch)
            count += len(batch)
        await self.store.set_payloads(
            collection(dataset, META), [(m.id, {**m.payload, "layout": LAYOUT}) for m in metas]
        )
        return count, await self.store.count(collection(dataset, STEPS))

    async def delete_trajectories(self, dataset: str, trajectory_ids: Sequence[str]) -> int:
        """Deletes every example of these source trajectories, and their states; returns how many examples went.
        (A state point belongs to one trajectory, so no other trajectory's examples lose a state.)"""
        ids = sorted(set(trajectory_ids))
        if not ids or not await self.store.collection_exists(collection(dataset, EXAMPLES)):
            return 0
        where: Filter = {"source_trajectory_id": ids}
        count = await self.store.count(collection(dataset, EXAMPLES), where)
        await self.store.delete_where(collection(dataset, EXAMPLES), where)
        await self.store.delete_where(collection(dataset, STEPS), {"trajectory_id": list(ids)})
        return count

    async def delete_examples(self, dataset: str, ids: Sequence[str]) -> int:
        """Deletes these examples and takes them out of the states they pass through (a state no other example
        passes through goes too); returns how many of them were stored."""
        points = await self.store.retrieve(collection(dataset, EXAMPLES), [point_uuid(i) for i in sorted(set(ids))])
        if not points:
            return 0
        examples = [example_from_payload(p.payload) for p in points]
        gone = {e.id for e in examples}
        name = collection(dataset, STEPS)
        stored = {hit.id: hit.payload for hit in await self.store.retrieve(name, list(state_entries(examples)))}
        updates, empty = [], []
        for point_id, payload in stored.items():
            left = [x for x in payload.get("examples", []) if x["id"] not in gone]
            if left:
                updates.append((point_id, {**payload, "examples": left, "origin": sorted({x["origin"] for x in left})}))
            else:
                empty.append((payload["trajectory_id"], payload["step"]))
        if updates:
            await self.store.set_payloads(name, updates)
        for trajectory_id, step in empty:
            await self.store.delete_where(name, {"trajectory_id": trajectory_id, "step": step})
        await self.store.delete_where(collection(dataset, EXAMPLES), {"id": sorted(gone)})
        return len(gone)

    async def near_duplicates(
        self, dataset: str, examples: Sequence[Example], vectors: Sequence[Sequence[float]], threshold: float
    ) -> set[str]:
        """Ids of the examples that are near-duplicates: of one stored from another source trajectory, or of an earlier
        one of `examples` that is kept. Near-duplicates take the same actions (whitespace aside) in the same
        environment under instructions whose embeddings (`vectors`, one per example) have cosine similarity at least
        `threshold`."""
        duplicates: set[str] = set()
        if examples and await self.store.collection_exists(collection(dataset, EXAMPLES)):
            for example, vector in zip(examples, vectors, strict=True):
                if await self._stored_near_duplicate(dataset, example, vector, threshold):
                    duplicates.add(example.id)
        groups: dict[tuple[str, tuple[str, ...]], list[int]] = {}
        for i, example in enumerate(examples):
            if example.id not in duplicates:
                groups.setdefault((example.env, _actions([s.action for s in example.steps])), []).append(i)
        matrix = np.asarray(vectors, dtype=np.float32)
        for indices in groups.values():
            kept = set(distinct(matrix[indices], threshold))
            duplicates.update(examples[index].id for n, index in enumerate(indices) if n not in kept)
        return duplicates

    async def _stored_near_duplicate(
        self, dataset: str, example: Example, vector: Sequence[float], threshold: float
    ) -> bool:
        """Whether a stored example of another trajectory is a near-duplicate of `example`. Every stored example above
        the threshold is looked at (the search widens while its last hit is still above it): many stored examples
        can share one instruction with other actions, and a fixed top-k would miss the one that matters."""
        actions = _actions([s.action for s in example.steps])
        limit = 16
        while True:
            hits = await self.store.search(
                collection(dataset, EXAMPLES), ("instruction", vector), limit, {"env": example.env}
            )
            for hit in hits:
                if hit.score < threshold:
                    return False
                if (
                    hit.payload["source_trajectory_id"] != example.source_trajectory_id
                    and _actions([s["action"] for s in hit.payload["steps"]]) == actions
                ):
                    return True
            if len(hits) < limit or limit >= 4096:
                return False
            limit *= 4

    async def delete(self, dataset: str) -> None:
        self._current.discard(dataset)
        for kind in (EXAMPLES, STEPS, META):
            await self.store.delete_collection(collection(dataset, kind))

    async def examples(
        self, dataset: str, flt: dict[str, Any] | None = None, page: int = 256
    ) -> AsyncIterator[Example]:
        """Every example of a dataset (async iterator), optionally filtered on env/origin."""
        offset = None
        while True:
            hits, offset = await self.store.scroll(collection(dataset, EXAMPLES), page, offset, flt)
            for hit in hits:
                yield example_from_payload(hit.payload)
            if offset is None:
                return

    async def list(self) -> list[str]:
        suffix = f"__{META}"
        return sorted(name[: -len(suffix)] for name in await self.store.list_collections() if name.endswith(suffix))

    async def describe(self, dataset: str) -> DatasetInfo:
        """Counts and provenance; raises CollectionNotFound for an unknown dataset."""
        metas, _ = await self.store.scroll(collection(dataset, META), 1000)
        payloads = [m.payload for m in metas]
        first = min(payloads, key=lambda p: p["created_at"]) if payloads else {}
        return DatasetInfo(
            name=dataset,
            examples=await self.store.count(collection(dataset, EXAMPLES)),
            steps=await self.store.count(collection(dataset, STEPS)),
            embedding_model=first.get("embedding_model", ""),
            embedding_dim=int(first.get("embedding_dim", 0)),
            jobs=sorted({p["job_id"] for p in payloads if p.get("job_id")}),
            envs=sorted({e for p in payloads for e in p.get("envs", [])}),
            created_at=float(first.get("created_at", 0.0)),
            online_examples=await self.store.count(collection(dataset, EXAMPLES), {"origin": Origin.ONLINE.value}),
        )
