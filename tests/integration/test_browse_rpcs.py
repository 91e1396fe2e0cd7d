"""Browsing what was learned over real gRPC servers: a job's records (ListJobRecords: pages, filters, lineage),
a dataset's examples (ListExamples, GetExamples, DeleteExamples) and reported episodes (ListEpisodes), with the
token rules: a read-only token reads but cannot create, cancel or delete, a scoped token sees its own tenant only.

The job is the sql sample's (three documentation sections), run by the offline backend's deterministic policy; the
episodes are a plant-nursery agent's, written by hand as an agent would report them.
"""

from __future__ import annotations

import asyncio

import grpc
import pytest
import yaml

from lbi.cli.local_runner import launch_runner
from lbi.records import Step
from lbi.store.edge import EdgeStore
from lbi.v1 import common_pb2, episodes_pb2, episodes_pb2_grpc, retrieval_pb2, retrieval_pb2_grpc, synthesis_pb2_grpc
from lbi.v1 import synthesis_pb2 as spb
from retrieval_service.config import RetrievalSettings
from retrieval_service.server import start_retrieval
from synth_service.config import SynthSettings
from synth_service.server import episode_service, start_synthesis
from synth_service.spec import spec_from_dict

SECTIONS = ["Filtering rows with WHERE", "Top customers by revenue", "Counting rows", "Grouping with GROUP BY"]
TOKENS = "admin@admin-token,reader@reader-token=nursery|other,agent@agent-token=nursery:rw"
ADMIN = (("authorization", "Bearer admin-token"),)
READER = (("authorization", "Bearer reader-token"),)  # reads nursery and other, writes nothing
AGENT = (("authorization", "Bearer agent-token"),)  # reads and writes nursery, tenant "agent"


class Services:
    def __init__(self, tmp_path, embedder, journal_url: str = ""):
        self.tmp_path, self.embedder, self.journal_url = tmp_path, embedder, journal_url

    async def __aenter__(self):
        policy = self.tmp_path / "online.yaml"
        policy.write_text(yaml.safe_dump({"datasets": {"nursery": {"accept_episodes": True, "env": "sql"}}}))
        self.store = EdgeStore(self.tmp_path / "qdrant")
        self.synth, self.engine = await start_synthesis(
            SynthSettings(
                data_dir=self.tmp_path,
                synth_port=0,
                auth_tokens=TOKENS,
                client_token="admin-token",
                online_policy_file=str(policy),
                journal_url=self.journal_url,
            ),
            store=self.store,
            embedder=self.embedder,
            launch_runner=launch_runner,
        )
        self.retrieval, _ = await start_retrieval(
            RetrievalSettings(data_dir=self.tmp_path, retrieval_port=0, auth_tokens=TOKENS),
            store=self.store,
            embedder=self.embedder,
            also_serve=[episode_service(self.engine, TOKENS)],
        )
        self.synth_channel = grpc.aio.insecure_channel(f"127.0.0.1:{self.synth.port}")
        self.retrieval_channel = grpc.aio.insecure_channel(f"127.0.0.1:{self.retrieval.port}")
        self.jobs = synthesis_pb2_grpc.SynthesisServiceStub(self.synth_channel)
        self.examples = retrieval_pb2_grpc.RetrievalServiceStub(self.retrieval_channel)
        self.episodes = episodes_pb2_grpc.EpisodeServiceStub(self.retrieval_channel)
        return self

    async def __aexit__(self, *exc):
        await self.synth_channel.close()
        await self.retrieval_channel.close()
        await self.engine.close()
        await self.synth.stop(0)
        await self.retrieval.stop(0)
        await self.store.close()

    async def run_job(self, dataset: str, sections: list[str] = SECTIONS, per_resource: int = 2) -> spb.Job:
        spec = spec_from_dict(
            {"env": "sql", "dataset": dataset, "resource_filter": sections, "instructions_per_resource": per_resource}
        )
        job = await self.jobs.CreateJob(spb.CreateJobRequest(spec=spec.to_proto()), metadata=ADMIN)
        async for _ in self.jobs.WatchJob(spb.WatchJobRequest(job_id=job.id), metadata=ADMIN):
            pass
        return await self.jobs.GetJob(spb.GetJobRequest(job_id=job.id), metadata=ADMIN)


async def _all(call, request, field: str) -> list:
    items, token = [], ""
    while True:
        request.page_token = token
        page = await call(request, metadata=ADMIN)
        items += list(getattr(page, field))
        token = page.next_page_token
        if not token:
            return items


async def _code(awaitable) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await awaitable
    return caught.value.code(), caught.value.details() or ""


@pytest.mark.parametrize("journal", ["sqlite", "postgresql"])
async def test_a_jobs_records_page_by_page_with_filters_and_lineage(tmp_path, embedder, journal, request):
    url = ""
    if journal == "postgresql":  # the journal on a real PostgreSQL (LBI_JOURNAL_URL), a fresh database
        from tests.fixtures.journal_pg import journal_database

        url = journal_database(request.getfixturevalue("postgres_server"))
    async with Services(tmp_path, embedder, url) as s:
        job = await s.run_job("nursery")
        assert job.state == spb.JOB_STATE_SUCCEEDED, job.error
        records = s.jobs.ListJobRecords

        resources = await _all(
            records, spb.ListJobRecordsRequest(job_id=job.id, kind=spb.RECORD_KIND_RESOURCE, page_size=2), "records"
        )
        assert len(resources) == job.stats.resources == len({r.key for r in resources}) > 2
        tasks = await _all(records, spb.ListJobRecordsRequest(job_id=job.id, kind=spb.RECORD_KIND_TASK), "records")
        assert len(tasks) == job.stats.instructions
        assert {t.resource_id for t in tasks} <= {r.key for r in resources}

        candidates = await _all(
            records, spb.ListJobRecordsRequest(job_id=job.id, kind=spb.RECORD_KIND_CANDIDATE, page_size=7), "records"
        )
        total = job.stats.kept + job.stats.dropped
        assert len(candidates) == len({c.key for c in candidates}) == total
        assert sum(c.ok for c in candidates) == job.stats.kept
        assert all(c.task_key in {t.key for t in tasks} and c.resource_id for c in candidates)
        assert all(c.reason for c in candidates if not c.ok)

        kept = await _all(
            records, spb.ListJobRecordsRequest(job_id=job.id, kind=spb.RECORD_KIND_CANDIDATE, kept=True), "records"
        )
        dropped = await _all(
            records, spb.ListJobRecordsRequest(job_id=job.id, kind=spb.RECORD_KIND_CANDIDATE, kept=False), "records"
        )
        assert len(kept) == job.stats.kept and all(c.ok and c.payload["verdicts"] for c in kept)
        assert len(dropped) == job.stats.dropped and not any(c.ok for c in dropped)
        word = dropped[0].reason.split()[1].upper()  # the reason filter ignores case
        assert all(
            word.lower() in c.reason.lower()
            for c in await _all(
                records,
                spb.ListJobRecordsRequest(job_id=job.id, kind=spb.RECORD_KIND_CANDIDATE, reason_contains=word),
                "records",
            )
        )
        forward = await _all(
            records,
            spb.ListJobRecordsRequest(job_id=job.id, kind=spb.RECORD_KIND_CANDIDATE, origin="forward"),
            "records",
        )
        assert forward and all(c.payload["origin"] == "forward" for c in forward)
        one = resources[0].key
        of_one = await _all(
            records,
            spb.ListJobRecordsRequest(job_id=job.id, kind=spb.RECORD_KIND_CANDIDATE, resource_id=one),
            "records",
        )
        assert of_one and all(c.resource_id == one for c in of_one)
        assert len(of_one) < len(candidates)

        # one candidate by key, then its trajectory by the task it came from
        picked = (
            await records(
                spb.ListJobRecordsRequest(job_id=job.id, kind=spb.RECORD_KIND_CANDIDATE, keys=[dropped[0].key]),
                metadata=ADMIN,
            )
        ).records[0]
        assert picked.reason == dropped[0].reason and picked.task_key
        trajectory = (
            await records(
                spb.ListJobRecordsRequest(job_id=job.id, kind=spb.RECORD_KIND_TRAJECTORY, keys=[picked.task_key]),
                metadata=ADMIN,
            )
        ).records[0]
        assert trajectory.payload["id"] == picked.payload["source_trajectory_id"] and trajectory.payload["steps"]

        bad = spb.ListJobRecordsRequest(job_id=job.id, kind=spb.RECORD_KIND_TASK, page_token="not-a-token")
        assert (await _code(records(bad, metadata=ADMIN)))[0] == grpc.StatusCode.INVALID_ARGUMENT
        code, details = await _code(records(spb.ListJobRecordsRequest(job_id=job.id), metadata=ADMIN))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "kind" in details
        code, details = await _code(
            records(spb.ListJobRecordsRequest(job_id="job-nope", kind=spb.RECORD_KIND_RESOURCE), metadata=ADMIN)
        )
        assert code == grpc.StatusCode.NOT_FOUND

        # jobs a page at a time, newest first on request, without the per-kind yields; a token sees its datasets' only
        other = await s.run_job("other", SECTIONS[:1], 1)
        first = await s.jobs.ListJobs(spb.ListJobsRequest(page_size=1, newest_first=True), metadata=ADMIN)
        assert [j.id for j in first.jobs] == [other.id] and first.next_page_token and not first.jobs[0].stats.yields
        rest = await s.jobs.ListJobs(
            spb.ListJobsRequest(page_size=1, newest_first=True, page_token=first.next_page_token), metadata=ADMIN
        )
        assert [j.id for j in rest.jobs] == [job.id] and not rest.next_page_token
        assert [j.id for j in (await s.jobs.ListJobs(spb.ListJobsRequest(), metadata=ADMIN)).jobs] == [job.id, other.id]
        agent_sees = await s.jobs.ListJobs(spb.ListJobsRequest(), metadata=AGENT)
        assert [j.id for j in agent_sees.jobs] == [job.id]  # its token reads nursery only

        # a read-only token reads the job but may not create, cancel or resume one
        assert (await s.jobs.GetJob(spb.GetJobRequest(job_id=job.id), metadata=READER)).id == job.id
        code, _ = await _code(s.jobs.CancelJob(spb.CancelJobRequest(job_id=job.id), metadata=READER))
        assert code == grpc.StatusCode.PERMISSION_DENIED
        code, _ = await _code(s.jobs.CreateJob(spb.CreateJobRequest(spec=job.spec, job_id=job.id), metadata=READER))
        assert code == grpc.StatusCode.PERMISSION_DENIED

        # examples: every one once over the pages; whole by id; deleted, gone from retrieval too
        info = await s.examples.DescribeDataset(retrieval_pb2.DescribeDatasetRequest(dataset="nursery"), metadata=ADMIN)
        listed = await _all(
            s.examples.ListExamples, retrieval_pb2.ListExamplesRequest(dataset="nursery", page_size=7), "examples"
        )
        assert len(listed) == len({e.example.id for e in listed}) == info.examples == job.stats.kept
        assert all(not e.example.steps and e.step_count > 0 and e.job_id == job.id for e in listed)
        backward = retrieval_pb2.ListExamplesRequest(
            dataset="nursery", filters=retrieval_pb2.RetrievalFilters(origins=[common_pb2.ORIGIN_BACKWARD_TASK])
        )
        page = await s.examples.ListExamples(backward, metadata=ADMIN)
        assert page.total == sum(e.example.origin == common_pb2.ORIGIN_BACKWARD_TASK for e in listed) > 0

        victim = next(e.example for e in listed if e.example.origin == common_pb2.ORIGIN_BACKWARD_TASK)
        got = await s.examples.GetExamples(
            retrieval_pb2.GetExamplesRequest(dataset="nursery", ids=[victim.id, "nope"]), metadata=ADMIN
        )
        assert [e.example.id for e in got.examples] == [victim.id] and list(got.missing) == ["nope"]
        whole = got.examples[0].example
        assert whole.steps

        code, _ = await _code(
            s.examples.DeleteExamples(
                retrieval_pb2.DeleteExamplesRequest(dataset="nursery", ids=[victim.id]), metadata=READER
            )
        )
        assert code == grpc.StatusCode.PERMISSION_DENIED
        deleted = await s.examples.DeleteExamples(
            retrieval_pb2.DeleteExamplesRequest(dataset="nursery", ids=[victim.id]), metadata=ADMIN
        )
        assert deleted.examples == 1
        after = await s.examples.GetExamples(
            retrieval_pb2.GetExamplesRequest(dataset="nursery", ids=[victim.id]), metadata=ADMIN
        )
        assert list(after.missing) == [victim.id]
        assert (
            await s.examples.DescribeDataset(retrieval_pb2.DescribeDatasetRequest(dataset="nursery"), metadata=ADMIN)
        ).examples == info.examples - 1
        found = await s.examples.Retrieve(
            retrieval_pb2.RetrieveRequest(
                dataset="nursery",
                observation=whole.steps[0].observation,
                modes=[retrieval_pb2.RETRIEVAL_MODE_OBSERVATION],
                k_observation=50,
                per_trajectory=50,
            ),
            metadata=ADMIN,
        )
        assert found.examples and victim.id not in {e.example.id for e in found.examples}
        code, details = await _code(
            s.examples.ListExamples(retrieval_pb2.ListExamplesRequest(dataset="ghost"), metadata=ADMIN)
        )
        assert code == grpc.StatusCode.NOT_FOUND and "ghost" in details
        code, details = await _code(
            s.examples.ListExamples(
                retrieval_pb2.ListExamplesRequest(dataset="nursery", page_size=10_000), metadata=ADMIN
            )
        )
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "page_size" in details


async def test_reported_episodes_listed_with_what_was_learned_by_tenant(tmp_path, embedder):
    steps = [
        Step(
            "Tables: plants(id, species, watered_on), beds(id, plant_id, zone)",
            "SELECT species FROM plants WHERE watered_on < date('now', '-3 days');",
        ),
        Step(
            "species\nfern\nbasil",
            "SELECT zone FROM beds JOIN plants ON plants.id = beds.plant_id WHERE species = 'fern';",
        ),
    ]
    async with Services(tmp_path, embedder) as s:
        for n, token in enumerate((ADMIN, AGENT, AGENT)):
            request = episodes_pb2.ReportEpisodeRequest(
                dataset="nursery",
                episode_id=f"ep-{n}",
                task="Which zone holds the fern that was not watered for three days?",
                steps=[x.to_proto() for x in steps],
                final_observation="zone\nnorth-2",
                outcome=episodes_pb2.EPISODE_OUTCOME_SUCCESS,
            )
            assert (await s.episodes.ReportEpisode(request, metadata=token)).accepted
        for _ in range(600):
            stats = await s.episodes.GetOnlineStats(
                episodes_pb2.GetOnlineStatsRequest(dataset="nursery"), metadata=ADMIN
            )
            if stats.episodes_learned == 3:
                break
            await asyncio.sleep(0.1)
        everything = await s.episodes.ListEpisodes(
            episodes_pb2.ListEpisodesRequest(dataset="nursery", page_size=2), metadata=ADMIN
        )
        assert [e.episode_id for e in everything.episodes] == ["ep-0", "ep-1"] and everything.total == 3
        rest = await s.episodes.ListEpisodes(
            episodes_pb2.ListEpisodesRequest(dataset="nursery", page_token=everything.next_page_token), metadata=ADMIN
        )
        assert [e.episode_id for e in rest.episodes] == ["ep-2"] and not rest.next_page_token
        first = everything.episodes[0]
        assert first.learned and first.candidates >= first.stored and first.step_count == 2 and not first.steps
        assert first.tenant == "admin" and first.outcome == episodes_pb2.EPISODE_OUTCOME_SUCCESS
        whole = await s.episodes.ListEpisodes(
            episodes_pb2.ListEpisodesRequest(dataset="nursery", episode_ids=["ep-1"], full=True), metadata=ADMIN
        )
        assert [x.action for x in whole.episodes[0].steps] == [x.action for x in steps]

        # a token scoped to datasets sees its own tenant's episodes only; a read-only one may not delete
        own = await s.episodes.ListEpisodes(episodes_pb2.ListEpisodesRequest(dataset="nursery"), metadata=AGENT)
        assert [e.episode_id for e in own.episodes] == ["ep-1", "ep-2"]
        theirs = await s.episodes.ListEpisodes(
            episodes_pb2.ListEpisodesRequest(dataset="nursery", episode_ids=["ep-0"]), metadata=AGENT
        )
        assert not theirs.episodes
        code, _ = await _code(
            s.episodes.DeleteEpisodes(
                episodes_pb2.DeleteEpisodesRequest(dataset="nursery", episode_ids=["ep-0"]), metadata=READER
            )
        )
        assert code == grpc.StatusCode.PERMISSION_DENIED
        code, details = await _code(
            s.episodes.ListEpisodes(episodes_pb2.ListEpisodesRequest(dataset="nursery", page_token="x"), metadata=ADMIN)
        )
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "page_token" in details
