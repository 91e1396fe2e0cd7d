"""A dataset's layout in Qdrant, shared by the synthesis ingest stage and the retrieval service.

Per dataset three collections:
- `<dataset>__examples`: one point per example, dense vector `instruction`, the whole example in the payload;
- `<dataset>__steps`: one point per state an example passes through (its steps' observations and its final
  observation), sparse vector `lexical` (BM25 of the normalised observation) and, optionally, dense vector
  `observation`; payload: example id, step index, action, environment, origin;
- `<dataset>__meta`: one point per ingesting job: embedding model and size, environments, time.
Point ids derive from content ids, so ingesting the same examples twice changes nothing.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lbi.embedding import Embedder
from lbi.lexical import LexicalEncoder
from lbi.normalize import normalize_observation
from lbi.records import Example, Origin, Step, Verdict, content_id, point_uuid
from lbi.store.base import CollectionSpec, PointData, VectorStore

EXAMPLES, STEPS, META = "examples", "steps", "meta"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


def check_name(dataset: str) -> str:
    """The dataset name, if it is usable as a collection prefix; ValueError otherwise."""
    if not _NAME.match(dataset) or "__" in dataset:
        raise ValueError("dataset names are 1-63 letters, digits, '_', '.', '-' (no '__'), starting with a letter or digit")
    return dataset


def collection(dataset: str, kind: str) -> str:
    return f"{dataset}__{kind}"


def specs(dim: int, dense_observations: bool) -> dict[str, CollectionSpec]:
    return {
        EXAMPLES: CollectionSpec(dense={"instruction": dim}, keyword_fields=("env", "origin", "job_id")),
        STEPS: CollectionSpec(
            dense={"observation": dim} if dense_observations else {},
            sparse=("lexical",), keyword_fields=("env", "origin", "example_id"), integer_fields=("step",),
        ),
        META: CollectionSpec(dense={"meta": 1}),
    }


def example_payload(example: Example, job_id: str = "") -> dict[str, Any]:
    return {
        "id": example.id, "instruction": example.instruction, "env": example.env, "origin": example.origin.value,
        "steps": [s.to_dict() for s in example.steps], "final_observation": example.final_observation,
        "source_trajectory_id": example.source_trajectory_id, "span": [example.span_start, example.span_end],
        "verdicts": [{"judge": v.judge, "criteria": [list(c) for c in v.criteria]} for v in example.verdicts],
        "kept": example.kept, "metadata": example.metadata, "job_id": job_id,
    }


def example_from_payload(payload: dict[str, Any]) -> Example:
    return Example(
        instruction=payload["instruction"], env=payload["env"], steps=tuple(Step.from_dict(s) for s in payload["steps"]),
        final_observation=payload["final_observation"], origin=Origin(payload["origin"]),
        source_trajectory_id=payload["source_trajectory_id"], span_start=payload["span"][0], span_end=payload["span"][1],
        verdicts=tuple(Verdict(v["judge"], tuple(tuple(c) for c in v["criteria"])) for v in payload.get("verdicts", [])),
        kept=payload.get("kept", False), metadata=payload.get("metadata", {}),
    )


def states(example: Example) -> list[str]:
    """The observations an example passes through: o_i ... o_j (steps then the final observation)."""
    return [s.observation for s in example.steps] + [example.final_observation]


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


class DatasetStore:
    """Writes and describes datasets in a vector store."""

    def __init__(self, store: VectorStore, embedder: Embedder, lexical: LexicalEncoder | None = None,
                 dense_observations: bool = True):
        self.store = store
        self.embedder = embedder
        self.lexical = lexical or LexicalEncoder()
        self.dense_observations = dense_observations

    async def ensure(self, dataset: str, job_id: str, envs: Sequence[str]) -> None:
        check_name(dataset)
        dim = self.embedder.dim
        for kind, spec in specs(dim, self.dense_observations).items():
            await self.store.ensure_collection(collection(dataset, kind), spec)
        meta = {"job_id": job_id, "embedding_model": self.embedder.model_name, "embedding_dim": dim,
                "envs": sorted(set(envs)), "created_at": time.time()}
        existing = await self.store.retrieve(collection(dataset, META), [point_uuid(content_id("job", job_id))])
        if not existing:
            await self.store.upsert(collection(dataset, META), [PointData(point_uuid(content_id("job", job_id)), {"meta": [1.0]}, meta)])

    async def ingest(self, dataset: str, examples: Sequence[Example], job_id: str = "") -> int:
        """Embeds and upserts examples (idempotent); returns how many were written."""
        if not examples:
            return 0
        await self.ensure(dataset, job_id, [e.env for e in examples])
        instructions = await self.embedder.aencode([e.instruction for e in examples])
        await self.store.upsert(collection(dataset, EXAMPLES), [
            PointData(point_uuid(e.id), {"instruction": vec}, example_payload(e, job_id)) for e, vec in zip(examples, instructions)
        ])
        rows = [(e, i, normalize_observation(text)) for e in examples for i, text in enumerate(states(e))]
        dense: dict[str, list[float]] = {}
        if self.dense_observations:
            unique = sorted({text for _, _, text in rows})
            dense = dict(zip(unique, await self.embedder.aencode(unique)))
        points = []
        for example, index, text in rows:
            vectors: dict[str, Any] = {"lexical": self.lexical.document(text)}
            if self.dense_observations:
                vectors["observation"] = dense[text]
            action = example.steps[index].action if index < len(example.steps) else ""
            points.append(PointData(
                point_uuid(content_id("step", example.id, index)), vectors,
                {"example_id": example.id, "step": index, "action": action, "env": example.env, "origin": example.origin.value},
            ))
        for start in range(0, len(points), 512):
            await self.store.upsert(collection(dataset, STEPS), points[start : start + 512])
        return len(examples)

    async def delete(self, dataset: str) -> None:
        for kind in (EXAMPLES, STEPS, META):
            await self.store.delete_collection(collection(dataset, kind))

    async def examples(self, dataset: str, flt: dict[str, Any] | None = None, page: int = 256):
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
            embedding_model=first.get("embedding_model", ""), embedding_dim=int(first.get("embedding_dim", 0)),
            jobs=sorted({p["job_id"] for p in payloads if p.get("job_id")}),
            envs=sorted({e for p in payloads for e in p.get("envs", [])}), created_at=float(first.get("created_at", 0.0)),
        )
