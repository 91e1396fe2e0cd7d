"""The retrieval service over real gRPC on 127.0.0.1, over a dataset indexed through the shared store code."""

import asyncio

import grpc
import pytest
import pytest_asyncio

from lbi.clients.retrieval import AsyncRetrievalClient, RetrievalClient
from lbi.dataset import DatasetStore
from lbi.records import Example, Origin, Step
from lbi.store.edge import EdgeStore
from retrieval_service.config import RetrievalSettings
from retrieval_service.server import start_retrieval

SCHEMA = (
    "name | sql\ncustomers | CREATE TABLE customers (id INTEGER, first_name TEXT, city TEXT)\n"
    "orders | CREATE TABLE orders (id INTEGER, customer_id INTEGER, status TEXT)"
)
PARIS = "first_name | city\nAnn | Paris\nLuc | Paris\n(2 rows)"
COUNTS = "status | n\ndelivered | 1800\nshipped | 300\n(2 rows)"
LS = "total 8\n-rw-r--r-- 1 root root 120 notes.txt\n-rw-r--r-- 1 root root 88 todo.md"


def ex(instruction, env, steps, final, origin=Origin.BACKWARD_TASK, source="t1"):
    return Example(
        instruction, env, tuple(Step(o, a) for o, a in steps), final, origin, source, 0, len(steps), kept=True
    )


EXAMPLES = [
    ex(
        "List the customers who live in Paris.",
        "sql",
        [
            ("Connected.", "SELECT name, sql FROM sqlite_master"),
            (SCHEMA, "SELECT first_name, city FROM customers WHERE city = 'Paris'"),
        ],
        PARIS,
    ),
    ex(
        "Count the orders in each status.",
        "sql",
        [
            ("Connected.", "SELECT name, sql FROM sqlite_master"),
            (SCHEMA, "SELECT status, COUNT(*) AS n FROM orders GROUP BY status"),
        ],
        COUNTS,
        origin=Origin.FORWARD,
        source="t2",
    ),
    ex(
        "Replicate the following: 1. List the tables. 2. Count orders by status.",
        "sql",
        [
            ("Connected.", "SELECT name, sql FROM sqlite_master"),
            (SCHEMA, "SELECT status, COUNT(*) FROM orders GROUP BY status"),
        ],
        COUNTS,
        origin=Origin.BACKWARD_SUMMARY,
        source="t2",
    ),
    ex("Show the files in the home directory.", "shell", [("$ ", "ls -l ~")], LS, source="t3"),
    ex(
        "Find the number of lines in notes.txt.",
        "shell",
        [("$ ", "ls -l"), (LS, "wc -l notes.txt")],
        "4 notes.txt",
        source="t4",
    ),
    ex(
        "Delete the cancelled orders.",
        "sql",
        [("Connected.", "DELETE FROM orders WHERE status = 'cancelled'")],
        "OK: 120 row(s) affected.",
        source="t5",
    ),
]


@pytest_asyncio.fixture
async def service(tmp_path, embedder):
    """(target, settings-maker) for a retrieval server over an embedded store holding dataset 'shop'."""
    store = EdgeStore(tmp_path / "qdrant")
    await DatasetStore(store, embedder).ingest("shop", EXAMPLES, job_id="job-1")
    started = []

    async def start(**overrides):
        settings = RetrievalSettings(data_dir=tmp_path, retrieval_port=0, **overrides)
        server, _svc = await start_retrieval(settings, store=store, embedder=embedder)
        started.append(server)
        return f"127.0.0.1:{server.port}"

    yield start
    for server in started:
        await server.stop(0)
    await store.close()


async def test_identical_observation_ranks_first(service):
    async with AsyncRetrievalClient(await service()) as client:
        result = await client.retrieve("shop", observation=PARIS, mode="observation")
        top = result.examples[0]
        assert top.instruction == "List the customers who live in Paris." and top.mode == "observation"
        assert top.matched_step == 2  # the final state of that example
        assert len({e.id for e in result.examples}) == len(result.examples)


async def test_query_mode_ranks_by_instruction_similarity(service):
    async with AsyncRetrievalClient(await service()) as client:
        result = await client.retrieve("shop", queries=["how many lines does a text file have"], mode="query", k=2)
        assert result.examples[0].instruction == "Find the number of lines in notes.txt."
        assert (
            result.examples[0].query == "how many lines does a text file have" and result.examples[0].matched_step == -1
        )


async def test_agentic_never_repeats_an_observation_hit(service):
    async with AsyncRetrievalClient(await service()) as client:
        result = await client.retrieve("shop", observation=COUNTS, queries=["count orders by status"], k=3)
        ids = [e.id for e in result.examples]
        assert len(ids) == len(set(ids))
        modes = [e.mode for e in result.examples]
        assert modes[:3] == ["observation"] * 3 and "query" in modes
        observation_ids = {e.id for e in result.examples if e.mode == "observation"}
        assert not observation_ids & {e.id for e in result.examples if e.mode == "query"}


async def test_generated_queries_come_from_the_service_llm(service):
    async with AsyncRetrievalClient(await service()) as client:
        result = await client.retrieve(
            "shop",
            observation="$ ",
            instruction="Count the lines of notes.txt",
            mode="query",
            generate_queries=True,
            envs=["shell"],
        )
        assert result.queries[0] == "Count the lines of notes.txt"
        assert result.examples[0].instruction == "Find the number of lines in notes.txt."


async def test_instruction_mode_and_filters(service):
    async with AsyncRetrievalClient(await service()) as client:
        shell = await client.retrieve("shop", instruction="list customers in Paris", mode="instruction", envs=["shell"])
        assert shell.examples and all(e.env == "shell" for e in shell.examples)
        forward = await client.retrieve("shop", observation=COUNTS, mode="observation", origins=["forward"])
        assert [e.origin for e in forward.examples] == ["forward"]
        # t2's forward and summary examples pass through the same states: one per trajectory unless asked for more
        one = await client.retrieve(
            "shop", observation="Connected.", mode="observation", origins=["forward", "backward-summary"], k=10
        )
        assert [e.origin for e in one.examples] == [
            "forward"
        ]  # the rule prefers forward over a summary of the same span
        both = await client.retrieve(
            "shop",
            observation="Connected.",
            mode="observation",
            origins=["forward", "backward-summary"],
            k=10,
            per_trajectory=2,
        )
        assert {e.origin for e in both.examples} == {"forward", "backward-summary"}
        assert {e.source_trajectory_id for e in both.examples} == {"t2"} and {e.span for e in both.examples} == {(0, 2)}


async def test_window_cuts_around_the_matched_step(service):
    async with AsyncRetrievalClient(await service()) as client:
        result = await client.retrieve("shop", observation=SCHEMA, mode="observation", window=0, k=1)
        assert len(result.examples[0].steps) == 2
        cut = await client.retrieve("shop", observation=SCHEMA, mode="observation", window=1, k=1)
        example = cut.examples[0]
        assert example.steps[example.matched_step].observation.startswith("name | sql")
        assert example.id == result.examples[0].id  # a windowed example keeps its stored id


async def test_prompt_block_respects_the_budget(service):
    async with AsyncRetrievalClient(await service()) as client:
        for budget in (300, 700, 5000):
            result = await client.retrieve("shop", observation=COUNTS, queries=["orders"], prompt_budget_chars=budget)
            assert len(result.prompt_block) <= budget
        full = await client.retrieve("shop", observation=COUNTS, queries=["orders"], prompt_budget_chars=100_000)
        assert full.prompt_block.count("### Example") == len(full.examples)
        matched = [e for e in full.examples if e.matched_step >= 0]
        assert matched and full.prompt_block.count("(this state is the one most like your current observation)") == len(
            matched
        )
        tiny = await client.retrieve("shop", observation=COUNTS, prompt_budget_chars=50)
        assert tiny.prompt_block == ""


@pytest.mark.parametrize(
    "kwargs, code, field",
    [
        ({"dataset": "nope", "observation": "x"}, grpc.StatusCode.NOT_FOUND, "nope"),
        (
            {"dataset": "shop", "observation": "", "mode": "observation"},
            grpc.StatusCode.INVALID_ARGUMENT,
            "observation",
        ),
        ({"dataset": "shop", "observation": "x", "k": 51}, grpc.StatusCode.INVALID_ARGUMENT, "k_observation"),
        ({"dataset": "shop", "observation": "x", "k": -1}, grpc.StatusCode.INVALID_ARGUMENT, "k_observation"),
        ({"dataset": "shop", "observation": "x" * 1_000_001}, grpc.StatusCode.INVALID_ARGUMENT, "observation"),
        (
            {"dataset": "shop", "observation": "x", "history": [Step("o", "a")] * 201},
            grpc.StatusCode.INVALID_ARGUMENT,
            "history",
        ),
        ({"dataset": "", "observation": "x"}, grpc.StatusCode.INVALID_ARGUMENT, "dataset"),
        ({"dataset": "bad name!", "observation": "x"}, grpc.StatusCode.INVALID_ARGUMENT, "dataset"),
        (
            {"dataset": "shop", "instruction": "", "mode": "instruction"},
            grpc.StatusCode.INVALID_ARGUMENT,
            "instruction",
        ),
    ],
)
async def test_errors_have_their_status_codes(service, kwargs, code, field):
    async with AsyncRetrievalClient(await service()) as client:
        dataset = kwargs.pop("dataset")
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await client.retrieve(dataset, **kwargs)
        assert err.value.code() == code and field in str(err.value.details())
        assert "Traceback" not in str(err.value.details())


async def test_tiny_deadline_is_deadline_exceeded(service):
    async with AsyncRetrievalClient(await service()) as client:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await client.retrieve("shop", observation=COUNTS, queries=["a brand new query text"], timeout_s=0.001)
        assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


async def test_auth_on_and_off(service):
    target = await service(auth_tokens="s3cret")
    async with AsyncRetrievalClient(target) as anonymous:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await anonymous.retrieve("shop", observation=COUNTS)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    async with AsyncRetrievalClient(target, token="wrong") as wrong:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await wrong.list_datasets()
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    async with AsyncRetrievalClient(target, token="s3cret") as good:
        assert (await good.retrieve("shop", observation=COUNTS)).examples
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    async with grpc.aio.insecure_channel(target) as channel:
        status = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""))
        assert status.status == health_pb2.HealthCheckResponse.SERVING
    open_target = await service()
    async with AsyncRetrievalClient(open_target) as anonymous:
        assert (await anonymous.retrieve("shop", observation=COUNTS)).examples


async def test_datasets_are_listed_and_described(service):
    async with AsyncRetrievalClient(await service()) as client:
        datasets = await client.list_datasets()
        assert [d.name for d in datasets] == ["shop"]
        info = await client.describe_dataset("shop")
        distinct_states = {
            (e.source_trajectory_id, e.span_start + i) for e in EXAMPLES for i in range(len(e.steps) + 1)
        }
        assert info.examples == len(EXAMPLES) and info.steps == len(distinct_states) < sum(
            len(e.steps) + 1 for e in EXAMPLES
        )
        assert info.embedding_model == "all-MiniLM-L6-v2" and info.embedding_dim == 384
        assert list(info.created_by_jobs) == ["job-1"] and list(info.envs) == ["shell", "sql"]
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await client.describe_dataset("nope")
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
        # where the service looked, and what is there
        details = err.value.details() or ""
        assert "in " in details and "datasets there: shop" in details


async def test_batch_retrieve_answers_each_item(service):
    from lbi.clients.retrieval import build_request
    from lbi.v1 import retrieval_pb2, retrieval_pb2_grpc

    async with grpc.aio.insecure_channel(await service()) as channel:
        stub = retrieval_pb2_grpc.RetrievalServiceStub(channel)
        response = await stub.BatchRetrieve(
            retrieval_pb2.BatchRetrieveRequest(
                requests=[
                    build_request("shop", observation=PARIS),
                    build_request("nope", observation="x"),
                    build_request("shop", observation=LS),
                ]
            )
        )
        assert [i.error_code for i in response.items] == ["", "NOT_FOUND", ""]
        assert response.items[0].response.examples[0].example.instruction == "List the customers who live in Paris."


async def test_sync_client_and_concurrent_requests(service):
    target = await service()
    with RetrievalClient(target) as client:
        result = await asyncio.to_thread(client.retrieve, "shop", observation=LS, mode="observation")
        assert result.examples[0].env == "shell"
    async with AsyncRetrievalClient(target) as client:
        results = await asyncio.gather(
            *(client.retrieve("shop", observation=COUNTS, queries=[f"orders {i % 4}"]) for i in range(40))
        )
        assert all(r.examples for r in results)


async def test_unreachable_qdrant_server_is_unavailable(tmp_path, embedder):
    from lbi.store.server import ServerStore

    settings = RetrievalSettings(data_dir=tmp_path, retrieval_port=0)
    store = ServerStore(url="http://127.0.0.1:9", prefer_grpc=False, timeout=1)
    server, _ = await start_retrieval(settings, store=store, embedder=embedder)
    try:
        async with AsyncRetrievalClient(f"127.0.0.1:{server.port}") as client:
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await client.retrieve("shop", observation=COUNTS, timeout_s=5)
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        await server.stop(0)
        await store.close()


async def test_concurrent_requests_share_a_small_example_cache(service, monkeypatch):
    """Requests evict each other's cached examples while they wait on the store: none of them fails for it, and
    every one gets its examples."""
    from retrieval_service import retriever

    monkeypatch.setattr(retriever, "EXAMPLE_CACHE", 1)
    async with AsyncRetrievalClient(await service()) as client:
        calls = [
            client.retrieve("shop", observation=PARIS if i % 2 else COUNTS, queries=[f"count rows {i}"], k=3)
            for i in range(40)
        ]
        results = await asyncio.gather(*calls)
    assert all(r.examples for r in results)


async def test_budgets_min_score_and_metadata_only(service):
    """Token budgets hold with a named tokenizer and with the estimate; min_score and metadata-only trim the answer."""
    from lbi.tokens import counter

    async with AsyncRetrievalClient(await service()) as client:
        query = {"instruction": "count orders by status", "mode": "instruction", "k": 5}
        everything = await client.retrieve("shop", **query, prompt_budget_chars=100_000)
        assert everything.prompt_block.count("### Example") == 5
        for tokenizer in ("gpt-4o", ""):
            full = counter(tokenizer)(everything.prompt_block)
            budget = full // 2
            half = await client.retrieve("shop", **query, max_tokens=budget, tokenizer=tokenizer)
            assert 0 < half.prompt_block.count("### Example") < 5
            assert counter(tokenizer)(half.prompt_block) <= budget
            assert (await client.retrieve("shop", **query, max_tokens=10, tokenizer=tokenizer)).prompt_block == ""
        both = await client.retrieve("shop", **query, max_tokens=100_000, prompt_budget_chars=400)
        assert len(both.prompt_block) <= 400
        scores = sorted(e.score for e in everything.examples)
        above = await client.retrieve("shop", **query, min_score=scores[2])
        assert [e.id for e in above.examples] == [e.id for e in everything.examples if e.score >= scores[2]]
        meta = await client.retrieve("shop", **query, metadata_only=True, prompt_budget_chars=4000)
        assert meta.prompt_block == "" and [e.id for e in meta.examples] == [e.id for e in everything.examples]
        assert all(not e.steps and not e.final_observation and e.instruction for e in meta.examples)
        again = await client.retrieve("shop", **query)  # the cached examples' messages were copied, not trimmed
        assert [(e.id, e.steps, e.final_observation) for e in again.examples] == [
            (e.id, e.steps, e.final_observation) for e in everything.examples
        ]
        for field, value in (("max_tokens", -1), ("min_score", float("nan")), ("tokenizer", "x" * 201)):
            with pytest.raises(grpc.aio.AioRpcError) as bad:
                await client.retrieve("shop", **query, **{field: value})
            assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT and str(bad.value.details()).startswith(field)
