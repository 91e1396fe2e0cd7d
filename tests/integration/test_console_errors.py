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
