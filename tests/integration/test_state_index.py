"""The steps index holds one point per distinct state of each source trajectory (layout 2), observation mode
returns at most one example per trajectory unless asked for more, and a dataset in the old layout is refused with
the command that rebuilds it, which then works. Real gRPC on 127.0.0.1 over the embedded store.

The trajectories are a library's loan desk in a shell (another domain than the samples): paper-mode backward
construction gives every span (i, j) two labels, so a trajectory of L steps yields L(L+1) + 1 examples through
only L + 1 states.
"""

from typing import Any

import grpc
import pytest

from lbi.clients.retrieval import AsyncRetrievalClient
from lbi.dataset import LAYOUT, META, STEPS, DatasetStore, LayoutError, collection, specs
from lbi.records import Example, Origin, Step, point_uuid
from lbi.store.base import PointData
from lbi.store.edge import EdgeStore
from retrieval_service.config import RetrievalSettings
from retrieval_service.server import start_retrieval

LOANS = [
    ("$ ", "ls loans/"),
    ("2026-11.csv  2026-12.csv  overdue.txt", "head -3 loans/2026-12.csv"),
    ("member,isbn,due\nm-104,978-0262033848,2026-12-02\nm-221,978-0131103627,2026-12-09", "grep -c m-104 loans/*.csv"),
    ("loans/2026-11.csv:2\nloans/2026-12.csv:1", "wc -l loans/overdue.txt"),
]
LOANS_FINAL = "17 loans/overdue.txt"
RETURNS = [
    ("$ ", "ls returns/"),
    ("monday.log  tuesday.log", "grep -h damaged returns/*.log | sort | uniq -c"),
    ("      2 damaged: water\n      1 damaged: torn cover", "tail -1 returns/tuesday.log"),
]
RETURNS_FINAL = "978-0201633610 returned by m-017 at 16:42"


def paper_mode(trajectory: str, steps: list[tuple[str, str]], final: str) -> list[Example]:
    """What backward construction keeps from one trajectory in paper mode: the forward example and two labels per
    span."""
    steps_ = tuple(Step(o, a) for o, a in steps)
    examples = [
        Example(f"task of {trajectory}", "shell", steps_, final, Origin.FORWARD, trajectory, 0, len(steps_), kept=True)
    ]
    for i in range(len(steps_)):
        for j in range(i + 1, len(steps_) + 1):
            end = steps_[j].observation if j < len(steps_) else final
            for origin in (Origin.BACKWARD_TASK, Origin.BACKWARD_SUMMARY):
                examples.append(
                    Example(
                        f"{origin.value} {trajectory} {i}-{j}",
                        "shell",
                        steps_[i:j],
                        end,
                        origin,
                        trajectory,
                        i,
                        j,
                        kept=True,
                    )
                )
    return examples


LOAN_EXAMPLES = paper_mode("loans", LOANS, LOANS_FINAL)
RETURN_EXAMPLES = paper_mode("returns", RETURNS, RETURNS_FINAL)


async def _serve(tmp_path, store, embedder):
    server, _ = await start_retrieval(
        RetrievalSettings(data_dir=tmp_path, retrieval_port=0), store=store, embedder=embedder
    )
    return server, f"127.0.0.1:{server.port}"


async def test_one_point_per_distinct_state_however_the_examples_arrive(tmp_path, embedder):
    store = EdgeStore(tmp_path / "qdrant")
    datasets = DatasetStore(store, embedder)
    assert len(LOAN_EXAMPLES) == 4 * 5 + 1 and len(RETURN_EXAMPLES) == 3 * 4 + 1
    # in three batches that split each trajectory's spans, then all again (a batch written twice after a crash)
    everything = LOAN_EXAMPLES + RETURN_EXAMPLES
    for batch in (everything[:7], everything[7:25], everything[25:], everything):
        await datasets.ingest("desk", batch, job_id="job-desk")
    assert await store.count(collection("desk", STEPS)) == (4 + 1) + (3 + 1)
    info = await datasets.describe("desk")
    assert info.examples == len(everything) and info.steps == 9

    states, _ = await store.scroll(collection("desk", STEPS), 100)
    by_state = {(s.payload["trajectory_id"], s.payload["step"]): s.payload for s in states}
    for (trajectory, step), payload in by_state.items():
        expected = {
            e.id for e in everything if e.source_trajectory_id == trajectory and e.span_start <= step <= e.span_end
        }
        assert {x["id"] for x in payload["examples"]} == expected
        assert payload["origin"] == sorted({x["origin"] for x in payload["examples"]})
    assert by_state["loans", 1]["action"] == "head -3 loans/2026-12.csv" and by_state["loans", 4]["action"] == ""
    await store.close()


async def test_observation_mode_returns_one_example_per_trajectory_by_the_rule(tmp_path, embedder):
    store = EdgeStore(tmp_path / "qdrant")
    await DatasetStore(store, embedder).ingest("desk", LOAN_EXAMPLES + RETURN_EXAMPLES, job_id="job-desk")
    server, target = await _serve(tmp_path, store, embedder)
    try:
        async with AsyncRetrievalClient(target) as client:
            observation = "loans/2026-11.csv:2\nloans/2026-12.csv:1"  # the loans trajectory's state 3
            result = await client.retrieve("desk", observation=observation, mode="observation", k=5)
            assert len({e.source_trajectory_id for e in result.examples}) == len(result.examples)
            top = result.examples[0]
            # the state stands for the example that starts there and runs longest, relabelled
            assert top.source_trajectory_id == "loans" and top.span == (3, 4) and top.origin == "backward-task"
            assert top.matched_step == 0 and top.steps[0].action == "wc -l loans/overdue.txt"

            more = await client.retrieve("desk", observation=observation, mode="observation", k=5, per_trajectory=3)
            loans = [e for e in more.examples if e.source_trajectory_id == "loans"]
            assert len(loans) == 3 and len({e.id for e in more.examples}) == len(more.examples)
            assert loans[0].id == top.id

            summaries = await client.retrieve(
                "desk", observation=observation, mode="observation", k=5, origins=["backward-summary"]
            )
            assert summaries.examples[0].origin == "backward-summary" and summaries.examples[0].span == (3, 4)

            windowed = await client.retrieve("desk", observation="member,isbn,due", mode="observation", k=1, window=1)
            whole = await client.retrieve("desk", observation="member,isbn,due", mode="observation", k=1)
            assert windowed.examples[0].id == whole.examples[0].id  # a windowed example keeps its stored id

            with pytest.raises(grpc.aio.AioRpcError) as err:
                await client.retrieve("desk", observation="x", mode="observation", per_trajectory=-1)
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "per_trajectory" in str(err.value.details())
    finally:
        await server.stop(0)
        await store.close()


async def _write_layout_one(store: EdgeStore, embedder, name: str, examples: list[Example]) -> None:
    """A dataset as the previous release wrote it (another process: its own DatasetStore): no layout in its meta,
    one step point per example and state."""
    datasets = DatasetStore(store, embedder)
    await datasets.ingest(name, examples, job_id="job-old")
    metas, _ = await store.scroll(collection(name, META), 10)
    await store.set_payloads(
        collection(name, META), [(m.id, {k: v for k, v in m.payload.items() if k != "layout"}) for m in metas]
    )
    await store.delete_collection(collection(name, STEPS))
    dim = datasets.embedder.dim
    await store.ensure_collection(collection(name, STEPS), specs(dim, True)[STEPS])
    points = []
    for e in examples:
        for i, text in enumerate([s.observation for s in e.steps] + [e.final_observation]):
            vectors: dict[str, Any] = {
                "lexical": datasets.lexical.document(text),
                "observation": [0.0] * (dim - 1) + [1.0],
            }
            points.append(
                PointData(
                    point_uuid(f"step-{e.id}-{i}"),
                    vectors,
                    {"example_id": e.id, "step": i, "env": e.env, "origin": e.origin.value},
                )
            )
    await store.upsert(collection(name, STEPS), points)


async def test_an_old_layout_dataset_is_refused_then_migrated(tmp_path, embedder):
    store = EdgeStore(tmp_path / "qdrant")
    datasets = DatasetStore(store, embedder)
    await _write_layout_one(store, embedder, "old", RETURN_EXAMPLES)
    assert await datasets.layout("old") == 1
    server, target = await _serve(tmp_path, store, embedder)
    try:
        async with AsyncRetrievalClient(target) as client:
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await client.retrieve("old", observation="monday.log  tuesday.log", mode="observation")
            assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert "lbi datasets migrate old" in str(err.value.details())
            with pytest.raises(LayoutError, match="lbi datasets migrate old"):
                await datasets.ingest("old", LOAN_EXAMPLES, job_id="job-new")

            assert await datasets.migrate("old") == (len(RETURN_EXAMPLES), 3 + 1)
            assert await datasets.layout("old") == LAYOUT
            result = await client.retrieve("old", observation="monday.log  tuesday.log", mode="observation")
            assert result.examples[0].source_trajectory_id == "returns" and result.examples[0].span == (1, 3)
            await datasets.ingest("old", LOAN_EXAMPLES, job_id="job-new")  # now it takes new examples
            assert (await datasets.describe("old")).steps == 9
    finally:
        await server.stop(0)
        await store.close()


async def test_observation_mode_reads_the_payloads_of_the_states_it_uses_only(tmp_path, embedder):
    """The lexical search returns ids and scores; a state's list of examples is read when the walk reaches it.
    Sibling states of one trajectory after its first are skipped unread once that trajectory is known."""
    from retrieval_service.batcher import EmbeddingBatcher
    from retrieval_service.retriever import Request, Retriever

    store = EdgeStore(tmp_path / "qdrant")
    await DatasetStore(store, embedder).ingest("desk", LOAN_EXAMPLES + RETURN_EXAMPLES, job_id="job-desk")
    reads: list[tuple[str, int]] = []
    searches: list[Any] = []
    retrieve, search = store.retrieve, store.search

    async def counting_retrieve(name, ids):
        reads.append((name, len(ids)))
        return await retrieve(name, ids)

    async def recording_search(name, query, limit, filter=None, fields=None):
        searches.append(fields)
        return await search(name, query, limit, filter, fields)

    store.retrieve = counting_retrieve  # type: ignore[method-assign]
    store.search = recording_search  # type: ignore[method-assign]
    retriever = Retriever(store, EmbeddingBatcher(embedder, 1.0, 8, 16))
    request = Request("desk", observation="loans/2026-11.csv:2\nloans/2026-12.csv:1", modes=["observation"])
    request.k_observation = 2
    for bound in (2 * request.k_observation, request.k_observation):  # then the trajectories of states seen are known
        reads.clear()
        found = (await retriever.retrieve(request)).found
        assert [f.example.source_trajectory_id for f in found] == ["loans", "returns"]
        assert sum(n for name, n in reads if name == collection("desk", STEPS)) <= bound  # of the 8 the search returns
    assert searches and all(fields == () for fields in searches)
    await store.close()


async def test_equal_states_are_taken_in_id_order_whatever_order_they_were_written_in(tmp_path, embedder):
    """Thirty sessions of a bike-share depot console all start on the same screen, with the same task: their first
    states score the same for any observation, their instructions the same for any query. Written in opposite
    orders (as a streaming job's timing may write them), two stores give the same answers."""
    from retrieval_service.batcher import EmbeddingBatcher
    from retrieval_service.retriever import Request, Retriever

    screen = "Depot console, dock row C\n12 docks free, 18 bikes docked\n> "
    examples = [
        Example(
            "release a bike from its dock",
            "shell",
            (Step(screen, f"undock --bike {n}"),),
            f"bike {n} released from dock C{n % 18}",
            Origin.FORWARD,
            f"depot-{n:02d}",
            0,
            1,
            kept=True,
        )
        for n in range(30)
    ]
    answers = []
    for name, order in (("forward", examples), ("reversed", examples[::-1])):
        store = EdgeStore(tmp_path / name)
        datasets = DatasetStore(store, embedder)
        for example in order:  # one write each: the engine's own order among equal scores follows the writes
            await datasets.ingest("depot", [example], job_id="job-depot")
        retriever = Retriever(store, EmbeddingBatcher(embedder, 1.0, 8, 16), settle_ties=True)
        answer = []
        for mode in ("observation", "instruction"):
            request = Request(
                "depot",
                observation=screen,
                instruction="take a bike out",
                modes=[mode],
                k_observation=3,
                k_instruction=3,
            )
            answer.append([(f.example_id, round(f.score, 5)) for f in (await retriever.retrieve(request)).found])
        answers.append(answer)
        await store.close()
    assert all(len(found) == 3 and len({i for i, _ in found}) == 3 for found in answers[0])
    assert answers[0] == answers[1]
