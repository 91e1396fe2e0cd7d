"""A synthesis job and an evaluation run on a PostgreSQL database the test loads (a freight carrier: six related
tables), reached by a URL whose password the runner holds; nothing stored or shown carries the secret. Measured on
the offline policy (deterministic, not a model)."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from tests.fixtures import freight_servers
from tests.fixtures.freight_servers import SECRET_NAME

TASKS = [  # the test's own tasks on the freight database (not the synthesis' worked examples)
    ("How many shipments were cancelled?", "SELECT COUNT(*) FROM shipments WHERE status = 'cancelled'"),
    ("How many trucks does each make have?", "SELECT make, COUNT(*) FROM trucks GROUP BY make"),
    ("List the cities of the depots in the north region.", "SELECT city FROM depots WHERE region = 'north'"),
    (
        "What is the total weight in kg of all delivered shipments?",
        "SELECT SUM(weight_kg) FROM shipments WHERE status = 'delivered'",
    ),
    ("Which clients are based in Germany?", "SELECT company FROM clients WHERE country = 'Germany'"),
    (
        "How many drivers work at each depot city?",
        "SELECT d.city, COUNT(*) FROM drivers r JOIN depots d ON d.depot_id = r.depot_id GROUP BY d.city",
    ),
]


@pytest.fixture
def freight(postgres_server, monkeypatch):
    loaded = freight_servers.postgres(postgres_server, freight_servers.new_secret())
    monkeypatch.setenv(f"LBI_SECRET_{SECRET_NAME}", loaded.secret)
    monkeypatch.setenv("LBI_RUNNER_SECRET_HOSTS", json.dumps({SECRET_NAME: [f"127.0.0.1:{postgres_server.port}"]}))
    yield loaded
    loaded.admin.dispose()


async def test_synthesis_and_evaluation_on_a_postgresql_database(freight, tmp_path, monkeypatch):
    from lbi.cli.eval_cmd import evaluate
    from lbi.cli.local_stack import local_stack
    from lbi.dataset import example_from_payload
    from synth_service.spec import spec_from_dict
    from synth_service.stages.names import FILTERED

    monkeypatch.setenv("LBI_DATA_DIR", str(tmp_path))
    tasks_file = tmp_path / "freight-tasks.jsonl"
    tasks_file.write_text(
        "".join(
            json.dumps(
                {
                    "id": f"freight-{i}",
                    "instruction": text,
                    "config": {},
                    "check": {"kind": "sql_result", "gold_sql": gold},
                }
            )
            + "\n"
            for i, (text, gold) in enumerate(TASKS, 1)
        )
    )
    config = {"url": freight.url}
    async with local_stack() as stack:
        job = await stack.engine.run(
            stack.engine.create(
                spec_from_dict(
                    {
                        "env": "sql",
                        "dataset": "freight",
                        "env_config": config,
                        "resource_filter": ["shipments", "drivers", "relate"],
                    }
                )
            )
        )
        assert job["state"] == "SUCCEEDED", job["error"]
        kept = [example_from_payload(v) for _, v, _, _ in stack.engine.journal.records(job["id"], FILTERED, ok=True)]
        data = await evaluate(
            stack.runner_target,
            stack.retrieval_target,
            "sql",
            "freight",
            tasks_file,
            ["none", "agentic"],
            6,
            None,
            tmp_path / "eval",
            plot=False,
            quiet=True,
            env_config=config,
        )
        bad = await stack.engine.run(
            stack.engine.create(
                spec_from_dict(
                    {
                        "env": "sql",
                        "dataset": "freight-bad",
                        "env_config": {"url": freight.url.replace("freight", "nosuch")},
                    }
                )
            )
        )
    assert len(kept) >= 20, len(kept)
    with freight.admin.connect() as conn:  # what was learned is PostgreSQL that runs on this database

        def runs(statement: str) -> bool:
            try:
                with conn.begin_nested():
                    conn.exec_driver_sql(statement.replace("%", "%%")).fetchmany(1)
                return True
            except sa.exc.DBAPIError:
                return False

        recovered = sum(any(runs(s.action) for s in e.steps) for e in kept if e.steps)
        conn.rollback()
    assert recovered >= 0.9 * len(kept), (recovered, len(kept))
    assert freight.count("shipments") == 400 and freight.count("depots") == 6  # sessions left the database as it was
    assert all(m["tasks"] == len(TASKS) and m["errors"] == 0 for m in data["modes"]), data["modes"]
    assert bad["state"] == "FAILED" and "config.url" in bad["error"] and freight.secret not in bad["error"]
    stored = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert freight.secret.encode() not in stored  # not in the journal, the dataset, the evaluation's files
    print(
        "freight on PostgreSQL (offline policy):",
        {"kept": len(kept), "recovered": recovered, **{m["mode"]: m["success_rate"] for m in data["modes"]}},
    )
