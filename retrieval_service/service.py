"""The RetrievalService gRPC servicer: validates requests, runs the retriever within the deadline."""

from __future__ import annotations

import asyncio
import math
import time
from urllib.parse import urlsplit, urlunsplit

from opentelemetry import trace

from lbi.auth import TokenTable
from lbi.dataset import DatasetStore, check_name
from lbi.errors import DeadlineExceeded, FailedPrecondition, InvalidArgument, NotFound, PermissionDenied, Unavailable
from lbi.prompt_block import format_prompt
from lbi.records import Origin, Step, check_episode_id, to_timestamp
from lbi.retrieval_modes import MODE_NAMES, MODES
from lbi.store.base import CollectionNotFound, StoreUnavailable
from lbi.store_health import StoreHealth
from lbi.telemetry import tracer
from lbi.tokens import MAX_TOKENIZER_NAME, counter
from lbi.v1 import retrieval_pb2 as pb
from lbi.v1 import retrieval_pb2_grpc
from retrieval_service import browse
from retrieval_service.config import RetrievalSettings
from retrieval_service.retriever import AGENTIC, INSTRUCTION, OBSERVATION, Request, Retriever

_tracer = tracer("lbi.retrieval")
MAX_OBSERVATION_BYTES = 1_000_000
MAX_TEXT_BYTES = 100_000
MAX_HISTORY = 200
MAX_QUERIES = 10
MAX_BATCH = 256
MAX_K = 50


def _size(text: str) -> int:
    return len(text.encode("utf-8", errors="surrogatepass"))


def _k(value: int, field: str, default: int) -> int:
    if value == 0:
        return default
    if not 1 <= value <= MAX_K:
        raise InvalidArgument(field, f"must be between 1 and {MAX_K} (or 0 for the default {default}), got {value}")
    return value


def parse_request(msg: pb.RetrieveRequest, settings: RetrievalSettings) -> Request:
    """A validated Request; INVALID_ARGUMENT names the first bad field."""
    if not msg.dataset:
        raise InvalidArgument("dataset", "must name a dataset")
    try:
        check_name(msg.dataset)
    except ValueError as exc:
        raise InvalidArgument("dataset", str(exc)) from None
    modes = []
    for value in msg.modes:
        if value not in MODE_NAMES:
            raise InvalidArgument("modes", f"unknown retrieval mode {value}")
        modes.append(MODE_NAMES[value])
    modes = modes or [AGENTIC]
    if _size(msg.observation) > MAX_OBSERVATION_BYTES:
        raise InvalidArgument("observation", f"larger than {MAX_OBSERVATION_BYTES} bytes")
    if _size(msg.instruction) > MAX_TEXT_BYTES:
        raise InvalidArgument("instruction", f"larger than {MAX_TEXT_BYTES} bytes")
    if len(msg.history) > MAX_HISTORY:
        raise InvalidArgument("history", f"more than {MAX_HISTORY} steps")
    if len(msg.queries) > MAX_QUERIES or any(_size(q) > MAX_TEXT_BYTES for q in msg.queries):
        raise InvalidArgument("queries", f"at most {MAX_QUERIES} queries of at most {MAX_TEXT_BYTES} bytes")
    uses_observation = OBSERVATION in modes or AGENTIC in modes
    if uses_observation and not msg.observation.strip():
        raise InvalidArgument("observation", "must not be empty in observation or agentic mode")
    if INSTRUCTION in modes and not msg.instruction.strip():
        raise InvalidArgument("instruction", "must not be empty in instruction mode")
    if msg.prompt_budget_chars < 0:
        raise InvalidArgument("prompt_budget_chars", "must not be negative")
    if msg.max_tokens < 0:
        raise InvalidArgument("max_tokens", "must not be negative")
    if len(msg.tokenizer) > MAX_TOKENIZER_NAME:
        raise InvalidArgument("tokenizer", f"longer than {MAX_TOKENIZER_NAME} characters")
    if not math.isfinite(msg.min_score):
        raise InvalidArgument("min_score", "must be a finite number")
    if msg.window < 0:
        raise InvalidArgument("window", "must not be negative")
    if not 0 <= msg.per_trajectory <= MAX_K:
        raise InvalidArgument(
            "per_trajectory", f"must be between 0 (the default, {settings.retrieval_per_trajectory}) and {MAX_K}"
        )
    if msg.episode_id:
        try:
            check_episode_id(msg.episode_id)
        except ValueError as exc:
            raise InvalidArgument("episode_id", str(exc)) from None
    origins = []
    for number in msg.filters.origins:
        try:
            origins.append(Origin.from_proto(number).value)
        except ValueError:
            raise InvalidArgument("filters.origins", f"unknown origin {number}") from None
    default_k = settings.retrieval_default_k
    return Request(
        dataset=msg.dataset,
        instruction=msg.instruction,
        observation=msg.observation,
        history=[Step.from_proto(s) for s in msg.history],
        queries=list(msg.queries),
        modes=modes,
        k_observation=_k(msg.k_observation, "k_observation", default_k),
        k_query=_k(msg.k_query, "k_query", default_k),
        k_instruction=_k(msg.k_instruction, "k_instruction", default_k),
        envs=list(msg.filters.envs),
        origins=origins,
        generate_queries=msg.generate_queries,
        window=msg.window or settings.retrieval_default_window,
        dense_observation=msg.dense_observation,
        per_trajectory=msg.per_trajectory or settings.retrieval_per_trajectory,
    )


def _without_userinfo(url: str) -> str:
    """A store URL as a client may see it: credentials written into it (`https://user:key@host`) stay home."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2])) if "@" in parts.netloc else url


def interleave_modes(found: list) -> list:
    """Best first within each mode, taking turns between modes: a budget that fits only a few examples
    still shows the best of each kind (scores of different modes are not comparable)."""
    by_mode: dict[str, list] = {}
    for item in found:
        by_mode.setdefault(item.mode, []).append(item)
    queues = list(by_mode.values())
    ordered = []
    for rank in range(max((len(q) for q in queues), default=0)):
        ordered += [q[rank] for q in queues if rank < len(q)]
    return ordered


class RetrievalService(retrieval_pb2_grpc.RetrievalServiceServicer):
    def __init__(
        self,
        settings: RetrievalSettings,
        retriever: Retriever,
        datasets: DatasetStore,
        tokens: TokenTable | None = None,
    ):
        self.settings = settings
        self.retriever = retriever
        self.datasets = datasets
        self.tokens = tokens or TokenTable("")
        self.store_health: StoreHealth | None = None
        self.in_flight = 0  # retrievals running now (a cancelled or timed-out request leaves at once)

    def _store_down(self, exc: StoreUnavailable) -> Unavailable:
        """UNAVAILABLE for the client; readiness goes NOT_SERVING until the store answers again."""
        if self.store_health is not None:
            self.store_health.report_unavailable(str(exc))
        return Unavailable(f"vector store unavailable: {exc}")

    def _check_tenant(self, context, dataset: str) -> None:
        """Tenancy comes from the credential, never from a field the client sends."""
        if not self.tokens:
            return
        grant = self.tokens.grant(context.invocation_metadata())
        if grant is None or not grant.allows(dataset):
            raise PermissionDenied(f"this token may not read dataset {dataset!r}")

    def _check_writer(self, context, dataset: str) -> None:
        grant = self.tokens.require(context.invocation_metadata())
        if not grant.allows(dataset) or not grant.may_write(dataset):
            raise PermissionDenied(f"this token may not change dataset {dataset!r} (it needs write access)")

    def _visible(self, context, names: list[str]) -> list[str]:
        if not self.tokens:
            return names
        grant = self.tokens.grant(context.invocation_metadata())
        return [n for n in names if grant is not None and grant.allows(n)]

    async def _answer(self, msg: pb.RetrieveRequest, deadline: float | None, context) -> pb.RetrieveResponse:
        request = parse_request(msg, self.settings)
        self._check_tenant(context, request.dataset)
        if msg.episode_id:
            trace.get_current_span().set_attribute("lbi.episode_id", msg.episode_id)
        started = time.perf_counter()
        self.in_flight += 1
        try:
            work = self.retriever.retrieve(request)
            result = await (asyncio.wait_for(work, deadline) if deadline is not None else work)
        except TimeoutError:
            raise DeadlineExceeded("the request deadline passed before retrieval finished") from None
        except CollectionNotFound:
            raise await self._not_found(context, request.dataset) from None
        except StoreUnavailable as exc:
            raise self._store_down(exc) from None
        finally:
            self.in_flight -= 1
        response = pb.RetrieveResponse(queries=result.queries, degraded=result.degraded)
        found = [f for f in result.found if f.score >= msg.min_score] if msg.min_score else result.found
        for item in found:
            retrieved = response.examples.add(
                example=item.example.proto,  # copied in: the cached message stays as it is
                score=item.score,
                mode=MODES[item.mode],
                matched_step=item.matched_step,
                query=item.query,
                window_start=item.window_start,
            )
            example = retrieved.example
            example.id = item.example_id or example.id  # the stored id, also when the example is windowed
            if msg.metadata_only:
                del example.steps[:]
                example.final_observation = ""
                example.ClearField("verdicts")
        if (msg.prompt_budget_chars or msg.max_tokens) and not msg.metadata_only:
            with _tracer.start_as_current_span("prompt_assembly"):
                ordered = interleave_modes(found)
                count = await asyncio.to_thread(counter, msg.tokenizer) if msg.max_tokens else None
                response.prompt_block = format_prompt(
                    [f.example for f in ordered],
                    msg.prompt_budget_chars,
                    [f.matched_step for f in ordered],
                    msg.max_tokens,
                    count,
                )
        for name, value in result.timings_ms.items():
            response.timings_ms[name] = value
        response.timings_ms["total_ms"] = (time.perf_counter() - started) * 1000
        return response

    async def Retrieve(self, request, context):
        return await self._answer(request, context.time_remaining(), context)

    async def BatchRetrieve(self, request, context):
        if len(request.requests) > MAX_BATCH:
            raise InvalidArgument("requests", f"at most {MAX_BATCH} requests per batch")
        deadline = context.time_remaining()

        async def one(msg: pb.RetrieveRequest) -> pb.BatchRetrieveItem:
            try:
                return pb.BatchRetrieveItem(response=await self._answer(msg, deadline, context))
            except (
                InvalidArgument,
                NotFound,
                Unavailable,
                DeadlineExceeded,
                PermissionDenied,
                FailedPrecondition,
            ) as exc:
                return pb.BatchRetrieveItem(error_code=exc.code.name, error_message=str(exc))

        items = await asyncio.gather(*(one(m) for m in request.requests))
        return pb.BatchRetrieveResponse(items=items)

    async def ListDatasets(self, request, context):
        try:
            names = self._visible(context, await self.datasets.list())
            return pb.ListDatasetsResponse(datasets=[await self._describe(n, context) for n in names])
        except StoreUnavailable as exc:
            raise self._store_down(exc) from None

    async def _not_found(self, context, name: str) -> NotFound:
        """NOT_FOUND saying where the service looked and which datasets (this caller may see) are there."""
        where = _without_userinfo(self.settings.qdrant_url) or str((self.settings.data_dir / "qdrant").resolve())
        try:
            there = ", ".join(self._visible(context, sorted(await self.datasets.list()))) or "none"
        except StoreUnavailable:
            there = "unknown (the store did not answer)"
        return NotFound(f"no dataset {name!r} in {where}; datasets there: {there}")

    async def _describe(self, name: str, context) -> pb.DatasetInfo:
        try:
            info = await self.datasets.describe(name)
        except CollectionNotFound:
            raise await self._not_found(context, name) from None
        except StoreUnavailable as exc:
            raise self._store_down(exc) from None
        return pb.DatasetInfo(
            name=info.name,
            examples=info.examples,
            steps=info.steps,
            embedding_model=info.embedding_model,
            embedding_dim=info.embedding_dim,
            created_by_jobs=info.jobs,
            envs=info.envs,
            created_at=to_timestamp(info.created_at),
            online_examples=info.online_examples,
        )

    async def DescribeDataset(self, request, context):
        return await self._describe(self._dataset(context, request.dataset), context)

    def _dataset(self, context, value: str, write: bool = False) -> str:
        if not value:
            raise InvalidArgument("dataset", "must name a dataset")
        try:
            check_name(value)
        except ValueError as exc:
            raise InvalidArgument("dataset", str(exc)) from None
        self._check_tenant(context, value)
        if write:
            self._check_writer(context, value)
        return value

    async def _browsing(self, context, dataset: str, work):
        try:
            return await work
        except CollectionNotFound:
            raise await self._not_found(context, dataset) from None
        except StoreUnavailable as exc:
            raise self._store_down(exc) from None

    async def ListExamples(self, request, context):
        dataset = self._dataset(context, request.dataset)
        return await self._browsing(context, dataset, browse.list_examples(self.datasets, request))

    async def GetExamples(self, request, context):
        dataset = self._dataset(context, request.dataset)
        return await self._browsing(context, dataset, browse.get_examples(self.datasets, request))

    async def DeleteExamples(self, request, context):
        dataset = self._dataset(context, request.dataset, write=True)
        ids = browse.example_ids(request.ids)
        await self._browsing(context, dataset, self.datasets.describe(dataset))  # NOT_FOUND for an unknown dataset
        deleted = await self._browsing(context, dataset, self.datasets.delete_examples(dataset, ids))
        return pb.DeleteExamplesResponse(examples=deleted)
