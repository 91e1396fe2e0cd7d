"""The same behaviour from both store backends: embedded qdrant-edge and qdrant-client (server API, local mode)."""

import random

import pytest

from lbi.lexical import LexicalEncoder
from lbi.records import point_uuid
from lbi.store import CollectionNotFound, CollectionSpec, PointData
from lbi.store.edge import EdgeStore
from lbi.store.server import ServerStore

TEXTS = [
    "name | email\nAnn | ann@mail.example\n(1 row)",
    "Error: no such column: nme",
    "total 12\ndrwxr-xr-x 2 root root 4096 tmp",
    "button 'Submit' [12]\ntextbox 'Search' [3]",
    "customers (900 rows), orders (2600 rows)",
    "Error: no such table: custmers",
    "COUNT(*)\n--------\n718\n(1 row)",
    "link 'Issues' [7]\nheading 'Dashboard'",
]
SPEC = CollectionSpec(dense={"dense": 8}, sparse=("lexical",), keyword_fields=("env",), integer_fields=("step",))


def _points():
    lexical, rng = LexicalEncoder(), random.Random(7)
    return [
        PointData(
            point_uuid(f"p{i}"),
            {"dense": [rng.uniform(-1, 1) for _ in range(8)], "lexical": lexical.document(t)},
            {"text": t, "env": ["sql", "shell", "web"][i % 3], "step": i},
        )
        for i, t in enumerate(TEXTS)
    ]


@pytest.fixture(params=["edge", "server"])
async def store(request, tmp_path):
    backend = EdgeStore(tmp_path / "qdrant") if request.param == "edge" else ServerStore(location=":memory:")
    await backend.ensure_collection("steps", SPEC)
    await backend.upsert("steps", _points())
    yield backend
    await backend.close()


async def _results(store):
    lexical = LexicalEncoder()
    query = [0.3, -0.1, 0.5, 0.2, -0.4, 0.1, 0.0, 0.6]
    return {
        "count": await store.count("steps"),
        "count_sql": await store.count("steps", {"env": "sql"}),
        "lexical": [
            (h.payload["step"], round(h.score, 4))
            for h in await store.search("steps", ("lexical", lexical.query("no such column")), 3)
        ],
        "dense": [
            (h.payload["step"], round(h.score, 4))
            for h in await store.search("steps", ("dense", query), 4, {"env": ["sql", "web"]})
        ],
        "fused": sorted(
            h.payload["step"]
            for h in await store.search_fused(
                "steps", [("lexical", lexical.query("error no such table")), ("dense", query)], 3
            )
        ),
        "retrieve": [
            h.payload["step"]
            for h in await store.retrieve("steps", [point_uuid("p3"), point_uuid("missing"), point_uuid("p1")])
        ],
    }


async def test_backends_agree(tmp_path):
    edge, server = EdgeStore(tmp_path / "q"), ServerStore(location=":memory:")
    for backend in (edge, server):
        await backend.ensure_collection("steps", SPEC)
        await backend.upsert("steps", _points())
    assert await _results(edge) == await _results(server)
    await edge.close()
    await server.close()


async def test_behaviour(store):
    results = await _results(store)
    assert results["count"] == len(TEXTS) and results["count_sql"] == 3
    assert results["lexical"][0][0] == 1  # "Error: no such column: nme" ranks first
    assert all(step % 3 in (0, 2) for step, _ in results["dense"])
    assert results["retrieve"] == [3, 1]


async def test_upsert_is_idempotent_and_scroll_pages(store):
    await store.upsert("steps", _points())
    assert await store.count("steps") == len(TEXTS)
    seen, offset = [], None
    while True:
        page, offset = await store.scroll("steps", 3, offset)
        seen += [h.payload["step"] for h in page]
        if offset is None:
            break
    assert sorted(seen) == list(range(len(TEXTS)))


async def test_collections_lifecycle(store):
    await store.ensure_collection("steps", SPEC)
    assert "steps" in await store.list_collections() and await store.collection_exists("steps")
    await store.delete_collection("steps")
    assert not await store.collection_exists("steps")
    with pytest.raises(CollectionNotFound):
        await store.count("steps")


async def test_embedded_store_survives_reopen(tmp_path):
    store = EdgeStore(tmp_path / "q")
    await store.ensure_collection("steps", SPEC)
    await store.upsert("steps", _points())
    await store.close()
    reopened = EdgeStore(tmp_path / "q")
    assert await reopened.count("steps") == len(TEXTS)
    await reopened.close()


async def test_set_payloads_replaces_payloads_and_keeps_vectors(store):
    lexical = LexicalEncoder()
    before = [
        (h.id, round(h.score, 4)) for h in await store.search("steps", ("lexical", lexical.query("no such column")), 3)
    ]
    await store.set_payloads(
        "steps", [(point_uuid("p1"), {"text": "renamed", "env": "web", "step": 101, "examples": [{"id": "e1"}]})]
    )
    assert [h.payload for h in await store.retrieve("steps", [point_uuid("p1")])] == [
        {"text": "renamed", "env": "web", "step": 101, "examples": [{"id": "e1"}]}
    ]
    assert await store.count("steps", {"env": "web"}) == 3  # the keyword index follows the new payload
    after = [
        (h.id, round(h.score, 4)) for h in await store.search("steps", ("lexical", lexical.query("no such column")), 3)
    ]
    assert after == before  # the vectors are untouched


async def test_searches_return_the_payload_keys_asked_for(store):
    lexical = LexicalEncoder()
    query = ("lexical", lexical.query("no such column"))
    whole = await store.search("steps", query, 3)
    bare = await store.search("steps", query, 3, fields=())
    some = await store.search("steps", query, 3, fields=("step",))
    assert [h.id for h in bare] == [h.id for h in some] == [h.id for h in whole]
    assert [round(h.score, 4) for h in bare] == [round(h.score, 4) for h in whole]
    assert all(h.payload == {} for h in bare)
    assert [h.payload for h in some] == [{"step": h.payload["step"]} for h in whole]
    dense = ("dense", [0.3, -0.1, 0.5, 0.2, -0.4, 0.1, 0.0, 0.6])
    fused = await store.search_fused("steps", [query, dense], 3, fields=())
    assert len(fused) == 3 and all(h.payload == {} for h in fused)


async def test_an_embedded_shard_made_without_the_search_settings_gets_them_when_opened(tmp_path):
    """Shards made by older versions searched through the engine's thread pool; opening one adds the settings that
    search in the caller, keeps every other setting, and its points stay searchable."""
    import json

    store = EdgeStore(tmp_path / "q")
    await store.ensure_collection("steps", SPEC)
    await store.upsert("steps", _points())
    await store.close()
    config_file = tmp_path / "q" / "steps" / "edge_config.json"
    config = json.loads(config_file.read_text())
    assert config["max_search_threads"] == 1 and config["search_pool_core"] == 0
    older = {k: v for k, v in config.items() if k not in ("max_search_threads", "search_pool_core")}
    config_file.write_text(json.dumps(older))
    reopened = EdgeStore(tmp_path / "q")
    hits = await reopened.search("steps", ("lexical", LexicalEncoder().query("no such column")), 1)
    assert hits[0].payload["step"] == 1
    now = json.loads(config_file.read_text())
    assert {k: now[k] for k in older} == older and now["max_search_threads"] == 1 and now["search_pool_core"] == 0
    await reopened.close()
