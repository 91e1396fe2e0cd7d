"""Worked examples in documentation: each fenced code block with the sentence that introduces it.

Used by the offline LLM backend, which derives tasks and actions from a resource's worked examples (reading
documents into resources is lbi.ingest).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FENCE = re.compile(r"^```([\w+-]*)\s*\n(.*?)^```\s*$", re.S | re.M)


@dataclass(frozen=True)
class WorkedExample:
    """A code block and the prose sentence that introduces it."""

    lead: str
    language: str
    code: str


def _last_sentence(prose: str) -> str:
    """The last sentence of the prose before a block; headings and indented blocks (a shown result) are not prose."""
    text = " ".join(
        line.strip() for line in prose.strip().splitlines() if line.strip() and not line.startswith(("#", "    ", "\t"))
    )
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
