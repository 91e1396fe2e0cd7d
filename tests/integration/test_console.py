"""The web console in a real browser (Chromium through Playwright), against `lbi up` in another process with tokens on:
create a job on the sql sample and watch it finish live, read a trajectory and a dropped candidate's reason, search
the dataset, run the playground in every mode, delete a reported episode, read an evaluation run; hostile text from
an environment, a documentation file, a reported episode and a task runs no script; sign-in, CSRF and a read-only
token's limits. Pages are read through roles and accessible names. Each page's screenshot (1280x800) goes to
docs/console/, which the README shows.

LLM work is the offline backend's deterministic policy (a documented policy, not a model).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
import yaml
from playwright.sync_api import expect

from lbi.evaluation.harness import TaskResult, summarise
from lbi.evaluation.report import write
from lbi.processes import free_port, stop, wait_http_ok
from lbi.v1 import common_pb2, episodes_pb2, episodes_pb2_grpc, synthesis_pb2_grpc
from lbi.v1 import synthesis_pb2 as spb
from synth_service.spec import spec_from_dict

pytestmark = pytest.mark.xdist_group("console")

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "console"
DATASET = "console-demo"
TOKENS = f"admin@admin-token,reader@reader-token={DATASET}"
ADMIN = (("authorization", "Bearer admin-token"),)
SECTIONS = ["Filtering rows with WHERE", "Top customers by revenue", "Counting rows", "Grouping with GROUP BY"]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]

# Hostile text: any of these running sets window.__pwned (or opens a dialog).
SCRIPT = "<script>window.__pwned='script'</script>"
IMG = "<img src=x onerror=\"window.__pwned='img'\">"
SVG = "<svg onload=\"window.__pwned='svg'\"></svg>"
LINK = "javascript:window.__pwned='link'"
HOSTILE = f"{SCRIPT} {IMG} {SVG} [open]({LINK})"


@dataclass
class Stack:
    url: str
    synthesis: str
    retrieval: str
    data: Path
    up: subprocess.Popen
    console: subprocess.Popen


def _wait_port(port: int, process: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, "lbi up exited before it was ready"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"port {port} not open within {timeout_s}s")


def _eval_run(folder: Path) -> None:
    """A run as `lbi eval` writes it (its own writer), one task carrying hostile text in its id, reason and episode."""
    episode = {
        "instruction": f"Count the greenhouses {SCRIPT}",
        "steps": [
            {"observation": f"Tables: greenhouses {IMG}", "action": "SELECT COUNT(*) FROM greenhouses;", "error": False}
        ],
        "final_observation": f"count\n7 {SVG}",
    }
    results = [
        TaskResult(
            "gh-001", "none", False, f"expected 7, got nothing {SCRIPT}", 1, 2, 900, [], "failed", episode=episode
        ),
        TaskResult("gh-001", "agentic", True, "result matches", 1, 2, 1400, [3.1], "passed", episode=episode),
        TaskResult(f"gh-002 {IMG}", "agentic", False, "timeout: the task ran past 120s", 0, 1, 300, [2.0], "error"),
    ]
    by_mode = {m: [r for r in results if r.mode == m] for m in ("none", "agentic")}
    run = folder / "20261204-101010-abcdef"
    write(
        run,
        [summarise(m, rs, 3.0) for m, rs in by_mode.items()],
        results,
        {"env": "sql", "dataset": DATASET, "model": "offline/heuristic", "offline_policy": True, "interrupted": False},
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    data = tmp_path_factory.mktemp("console")
    (data / "docs").mkdir()
    (data / "docs" / "greenhouse.md").write_text(
        f"# Greenhouse counts {SCRIPT}\n\nThe shop's catalogue has categories and products. {IMG}\n"
        f"To count products per category, group the products by category. See [the guide]({LINK}).\n"
    )
    _eval_run(data / "eval")
    policy = data / "online.yaml"
    policy.write_text(yaml.safe_dump({"datasets": {DATASET: {"accept_episodes": True, "env": "sql"}}}))
    ports = [free_port() for _ in range(4)]
    env = {
        **os.environ,
        "LBI_DATA_DIR": str(data),
        "LBI_AUTH_TOKENS": TOKENS,
        "LBI_CLIENT_TOKEN": "admin-token",
        "LBI_ALLOWED_PATHS": json.dumps([str(data / "docs")]),
        "LBI_ONLINE_POLICY_FILE": str(policy),
    }
    env.pop("LBI_LLM_MODEL", None)
    cli = [sys.executable, "-m", "lbi.cli.main"]
    log = (data / "up.log").open("w")
    up = subprocess.Popen(
        [*cli, "up", "--runner-port", str(ports[0]), "--retrieval-port", str(ports[1]), "--synth-port", str(ports[2])],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    synthesis, retrieval = f"127.0.0.1:{ports[2]}", f"127.0.0.1:{ports[1]}"
    console = subprocess.Popen(
        [
            *cli,
            "console",
            "--port",
            str(ports[3]),
            "--synthesis",
            synthesis,
            "--retrieval",
            retrieval,
            "--runner",
            f"127.0.0.1:{ports[0]}",
            "--evals",
            str(data / "eval"),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_port(ports[1], up, 180)
        wait_http_ok(f"http://127.0.0.1:{ports[3]}/healthz", console, 60)
        yield Stack(f"http://127.0.0.1:{ports[3]}", synthesis, retrieval, data, up, console)
    finally:
        stop(console)
        stop(up)
        log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _run_job(stack: Stack, spec_data: dict) -> str:
    spec = spec_from_dict(spec_data)
    with grpc.insecure_channel(stack.synthesis) as channel:
        jobs = synthesis_pb2_grpc.SynthesisServiceStub(channel)
        job = jobs.CreateJob(spb.CreateJobRequest(spec=spec.to_proto()), metadata=ADMIN, timeout=120)
        for _ in jobs.WatchJob(spb.WatchJobRequest(job_id=job.id), metadata=ADMIN, timeout=300):
            pass
        done = jobs.GetJob(spb.GetJobRequest(job_id=job.id), metadata=ADMIN)
    assert done.state == spb.JOB_STATE_SUCCEEDED, done.error
    return job.id


def _hostile_sql() -> str:
    """A table named with hostile markup holding a hostile value: every first observation lists it."""
    name, value = '"' + IMG.replace('"', '""') + '"', "'" + SCRIPT.replace("'", "''") + "'"
    return f"CREATE TABLE {name} (note TEXT); INSERT INTO {name} VALUES ({value});"


@pytest.fixture(scope="module")
def sample_job(stack) -> str:
    """A job on the sql sample (four documentation sections) whose database also holds hostile text."""
    spec = {"env": "sql", "dataset": DATASET, "resource_filter": SECTIONS, "env_config": {"setup_sql": _hostile_sql()}}
    return _run_job(stack, spec)


@pytest.fixture(scope="module")
def docs_job(stack) -> str:
    """A job over a documentation file full of hostile text (the file is the resource; the offline policy's tasks
    and rollouts follow it)."""
    docs = str(stack.data / "docs" / "greenhouse.md")
    spec = {"env": "sql", "dataset": DATASET, "resource_paths": [docs], "instructions_per_resource": 1, "max_steps": 3}
    return _run_job(stack, spec)


def _report(stack: Stack, episode_id: str, task: str, observation: str, action: str) -> None:
    with grpc.insecure_channel(stack.retrieval) as channel:
        episodes = episodes_pb2_grpc.EpisodeServiceStub(channel)
        answer = episodes.ReportEpisode(
            episodes_pb2.ReportEpisodeRequest(
                dataset=DATASET,
                episode_id=episode_id,
                task=task,
                steps=[common_pb2.Step(observation=observation, action=action)],
                final_observation="count\n12",
                outcome=episodes_pb2.EPISODE_OUTCOME_SUCCESS,
                feedback=f"great {IMG}",
            ),
            metadata=ADMIN,
            timeout=30,
        )
        assert answer.accepted


def _page(browser, stack: Stack, token: str = "admin-token"):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.goto(f"{stack.url}/jobs")
    assert "/login" in page.url
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/jobs$"))
    return page


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def _clean(page) -> None:
    """No hostile text ran: no dialog, no flag, no element or link it would have made."""
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert not page.dialogs
    assert page.locator("img[src='x'], svg[onload], [onerror]").count() == 0
    assert page.locator("a[href^='javascript:' i]").count() == 0


def test_create_a_job_and_watch_it_finish_live(browser, stack):
    page = _page(browser, stack)
    form = page.get_by_role("form", name="New job")
    form.get_by_label("Environment", exact=True).select_option("sql")
    form.get_by_label("Dataset").fill(DATASET)
    config = {"setup_sql": _hostile_sql()}
    form.get_by_label("Environment config").fill(json.dumps(config))
    form.get_by_label("Only resources whose title contains").fill(", ".join([*SECTIONS, "Sorting and limiting"]))
    form.get_by_label("Tasks per resource").fill("2")
    form.get_by_role("button", name="Create job").click()
    page.wait_for_load_state()
    assert page.get_by_role("alert").count() == 0, page.get_by_role("alert").first.inner_text()
    page.wait_for_url(re.compile(r".*/jobs/job-[0-9a-f]+$"))
    page.evaluate("window.__same_page = true")  # gone if the page were reloaded
    state = page.locator("#job-status [data-field=state]")
    assert state.inner_text() in ("PENDING", "RUNNING")
    stages = page.get_by_role("table", name="Progress per stage")
    expect(stages.get_by_role("row").filter(has_text="rollout").locator("[data-stage-field=done]")).not_to_have_text(
        "\u2013", timeout=120_000
    )  # filled in by the event stream
    _shot(page, "job-running")
    expect(state).to_have_text("SUCCEEDED", timeout=240_000)  # pushed by the event stream
    assert page.evaluate("window.__same_page") is True
    assert int(page.locator("#job-status [data-field=kept]").inner_text()) > 0
    page.reload()
    expect(page.get_by_role("table", name="Statistics (Table 1)")).to_be_visible()
    expect(page.get_by_role("table", name="Per stage")).to_be_visible()
    _shot(page, "job")
    page.goto(f"{stack.url}/jobs")
    row = page.get_by_role("table", name="Jobs").get_by_role("row").filter(has_text=DATASET).first
    assert "SUCCEEDED" in row.inner_text()
    _shot(page, "jobs")
    _clean(page)


def test_a_trajectory_and_a_dropped_candidates_reason(browser, stack, sample_job):
    page = _page(browser, stack)
    page.get_by_role("table", name="Jobs").get_by_role("link", name=sample_job).click()
    page.get_by_role("navigation", name="Record kinds").get_by_role("link", name="Trajectories").click()
    page.get_by_role("table", name="Trajectories").get_by_role("link").first.click()
    expect(page.get_by_role("heading", name="Trajectory")).to_be_visible()
    expect(page.get_by_role("region", name="Step 1")).to_be_visible()
    assert "<img src=x onerror=" in page.get_by_role("region", name="Step 1").inner_text()  # the hostile table, as text
    _shot(page, "trajectory")
    _clean(page)
    page.go_back()
    page.get_by_role("navigation", name="Record kinds").get_by_role("link", name="Candidates").click()
    filters = page.get_by_role("form", name="Filters")
    filters.get_by_label("Verdict").select_option("dropped")
    filters.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r".*verdict=dropped.*"))
    rows = page.get_by_role("table", name="Candidates").get_by_role("row")
    assert rows.count() > 1 and all("dropped" in rows.nth(i).inner_text() for i in range(1, rows.count()))
    rows.nth(1).get_by_role("link").click()
    reason = page.get_by_role("note")
    assert reason.inner_text().startswith("Why it was dropped:") and len(reason.inner_text()) > 25
    _shot(page, "candidate")
    _clean(page)


def test_search_the_dataset_and_open_an_example(browser, stack, sample_job):
    page = _page(browser, stack)
    page.goto(f"{stack.url}/datasets")
    page.get_by_role("table", name="Datasets").get_by_role("link", name=DATASET).click()
    search = page.get_by_role("search", name="Search the dataset")
    search.get_by_label("Text").fill("customers with the most revenue")
    search.get_by_label("Mode").select_option("instruction")
    search.get_by_role("button", name="Search").click()
    results = page.get_by_role("table", name="Search results").get_by_role("row")
    expect(results.nth(1)).to_be_visible()
    _shot(page, "dataset")
    results.nth(1).get_by_role("link").click()
    expect(page.get_by_role("heading", name=re.compile("^Example: "))).to_be_visible()
    expect(page.get_by_role("region", name="Step 1")).to_be_visible()
    expect(page.get_by_role("link", name="the candidate and its verdicts")).to_be_visible()
    _shot(page, "example")
    _clean(page)
    page.get_by_role("link", name="the whole source trajectory").click()
    assert page.get_by_text("in the example").count() >= 1  # the example's span marked on its trajectory
    page.go_back()
    with page.expect_download() as download:
        page.goto(f"{stack.url}/datasets/{DATASET}")
        page.get_by_role("link", name="chat-jsonl").click()
    lines = Path(download.value.path()).read_text().splitlines()
    assert lines and all(json.loads(line)["messages"][-1]["role"] == "assistant" for line in lines)


def test_the_playground_answers_in_every_mode(browser, stack, sample_job):
    page = _page(browser, stack)
    page.goto(f"{stack.url}/playground")
    form = page.get_by_role("form", name="Retrieval request")
    form.get_by_label("Dataset").select_option(DATASET)
    form.get_by_label("Task").fill("Which customers spent the most money?")
    form.get_by_label("Current observation").fill(
        "Connected to SQLite database shop.db (private copy).\n"
        "Tables: customers (900 rows), orders (2600 rows), payments (2465 rows)"
    )
    form.get_by_label("History").fill("SELECT COUNT(*) FROM customers;")
    form.get_by_role("button", name="Retrieve in every mode").click()
    for mode in ("observation", "query", "instruction", "agentic"):
        section = page.get_by_role("region", name=f"Mode {mode}")
        expect(section).to_be_visible()
        assert section.get_by_role("alert").count() == 0, section.inner_text()
        assert section.get_by_role("listitem").count() >= 1
        assert "ms round trip" in section.inner_text()
    assert page.get_by_label("Prompt block of agentic").inner_text().strip()
    page.get_by_role("heading", name="Answers").scroll_into_view_if_needed()
    _shot(page, "playground")
    _clean(page)


def test_delete_a_reported_episode(browser, stack, sample_job):
    _report(
        stack,
        "ep-delete-me",
        "How many customers live in Lyon?",
        "Tables: customers (900 rows)",
        "SELECT COUNT(*) FROM customers WHERE city = 'Lyon';",
    )
    page = _page(browser, stack)
    page.goto(f"{stack.url}/online")
    page.get_by_role("table", name="Online jobs").get_by_role("link", name=DATASET).click()
    page.get_by_role("link", name="ep-delete-me").click()
    expect(page.get_by_role("heading", name="Episode ep-delete-me")).to_be_visible()
    _shot(page, "episode")
    page.get_by_role("link", name="Delete this episode…").click()
    page.get_by_role("button", name="Delete").click()
    assert "Deleted episode ep-delete-me" in page.get_by_role("status").inner_text()
    assert page.get_by_role("link", name="ep-delete-me").count() == 0
    _shot(page, "online")
    with grpc.insecure_channel(stack.retrieval) as channel:
        listed = episodes_pb2_grpc.EpisodeServiceStub(channel).ListEpisodes(
            episodes_pb2.ListEpisodesRequest(dataset=DATASET, episode_ids=["ep-delete-me"]), metadata=ADMIN
        )
    assert not listed.episodes


def test_read_an_evaluation_run(browser, stack):
    page = _page(browser, stack)
    page.goto(f"{stack.url}/evaluations")
    page.get_by_role("table", name="Evaluation runs").get_by_role("link").first.click()
    expect(page.get_by_role("table", name="Per mode").get_by_role("row")).to_have_count(3)
    expect(page.get_by_role("img", name="Success rate and tokens per task by mode")).to_be_visible()
    _shot(page, "evaluation")
    verdicts = page.get_by_role("table", name="Task verdicts")
    assert "passed" in verdicts.inner_text() and "no verdict" in verdicts.inner_text()
    verdicts.get_by_role("link", name="gh-001").first.click()
    expect(page.get_by_role("region", name="Step 1")).to_be_visible()
    assert SCRIPT in page.get_by_role("main").inner_text()
    _shot(page, "evaluation-task")
    _clean(page)


def test_hostile_text_from_every_source_runs_no_script(browser, stack, docs_job):
    _report(stack, "ep-hostile", f"Count them {SCRIPT}", f"Tables: {IMG}", f"SELECT 1; -- {SVG} {LINK}")
    page = _page(browser, stack)
    visited = [
        f"/jobs/{docs_job}?tab=resources",
        f"/jobs/{docs_job}?tab=tasks",
        f"/jobs/{docs_job}?tab=candidates",
        "/online/" + DATASET,
        f"/online/{DATASET}/episodes/ep-hostile",
        "/evaluations",
        f"/datasets/{DATASET}",
    ]
    for path in visited:
        page.goto(stack.url + path)
        _clean(page)
    page.goto(f"{stack.url}/jobs/{docs_job}?tab=resources")
    page.get_by_role("table", name="Resources").get_by_role("link").first.click()
    assert SCRIPT in page.get_by_role("main").inner_text()  # shown as text, not run
    _clean(page)
    page.goto(f"{stack.url}/online/{DATASET}/episodes/ep-hostile")
    assert SCRIPT in page.get_by_role("main").inner_text() and IMG in page.get_by_role("main").inner_text()
    _clean(page)
    page.goto(f"{stack.url}/evaluations")
    page.get_by_role("table", name="Evaluation runs").get_by_role("link").first.click()
    page.get_by_role("table", name="Task verdicts").get_by_role("link", name=re.compile("gh-002")).click()
    assert IMG in page.get_by_role("heading", level=1).inner_text()
    _clean(page)


def test_sign_in_csrf_and_a_read_only_token(browser, stack, sample_job):
    # no session: pages send to the sign-in page, event streams answer 401, a wrong token is refused
    anonymous = browser.new_context()
    page = anonymous.new_page()
    page.goto(f"{stack.url}/datasets/{DATASET}")
    assert "/login?next=" in page.url
    _shot(page, "login")
    assert anonymous.request.get(f"{stack.url}/jobs/job-x/events").status == 401
    page.get_by_label("Token").fill("wrong-token")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "That token is not accepted."
    page.goto(f"{stack.url}/login?next=//evil.example")
    page.get_by_label("Token").fill("admin-token")
    page.get_by_role("button", name="Sign in").click()
    assert page.url.startswith(stack.url + "/jobs")  # never sent to another site
    assert anonymous.request.post(f"{stack.url}/login", form={"token": "admin-token"}).status == 403  # no nonce
    anonymous.close()

    admin = _page(browser, stack)
    cookie = next(c for c in admin.context.cookies() if c["name"] == "lbi_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    example = _first_example(admin, stack)
    forged = admin.request.post(f"{stack.url}/datasets/{DATASET}/examples/{example}/delete", form={"csrf": "guessed"})
    assert forged.status == 403

    reader = _page(browser, stack, "reader-token")
    assert reader.get_by_role("form", name="New job").count() == 0
    reader.goto(f"{stack.url}/datasets/{DATASET}/examples/{example}")
    assert reader.get_by_role("link", name="Delete this example…").count() == 0
    reader.goto(f"{stack.url}/jobs/{sample_job}")
    expect(reader.get_by_role("heading", name=re.compile("^Job job-"))).to_be_visible()
    assert reader.get_by_role("button", name=re.compile("Cancel job|Resume job")).count() == 0
    reader.goto(f"{stack.url}/playground")
    csrf = reader.locator("input[name=csrf]").first.get_attribute("value")
    refused = reader.request.post(f"{stack.url}/datasets/{DATASET}/examples/{example}/delete", form={"csrf": csrf})
    assert refused.status == 403 and "PERMISSION_DENIED" in refused.text()
    reader.goto(f"{stack.url}/datasets/{DATASET}/examples/{example}")
    expect(reader.get_by_role("heading", name=re.compile("^Example: "))).to_be_visible()  # still there


def _first_example(page, stack: Stack) -> str:
    page.goto(f"{stack.url}/datasets/{DATASET}")
    href = page.get_by_role("table", name="Examples").get_by_role("link").first.get_attribute("href")
    assert href
    return href.rsplit("/", 1)[1]


def test_console_headers_and_static_files_are_served_from_the_package(stack):
    with urllib.request.urlopen(f"{stack.url}/static/console.js") as response:
        assert response.status == 200 and b"EventSource" in response.read()
    with urllib.request.urlopen(f"{stack.url}/login") as response:
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy


def test_console_without_targets_serves_a_local_stack_on_the_data_directory(tmp_path):
    """`lbi console` alone starts the services in its own process over the data directory (auth off here)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("LBI_AUTH_TOKENS", "LBI_LLM_MODEL")}
    process = subprocess.Popen(
        [sys.executable, "-m", "lbi.cli.main", "console", "--port", str(port), "--data-dir", str(tmp_path)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_http_ok(f"http://127.0.0.1:{port}/jobs", process, 120)
        for path in ("/datasets", "/online", "/evaluations", "/playground"):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}") as response:
                assert response.status == 200
                assert "lbi_console=" in response.headers["set-cookie"]  # a session of its own, for CSRF
    finally:
        stop(process)
