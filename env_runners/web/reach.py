"""Where a web session's browser may go: http(s) pages of the session's allowed origins, never the runner's own
addresses nor cloud metadata.

A URL is refused when it is not http(s) (`file://` would read the runner's files, a directory URL list them), when
its origin is not one of the session's, or when its host is, or resolves to, an internal address: loopback, an
address of the runner's own machine (any port), link-local, unspecified, or a cloud metadata address or name
(`169.254.169.254`, `fd00:ec2::254`, `metadata.google.internal`, ...). The machine's addresses are "the services'
own": the runner, and under `lbi up` the synthesis and retrieval services and the console, listen there whatever
ports they were given; link-local is where clouds serve instance credentials. The runner's operator may allow such
a host all the same (`LBI_WEB_ALLOWED_HOSTS`, `host` or `host:port`), say a site of their own on 127.0.0.1:8080;
the session's own Trac site is always allowed. Other private networks stay reachable: a company's internal web app
is what the environment is for (on a cluster, where the services run in pods of their own, a NetworkPolicy keeps
runner pods from their addresses).

The same rules decide a config (`config.url`, `config.allowed_origins`), a `goto`, every request the browser makes
(Playwright routing) and every connection it opens (`proxy.py`, which also sees redirects and connects only to the
address it checked).
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from lbi.hosts import host_matches

SCHEMES = {"http": 80, "https": 443}
METADATA_NAMES = {
    "metadata",
    "metadata.google.internal",
    "metadata.goog",
    "metadata.azure.internal",
    "instance-data",
    "instance-data.ec2.internal",
}
METADATA_ADDRESSES = {
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "169.254.170.2", "100.100.100.200")
}
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def origin(url: str) -> str:
    """`scheme://host:port` of a URL, the port always written (`http://a` and `http://a:80` are one origin)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    host = f"[{host}]" if ":" in host else host
    try:
        port = parts.port or SCHEMES.get(scheme, 0)
    except ValueError:
        port = 0
    return f"{scheme}://{host}:{port}"


def _inner(address: Address) -> Address:
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def internal(address: Address) -> bool:
    """Loopback, link-local, unspecified, a metadata address or one of this machine's own (an IPv4-mapped IPv6
    address as its IPv4 one)."""
    address = _inner(address)
    return (
        address.is_loopback
        or address.is_link_local
        or address.is_unspecified
        or address in METADATA_ADDRESSES
        or _own(address)
    )


@functools.lru_cache(maxsize=1024)
def _own(address: Address) -> bool:
    """Whether `address` belongs to this machine: only a machine's own address can be bound."""
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((str(address), 0))
        return True
    except OSError:
        return False


def host_port(url: str) -> tuple[str, int]:
    """The host (lower-case, IPv6 without brackets) and port of a URL or origin."""
    written = origin(url)
    host, _, port = written.split("://", 1)[1].rpartition(":")
    return host.strip("[]"), int(port)


@dataclass
class Reach:
    """One session's rules: its allowed origins, its own site's origins, the operator's allowed hosts."""

    allowed: frozenset[str]  # origins, as `origin()` writes them
    operator_hosts: tuple[str, ...] = ()
    own: frozenset[str] = frozenset()
    _resolved: dict[str, list[Address]] = field(default_factory=dict, repr=False)

    def refusal(self, url: str) -> str | None:
        """Why the browser may not load `url`, or None."""
        scheme = urlsplit(url.strip()).scheme.lower()
        if scheme not in SCHEMES:
            return f"only http(s) pages may be opened, not {scheme or 'a relative URL'}:"
        if origin(url) not in self.allowed:
            return f"navigation to {origin(url)} is blocked (allowed: {', '.join(sorted(self.allowed))})"
        refused, _ = self.connect_to(*host_port(url))
        return refused

    def allows_connection(self, host: str, port: int) -> tuple[str | None, list[Address]]:
        """For the proxy: (why the browser may not connect to `host:port` or None, the addresses to connect to)."""
        host = host.strip("[]").lower()
        if (host, port) not in {host_port(o) for o in self.allowed}:
            return f"{host}:{port} is not one of the session's allowed origins", []
        return self.connect_to(host, port)

    def connect_to(self, host: str, port: int) -> tuple[str | None, list[Address]]:
        """(why `host:port` may not be reached whatever the session's origins, or None; its addresses). A host the
        operator allowed, or the session's own site, is not looked at; any other must not be, or resolve to, an
        internal address."""
        host = host.strip("[]").lower()
        if (host, port) in {host_port(o) for o in self.own} or any(
            host_matches(p, host, port) for p in self.operator_hosts
        ):
            return None, self._addresses(host, port)
        if host.rstrip(".") in METADATA_NAMES:
            return f"{host} is a cloud metadata address", []
        addresses = self._addresses(host, port)
        if any(internal(a) for a in addresses):
            return (
                f"{_bracketed(host)}:{port} is an internal address (loopback, this machine's own, link-local or cloud "
                "metadata); the runner's operator may allow it with LBI_WEB_ALLOWED_HOSTS",
                [],
            )
        return None, addresses

    def _addresses(self, host: str, port: int) -> list[Address]:
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            pass
        if host not in self._resolved:
            try:
                infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except (OSError, UnicodeError):
                infos = []
            self._resolved[host] = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
        return self._resolved[host]


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def config_refusal(urls: Iterable[str], operator_hosts: tuple[str, ...]) -> str | None:
    """Why a config may not name one of `urls` (a start URL or an allowed origin), or None."""
    for url in urls:
        if urlsplit(url.strip()).scheme.lower() not in SCHEMES or not urlsplit(url.strip()).hostname:
            return f"{url!r}: only http(s) URLs with a host"
        refused, _ = Reach(frozenset(), operator_hosts).connect_to(*host_port(url))
        if refused:
            return refused
    return None
