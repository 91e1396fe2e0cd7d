"""Helper processes on 127.0.0.1 (a local model server, a web app): a free port, readiness, a clean stop."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http_ok(url: str, process: subprocess.Popen, timeout_s: float) -> None:
    """Returns once `url` answers 200; raises when the process exits or the time runs out (stopping it)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            program = process.args[0] if isinstance(process.args, list | tuple) else process.args
            raise RuntimeError(f"{program!s} exited with code {process.returncode} before it was ready")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.HTTPError):
            pass
        time.sleep(0.1)
    stop(process)
    raise TimeoutError(f"{url} was not ready within {timeout_s:g}s")


def stop(process: subprocess.Popen, grace_s: float = 5.0) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
