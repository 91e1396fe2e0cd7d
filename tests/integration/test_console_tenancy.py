"""The console's evaluation pages as hostile tenants meet them: a real `lbi console` on 127.0.0.1 with tokens for two
tenants and an admin. Runs found on disk are shown only to tokens that read their dataset (a run naming no dataset
only to an admin); uploads belong to the session that sent them, are capped in size and number (the refusal says the
limits), and end with it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lbi.evaluation.harness import TaskResult, summarise
from lbi.evaluation.report import write
from lbi.processes import free_port, stop, wait_http_ok
from web_console.uploads import MAX_UPLOAD_BYTES, MAX_UPLOADS_PER_SESSION

TOKENS = "alice@tokA=ds1:rw,bob@tokB=ds2:rw,admin@tokAdm"


def _run(folder: Path, task_id: str, meta: dict) -> None:
    result = TaskResult(task_id, "agentic", True, f"secret reason of {task_id}", 3, 4, 800, [2.5], "passed")
    write(folder, [summarise("agentic", [result], 2.0)], [result], {"env": "sql", "model": "m", **meta})


@pytest.fixture(scope="module")
def console(tmp_path_factory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("console-tenancy")
    _run(data / "eval" / "ds1" / "run-a", "ds1-task", {"dataset": "ds1"})
    _run(data / "eval" / "ds2" / "run-b", "ds2-task", {"dataset": "ds2"})
    _run(data / "eval" / "loose" / "run-c", "nameless-task", {})
    port, dead = free_port(), f"127.0.0.1:{free_port()}"
    env = {**os.environ, "LBI_DATA_DIR": str(data), "LBI_AUTH_TOKENS": TOKENS}
    args = ["--port", str(port), "--synthesis", dead, "--retrieval", dead, "--evals", str(data / "eval")]
    process = subprocess.Popen([sys.executable, "-m", "lbi.cli.main", "console", *args], env=env)
    try:
        wait_http_ok(f"http://127.0.0.1:{port}/healthz", process, 60)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


def _sign_in(url: str, token: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30)
    nonce = re.search(r'name="nonce" value="([^"]+)"', client.get("/login").text)
    assert nonce
    signed = client.post("/login", data={"token": token, "nonce": nonce.group(1), "next": "/evaluations"})
    assert signed.status_code == 303, signed.text
    return client


def _csrf(client: httpx.Client) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get("/evaluations").text)
    assert found
    return found.group(1)


def _listed(client: httpx.Client) -> dict[str, str]:
    """Run id -> its title, as the evaluations page lists them."""
    page = client.get("/evaluations")
    assert page.status_code == 200
    return dict(re.findall(r'<a href="/evaluations/([0-9a-z]+)">([^<]+)</a>', page.text))


def _by_dataset(listed: dict[str, str]) -> dict[str, str]:
    return {re.search(r"dataset (\S+)", title).group(1): run_id for run_id, title in listed.items()}  # type: ignore[union-attr]


def _upload(client: httpx.Client, raw: bytes) -> httpx.Response:
    files = {"results": ("results.json", raw, "application/json")}
    return client.post("/evaluations", data={"csrf": _csrf(client)}, files=files, follow_redirects=True)


def test_runs_are_shown_only_for_datasets_the_token_reads(console):
    admin, alice, bob = (_sign_in(console, t) for t in ("tokAdm", "tokA", "tokB"))
    everything = _by_dataset(_listed(admin))
    assert set(everything) == {"ds1", "ds2", "?"}  # "?": the run that names no dataset
    assert set(_by_dataset(_listed(alice))) == {"ds1"} and set(_by_dataset(_listed(bob))) == {"ds2"}
    for path in (f"/evaluations/{everything['ds2']}", f"/evaluations/{everything['ds2']}/tasks/0"):
        refused = alice.get(path)
        assert refused.status_code == 404 and "ds2-task" not in refused.text and "Traceback" not in refused.text
    for client in (alice, bob):
        assert client.get(f"/evaluations/{everything['?']}/tasks/0").status_code == 404
    assert "secret reason of ds2-task" in admin.get(f"/evaluations/{everything['ds2']}/tasks/0").text
    assert "secret reason of ds1-task" in alice.get(f"/evaluations/{everything['ds1']}/tasks/0").text


def test_uploads_belong_to_their_session_and_end_with_it(console, tmp_path):
    _run(tmp_path, "uploaded-task", {"dataset": "ds1"})
    raw = (tmp_path / "results.json").read_bytes()
    alice, bob, alice_again = _sign_in(console, "tokA"), _sign_in(console, "tokB"), _sign_in(console, "tokA")
    shown = _upload(alice, raw)
    assert shown.status_code == 200 and "uploaded-task" in shown.text
    run_id = str(shown.url).rsplit("/", 1)[1]
    assert run_id in _listed(alice)
    for other in (bob, alice_again):  # another tenant, and the same token's other session
        assert run_id not in _listed(other)
        assert other.get(f"/evaluations/{run_id}").status_code == 404
    alice.post("/logout", data={"csrf": _csrf(alice)})
    again = _sign_in(console, "tokA")
    assert run_id not in _listed(again) and again.get(f"/evaluations/{run_id}").status_code == 404


def test_uploads_are_capped_in_size_and_number(console, tmp_path):
    carol = _sign_in(console, "tokAdm")
    big = json.dumps({"modes": [], "tasks": [], "padding": "x" * MAX_UPLOAD_BYTES}).encode()
    refused = _upload(carol, big)
    assert refused.status_code == 413 and f"{MAX_UPLOAD_BYTES >> 20} MiB" in refused.text
    assert "Traceback" not in refused.text
    for index in range(MAX_UPLOADS_PER_SESSION):
        _run(tmp_path / str(index), f"task-{index}", {"dataset": "ds1"})
        assert _upload(carol, (tmp_path / str(index) / "results.json").read_bytes()).status_code == 200
    _run(tmp_path / "one-more", "one-more", {"dataset": "ds1"})
    refused = _upload(carol, (tmp_path / "one-more" / "results.json").read_bytes())
    assert refused.status_code == 413 and f"{MAX_UPLOADS_PER_SESSION} runs" in refused.text
