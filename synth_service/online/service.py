"""The EpisodeService gRPC servicer: reports, deletions and statistics of the datasets' online jobs.

Tenancy comes from the credential (lbi/auth.py): reporting and deleting need write access to the dataset;
a token limited to datasets deletes only its own tenant's episodes; a token for every dataset deletes any.
"""

from __future__ import annotations

import asyncio

from lbi.auth import Grant, TokenTable
from lbi.dataset import check_name
from lbi.errors import InvalidArgument, PermissionDenied
from lbi.store.base import CollectionNotFound
from lbi.v1 import episodes_pb2 as pb
from lbi.v1 import episodes_pb2_grpc
from synth_service.online.episode import check_episode_id, parse_report
from synth_service.online.episode_pages import list_episodes
from synth_service.online.jobs import OnlineJobs
from synth_service.online.learner import EPISODES_RECEIVED

SERVICE_NAME = "lbi.v1.EpisodeService"


def _dataset(value: str) -> str:
    if not value:
        raise InvalidArgument("dataset", "must name a dataset")
    try:
        return check_name(value)
    except ValueError as exc:
        raise InvalidArgument("dataset", str(exc)) from None


class EpisodeService(episodes_pb2_grpc.EpisodeServiceServicer):
    def __init__(self, online: OnlineJobs, tokens: TokenTable):
        self.online = online
        self.tokens = tokens

    def _grant(self, context) -> Grant:
        return self.tokens.require(context.invocation_metadata())

    def _writer(self, context, dataset: str) -> Grant:
        grant = self._grant(context)
        if not grant.may_write(dataset):
            raise PermissionDenied(f"this token may not write dataset {dataset!r}")
        return grant

    async def _default_env(self, dataset: str, configured: str) -> str:
        if configured:
            return configured
        try:
            envs = (await self.online.datasets.describe(dataset)).envs
        except CollectionNotFound:
            return ""
        return envs[0] if len(envs) == 1 else ""

    async def ReportEpisode(self, request, context):
        dataset = _dataset(request.dataset)
        grant = self._writer(context, dataset)
        policy = self.online.book(dataset)
        if not policy.accept_episodes:
            EPISODES_RECEIVED.add(1, {"dataset": dataset, "result": "refused:policy"})
            return pb.ReportEpisodeResponse(
                accepted=False,
                tenant=grant.tenant,
                reason=f"dataset {dataset!r} does not accept episodes (no online policy enables it)",
            )
        if not policy.allows_tenant(grant.tenant):
            EPISODES_RECEIVED.add(1, {"dataset": dataset, "result": "refused:tenant"})
            raise PermissionDenied(
                f"tenant {grant.tenant!r} may not report episodes to dataset {dataset!r} (its online policy)"
            )
        default_env = request.env or await self._default_env(dataset, policy.env)
        episode = parse_report(request, grant.tenant, default_env, policy.max_steps, policy.redactor)
        new = await self.online.job(dataset).report(episode)
        return pb.ReportEpisodeResponse(accepted=True, duplicate=not new, tenant=grant.tenant)

    async def DeleteEpisodes(self, request, context):
        dataset = _dataset(request.dataset)
        grant = self._writer(context, dataset)
        for i, episode_id in enumerate(request.episode_ids):
            check_episode_id(episode_id, f"episode_ids[{i}]")
        if not request.episode_ids and not request.tenant:
            raise InvalidArgument("episode_ids", "name episodes to delete, or a tenant")
        scoped = grant.datasets is not None
        if scoped and request.tenant and request.tenant != grant.tenant:
            raise PermissionDenied(f"this token may delete only its own tenant's episodes ({grant.tenant!r})")
        job = self.online.get(dataset)
        if job is None:
            return pb.DeleteEpisodesResponse()
        episodes, examples = await job.delete(list(request.episode_ids), request.tenant, grant.tenant if scoped else "")
        return pb.DeleteEpisodesResponse(episodes=episodes, examples=examples)

    async def GetOnlineStats(self, request, context):
        dataset = _dataset(request.dataset)
        grant = self._grant(context)
        if not grant.allows(dataset):
            raise PermissionDenied(f"this token may not read dataset {dataset!r}")
        job = self.online.get(dataset)
        if job is None:
            return pb.OnlineStats(dataset=dataset)
        s = job.stats
        return pb.OnlineStats(
            dataset=dataset,
            accepting=job.policy.accept_episodes,
            episodes_received=s.received,
            episodes_learned=s.learned,
            episodes_pending=job.pending,
            candidates=s.candidates,
            examples_kept=s.kept,
            dropped=dict(s.dropped),
            delay_p50_s=s.delay(50),
            delay_p99_s=s.delay(99),
        )

    async def ListEpisodes(self, request, context):
        dataset = _dataset(request.dataset)
        grant = self._grant(context)
        if not grant.allows(dataset):
            raise PermissionDenied(f"this token may not read dataset {dataset!r}")
        for i, episode_id in enumerate(request.episode_ids):
            check_episode_id(episode_id, f"episode_ids[{i}]")
        tenant = grant.tenant if grant.datasets is not None else ""
        return await asyncio.to_thread(list_episodes, self.online.journal, dataset, request, tenant)
