"""Agentic retrieval (Algorithm 2 of Learn-by-interact) over a dataset's collections, without gRPC.

- observation mode: BM25-style lexical search of the normalised current observation over the distinct states
  of the stored trajectories (optionally fused with dense similarity); each matched state stands for one of
  the examples through it (`lbi.dataset.rank_examples`), and at most `per_trajectory` examples come from
  one source trajectory, so one trajectory's overlapping spans cannot fill the top k; no neural model on
  this path;
- query mode: dense search of instructions with queries the agent wrote (or the service's LLM wrote from
  task, history and observation), skipping examples already returned;
- instruction mode: dense search of instructions with the task itself (plain RAG, the baseline);
- agentic: observation then query.
"""

from __future__ import annotations

import asyncio
import collections
import time
from dataclasses import dataclass, field
from typing import Any

from lbi.dataset import EXAMPLES, STEPS, LayoutError, collection, example_from_payload, rank_examples
from lbi.lexical import LexicalEncoder
from lbi.llm.gateway import LLMError, LLMGateway
from lbi.llm.roles import Role
from lbi.normalize import normalize_observation
from lbi.records import Example, Step, point_uuid, state_at
from lbi.store.base import Filter, Hit, Sparse, VectorStore
from lbi.telemetry import tracer
from retrieval_service.batcher import EmbeddingBatcher

EXAMPLE_CACHE = 8192  # decoded examples kept across requests (the most recently served)
TRAJECTORY_CACHE = 262_144  # state point id -> its trajectory (about 100 bytes each)

_tracer = tracer("lbi.retrieval")

OBSERVATION, QUERY, INSTRUCTION, AGENTIC = "observation", "query", "instruction", "agentic"


@dataclass
class Request:
    dataset: str
    instruction: str = ""
    observation: str = ""
    history: list[Step] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)
    modes: list[str] = field(default_factory=lambda: [AGENTIC])
    k_observation: int = 5
    k_query: int = 5
    k_instruction: int = 5
    envs: list[str] = field(default_factory=list)
    origins: list[str] = field(default_factory=list)
    generate_queries: bool = False
    window: int = 0
    dense_observation: bool = False
    per_trajectory: int = 1  # observation mode: examples per source trajectory at most (0: no limit)


@dataclass
class Found:
    example: Example
    score: float
    mode: str
    matched_step: int = -1
    query: str = ""
    window_start: int = 0
    example_id: str = ""  # the stored example's id (a windowed example's content differs, its identity does not)


@dataclass
class Response:
    found: list[Found]
    queries: list[str]
    timings_ms: dict[str, float]
    degraded: str = ""  # why the response holds less than was asked (the query writer failed)


def _window(example: Example, matched: int, window: int) -> tuple[Example, int, int]:
    """The example cut to `window` steps either side of the matched step; (example, new matched, offset)."""
    if window <= 0 or matched < 0:
        return example, matched, 0
    start = max(0, matched - window)
    end = min(len(example.steps), matched + window + 1)
    final = state_at(example.steps, end, example.final_observation)
    cut = Example(
        example.instruction,
        example.env,
        example.steps[start:end],
        final,
        example.origin,
        example.source_trajectory_id,
        example.span_start + start,
        example.span_start + end,
        example.verdicts,
        example.kept,
        example.metadata,
    )
    return cut, matched - start, start


def _settled(hits: list[Hit], whole: bool) -> list[Hit]:
    """The hits best first, equal scores in point-id order, without the ones the order is not sure of. Among equal
    scores (the same observation reached by many trajectories: every session's first screen) the engine returns
    them in the order they were written, which a streaming job does not fix; ordering them by id makes the answer
    depend on the dataset alone, as far as the search window reaches. When the search was cut at its limit (not
    `whole`), hits tied with the last one may lie beyond it, so that last group is left out until a wider search
    sees all of it (with `settle_ties`: evaluation wants that, the hot path may not pay for it)."""
    ordered = sorted(hits, key=lambda hit: (-hit.score, hit.id))
    if whole or not ordered:
        return ordered
    last = ordered[-1].score
    return [hit for hit in ordered if hit.score != last]


class _Quota:
    """Examples taken per source trajectory, against a limit (0: no limit)."""

    def __init__(self, limit: int, counts: dict[str, int] | None = None):
        self.limit = limit
        self.counts = counts or {}

    def full(self, trajectory: str | None) -> bool:
        return bool(self.limit) and trajectory is not None and self.counts.get(trajectory, 0) >= self.limit

    def take(self, trajectory: str) -> None:
        self.counts[trajectory] = self.counts.get(trajectory, 0) + 1

    def copy(self) -> _Quota:
        return _Quota(self.limit, dict(self.counts))


class Retriever:
    def __init__(
        self,
        store: VectorStore,
        batcher: EmbeddingBatcher,
        gateway: LLMGateway | None = None,
        query_model: str = "",
        candidates: int = 4,
        settle_ties: bool = False,
    ):
        self.store = store
        self.batcher = batcher
        self.gateway = gateway
        self.query_model = query_model or None
        self.candidates = candidates
        self.settle_ties = settle_ties  # see `_settled`
        self.lexical = LexicalEncoder()
        self._cache: collections.OrderedDict[tuple[str, str], Example] = collections.OrderedDict()
        self._trajectories: dict[tuple[str, str], str] = {}

    def _filter(self, request: Request) -> Filter:
        flt: Filter = {}
        if request.envs:
            flt["env"] = list(request.envs)
        if request.origins:
            flt["origin"] = list(request.origins)
        return flt

    async def _examples(self, dataset: str, points: list[str]) -> dict[str, Example]:
        """The examples by point id: from the cache of decoded examples, the rest in one read of the store. A point
        id derives from its example's content hash, so a cached example is the stored one while it is stored."""
        found: dict[str, Example] = {}
        for point in points:  # before any await: other requests evict while this one waits on the store
            if (dataset, point) in self._cache:
                self._cache.move_to_end((dataset, point))
                found[point] = self._cache[(dataset, point)]
        missing = [point for point in points if point not in found]
        if missing:
            for hit in await self.store.retrieve(collection(dataset, EXAMPLES), missing):
                found[hit.id] = self._cache[(dataset, hit.id)] = example_from_payload(hit.payload)
            while len(self._cache) > EXAMPLE_CACHE:
                self._cache.popitem(last=False)
        return found

    async def _observation(self, request: Request, timings: dict[str, float]) -> list[tuple[str, float, int]]:
        """(example point id, score, matched step in that example) for the best-matching states, at most
        `per_trajectory` per source trajectory, states of equal score in point-id order (`_settled`). The search
        is widened while collapsing left too few (or, settling ties, needed more than the states it is sure of)."""
        text = normalize_observation(request.observation)
        started = time.perf_counter()
        sparse = self.lexical.query(text)
        limit = request.k_observation * self.candidates
        cap = 16 * request.k_observation * self.candidates
        states: dict[str, dict[str, Any]] = {}  # payloads read, kept while the search widens
        while True:
            hits = await self._states(request, text, sparse, limit)
            cut = len(hits) == limit and limit < cap
            found = await self._collapse(request, _settled(hits, whole=not (cut and self.settle_ties)), states)
            if len(found) >= request.k_observation or not cut:
                break
            limit *= 4
        timings["lexical_ms"] = (time.perf_counter() - started) * 1000
        return found

    async def _states(self, request: Request, text: str, sparse: Sparse, limit: int) -> list[Hit]:
        """The best-matching state points, ids and scores only: their payloads are read for the states used."""
        with _tracer.start_as_current_span("lexical_search"):
            name = collection(request.dataset, STEPS)
            if request.dense_observation:
                vector = (await self.batcher.embed([text]))[0]
                return await self.store.search_fused(
                    name, [("lexical", sparse), ("observation", vector)], limit, self._filter(request), fields=()
                )
            return await self.store.search(name, ("lexical", sparse), limit, self._filter(request), fields=())

    async def _collapse(
        self, request: Request, hits: list[Hit], states: dict[str, dict[str, Any]]
    ) -> list[tuple[str, float, int]]:
        """Walks the states best first and takes the examples each stands for (`rank_examples`) until k, skipping a
        trajectory that has given `per_trajectory` already. A state's payload (its list of examples) is read only
        when the walk reaches it, a few states per read; its trajectory is known from earlier reads (a state's
        point id derives from its trajectory and step, so that never changes). `states` holds the payloads read
        so far for this request, and gains the ones read here."""
        name = collection(request.dataset, STEPS)
        found: list[tuple[str, float, int]] = []
        taken: set[str] = set()
        quota = _Quota(request.per_trajectory)
        for at, hit in enumerate(hits):
            if quota.full(self._trajectories.get((request.dataset, hit.id))):
                continue
            if hit.id not in states:  # read this state and the next ones the walk may need, in one call
                wanted = self._to_read(request.dataset, hits[at:], states, quota, request.k_observation - len(found))
                for read in await self.store.retrieve(name, wanted):
                    states[read.id] = read.payload
                    self._remember(request.dataset, read.id, read.payload)
            state = states.get(hit.id)
            if state is None:  # deleted since the search
                continue
            if "examples" not in state:
                raise LayoutError(request.dataset, 1)
            trajectory = state["trajectory_id"]
            for chosen in rank_examples(state["examples"], state["step"], request.origins):
                if quota.full(trajectory):
                    break
                point = point_uuid(chosen["id"])
                if point in taken:
                    continue
                taken.add(point)
                quota.take(trajectory)
                found.append((point, hit.score, state["step"] - chosen["start"]))
                if len(found) == request.k_observation:
                    return found
        return found

    def _to_read(self, dataset: str, hits: list[Hit], states: dict[str, Any], quota: _Quota, needed: int) -> list[str]:
        """The states to read next: the first hit, then the following unread ones a trajectory's limit will not skip
        (counting each of a known trajectory as taking one example), as many as examples are still needed."""
        planned = quota.copy()
        wanted: list[str] = []
        for hit in hits:
            if hit.id in states:
                continue
            trajectory = self._trajectories.get((dataset, hit.id))
            if trajectory is not None:
                if planned.full(trajectory):
                    continue
                planned.take(trajectory)
            wanted.append(hit.id)
            if len(wanted) >= max(1, needed):
                break
        return wanted

    def _remember(self, dataset: str, point: str, state: dict[str, Any]) -> None:
        """Notes a state point's trajectory (bounded: the oldest entries go first)."""
        if "trajectory_id" in state:
            self._trajectories[(dataset, point)] = state["trajectory_id"]
            if len(self._trajectories) > TRAJECTORY_CACHE:
                del self._trajectories[next(iter(self._trajectories))]

    async def _queries(self, request: Request) -> list[str]:
        queries = [q for q in request.queries if q.strip()]
        if queries or not request.generate_queries or self.gateway is None:
            return queries
        with _tracer.start_as_current_span("write_queries"):
            result = await self.gateway.call(
                Role.QUERY,
                {
                    "env": request.envs[0] if request.envs else "",
                    "task": request.instruction,
                    "history": [s.to_dict() for s in request.history],
                    "observation": request.observation,
                },
                model=self.query_model,
            )
        return result.output.queries

    async def _dense(
        self, request: Request, texts: list[str], k: int, exclude: set[str], timings: dict[str, float]
    ) -> list[tuple[str, float, str]]:
        """(example point id, score, text) from dense instruction search, round-robin over texts, skipping
        `exclude`; ids and scores only (the examples are read from the cache, or once, afterwards)."""
        if not texts or k <= 0:
            return []
        started = time.perf_counter()
        vectors = await self.batcher.embed(texts)
        timings["embed_ms"] = timings.get("embed_ms", 0.0) + (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        with _tracer.start_as_current_span("dense_search"):
            per_text = await asyncio.gather(*(self._nearest(request, v, k + len(exclude)) for v in vectors))
        timings["dense_ms"] = timings.get("dense_ms", 0.0) + (time.perf_counter() - started) * 1000
        chosen: list[tuple[str, float, str]] = []
        seen = set(exclude)
        for rank in range(max((len(h) for h in per_text), default=0)):
            for text, hits in zip(texts, per_text, strict=True):
                if rank < len(hits) and len(chosen) < k:
                    point = hits[rank].id
                    if point not in seen:
                        seen.add(point)
                        chosen.append((point, hits[rank].score, text))
        return chosen

    async def _nearest(self, request: Request, vector: list[float], wanted: int) -> list[Hit]:
        """The `wanted` examples nearest one vector (ids and scores only), equal scores by id (`_settled`); settling
        ties, one more is asked for to see whether the last group goes on, and the search widened while it does."""
        limit, cap = wanted + int(self.settle_ties), 16 * wanted
        while True:
            hits = await self.store.search(
                collection(request.dataset, EXAMPLES), ("instruction", vector), limit, self._filter(request), fields=()
            )
            cut = self.settle_ties and len(hits) == limit and limit < cap
            settled = _settled(hits, whole=not cut)
            if len(settled) >= wanted or not cut:
                return settled[:wanted]
            limit *= 4

    async def retrieve(self, request: Request) -> Response:
        timings: dict[str, float] = {}
        modes = set(request.modes)
        if AGENTIC in modes:
            modes |= {OBSERVATION, QUERY}
        found_ids: list[tuple[str, float, str, int, str]] = []  # point id, score, mode, step, query
        queries: list[str] = []
        obs_task = asyncio.ensure_future(self._observation(request, timings)) if OBSERVATION in modes else None
        degraded = ""
        if QUERY in modes:
            try:
                queries = await self._queries(request)
            except LLMError as exc:  # answer with what the other modes find, and say why query mode is missing
                degraded = f"query writer failed ({exc.kind}: {exc.reason[:300]}); query mode was skipped"
                modes.discard(QUERY)
                if OBSERVATION not in modes and request.observation.strip():
                    modes.add(OBSERVATION)
                    obs_task = asyncio.ensure_future(self._observation(request, timings))
        observation_hits = await obs_task if obs_task else []
        found_ids += [(i, s, OBSERVATION, step, "") for i, s, step in observation_hits]
        taken = {i for i, *_ in found_ids}
        if QUERY in modes:
            for i, s, q in await self._dense(request, queries, request.k_query, taken, timings):
                found_ids.append((i, s, QUERY, -1, q))
                taken.add(i)
        if INSTRUCTION in modes and request.instruction.strip():
            for i, s, _ in await self._dense(request, [request.instruction], request.k_instruction, taken, timings):
                found_ids.append((i, s, INSTRUCTION, -1, ""))
        examples = await self._examples(request.dataset, [i for i, *_ in found_ids])
        found = []
        for point, score, mode, step, query in found_ids:
            if point not in examples:
                continue
            stored = examples[point]
            example, matched, start = _window(stored, step, request.window)
            found.append(Found(example, score, mode, matched, query, start, stored.id))
        return Response(found, queries, timings, degraded)
