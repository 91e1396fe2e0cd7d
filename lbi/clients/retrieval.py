"""Python SDK of the retrieval service: sync and async clients returning plain dataclasses.

    client = RetrievalClient("127.0.0.1:50052")
    result = client.retrieve("shop", observation=obs, instruction=task, prompt_budget_chars=4000)
    prompt = result.prompt_block or format_prompt(result.examples, 4000)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import grpc

from lbi.clients.channel import OPTIONS, credentials, open_channel
from lbi.prompt_block import format_prompt
from lbi.records import Origin, Step
from lbi.v1 import retrieval_pb2 as pb
from lbi.v1 import retrieval_pb2_grpc

__all__ = ["AsyncRetrievalClient", "RetrievalClient", "RetrievedExample", "RetrieveResult", "format_prompt"]

MODES = {"observation": pb.RETRIEVAL_MODE_OBSERVATION, "query": pb.RETRIEVAL_MODE_QUERY,
         "instruction": pb.RETRIEVAL_MODE_INSTRUCTION, "agentic": pb.RETRIEVAL_MODE_AGENTIC}
_MODE_NAMES = {v: k for k, v in MODES.items()}


@dataclass
class RetrievedExample:
    id: str
    instruction: str
    env: str
    origin: str
    steps: list[Step]
    final_observation: str
    score: float
    mode: str
    matched_step: int
    query: str = ""
    source_trajectory_id: str = ""
    span: tuple[int, int] = (0, 0)  # the source trajectory's steps [start, end) this example shows


@dataclass
class RetrieveResult:
    examples: list[RetrievedExample]
    prompt_block: str = ""
    queries: list[str] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)


def build_request(
    dataset: str, observation: str = "", instruction: str = "", history: Sequence[Step] = (),
    queries: Sequence[str] = (), mode: str | Sequence[str] = "agentic", k: int = 0, envs: Sequence[str] = (),
    origins: Sequence[str] = (), prompt_budget_chars: int = 0, generate_queries: bool = False, window: int = 0,
    dense_observation: bool = False, per_trajectory: int = 0,
) -> pb.RetrieveRequest:
    modes = [mode] if isinstance(mode, str) else list(mode)
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise ValueError(f"unknown mode(s) {unknown}; use {sorted(MODES)}")
    return pb.RetrieveRequest(
        dataset=dataset, observation=observation, instruction=instruction, history=[s.to_proto() for s in history],
        queries=list(queries), modes=[MODES[m] for m in modes], k_observation=k, k_query=k, k_instruction=k,
        filters=pb.RetrievalFilters(envs=list(envs), origins=[Origin(o).to_proto() for o in origins]),
        prompt_budget_chars=prompt_budget_chars, generate_queries=generate_queries, window=window,
        dense_observation=dense_observation, per_trajectory=per_trajectory,
    )


def parse_response(msg: pb.RetrieveResponse) -> RetrieveResult:
    examples = [
        RetrievedExample(
            id=r.example.id, instruction=r.example.instruction, env=r.example.env,
            origin=Origin.from_proto(r.example.origin).value, steps=[Step.from_proto(s) for s in r.example.steps],
            final_observation=r.example.final_observation, score=r.score, mode=_MODE_NAMES.get(r.mode, "unknown"),
            matched_step=r.matched_step, query=r.query, source_trajectory_id=r.example.source_trajectory_id,
            span=(r.example.span_start, r.example.span_end),
        )
        for r in msg.examples
    ]
    return RetrieveResult(examples, msg.prompt_block, list(msg.queries), dict(msg.timings_ms))


def _metadata(token: str | None) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),) if token else ()


class AsyncRetrievalClient:
    """grpc.aio client; `await client.retrieve(...)`."""

    def __init__(self, target: str, token: str | None = None, timeout_s: float = 5.0, ca_file: str | None = None):
        self._channel = open_channel(target, ca_file)
        self._stub = retrieval_pb2_grpc.RetrievalServiceStub(self._channel)
        self._metadata = _metadata(token)
        self.timeout_s = timeout_s

    async def retrieve(self, dataset: str, **kwargs) -> RetrieveResult:
        timeout = kwargs.pop("timeout_s", self.timeout_s)
        response = await self._stub.Retrieve(build_request(dataset, **kwargs), timeout=timeout, metadata=self._metadata)
        return parse_response(response)

    async def list_datasets(self) -> list[pb.DatasetInfo]:
        return list((await self._stub.ListDatasets(pb.ListDatasetsRequest(), timeout=self.timeout_s, metadata=self._metadata)).datasets)

    async def describe_dataset(self, dataset: str) -> pb.DatasetInfo:
        return await self._stub.DescribeDataset(pb.DescribeDatasetRequest(dataset=dataset), timeout=self.timeout_s, metadata=self._metadata)

    async def close(self) -> None:
        await self._channel.close()

    async def __aenter__(self) -> "AsyncRetrievalClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class RetrievalClient:
    """Blocking client for agents without an event loop; `client.retrieve(...)`."""

    def __init__(self, target: str, token: str | None = None, timeout_s: float = 5.0, ca_file: str | None = None):
        tls = credentials(ca_file)
        self._channel = grpc.secure_channel(target, tls, options=OPTIONS) if tls else grpc.insecure_channel(target, options=OPTIONS)
        self._stub = retrieval_pb2_grpc.RetrievalServiceStub(self._channel)
        self._metadata = _metadata(token)
        self.timeout_s = timeout_s

    def retrieve(self, dataset: str, **kwargs) -> RetrieveResult:
        timeout = kwargs.pop("timeout_s", self.timeout_s)
        return parse_response(self._stub.Retrieve(build_request(dataset, **kwargs), timeout=timeout, metadata=self._metadata))

    def list_datasets(self) -> list[pb.DatasetInfo]:
        return list(self._stub.ListDatasets(pb.ListDatasetsRequest(), timeout=self.timeout_s, metadata=self._metadata).datasets)

    def describe_dataset(self, dataset: str) -> pb.DatasetInfo:
        return self._stub.DescribeDataset(pb.DescribeDatasetRequest(dataset=dataset), timeout=self.timeout_s, metadata=self._metadata)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "RetrievalClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
