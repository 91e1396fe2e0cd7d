"""Reading documentation: Markdown sections with their headings, and worked examples (code blocks).

Used to split an environment's documentation into resources and by the offline LLM backend, which
derives tasks and actions from a resource's worked examples.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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


def split_sections(markdown: str, level: int = 2) -> list[Section]:
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
        sections.append(Section(title or "Document", 1, markdown.strip()))
    return sections


def _last_sentence(prose: str) -> str:
    text = " ".join(line.strip() for line in prose.strip().splitlines() if line.strip() and not line.startswith("#"))
    sentences = re.split(r"(?<=[.!?:])\s+", text)
    return sentences[-1].rstrip(":").strip() if sentences and sentences[-1] else ""


def worked_examples(markdown: str) -> list[WorkedExample]:
    """Every fenced code block with the sentence just before it."""
    examples = []
    position = 0
    for match in _FENCE.finditer(markdown):
        lead = _last_sentence(markdown[position : match.start()])
        examples.append(WorkedExample(lead=lead, language=match.group(1), code=match.group(2).strip()))
        position = match.end()
    return examples
