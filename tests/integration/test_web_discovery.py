"""A site the project has never seen (a neighbourhood tool library served by the test, not Trac) and no
documentation: the web environment crawls it, and a synthesis job on what it read yields varied examples
about that site, whose actions run."""

import collections

import pytest

from tests.fixtures.synthesis import figures, run_job
from tests.fixtures.tool_library_site import TOOLS, serve


@pytest.fixture(autouse=True)
def operator_allows_loopback_sites(monkeypatch):
    """The tests' sites run on 127.0.0.1, which a runner's browser reaches only where its operator allows it (read
    by every runner these tests start: the conftest's and the synthesis engine's)."""
    monkeypatch.setenv("LBI_WEB_ALLOWED_HOSTS", '["127.0.0.1"]')


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


async def test_a_job_on_an_unseen_site_without_documentation(synth_engine, site):
    """The issue's acceptance for web, measured on the offline policy (deterministic, not a model)."""
    url, _ = site
    job, kept = await run_job(synth_engine, {"env": "web", "dataset": "tools", "env_config": {"url": url}})
    assert len(kept) >= 30
    assert sum(not e.steps[-1].error for e in kept if e.steps) >= 0.9 * len(kept)
    instructions = collections.Counter(e.instruction for e in kept)
    assert instructions.most_common(1)[0][1] <= 0.05 * len(kept), instructions.most_common(3)
    assert not any("trac" in i.lower() or "ticket" in i.lower() for i in instructions)
    pages = {name: sum(name in i or f"/tools/{key}" in i for i in instructions) for key, (name, _, _) in TOOLS.items()}
    assert all(n >= 2 for n in pages.values()), pages
    print(figures(job, kept))


async def test_worked_examples_and_their_tasks_start_with_the_instruction(runner):
    """On a database browser whose titles and links carry row counts ('herbarium: Specimen: 1,204 rows'), the
    page an example ends on never leaks into the next example's instruction."""
    from lbi.docs import worked_examples
    from lbi.llm.offline.instruct import self_instruct
    from tests.fixtures.table_browser_site import serve as serve_tables

    url, stop = serve_tables()
    try:
        resources = await runner.resources("web", {"url": url})
    finally:
        stop()
    texts = [r.text for r in resources if r.title.startswith("Worked examples")]
    assert any("1,204 rows" in t for t in texts)  # the counts are there, in what the examples end on
    openers = ("Open the page '", "Starting from the page '", "Use the form on the page '", "On the page '")
    leads = [e.lead for t in texts for e in worked_examples(t, {"web"})]
    tasks = [task for t in texts for task in self_instruct({"env": "web", "resource_text": t, "n": 3})["tasks"]]
    assert len(leads) >= 8 and tasks
    assert all(text.startswith(openers) for text in leads + tasks), [
        t for t in leads + tasks if not t.startswith(openers)
    ]
