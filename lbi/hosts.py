"""Host patterns an operator writes in settings (`LBI_RUNNER_SECRET_HOSTS`, `LBI_WEB_ALLOWED_HOSTS`): `host`,
`host:port`, `[v6]:port` or a bare IPv6 address, the host a glob pattern (`*.internal`), compared without case."""

from __future__ import annotations

import fnmatch


def host_matches(pattern: str, host: str, port: int) -> bool:
    """Whether `host:port` is what `pattern` names (no port in the pattern: any port)."""
    pattern = pattern.strip().lower()
    wanted_port: str | None = None
    if pattern.startswith("["):
        pattern, _, rest = pattern[1:].partition("]")
        wanted_port = rest.removeprefix(":") or None
    elif pattern.count(":") == 1:
        pattern, wanted_port = pattern.split(":")
    if wanted_port is not None and wanted_port != str(port):
        return False
    return fnmatch.fnmatchcase(host.strip("[]").lower(), pattern)
