"""Writer formatting checks on docx documents (python-docx): `compare_line_spacing` (same text and the same line
spacing paragraph by paragraph), `check_tabstops` (the tab stops of each non-empty paragraph against the expected
document's, scored by how far they moved) and `compare_font_names` (every run in one font); OSWorld's single-property
checks: `has_page_numbers_in_footers`, `is_first_line_centered`, `compare_subscript_contains` (both documents have
subscript at the same place) and `check_italic_font_size_14` (the same text, every italic run in 14 pt); with the
same text as the expected document, `evaluate_colored_words_in_tables` (table words red when they begin with a
vowel, else blue, within a CIEDE2000 difference) and `check_highlighted_words` (no yellow highlight left, odt)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from docx import Document
from docx.enum.text import WD_PARAGRAPH_ALIGNMENT, WD_TAB_ALIGNMENT
from odf.opendocument import load as load_odf
from odf.text import Span

from lbi.judging.colors import delta_e_2000, rgb_to_lab
from lbi.judging.documents import compare_docx_files
from lbi.judging.errors import JudgingError
from lbi.judging.files import ensure_small_package


def open_docx(path: str | None) -> Any:
    """The docx document, or None when there is none or it cannot be read."""
    if not path:
        return None
    try:
        return Document(ensure_small_package(path))
    except Exception:  # python-docx raises several kinds for a file that is not a docx
        return None


def compare_line_spacing(result: str | None, expected: str) -> float:
    """1.0 if the documents have the same text and each paragraph the same line spacing."""
    if not result or compare_docx_files(result, expected) != 1.0:
        return 0.0
    mine, gold = open_docx(result), open_docx(expected)
    if mine is None or gold is None or len(mine.paragraphs) != len(gold.paragraphs):
        return 0.0
    return float(
        all(
            p.paragraph_format.line_spacing == q.paragraph_format.line_spacing
            for p, q in zip(mine.paragraphs, gold.paragraphs, strict=True)
        )
    )


def _tab_stops(paragraph: Any) -> list[Any]:
    """A paragraph's tab stops, without cleared ones and the default left stop at 0."""
    return [
        t
        for t in paragraph.paragraph_format.tab_stops
        if t.alignment != WD_TAB_ALIGNMENT.CLEAR and not (t.alignment == WD_TAB_ALIGNMENT.LEFT and t.position == 0)
    ]


def _words_before_tab(paragraph: Any, index: int) -> int | None:
    parts = paragraph.text.split("\t")
    return len([w for w in re.split(r"\s", parts[index]) if w.strip()]) if index < len(parts) else None


def check_tabstops(
    result: str | None, expected: str, *, word_number_split_by_tabstop: int | None = None, index: int = 0
) -> float:
    """1 minus the mean distance (in paragraph widths) the tab stops of the result's non-empty paragraphs are from
    the expected ones'; 0 when the paragraphs or their stops differ in number or alignment. With
    `word_number_split_by_tabstop`: the `index`-th tab-separated part of each paragraph must hold that many words."""
    gold = open_docx(expected)
    if gold is None:
        raise JudgingError(f"expected: {expected} is not a docx document lbi can read")
    mine = open_docx(result)
    if mine is None:
        return 0.0
    ours, theirs = ([p for p in d.paragraphs if p.text.strip()] for d in (mine, gold))
    if len(ours) != len(theirs):
        return 0.0
    if word_number_split_by_tabstop is not None and any(
        _words_before_tab(p, index) != word_number_split_by_tabstop for p in ours
    ):
        return 0.0
    if not ours:
        return 1.0
    section = gold.sections[0]
    width = section.page_width - section.left_margin - section.right_margin
    moved = 0.0
    for p, q in zip(ours, theirs, strict=True):
        stops, gold_stops = _tab_stops(p), _tab_stops(q)
        if len(stops) != len(gold_stops) or any(
            s.alignment != t.alignment for s, t in zip(stops, gold_stops, strict=True)
        ):
            return 0.0
        moved += sum(abs(s.position - t.position) for s, t in zip(stops, gold_stops, strict=True)) / width
    return 1.0 - moved / len(ours)


def compare_font_names(result: str | None, rules: Mapping[str, Any]) -> float:
    """1.0 if every run of the document is in the font `rules["font_name"]`."""
    if not isinstance(rules.get("font_name"), str):
        raise JudgingError("expected.rules.font_name: the font's name")
    doc = open_docx(result)
    if doc is None:
        return 0.0
    return float(all(run.font.name == rules["font_name"] for p in doc.paragraphs for run in p.runs))


def gold_docx(expected: str) -> Any:
    gold = open_docx(expected)
    if gold is None:
        raise JudgingError(f"expected: {expected} is not a docx document lbi can read")
    return gold


def has_page_numbers_in_footers(result: str | None) -> float:
    """1.0 if the first paragraph of every section's footer holds a digit (a page number)."""
    doc = open_docx(result)
    if doc is None:
        return 0.0
    firsts = [s.footer.paragraphs[0].text if s.footer.paragraphs else "" for s in doc.sections]
    return float(all(any(c.isdigit() for c in text) for text in firsts))


def is_first_line_centered(result: str | None) -> float:
    """1.0 if the document's first paragraph is centred."""
    doc = open_docx(result)
    if doc is None or not doc.paragraphs:
        return 0.0
    return float(doc.paragraphs[0].paragraph_format.alignment == WD_PARAGRAPH_ALIGNMENT.CENTER)


def compare_subscript_contains(result: str | None, expected: str) -> float:
    """1.0 if some run is subscript in both documents at the same place (paragraph and run index)."""
    gold = gold_docx(expected)
    doc = open_docx(result)
    if doc is None:
        return 0.0
    return float(
        any(
            mine.font.subscript and theirs.font.subscript
            for p, q in zip(doc.paragraphs, gold.paragraphs, strict=False)
            for mine, theirs in zip(p.runs, q.runs, strict=False)
        )
    )


def check_italic_font_size_14(result: str | None, expected: str) -> float:
    """1.0 if the documents have the same text and every italic run of the result is 14 pt."""
    if not result or compare_docx_files(result, expected) != 1.0:
        return 0.0
    doc = open_docx(result)
    if doc is None:
        return 0.0
    italic = [run for p in doc.paragraphs for run in p.runs if run.italic]
    return float(all(run.font.size is not None and run.font.size.pt == 14 for run in italic))


RED, BLUE = rgb_to_lab((1.0, 0.0, 0.0)), rgb_to_lab((0.0, 0.0, 1.0))
HIGHLIGHT = "#ffff00"


def evaluate_colored_words_in_tables(result: str | None, expected: str, *, threshold: float = 3.5) -> float:
    """1.0 if the documents have the same text and every run in the result's tables is red when its word begins
    with a vowel and blue otherwise (a CIEDE2000 difference of at most `threshold`)."""
    if not result or compare_docx_files(result, expected) != 1.0:
        return 0.0
    doc = open_docx(result)
    if doc is None:
        return 0.0
    for table in doc.tables:
        for row in table.rows:
            for cell in row.cells:
                for run in (r for p in cell.paragraphs for r in p.runs if r.text):
                    rgb = run.font.color.rgb
                    want = RED if run.text[0].lower() in "aeiou" else BLUE
                    if rgb is None or delta_e_2000(rgb_to_lab([v / 255.0 for v in rgb]), want) > threshold:
                        return 0.0
    return 1.0


def check_highlighted_words(result: str | None, expected: str) -> float:
    """1.0 if the documents (odt) have the same text and no span of the result is highlighted in yellow."""
    if not result or compare_docx_files(result, expected) != 1.0:
        return 0.0
    try:
        doc = load_odf(ensure_small_package(result))
    except Exception:  # odfpy raises several kinds for a file that is not an odt
        return 0.0
    yellow = {
        str(style.getAttribute("name"))
        for style in doc.automaticstyles.childNodes
        if any(getattr(p, "getAttribute", None) and _background(p) == HIGHLIGHT for p in style.childNodes)
    }
    return float(not any(str(span.getAttribute("stylename")) in yellow for span in doc.getElementsByType(Span)))


def _background(properties: Any) -> str | None:
    try:
        return str(properties.getAttribute("backgroundcolor"))
    except ValueError:  # odfpy: the element has no such attribute
        return None
