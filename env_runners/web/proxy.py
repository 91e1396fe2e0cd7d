"""A web session's HTTP proxy: every connection the session's browser opens goes through it, and it connects only
to hosts the session's rules allow (`reach.Reach.connect_to`), at the address it checked.

Playwright's request routing does not see the hops of a redirect, a WebSocket or what a service worker fetches;
the browser's proxy sees every one of them (Playwright proxies loopback too). The proxy answers `CONNECT host:port`
(https, wss) and absolute-form `GET http://host:port/...` (http, ws), refusing with 403 a host:port that is not one
of the session's allowed origins or that `connect_to` refuses; it resolves a name once and connects to the address
it checked, so a name that resolves elsewhere a second later (DNS rebinding) gains nothing. A plain-http connection
carries one exchange to one host (`Connection: close`): a browser that reuses it can reach only the host it was
opened for.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from collections.abc import Callable
from urllib.parse import urlsplit

from env_runners.web.reach import Address

HEAD_LIMIT = 64 * 1024
DROPPED = (b"proxy-connection:", b"proxy-authorization:", b"connection:", b"keep-alive:")
Decide = Callable[[str, int], tuple[str | None, list[Address]]]  # (refusal, addresses) for a host and port


class FilteringProxy:
    """An HTTP proxy on a free port of 127.0.0.1 for one browser context; `decide` rules on every connection."""

    def __init__(self, decide: Decide):
        self._decide = decide
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, name="lbi-web-proxy", daemon=True).start()

    @property
    def server(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._server.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client:
            client.settimeout(30)
            try:
                head, rest = _read_head(client)
                method, target, _ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
                host, port, request = _target(method, target, head)
            except (OSError, ValueError):
                return
            refused, addresses = self._decide(host, port)
            if refused or not addresses:
                _answer(client, 403 if refused else 502, refused or f"cannot resolve {host}")
                return
            try:
                upstream = socket.create_connection((str(addresses[0]), port), timeout=10)
            except OSError as exc:
                _answer(client, 502, f"cannot connect to {host}:{port}: {exc.strerror or exc}")
                return
            with upstream:
                if request is None:
                    client.sendall(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                    upstream.sendall(rest)
                else:
                    upstream.sendall(request + rest)
                _pipe(client, upstream)


def _read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(8192)
        if not chunk or len(data) > HEAD_LIMIT:
            raise ValueError("no request head")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _target(method: str, target: str, head: bytes) -> tuple[str, int, bytes | None]:
    """(host, port, the request to send upstream; None for a tunnel)."""
    if method == "CONNECT":
        host, _, port = target.rpartition(":")
        return host.strip("[]").lower(), int(port), None
    parts = urlsplit(target)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError("not an absolute http URL")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {path} HTTP/1.1".encode("latin-1")]
    lines += [line for line in head.split(b"\r\n")[1:] if not line.lower().startswith(DROPPED)]
    request = b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n"
    return parts.hostname.lower(), parts.port or 80, request


def _answer(client: socket.socket, status: int, reason: str) -> None:
    body = f"Blocked by the lbi runner: {reason}\n".encode()
    title = "Forbidden" if status == 403 else "Bad Gateway"
    with contextlib.suppress(OSError):
        client.sendall(
            f"HTTP/1.1 {status} {title}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n".encode()
            + body
        )


def _pipe(a: socket.socket, b: socket.socket) -> None:
    """Copies bytes both ways until either side closes."""
    selector = selectors.DefaultSelector()
    selector.register(a, selectors.EVENT_READ, b)
    selector.register(b, selectors.EVENT_READ, a)
    try:
        while events := selector.select(timeout=300):  # idle for five minutes: ended
            for key, _ in events:
                source, sink = key.fileobj, key.data
                assert isinstance(source, socket.socket)
                try:
                    data = source.recv(65536)
                    if not data:
                        return
                    sink.sendall(data)
                except OSError:
                    return
    finally:
        selector.close()
