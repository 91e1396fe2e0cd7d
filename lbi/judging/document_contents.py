"""Writer's checks of what a document holds, as OSWorld's docs metrics define them: `contains_page_break` (page
breaks, so many if the rule says), `compare_insert_equation` (the same text and an equation object at the same place
as the expected document's), `compare_docx_lines` (the same set of non-empty lines), `check_no_duplicates` (a
timetable's lines "time, train, station, platform" kept once per train) and `find_default_font` (Writer's default
font in LibreOffice's registrymodifications.xcu)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lxml import etree

from lbi.judging.document_formatting import gold_docx, open_docx
from lbi.judging.documents import compare_docx_files
from lbi.judging.errors import JudgingError

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
OOR = "{http://openoffice.org/2001/registry}"
WRITER_FONT = "/org.openoffice.Office.Writer/DefaultFont"


def contains_page_break(result: str | None, rules: Mapping[str, Any]) -> float:
    """1.0 if the document's paragraphs hold a page break, and `rules["page_break_count"]` of them when given."""
    if not isinstance(rules, Mapping):
        raise JudgingError("expected.rules: an object, with page_break_count or not")
    wanted = rules.get("page_break_count")
    doc = open_docx(result)
    if doc is None:
        return 0.0
    breaks = sum(
        1 for p in doc.paragraphs for run in p.runs for br in run.element.iter(f"{W}br") if br.get(f"{W}type") == "page"
    )
    return float(breaks > 0 and (wanted is None or breaks == wanted))


def compare_insert_equation(result: str | None, expected: str) -> float:
    """1.0 if the documents have the same text and some run holds an equation (an embedded object) in both, at
    the same paragraph and run."""
    gold = gold_docx(expected)
    if not result or compare_docx_files(result, expected) != 1.0:
        return 0.0
    doc = open_docx(result)
    if doc is None:
        return 0.0
    return float(
        any(
            next(mine.element.iter(f"{W}object"), None) is not None
            and next(theirs.element.iter(f"{W}object"), None) is not None
            for p, q in zip(doc.paragraphs, gold.paragraphs, strict=False)
            for mine, theirs in zip(p.runs, q.runs, strict=False)
        )
    )


def _lines(doc: Any) -> set[str]:
    return {p.text.strip() for p in doc.paragraphs if p.text.strip()}


def compare_docx_lines(result: str | None, expected: str) -> float:
    """1.0 if the documents have the same set of non-empty lines (paragraphs, stripped), in any order."""
    gold = gold_docx(expected)
    doc = open_docx(result)
    return float(doc is not None and _lines(doc) == _lines(gold))


def _trains(doc: Any) -> list[str]:
    """The train of each timetable line ("time, train, station, platform": four comma-separated parts)."""
    return [parts[1].strip() for p in doc.paragraphs if len(parts := p.text.split(",")) == 4]


def check_no_duplicates(result: str | None, expected: str) -> float:
    """1.0 if the second document lists each train of the first once, and no other (OSWorld compares the first
    file, the task's own, with the processed one, the second)."""
    first, second = open_docx(result), open_docx(expected)
    if first is None or second is None:
        return 0.0
    kept = _trains(second)
    return float(len(kept) == len(set(kept)) and set(kept) == set(_trains(first)))


def find_default_font(result: str | None, rules: Mapping[str, Any]) -> float:
    """1.0 if Writer's default (Standard) font in registrymodifications.xcu is `rules["font_name"]`."""
    wanted = rules.get("font_name") if isinstance(rules, Mapping) else None
    if not isinstance(wanted, str):
        raise JudgingError("expected.rules.font_name: the font's name")
    if not result:
        return 0.0
    try:
        tree = etree.parse(result, etree.XMLParser(resolve_entities=False, no_network=True))
    except (OSError, etree.XMLSyntaxError):
        return 0.0
    fonts = [
        value.text
        for item in tree.iter("item")
        if item.get(f"{OOR}path") == WRITER_FONT
        for prop in item.iter("prop")
        if prop.get(f"{OOR}name") == "Standard"
        for value in prop.iter("value")
    ]
    return float(bool(fonts) and fonts[-1] == wanted)
