"""Where a web session's browser may go (env_runners/web/reach.py): http(s) only, the session's origins, never an
internal address however it is written, unless the operator allowed that host or it is the session's own site."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from env_runners.web.reach import Reach, config_refusal, internal, origin


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/",
        "http://2130706433:8080/",  # 127.0.0.1 as one number
        "http://0x7f.1:8080/",
        "http://[::1]:8080/",
        "http://[::ffff:127.0.0.1]:8080/",
        "http://0.0.0.0:8080/",
        "http://localhost:8080/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://100.100.100.200/latest/meta-data/",
    ],
)
def test_internal_addresses_are_refused_however_written(url):
    assert config_refusal([url], ()) is not None


@pytest.mark.parametrize("url", ["file:///etc/passwd", "file://", "chrome://settings", "ftp://example.com/", "/x"])
def test_only_http_urls_with_a_host(url):
    assert "only http(s)" in (config_refusal([url], ()) or "")


def test_the_operator_allows_a_host_and_the_session_its_own_site():
    assert config_refusal(["http://127.0.0.1:8080/"], ("127.0.0.1:8080",)) is None
    assert config_refusal(["http://127.0.0.1:8081/"], ("127.0.0.1:8080",)) is not None
    reach = Reach(
        frozenset({origin("http://127.0.0.1:9000"), origin("http://10.0.0.5")}),
        own=frozenset({origin("http://127.0.0.1:9000")}),
    )
    assert reach.refusal("http://127.0.0.1:9000/ticket/1") is None
    assert reach.refusal("http://10.0.0.5:80/wiki") is None  # a private network is a company's own web app
    assert "blocked" in (reach.refusal("http://10.0.0.6/") or "")
    assert reach.allows_connection("10.0.0.5", 80)[0] is None
    assert reach.allows_connection("127.0.0.1", 9001)[0] is not None


def test_origins_are_written_with_their_port():
    assert origin("http://Example.com/a") == origin("http://example.com:80") == "http://example.com:80"
    assert origin("https://[::1]/") == "https://[::1]:443"


def test_the_machines_own_addresses_are_the_services_own():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the interface a route would use
        except OSError:
            pytest.skip("no route off this machine")
        address = probe.getsockname()[0]
    if ipaddress.ip_address(address).is_loopback:
        pytest.skip("this machine has no address but loopback")
    assert "loopback" in (config_refusal([f"http://{address}:50053/"], ()) or "")
    assert not internal(ipaddress.ip_address("192.0.2.10"))  # TEST-NET-1: nobody's
