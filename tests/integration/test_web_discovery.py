"""A site the project has never seen (a neighbourhood tool library served by the test, not Trac) and no
documentation: the web environment crawls it, and a synthesis job on what it read yields varied examples
about that site, whose actions run."""

import collections

import pytest
import pytest_asyncio

from lbi.dataset import example_from_payload
from lbi.store.edge import EdgeStore
from synth_service.config import SynthSettings
from synth_service.engine import Engine
from synth_service.spec import spec_from_dict
from synth_service.stages.names import FILTERED
from tests.fixtures.tool_library_site import TOOLS, serve


@pytest.fixture
def site():
    url, app, stop = serve()
    yield url, app
    stop()


async def test_the_crawl_reads_pages_forms_and_help_and_submits_nothing(runner, site):
    url, app = site
    resources = await runner.resources("web", {"url": url})
    assert resources and {r.kind for r in resources} == {"crawl"}  # no Trac guide for another site
    found = {r.title: r.text for r in resources}
    overview = found["Overview of the site"]
    assert all(f"`/tools/{key}`: {name}" in overview for key, (name, _, _) in TOOLS.items())
    assert "`/logout`" not in overview and "/logout" not in app.requested  # a log-out link is never followed
    reserve = found["Page Reserve a tool"]
    assert "a form (POST, Your reservation)" in reserve and "Tool [select] (one of: Cordless drill" in reserve
    assert "Seven days; renew once" in found["Help: Help and questions"]
    examples = "\n".join(t for title, t in found.items() if title.startswith("Worked examples"))
    assert "type [Tool or category] [" in examples and "It ends on: URL: " + url + "/search?q=" in examples
    assert "click [Cordless drill]" in examples
    assert app.reservations == []  # nothing was submitted


@pytest_asyncio.fixture
async def engine(tmp_path, embedder):
    store = EdgeStore(tmp_path / "qdrant")
    engine = Engine(SynthSettings(data_dir=tmp_path, runner_step_timeout_s=10), store, embedder)
    yield engine
    await engine.close()
    await store.close()


async def test_a_job_on_an_unseen_site_without_documentation(engine, site):
    """The issue's acceptance for web, measured on the offline policy (deterministic, not a model)."""
    url, _ = site
    job = await engine.run(engine.create(spec_from_dict({"env": "web", "dataset": "tools", "env_config": {"url": url}})))
    assert job["state"] == "SUCCEEDED", job["error"]
    kept = [example_from_payload(v) for _, v, _, _ in engine.journal.records(job["id"], FILTERED, ok=True)]
    assert len(kept) >= 30
    assert sum(not e.steps[-1].error for e in kept if e.steps) >= 0.9 * len(kept)
    instructions = collections.Counter(e.instruction for e in kept)
    assert instructions.most_common(1)[0][1] <= 0.05 * len(kept), instructions.most_common(3)
    assert not any("trac" in i.lower() or "ticket" in i.lower() for i in instructions)
    pages = {name: sum(name in i or f"/tools/{key}" in i for i in instructions) for key, (name, _, _) in TOOLS.items()}
    assert all(n >= 2 for n in pages.values()), pages
    print({"resources": job["stats"].resources, "tasks": job["stats"].instructions, "kept": len(kept),
           "kept_fraction": round(len(kept) / (job["stats"].kept + job["stats"].dropped), 3), "distinct": len(instructions)})
