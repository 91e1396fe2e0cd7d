"""A fresh Trac project per session: `trac-admin initenv`, anonymous may file tickets and edit the wiki,
served by `tracd` on a free 127.0.0.1 port until the session closes."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from lbi.processes import free_port, stop, wait_http_ok

BIN = Path(sys.executable).parent
PERMISSIONS = ["TICKET_CREATE", "TICKET_MODIFY", "TICKET_APPEND", "WIKI_CREATE", "WIKI_MODIFY"]


class TracSite:
    def __init__(self, start_timeout_s: float = 30.0):
        self.folder = Path(tempfile.mkdtemp(prefix="lbi-trac-"))
        self.env = self.folder / "env"
        admin = str(BIN / "trac-admin")
        subprocess.run(
            [admin, str(self.env), "initenv", "Demo project", "sqlite:db/trac.db"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        subprocess.run(
            [admin, str(self.env), "permission", "add", "anonymous", *PERMISSIONS],
            check=True,
            capture_output=True,
            timeout=60,
        )
        self.port = free_port()
        self.process = subprocess.Popen(
            [str(BIN / "tracd"), "--port", str(self.port), "--hostname", "127.0.0.1", "-s", str(self.env)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_http_ok(self.url, self.process, start_timeout_s)
        except (RuntimeError, TimeoutError):
            self.close()
            raise

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database(self) -> Path:
        return self.env / "db" / "trac.db"

    def close(self) -> None:
        stop(self.process)
        shutil.rmtree(self.folder, ignore_errors=True)


def wiki_guide_pages() -> dict[str, str]:
    """Trac's built-in manual pages (wiki markup), by name."""
    import trac.wiki

    folder = Path(trac.wiki.__file__).parent / "default-pages"
    return {
        p.name: p.read_text(encoding="utf-8", errors="replace")
        for p in sorted(folder.iterdir())
        if p.name.startswith("Trac")
    }
