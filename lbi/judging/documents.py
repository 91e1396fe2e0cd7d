"""Document checks: `compare_docx_files` (paragraph texts of two docx, or two odt, documents),
`compare_docx_tables` (the cells of their tables) and `compare_pdfs` (the similarity of two PDFs' texts).

Word documents are read with python-docx, Writer's odt with odfpy, PDFs with pypdf (OSWorld reads them with
PyMuPDF: the two extract a page's text a little differently, so a score compares files read the same way)."""

from __future__ import annotations

import re
from typing import Any

from docx import Document
from odf import teletype
from odf.opendocument import load as load_odf
from odf.text import P
from pypdf import PdfReader
from rapidfuzz import fuzz

from lbi.judging.errors import JudgingError
from lbi.judging.files import ensure_small_package


def _paragraphs(path: str) -> list[str] | None:
    """The document's paragraph texts (docx or odt by the file's name), or None when it cannot be read."""
    try:
        if path.endswith(".docx"):
            return [p.text for p in Document(ensure_small_package(path)).paragraphs]
        if path.endswith(".odt"):
            return [teletype.extractText(p) for p in load_odf(ensure_small_package(path)).getElementsByType(P)]
    except Exception:  # a file python-docx or odfpy cannot read, whatever it raises
        return None
    return None


def compare_docx_files(
    result: str | None,
    expected: str,
    *,
    ignore_blanks: bool = True,
    ignore_case: bool = False,
    ignore_order: bool = False,
    content_only: bool = False,
    fuzzy_match: bool = False,
    fuzzy_match_threshold: float | None = None,
    delete_empty_lines: bool = False,
) -> float:
    """Whether two documents (both docx or both odt) have the same text.

    `ignore_blanks` (default): the whole texts compared with white space runs as one space; otherwise paragraph by
    paragraph. `content_only`: the similarity ratio of the whole texts. `fuzzy_match`: similarity ratios instead of
    equality (`fuzzy_match_threshold`: each ratio counts 1 when it reaches the threshold, else 0).
    `ignore_order`: paragraphs sorted first; `delete_empty_lines`: blank paragraphs dropped."""
    if not result or result.rsplit(".", 1)[-1] != expected.rsplit(".", 1)[-1]:
        return 0.0
    mine, gold = _paragraphs(result), _paragraphs(expected)
    if gold is None:
        raise JudgingError(f"expected: {expected} is not a docx or odt document lbi can read")
    if mine is None:
        return 0.0
    if ignore_order:
        mine, gold = sorted(mine), sorted(gold)
    if delete_empty_lines:
        mine, gold = [p for p in mine if p.strip()], [p for p in gold if p.strip()]
    if content_only or ignore_blanks:
        one, two = (re.sub(r"\s+", " ", "\n".join(ps)).strip() for ps in (mine, gold))
        if ignore_case:
            one, two = one.lower(), two.lower()
        if not (content_only or fuzzy_match):
            return float(one == two)
        ratio = fuzz.ratio(one, two) / 100.0
        if content_only or fuzzy_match_threshold is None:
            return ratio
        return float(ratio >= fuzzy_match_threshold)
    if len(mine) != len(gold):
        return 0.0
    if ignore_case:
        mine, gold = [p.lower() for p in mine], [p.lower() for p in gold]
    if not fuzzy_match:
        return float(mine == gold)
    if not mine:
        return 1.0
    ratios = [fuzz.ratio(a, b) / 100.0 for a, b in zip(mine, gold, strict=True)]
    if fuzzy_match_threshold is not None:
        ratios = [float(r >= fuzzy_match_threshold) for r in ratios]
    return sum(ratios) / len(ratios)


def compare_docx_tables(result: str | None, expected: str) -> float:
    """1.0 if the two docx documents have as many tables, of the same shapes, with the same cell texts (trimmed)."""
    try:
        gold = Document(ensure_small_package(expected)).tables
    except Exception as e:  # python-docx raises several kinds for a file that is not a docx
        raise JudgingError(f"expected: {expected} is not a docx document ({e})") from None
    try:
        mine = Document(ensure_small_package(result)).tables if result else None
    except Exception:
        return 0.0
    if mine is None or len(mine) != len(gold):
        return 0.0
    return float(all(_table_cells(a) == _table_cells(b) for a, b in zip(mine, gold, strict=True)))


def _table_cells(table: Any) -> tuple[int, int, list[list[str]]]:
    rows, columns = len(table.rows), len(table.columns)
    return rows, columns, [[table.cell(i, j).text.strip() for j in range(columns)] for i in range(rows)]


def _pdf_text(path: str) -> str:
    return "".join(page.extract_text() or "" for page in PdfReader(path).pages).strip()


def compare_pdfs(result: str | list[str | None] | None, expected: str | list[str]) -> float:
    """The mean similarity ratio (0..1) of the texts of each result PDF and its expected PDF."""
    results = result if isinstance(result, list) else [result]
    golds = expected if isinstance(expected, list) else [expected]
    if len(results) != len(golds):
        return 0.0
    total = 0.0
    for mine, gold in zip(results, golds, strict=True):
        try:
            gold_text = _pdf_text(gold)
        except Exception as e:  # pypdf raises several kinds for a file that is not a PDF
            raise JudgingError(f"expected: {gold} is not a PDF lbi can read ({e})") from None
        try:
            total += fuzz.ratio(_pdf_text(mine), gold_text) / 100.0 if mine else 0.0
        except Exception:
            continue
    return total / len(golds)
