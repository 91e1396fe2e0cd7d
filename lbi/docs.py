"""Reading documentation: Markdown sections with their headings, and worked examples (code blocks).

Used to split an environment's documentation into resources and by the offline LLM backend, which
derives tasks and actions from a resource's worked examples.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from lbi.records import Resource

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^```([\w+-]*)\s*\n(.*?)^```\s*$", re.S | re.M)


@dataclass(frozen=True)
class Section:
    title: str
    level: int
    text: str


@dataclass(frozen=True)
class WorkedExample:
    """A code block and the prose sentence that introduces it."""

    lead: str
    language: str
    code: str


def split_sections(markdown: str, level: int = 2, default_title: str = "Document") -> list[Section]:
    """Sections at `level` (## by default); each keeps its heading line and the document title as context."""
    lines = markdown.splitlines()
    title = next((m.group(2) for m in map(_HEADING.match, lines) if m and len(m.group(1)) == 1), "")
    sections: list[Section] = []
    current: list[str] = []
    current_title = ""
    in_fence = False

    def flush() -> None:
        body = "\n".join(current).strip()
        if body and current_title:
            sections.append(Section(current_title, level, body))

    for line in lines:
        if line.startswith("```"):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match and len(match.group(1)) <= level:
            flush()
            current, current_title = [], ""
            if len(match.group(1)) == level:
                current_title = match.group(2)
                current = [line]
            continue
        if current_title:
            current.append(line)
    flush()
    if not sections and markdown.strip():
        sections.append(Section(title or default_title, 1, markdown.strip()))
    return sections


class _HtmlToMarkdown(HTMLParser):
    """Headings become Markdown headings, <pre> becomes a fenced block, scripts and styles are dropped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("script", "style", "nav"):
            self._skip += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self.out.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag == "pre":
            self.out.append("\n```\n")
        elif tag in ("p", "div", "li", "br", "tr", "section"):
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "nav"):
            self._skip = max(0, self._skip - 1)
        elif tag == "pre":
            self.out.append("\n```\n")
        elif re.fullmatch(r"h[1-6]", tag) or tag == "p":
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.out.append(data)


def html_to_markdown(html: str) -> str:
    """HTML reduced to Markdown-like text, keeping headings and code blocks."""
    parser = _HtmlToMarkdown()
    parser.feed(html)
    text = "".join(parser.out)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _last_sentence(prose: str) -> str:
    text = " ".join(line.strip() for line in prose.strip().splitlines() if line.strip() and not line.startswith("#"))
    sentences = re.split(r"(?<=[.!?:])\s+", text)
    return sentences[-1].rstrip(":").strip() if sentences and sentences[-1] else ""


def worked_examples(markdown: str, languages: set[str] | None = None) -> list[WorkedExample]:
    """Every fenced code block with the sentence just before it; with `languages`, only unmarked blocks and
    blocks in one of them."""
    examples = []
    position = 0
    for match in _FENCE.finditer(markdown):
        lead = _last_sentence(markdown[position : match.start()])
        examples.append(WorkedExample(lead=lead, language=match.group(1), code=match.group(2).strip()))
        position = match.end()
    if languages is not None:
        examples = [e for e in examples if not e.language or e.language.lower() in languages]
    return examples


DOC_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm", ".rst")


def doc_files(paths: list[str]) -> list[Path]:
    """Documentation files named directly or found in folders; FileNotFoundError names a missing path."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in DOC_SUFFIXES)
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(raw)
    return files


def resources_from_files(env: str, files: list[Path]) -> list[Resource]:
    """Each file split into sections (HTML reduced to text first); one resource per section."""
    resources = []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix.lower() in (".html", ".htm"):
            text = html_to_markdown(text)
        for section in split_sections(text, default_title=path.name):
            resources.append(Resource(env=env, title=section.title, text=section.text, uri=f"{path.as_uri()}#{section.title}"))
    return resources
