"""Where documentation comes from: files, folders (every document inside, sorted) and http(s) URLs.

URLs are fetched with httpx only from hosts on the allow-list (glob patterns, `LBI_DOCS_ALLOWED_HOSTS`),
following at most five redirects that stay on it, reading at most `max_bytes` per document within a timeout;
nothing else on the page is followed. A missing file, a refused or failing URL, or a document of no known
format is a `SourceError` naming it.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from lbi.ingest.formats import FORMATS, format_of
from lbi.paths import PathRules, opened

MAX_BYTES = 20 * 1024 * 1024
MAX_DOCUMENTS = 2000
TIMEOUT_S = 20.0


class SourceError(ValueError):
    """A documentation source that cannot be read, with the reason."""


@dataclass(frozen=True)
class Document:
    uri: str
    name: str
    kind: str  # markdown | text | html | rst | pdf
    data: bytes


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def _host_allowed(url: str, allowed_hosts: list[str]) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return any(fnmatch.fnmatchcase(host, pattern.lower()) for pattern in allowed_hosts)


def fetch(url: str, allowed_hosts: list[str], max_bytes: int = MAX_BYTES, timeout_s: float = TIMEOUT_S) -> Document:
    import httpx

    for _ in range(6):
        if not _host_allowed(url, allowed_hosts):
            raise SourceError(
                f"{url}: host {urlsplit(url).hostname!r} is not in LBI_DOCS_ALLOWED_HOSTS "
                f"({', '.join(allowed_hosts) or 'empty: no URL may be fetched'})"
            )
        try:
            with httpx.stream("GET", url, timeout=timeout_s, follow_redirects=False) as response:
                if response.is_redirect and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    continue
                if response.status_code >= 400:
                    raise SourceError(f"{url}: HTTP {response.status_code}")
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise SourceError(f"{url}: larger than {max_bytes >> 20} MiB")
                    chunks.append(chunk)
                content_type = response.headers.get("content-type", "")
        except httpx.HTTPError as exc:
            raise SourceError(f"{url}: {type(exc).__name__}: {exc}") from None
        name = urlsplit(url).path.rsplit("/", 1)[-1] or urlsplit(url).hostname or "page"
        kind = format_of(name, content_type)
        if kind is None:
            raise SourceError(f"{url}: content type {content_type or '(none)'} is not a documentation format")
        return Document(url, name, kind, b"".join(chunks))
    raise SourceError(f"{url}: more than five redirects")


def _file(path: Path, paths: PathRules | None, field: str) -> Document:
    kind = format_of(path.name)
    if kind is None:
        raise SourceError(f"{path}: not a documentation file ({', '.join(sorted(FORMATS))})")
    if paths is None:
        return Document(path.resolve().as_uri(), path.name, kind, path.read_bytes())
    checked = paths.check(field, path)
    with opened(field, checked) as handle:  # read what was checked, even if a link is swapped in between
        return Document(checked.as_uri(), path.name, kind, handle.read_bytes())


def documents(
    sources: list[str], allowed_hosts: list[str] | None = None, paths: PathRules | None = None, field: str = ""
) -> list[Document]:
    """Every document the sources name, in order (a folder's documents by depth, then path; hidden files and
    symbolic links inside folders are skipped). With `paths`, every file is read only where they allow
    (lbi/paths.py: INVALID_ARGUMENT naming `field` otherwise)."""
    found: list[Document] = []
    for source in sources:
        if is_url(source):
            found.append(fetch(source, allowed_hosts or []))
            continue
        path = paths.check(field, source) if paths is not None else Path(source).expanduser()
        if path.is_dir():
            inside = sorted(path.rglob("*"), key=lambda p: (len(p.relative_to(path).parts), str(p)))  # shallow first
            found += [
                _file(p, paths, field)
                for p in inside
                if p.is_file()
                and not p.is_symlink()
                and p.suffix.lower() in FORMATS
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            ]
        elif path.is_file():
            found.append(_file(path, paths, field))
        else:
            raise SourceError(f"{source}: no such file or folder")
        if len(found) > MAX_DOCUMENTS:
            raise SourceError(f"more than {MAX_DOCUMENTS} documents; name fewer folders")
    return found
