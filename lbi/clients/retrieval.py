"""Python SDK of the retrieval service: sync and async clients returning plain dataclasses.

    client = RetrievalClient("127.0.0.1:50052")
    result = client.retrieve("shop", observation=obs, instruction=task, prompt_budget_chars=4000)
    prompt = result.prompt_block or format_prompt(result.examples, 4000)

Episodes (online adaptation, lbi/clients/episodes.py): `with client.episode("shop", task) as ep:` retrieves at
each step and reports the episode when it ends. Reports go to the EpisodeService at `episodes_target` (the
synthesis service), or at `target` when not given (`lbi up` serves both APIs on the retrieval port).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import grpc

from lbi.clients.channel import OPTIONS, credentials, open_channel
from lbi.clients.episodes import AsyncEpisode, AsyncReporter, Episode, Reporter, RetryPolicy, report_request
from lbi.prompt_block import format_prompt
from lbi.records import Origin, Step
from lbi.retrieval_modes import MODE_NAMES, MODES
from lbi.telemetry import intercept_sync_channel
from lbi.v1 import episodes_pb2, episodes_pb2_grpc, retrieval_pb2_grpc
from lbi.v1 import retrieval_pb2 as pb

__all__ = ["AsyncRetrievalClient", "RetrievalClient", "RetrieveResult", "RetrievedExample", "format_prompt"]


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
    degraded: str = ""  # why the service answered with less than was asked (its query writer failed)


def build_request(
    dataset: str,
    observation: str = "",
    instruction: str = "",
    history: Sequence[Step] = (),
    queries: Sequence[str] = (),
    mode: str | Sequence[str] = "agentic",
    k: int = 0,
    envs: Sequence[str] = (),
    origins: Sequence[str] = (),
    prompt_budget_chars: int = 0,
    generate_queries: bool = False,
    window: int = 0,
    dense_observation: bool = False,
    per_trajectory: int = 0,
    episode_id: str = "",
    max_tokens: int = 0,
    tokenizer: str = "",
    min_score: float = 0.0,
    metadata_only: bool = False,
) -> pb.RetrieveRequest:
    modes = [mode] if isinstance(mode, str) else list(mode)
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise ValueError(f"unknown mode(s) {unknown}; use {sorted(MODES)}")
    return pb.RetrieveRequest(
        dataset=dataset,
        observation=observation,
        instruction=instruction,
        history=[s.to_proto() for s in history],
        queries=list(queries),
        modes=[MODES[m] for m in modes],
        k_observation=k,
        k_query=k,
        k_instruction=k,
        filters=pb.RetrievalFilters(envs=list(envs), origins=[Origin(o).to_proto() for o in origins]),
        prompt_budget_chars=prompt_budget_chars,
        generate_queries=generate_queries,
        window=window,
        dense_observation=dense_observation,
        per_trajectory=per_trajectory,
        episode_id=episode_id,
        max_tokens=max_tokens,
        tokenizer=tokenizer,
        min_score=min_score,
        metadata_only=metadata_only,
    )


def parse_response(msg: pb.RetrieveResponse) -> RetrieveResult:
    examples = [
        RetrievedExample(
            id=r.example.id,
            instruction=r.example.instruction,
            env=r.example.env,
            origin=Origin.from_proto(r.example.origin).value,
            steps=[Step.from_proto(s) for s in r.example.steps],
            final_observation=r.example.final_observation,
            score=r.score,
            mode=MODE_NAMES.get(r.mode, "unknown"),
            matched_step=r.matched_step,
            query=r.query,
            source_trajectory_id=r.example.source_trajectory_id,
            span=(r.example.span_start, r.example.span_end),
        )
        for r in msg.examples
    ]
    return RetrieveResult(examples, msg.prompt_block, list(msg.queries), dict(msg.timings_ms), msg.degraded)


def _metadata(token: str | None) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),) if token else ()


class AsyncRetrievalClient:
    """grpc.aio client; `await client.retrieve(...)`."""

    def __init__(
        self,
        target: str,
        token: str | None = None,
        timeout_s: float = 5.0,
        ca_file: str | None = None,
        episodes_target: str | None = None,
        report_retry: RetryPolicy | None = None,
    ):
        self._channel = open_channel(target, ca_file)
        self._stub = retrieval_pb2_grpc.RetrievalServiceStub(self._channel)
        self._episodes_channel = (
            open_channel(episodes_target, ca_file) if episodes_target and episodes_target != target else None
        )
        self._episodes = episodes_pb2_grpc.EpisodeServiceStub(self._episodes_channel or self._channel)
        self._metadata = _metadata(token)
        self.timeout_s = timeout_s
        self.reporter = AsyncReporter(self._send_report, report_retry)

    async def _send_report(self, request: episodes_pb2.ReportEpisodeRequest) -> episodes_pb2.ReportEpisodeResponse:
        return await self._episodes.ReportEpisode(request, timeout=self.timeout_s, metadata=self._metadata)

    def episode(self, dataset: str, task: str, episode_id: str = "", env: str = "") -> AsyncEpisode:
        """`async with client.episode(dataset, task) as ep:` — see lbi/clients/episodes.py."""
        return AsyncEpisode(self, dataset, task, episode_id, env)

    async def report_episode(
        self,
        dataset: str,
        episode_id: str,
        task: str,
        steps: Sequence[Step],
        final_observation: str,
        outcome: str = "unknown",
        **kwargs,
    ) -> episodes_pb2.ReportEpisodeResponse:
        """Reports an episode now and waits for the answer (no retries; `episode()` reports in the background)."""
        return await self._send_report(
            report_request(dataset, episode_id, task, list(steps), final_observation, outcome, **kwargs)
        )

    async def delete_episodes(
        self, dataset: str, episode_ids: Sequence[str] = (), tenant: str = ""
    ) -> episodes_pb2.DeleteEpisodesResponse:
        return await self._episodes.DeleteEpisodes(
            episodes_pb2.DeleteEpisodesRequest(dataset=dataset, episode_ids=list(episode_ids), tenant=tenant),
            timeout=self.timeout_s,
            metadata=self._metadata,
        )

    async def online_stats(self, dataset: str) -> episodes_pb2.OnlineStats:
        return await self._episodes.GetOnlineStats(
            episodes_pb2.GetOnlineStatsRequest(dataset=dataset), timeout=self.timeout_s, metadata=self._metadata
        )

    async def retrieve(self, dataset: str, **kwargs) -> RetrieveResult:
        timeout = kwargs.pop("timeout_s", self.timeout_s)
        response = await self._stub.Retrieve(build_request(dataset, **kwargs), timeout=timeout, metadata=self._metadata)
        return parse_response(response)

    async def list_datasets(self) -> list[pb.DatasetInfo]:
        return list(
            (
                await self._stub.ListDatasets(pb.ListDatasetsRequest(), timeout=self.timeout_s, metadata=self._metadata)
            ).datasets
        )

    async def describe_dataset(self, dataset: str) -> pb.DatasetInfo:
        return await self._stub.DescribeDataset(
            pb.DescribeDatasetRequest(dataset=dataset), timeout=self.timeout_s, metadata=self._metadata
        )

    async def close(self, report_timeout_s: float = 5.0) -> None:
        """Waits up to `report_timeout_s` for episode reports in flight, then closes the channels."""
        await self.reporter.flush(report_timeout_s)
        await self._channel.close()
        if self._episodes_channel is not None:
            await self._episodes_channel.close()

    async def __aenter__(self) -> AsyncRetrievalClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class RetrievalClient:
    """Blocking client for agents without an event loop; `client.retrieve(...)`."""

    def __init__(
        self,
        target: str,
        token: str | None = None,
        timeout_s: float = 5.0,
        ca_file: str | None = None,
        episodes_target: str | None = None,
        report_retry: RetryPolicy | None = None,
    ):
        tls = credentials(ca_file)

        def channel(address: str) -> grpc.Channel:
            plain = (
                grpc.secure_channel(address, tls, options=OPTIONS)
                if tls
                else grpc.insecure_channel(address, options=OPTIONS)
            )
            return intercept_sync_channel(plain)  # a client span per call; the agent's trace context goes along

        self._channel = channel(target)
        self._stub = retrieval_pb2_grpc.RetrievalServiceStub(self._channel)
        self._episodes_channel = channel(episodes_target) if episodes_target and episodes_target != target else None
        self._episodes = episodes_pb2_grpc.EpisodeServiceStub(self._episodes_channel or self._channel)
        self._metadata = _metadata(token)
        self.timeout_s = timeout_s
        self._report_retry = report_retry
        self._reporter: Reporter | None = None

    @property
    def reporter(self) -> Reporter:
        """The background reporter of episodes (its thread starts with the first episode)."""
        if self._reporter is None:
            self._reporter = Reporter(self._send_report, self._report_retry)
        return self._reporter

    def _send_report(self, request: episodes_pb2.ReportEpisodeRequest) -> episodes_pb2.ReportEpisodeResponse:
        return self._episodes.ReportEpisode(request, timeout=self.timeout_s, metadata=self._metadata)

    def episode(self, dataset: str, task: str, episode_id: str = "", env: str = "") -> Episode:
        """`with client.episode(dataset, task) as ep:` — see lbi/clients/episodes.py."""
        return Episode(self, dataset, task, episode_id, env)

    def report_episode(
        self,
        dataset: str,
        episode_id: str,
        task: str,
        steps: Sequence[Step],
        final_observation: str,
        outcome: str = "unknown",
        **kwargs,
    ) -> episodes_pb2.ReportEpisodeResponse:
        """Reports an episode now and waits for the answer (no retries; `episode()` reports in the background)."""
        return self._send_report(
            report_request(dataset, episode_id, task, list(steps), final_observation, outcome, **kwargs)
        )

    def delete_episodes(
        self, dataset: str, episode_ids: Sequence[str] = (), tenant: str = ""
    ) -> episodes_pb2.DeleteEpisodesResponse:
        return self._episodes.DeleteEpisodes(
            episodes_pb2.DeleteEpisodesRequest(dataset=dataset, episode_ids=list(episode_ids), tenant=tenant),
            timeout=self.timeout_s,
            metadata=self._metadata,
        )

    def online_stats(self, dataset: str) -> episodes_pb2.OnlineStats:
        return self._episodes.GetOnlineStats(
            episodes_pb2.GetOnlineStatsRequest(dataset=dataset), timeout=self.timeout_s, metadata=self._metadata
        )

    def retrieve(self, dataset: str, **kwargs) -> RetrieveResult:
        timeout = kwargs.pop("timeout_s", self.timeout_s)
        return parse_response(
            self._stub.Retrieve(build_request(dataset, **kwargs), timeout=timeout, metadata=self._metadata)
        )

    def list_datasets(self) -> list[pb.DatasetInfo]:
        return list(
            self._stub.ListDatasets(pb.ListDatasetsRequest(), timeout=self.timeout_s, metadata=self._metadata).datasets
        )

    def describe_dataset(self, dataset: str) -> pb.DatasetInfo:
        return self._stub.DescribeDataset(
            pb.DescribeDatasetRequest(dataset=dataset), timeout=self.timeout_s, metadata=self._metadata
        )

    def close(self, report_timeout_s: float = 5.0) -> None:
        """Waits up to `report_timeout_s` for episode reports in flight, then closes the channels."""
        if self._reporter is not None:
            self._reporter.close(report_timeout_s)
        self._channel.close()
        if self._episodes_channel is not None:
            self._episodes_channel.close()

    def __enter__(self) -> RetrievalClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
