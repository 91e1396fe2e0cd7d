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


# a quoted span: '...' (an apostrophe between letters does not close it), "...", `...`, and typographic quotes
_QUOTED = re.compile(
    r"(?<!\w)'(?:[^'\n]|(?<=\w)'(?=\w))*'(?!\w)|\"[^\"\n]*\"|`[^`\n]*`|\u2018[^\u2019\n]*\u2019|\u201c[^\u201d\n]*\u201d"
)
_SENTENCE_END = re.compile(r"(?<=[.!?:])\s+")


def _last_paragraph(prose: str) -> str:
    """The last paragraph of the prose before a block, its lines joined; headings and indented blocks (a shown
    result) are not prose. A blank line ends a sentence whatever ends the text before it: a page title or a count a
    previous example ended on ('Locality: 9 rows') is its own paragraph, never the start of the next lead."""
    paragraphs = [
        " ".join(
            line.strip() for line in part.splitlines() if line.strip() and not line.startswith(("#", "    ", "\t"))
        )
        for part in re.split(r"\n[ \t]*\n", prose.strip())
    ]
    return next((p for p in reversed(paragraphs) if p), "")


def _last_sentence(prose: str) -> str:
    """The last sentence of the last paragraph before a block. Punctuation inside quotes ('Orders: 8,715 rows', a page
    title) does not end a sentence."""
    text = _last_paragraph(prose)
    masked = _QUOTED.sub(lambda m: "x" * len(m.group()), text)  # same length: positions carry over to `text`
    ends = [m.end() for m in _SENTENCE_END.finditer(masked)]
    last = text[ends[-1] :] if ends else text
    return last.rstrip(":").strip()


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
