"""The console when things go wrong: services that are not there, pages that do not exist, forms without their CSRF
token. Every answer is a page (or JSON for event streams) with the status and the service's reason, never a
traceback. The services' addresses are real 127.0.0.1 ports nothing listens on."""

from __future__ import annotations

from starlette.testclient import TestClient

from lbi.processes import free_port
from web_console.app import create_app
from web_console.clients import Targets


def _client(tokens: str = "") -> TestClient:
    dead = f"127.0.0.1:{free_port()}"
    return TestClient(create_app(Targets(dead, dead, dead), tokens), raise_server_exceptions=False)


def test_services_that_are_away_give_a_503_page_naming_them():
    with _client() as client:
        for path in ("/jobs", "/datasets", "/datasets/orchard/examples/abc", "/online", "/playground"):
            page = client.get(path)
            assert page.status_code == 503, path
            assert "UNAVAILABLE" in page.text and "Traceback" not in page.text
        assert client.get("/jobs/job-1/events").json()["error"].endswith("UNAVAILABLE")


def test_missing_pages_forms_without_csrf_and_bad_parameters():
    with _client() as client:
        assert client.get("/no/such/page").status_code == 404
        assert client.get("/evaluations/../../etc/passwd").status_code == 404
        assert client.get("/evaluations/0123456789abcdef").status_code == 404  # not a run it found
        refused = client.post("/datasets/orchard/examples/abc/delete", data={"csrf": "made-up"})
        assert refused.status_code == 403 and "CSRF" in refused.text
        assert client.get("/static/console.css").status_code == 200
        assert client.get("/healthz").text == "ok"


def test_with_tokens_nothing_but_sign_in_and_static_files_is_open():
    with _client("ops@t-ops") as client:
        page = client.get("/datasets", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/login?next=")
        assert client.get("/jobs/job-1/events").status_code == 401
        assert client.post("/playground", data={}).status_code == 401
        assert client.get("/login").status_code == 200 and client.get("/static/console.js").status_code == 200


def test_an_uploaded_evaluation_run_is_shown_and_a_file_that_is_not_one_is_refused(tmp_path):
    import json
    import re

    from lbi.evaluation.harness import TaskResult, summarise
    from lbi.evaluation.report import write

    result = TaskResult("bakery-7", "agentic", True, "the oven log matches", 3, 4, 800, [2.5], "passed")
    write(tmp_path, [summarise("agentic", [result], 2.0)], [result], {"env": "shell", "dataset": "bakery"})
    with _client() as client:
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/evaluations").text)
        assert csrf
        files = {"results": ("results.json", (tmp_path / "results.json").read_bytes(), "application/json")}
        shown = client.post("/evaluations", data={"csrf": csrf.group(1)}, files=files)
        assert shown.status_code == 200 and "bakery-7" in shown.text and "the oven log matches" in shown.text
        assert "bakery" in client.get("/evaluations").text  # listed with the runs found on disk
        bad = {"results": ("results.json", json.dumps({"modes": "x"}).encode(), "application/json")}
        refused = client.post("/evaluations", data={"csrf": csrf.group(1)}, files=bad)
        assert refused.status_code == 400 and "results.json" in refused.text
