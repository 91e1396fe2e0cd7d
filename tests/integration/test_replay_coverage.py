"""`lbi eval --replay K` on a task set built so that the answer is known: a dataset of two demonstrations, one of
which solves the first task and none the second. Coverage@K is then 1/2 in every mode that returns the solving
demonstration, and MRR is 1/2 divided by its rank; no model is called."""

import json

from lbi.clients.retrieval import AsyncRetrievalClient
from lbi.dataset import DatasetStore
from lbi.evaluation.replay import replay_coverage
from lbi.evaluation.tasks import EvalTask
from lbi.records import Example, Origin, Step
from lbi.store.edge import EdgeStore
from retrieval_service.config import RetrievalSettings
from retrieval_service.server import start_retrieval

COUNT = "SELECT COUNT(*) FROM customers"


def _example(instruction: str, actions: list[str], source: str) -> Example:
    steps = tuple(Step("Connected to the shop database.", a) for a in actions)
    return Example(instruction, "sql", steps, "done", Origin.BACKWARD_TASK, source, 0, len(steps), kept=True)


DEMONSTRATIONS = [
    _example("Count the customers of the shop.", [COUNT], "t1"),
    _example("List the names of the product categories.", ["SELECT name FROM categories"], "t2"),
]
TASKS = [
    EvalTask(id="covered", instruction="How many customers does the shop have?",
             check={"kind": "sql_result", "gold_sql": COUNT}),
    EvalTask(id="uncovered", instruction="What is the total amount of all payments?",
             check={"kind": "sql_result", "gold_sql": "SELECT SUM(amount) FROM payments"}),
]  # fmt: skip


async def test_coverage_and_mrr_on_a_task_set_with_a_known_answer(runner, tmp_path, embedder):
    store = EdgeStore(tmp_path / "qdrant")
    await DatasetStore(store, embedder).ingest("known", DEMONSTRATIONS, job_id="job-1")
    server, _ = await start_retrieval(
        RetrievalSettings(data_dir=tmp_path, retrieval_port=0), store=store, embedder=embedder
    )
    try:
        async with AsyncRetrievalClient(f"127.0.0.1:{server.port}") as retrieval:
            modes = await replay_coverage(runner, retrieval, "known", "sql", TASKS, k=2, modes=("instruction", "query"))
    finally:
        await server.stop(0)
        await store.close()
    for mode in modes:
        by_task = {r.task_id: r for r in mode.per_task}
        assert by_task["uncovered"].solved_at == 0 and by_task["uncovered"].tried == 2
        assert by_task["covered"].solved_at == 1, (mode.mode, by_task)  # the nearer instruction comes first
        assert (mode.coverage, mode.mrr) == (0.5, 0.5), mode
    print(json.dumps([m.to_dict(with_tasks=False) for m in modes]))
