"""A synthesis job on a PostgreSQL database whose tables were created with quoted mixed-case names ("ObservingRun"):
the offline policy writes them as PostgreSQL needs (quoted; a bare name is folded to lower case and names no table),
so its trajectories are kept rather than dropped for `relation "observingrun" does not exist`. Measured on the
offline policy (deterministic, not a model)."""

from __future__ import annotations

import json

from lbi.dataset import example_from_payload
from synth_service.stages.names import FILTERED
from tests.fixtures import freight_servers, observatory_pg
from tests.fixtures.synthesis import figures, run_job


async def test_a_job_on_a_postgresql_database_with_quoted_mixed_case_names(synth_engine, postgres_server, monkeypatch):
    secret = freight_servers.new_secret()
    monkeypatch.setenv(f"LBI_SECRET_{observatory_pg.SECRET}", secret)
    monkeypatch.setenv(
        "LBI_RUNNER_SECRET_HOSTS", json.dumps({observatory_pg.SECRET: [f"127.0.0.1:{postgres_server.port}"]})
    )
    url = observatory_pg.load(postgres_server, secret)
    job, kept = await run_job(synth_engine, {"env": "sql", "dataset": "observatory", "env_config": {"url": url}})
    dropped = [example_from_payload(v) for _, v, _, _ in synth_engine.journal.records(job["id"], FILTERED, ok=False)]
    missing = [e for e in dropped if "does not exist" in e.final_observation]  # ended on a name it got wrong
    tables = ("Telescope", "ObservingRun", "Target", "PlateScan")
    about = {t: sum(any(f'"{t}"' in s.action for s in e.steps) for e in kept) for t in tables}
    print(figures(job, kept, dropped=len(dropped), dropped_missing_name=len(missing), tables=about))
    assert len(kept) >= 50, len(kept)
    assert len(missing) <= 0.1 * len(dropped), [e.steps[-1].observation for e in missing[:3]]
    assert all(n >= 5 for n in about.values()), about
