"""The online jobs of one synthesis service: one per dataset with a policy that accepts episodes or with
episodes still in the journal, started with the service and stopped with it."""

from __future__ import annotations

from lbi.dataset import DatasetStore
from lbi.llm.gateway import LLMGateway
from synth_service.journal import Journal
from synth_service.online.learner import EPISODES, OnlineJob, job_prefix
from synth_service.online.policy import PolicyBook


class OnlineJobs:
    def __init__(
        self, book: PolicyBook, journal: Journal, gateway: LLMGateway, datasets: DatasetStore, sweep_s: float = 3600.0
    ):
        self.book, self.journal, self.gateway, self.datasets = book, journal, gateway, datasets
        self.sweep_s = sweep_s
        self._jobs: dict[str, OnlineJob] = {}

    def job(self, dataset: str) -> OnlineJob:
        """The dataset's online job, started if it was not running."""
        if dataset not in self._jobs:
            self._jobs[dataset] = OnlineJob(
                dataset, self.book(dataset), self.journal, self.gateway, self.datasets, self.sweep_s
            )
            self._jobs[dataset].start()
        return self._jobs[dataset]

    def get(self, dataset: str) -> OnlineJob | None:
        """The dataset's job if it has one (a dataset without a policy and without episodes has none)."""
        if dataset in self._jobs:
            return self._jobs[dataset]
        if self.book(dataset).accept_episodes or self.journal.count(job_prefix(dataset), EPISODES):
            return self.job(dataset)
        return None

    def start(self) -> list[str]:
        """Starts the jobs of datasets that accept episodes and of those with episodes journaled (pending ones are
        learned; a dataset whose policy was removed keeps its episodes until they are deleted)."""
        prefix = job_prefix("")
        journaled = [
            job_id[len(prefix) :]
            for job_id in self.journal.jobs_with(EPISODES, prefix)
            if "/" not in job_id[len(prefix) :]
        ]
        for dataset in sorted(set(self.book.datasets) | set(journaled)):
            self.job(dataset)
        return sorted(self._jobs)

    async def close(self) -> None:
        for job in self._jobs.values():
            await job.close()
        self._jobs.clear()
