"""The web environment's browser reaches only http(s) pages of the hosts a session may reach, never the runner's files,
the services' own addresses or cloud metadata addresses (issue 36, item 4).

As a hostile tenant on a runner with auth on, whose operator allowed one site on 127.0.0.1 (LBI_WEB_ALLOWED_HOSTS):
`file://` among the allowed origins (which showed a secret file and listed the data directory), the runner's own
port or another loopback listener as an origin or start URL, metadata addresses, and, inside an allowed session,
`goto` to a file or a blocked host, a link whose redirect leads to a blocked host, an image, a script's fetch and a
frame on one. Configs are INVALID_ARGUMENT naming the field; actions are error observations; a recording listener
standing for the services' own port gets no request at all.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import grpc
import pytest

from env_runners.server import start_runner
from lbi.clients.runner import RunnerClient
from lbi.config import RunnerSettings

pytestmark = pytest.mark.skipif(
    not Path("/usr/bin/chromium").exists(), reason="needs Debian's chromium (make installs it)"
)

TOKENS = "admin@tok-admin,alice@tok-a=ds1:rw"
SECRET = "db-file-secret-8812"


class _Handler(BaseHTTPRequestHandler):
    pages: ClassVar[dict[str, tuple[int, dict[str, str], str]]] = {}
    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.seen.append(self.path)
        status, headers, body = self.pages.get(self.path, (404, {}, "<title>Not here</title>"))
        self.send_response(status)
        for name, value in {"Content-Type": "text/html", **headers}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


def _serve(pages: dict[str, tuple[int, dict[str, str], str]]) -> tuple[ThreadingHTTPServer, list[str]]:
    seen: list[str] = []
    handler = type("Handler", (_Handler,), {"pages": pages, "seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


@pytest.fixture
def sites() -> Iterator[dict]:
    """A recording listener (stands for a service's own port: nothing may reach it) and the tenant's site, whose pages
    lead to it in every way a page can."""
    recorder, recorded = _serve({})
    rec = f"http://127.0.0.1:{recorder.server_address[1]}"
    pages = {
        "/": (
            200,
            {},
            "<title>Start</title><h1>Start</h1>"
            "<a href='/away'>Away</a> <a href='/elsewhere'>Elsewhere</a> <a href='/framed'>Framed</a> "
            "<a href='file:///etc/passwd'>Local file</a>",
        ),
        "/away": (302, {"Location": f"{rec}/redirected"}, ""),
        "/elsewhere": (
            200,
            {},
            f"<title>Elsewhere</title><img src='{rec}/image.png'>"
            f"<script>fetch('{rec}/fetched').catch(() => 0)</script><p>Elsewhere</p>",
        ),
        "/framed": (200, {}, f"<title>Framed</title><iframe src='{rec}/framed'></iframe><p>Framed</p>"),
    }
    site, _ = _serve(pages)
    yield {"site": f"http://127.0.0.1:{site.server_address[1]}", "recorder": rec, "recorded": recorded}
    site.shutdown()
    recorder.shutdown()


@pytest.fixture
async def runner(tmp_path, sites):
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "DBPW").write_text(SECRET)
    settings = RunnerSettings(
        data_dir=tmp_path / "data",
        runner_port=0,
        runner_secrets_dir=secrets,
        secrets_dir=secrets,
        auth_tokens=TOKENS,
        runner_step_timeout_s=30,
        web_allowed_hosts=[sites["site"].removeprefix("http://")],
    )
    server, service = await start_runner(settings)
    try:
        async with RunnerClient(f"127.0.0.1:{server.port}", token="tok-a", timeout_s=60) as client:
            yield client, server.port, secrets
    finally:
        await service.shutdown()
        await server.stop(0)


async def _refused(client: RunnerClient, config: dict, field: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        _, first = await client.open_session("web", config)
        raise AssertionError(f"opened: {first.text[:300]}")
    details = err.value.details() or ""
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, details
    assert details.startswith(f"{field}: ") and "Traceback" not in details, details


async def test_configs_naming_files_the_services_or_metadata_are_refused(runner, sites):
    client, runner_port, secrets = runner
    site, rec = sites["site"], sites["recorder"]
    await _refused(client, {"url": site, "allowed_origins": [site, "file://"]}, "config.allowed_origins")
    await _refused(
        client, {"url": site, "allowed_origins": [site, f"http://127.0.0.1:{runner_port}"]}, "config.allowed_origins"
    )
    await _refused(client, {"url": site, "allowed_origins": [site, "http://169.254.169.254"]}, "config.allowed_origins")
    for url in (
        f"{rec}/",
        f"http://localhost:{site.rsplit(':', 1)[1]}/",
        f"http://127.0.0.1:{runner_port}/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://metadata.google.internal/computeMetadata/v1/",
        f"file://{secrets}/DBPW",
    ):
        await _refused(client, {"url": url}, "config.url")
    assert sites["recorded"] == []


async def test_an_allowed_site_cannot_lead_the_browser_anywhere_else(runner, sites):
    client, runner_port, secrets = runner
    site, rec = sites["site"], sites["recorder"]
    session, first = await client.open_session("web", {"url": site})
    assert "Start" in first.text
    for action in (
        f"goto [file://{secrets}/DBPW]",
        f"goto [file://{secrets}/]",
        f"goto [{rec}/goto]",
        f"goto [http://127.0.0.1:{runner_port}/]",
        "goto [http://169.254.169.254/latest/meta-data/]",
    ):
        result = await client.step(session, action)
        assert result.error and SECRET not in result.text and "DBPW" not in result.text, (action, result.text)
    for link in ("Away", "Elsewhere", "Framed", "Local file"):
        await client.step(session, f"goto [{site}/]")
        result = await client.step(session, f"click [{link}]")
        assert SECRET not in result.text and "root:x:0" not in result.text
    await client.close_session(session)
    assert sites["recorded"] == []
