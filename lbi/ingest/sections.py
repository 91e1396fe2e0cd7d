"""Markdown split into sections by its headings (markdown-it-py's block tokens), with a size bound.

The split level is the document's section level: under a single `#` title the next level used, else `#`.
A section runs from its heading to the next heading of the same or a higher level, so sub-headings stay
inside; text before the first section is a section of its own when it says something (40 words or more).
A section longer than `max_chars` is cut between blocks (never inside a code block), as "Title (part N)".
Every section keeps its heading path (document title > ... > section) and its original Markdown.
"""

from __future__ import annotations

from dataclasses import dataclass

from markdown_it import MarkdownIt

MAX_SECTION_CHARS = 8000
MIN_INTRO_WORDS = 40
_PARSER = MarkdownIt("commonmark")


@dataclass(frozen=True)
class Section:
    title: str
    path: tuple[str, ...]  # headings from the document's title down to this section
    text: str


@dataclass(frozen=True)
class _Heading:
    level: int
    title: str
    line: int


def _headings(tokens) -> list[_Heading]:
    found = []
    for i, token in enumerate(tokens):
        if token.type == "heading_open" and token.level == 0 and token.map:
            found.append(_Heading(int(token.tag[1]), tokens[i + 1].content.strip(), token.map[0]))
    return found


def _blocks(tokens) -> list[int]:
    """First lines of the top-level blocks: where a long section may be cut."""
    return [t.map[0] for t in tokens if t.level == 0 and t.nesting in (0, 1) and t.map]


def _bounded(
    title: str, path: tuple[str, ...], lines: list[str], first_line: int, cuts: list[int], max_chars: int
) -> list[Section]:
    text = "\n".join(lines).strip()
    if len(text) <= max_chars:
        return [Section(title, path, text)] if text else []
    local_cuts = sorted({c - first_line for c in cuts if first_line < c < first_line + len(lines)})
    # greedy packing of blocks into parts of at most max_chars (a single longer block stays whole)
    parts, begin, end = [], 0, 0
    for cut in [*local_cuts, len(lines)]:
        if end > begin and len("\n".join(lines[begin:cut])) > max_chars:
            parts.append((begin, end))
            begin = end
        end = cut
    parts.append((begin, len(lines)))
    sections = []
    for number, (a, b) in enumerate(parts, start=1):
        body = "\n".join(lines[a:b]).strip()
        if body:
            sections.append(Section(f"{title} (part {number})" if len(parts) > 1 else title, path, body))
    return sections


def split_sections(markdown: str, default_title: str = "Document", max_chars: int = MAX_SECTION_CHARS) -> list[Section]:
    tokens = _PARSER.parse(markdown)
    lines = markdown.splitlines()
    headings = _headings(tokens)
    cuts = _blocks(tokens)
    titles = [h for h in headings if h.level == 1]
    doc_title = titles[0].title if len(titles) == 1 else default_title
    deeper = sorted({h.level for h in headings if h.level > 1})
    level = (deeper[0] if deeper else 1) if len(titles) == 1 else (1 if titles else (deeper[0] if deeper else 0))
    starts = [h for h in headings if h.level <= level and not (len(titles) == 1 and h is titles[0])]
    if not starts:
        return _bounded(doc_title, (doc_title,), lines, 0, cuts, max_chars)
    sections: list[Section] = []
    intro_start = titles[0].line + 1 if len(titles) == 1 and titles[0].line < starts[0].line else 0
    intro = lines[intro_start : starts[0].line]
    if len(" ".join(intro).split()) >= MIN_INTRO_WORDS:
        sections += _bounded(doc_title, (doc_title,), intro, intro_start, cuts, max_chars)
    for index, heading in enumerate(starts):
        end = starts[index + 1].line if index + 1 < len(starts) else len(lines)
        path = (doc_title, heading.title) if doc_title != heading.title else (heading.title,)
        sections += _bounded(heading.title, path, lines[heading.line : end], heading.line, cuts, max_chars)
    return sections
