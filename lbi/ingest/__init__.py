"""Documentation ingestion: files, folders and URLs in Markdown, HTML, PDF, reStructuredText or plain text,
as resources: one per section (split by headings, size-bounded), near-duplicates dropped, provenance kept.

`ingest(sources, env)` is the whole product; sources.py reads, formats.py converts to Markdown,
sections.py splits, near_duplicates.py drops repeats. Each resource's `uri` is the document's URI with the
section's heading path as its fragment.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from lbi.ingest.formats import UnreadableDocument, to_markdown
from lbi.ingest.near_duplicates import first_of_each
from lbi.ingest.sections import split_sections
from lbi.ingest.sources import SourceError, documents
from lbi.paths import PathRules
from lbi.records import Resource

__all__ = ["SourceError", "ingest", "resources_for_job", "resources_from_files"]


def ingest(
    sources: list[str],
    env: str,
    allowed_hosts: list[str] | None = None,
    kind: str = "docs",
    paths: PathRules | None = None,
    field: str = "resources",
) -> list[Resource]:
    """Resources of every section of every document; SourceError names a source that cannot be read. Sources a
    request named are read under `paths` (INVALID_ARGUMENT on `field` for a path it refuses)."""
    resources = []
    for document in documents(sources, allowed_hosts, paths, field):
        try:
            markdown = to_markdown(document.data, document.name, document.kind)
        except UnreadableDocument as exc:
            raise SourceError(f"{document.uri}: {exc}") from None
        default = document.name.rsplit(".", 1)[0] or document.name
        for section in split_sections(markdown, default_title=default):
            fragment = quote("/".join(section.path), safe="/ ")
            resources.append(
                Resource(env=env, title=section.title, text=section.text, uri=f"{document.uri}#{fragment}", kind=kind)
            )
    kept = first_of_each([r.text for r in resources])
    return [resources[i] for i in kept]


def resources_for_job(from_environment: list[Resource], given: list[Resource] | None) -> list[Resource]:
    """What a job uses: documentation the user gave replaces the environment's own; what the environment
    discovered about itself (introspection, crawl) is always used."""
    if not given:
        return from_environment
    return given + [r for r in from_environment if r.kind != "docs"]


def resources_from_files(env: str, files: list[Path]) -> list[Resource]:
    """An environment's own documentation files as resources."""
    return ingest([str(f) for f in files], env)
