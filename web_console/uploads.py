"""Evaluation runs uploaded to the console: each belongs to the console session that uploaded it (no other session,
not even one of the same token, sees it) and ends with that session (signed out or expired).

Memory is bounded: a run is kept as the bytes that were sent (parsed again when its page is shown, never held as a
parsed tree), at most `MAX_UPLOAD_BYTES` each, `MAX_UPLOADS_PER_SESSION` per session, `MAX_TENANT_BYTES` per token
(over all its sessions, so one tenant signing in again and again cannot fill the console) and `MAX_TOTAL_BYTES` for
the whole console; a refusal says which limit was hit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_UPLOAD_BYTES = 4 << 20
MAX_UPLOADS_PER_SESSION = 3
MAX_TENANT_BYTES = 16 << 20
MAX_TOTAL_BYTES = 64 << 20


class UploadRefused(Exception):
    """An upload over one of the limits; the message names it."""


@dataclass(frozen=True)
class Upload:
    id: str
    owner: str  # the console session's id
    tenant: str  # the tenant of the token it signed in with
    raw: bytes  # the results.json as sent
    summary: dict[str, Any]  # its fields without the tasks (what the list of runs shows)
    when: float


def limits() -> str:
    return (
        f"an uploaded run may be at most {MAX_UPLOAD_BYTES >> 20} MiB, a session may hold {MAX_UPLOADS_PER_SESSION} "
        f"runs, a token {MAX_TENANT_BYTES >> 20} MiB over its sessions, "
        f"the console {MAX_TOTAL_BYTES >> 20} MiB of runs in all"
    )


class Uploads:
    """The uploaded runs of live sessions; `alive(session_id)` says whether a session still exists."""

    def __init__(self, alive: Callable[[str], bool]):
        self.alive = alive
        self._runs: dict[tuple[str, str], Upload] = {}

    @property
    def total_bytes(self) -> int:
        return sum(len(u.raw) for u in self._runs.values())

    def add(self, owner: str, tenant: str, raw: bytes, data: dict[str, Any], when: float) -> Upload:
        """Keeps a run for session `owner` of `tenant`; UploadRefused past a limit (the same run sent again replaces
        itself)."""
        self.prune()
        run_id = "u" + hashlib.sha256(raw).hexdigest()[:15]
        if len(raw) > MAX_UPLOAD_BYTES:
            raise UploadRefused(f"the file is larger than {MAX_UPLOAD_BYTES >> 20} MiB ({limits()})")
        self._runs.pop((owner, run_id), None)
        if len(self.of(owner)) >= MAX_UPLOADS_PER_SESSION:
            raise UploadRefused(f"this session already holds {MAX_UPLOADS_PER_SESSION} runs ({limits()})")
        if sum(len(u.raw) for u in self._runs.values() if u.tenant == tenant) + len(raw) > MAX_TENANT_BYTES:
            raise UploadRefused(f"this token's sessions hold all the uploaded runs it may ({limits()})")
        if self.total_bytes + len(raw) > MAX_TOTAL_BYTES:
            raise UploadRefused(f"the console holds all the uploaded runs it may; try again later ({limits()})")
        upload = Upload(run_id, owner, tenant, raw, {k: v for k, v in data.items() if k != "tasks"}, when)
        self._runs[(owner, run_id)] = upload
        return upload

    def of(self, owner: str) -> list[Upload]:
        return [u for (o, _), u in self._runs.items() if o == owner]

    def get(self, owner: str, run_id: str) -> Upload | None:
        return self._runs.get((owner, run_id))

    def drop(self, owner: str) -> None:
        for key in [k for k in self._runs if k[0] == owner]:
            del self._runs[key]

    def prune(self) -> None:
        """Forgets the runs of sessions that ended."""
        for owner in {o for o, _ in self._runs if not self.alive(o)}:
            self.drop(owner)
