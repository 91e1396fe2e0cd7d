"""Writer's checks of what a document holds, on documents and a LibreOffice registry file the tests write."""

from __future__ import annotations

from pathlib import Path

import pytest
from docx import Document
from docx.enum.text import WD_BREAK
from docx.oxml import OxmlElement

from lbi.judging import document_contents as contents
from lbi.judging.errors import JudgingError


def docx(path: Path, lines: list[str], page_breaks: int = 0, equation: bool = False) -> str:
    doc = Document()
    for line in lines:
        doc.add_paragraph(line)
    paragraph = doc.paragraphs[0]
    for _ in range(page_breaks):
        paragraph.add_run().add_break(WD_BREAK.PAGE)
    if equation:
        paragraph.add_run()._r.append(OxmlElement("w:object"))
    doc.save(str(path))
    return str(path)


def test_contains_page_break(tmp_path: Path) -> None:
    two = docx(tmp_path / "two.docx", ["a", "b"], page_breaks=2)
    none = docx(tmp_path / "none.docx", ["a", "b"])
    assert contents.contains_page_break(two, {}) == 1.0
    assert contents.contains_page_break(two, {"page_break_count": 2}) == 1.0
    assert contents.contains_page_break(two, {"page_break_count": 1}) == 0.0
    assert contents.contains_page_break(none, {}) == 0.0
    assert contents.contains_page_break(None, {}) == 0.0


def test_compare_insert_equation(tmp_path: Path) -> None:
    gold = docx(tmp_path / "gold.docx", ["Energy", "end"], equation=True)
    assert contents.compare_insert_equation(docx(tmp_path / "eq.docx", ["Energy", "end"], equation=True), gold) == 1.0
    assert contents.compare_insert_equation(docx(tmp_path / "plain.docx", ["Energy", "end"]), gold) == 0.0
    assert contents.compare_insert_equation(docx(tmp_path / "text.docx", ["Other", "end"], equation=True), gold) == 0.0


def test_compare_docx_lines(tmp_path: Path) -> None:
    gold = docx(tmp_path / "gold.docx", ["alpha", "beta", ""])
    assert contents.compare_docx_lines(docx(tmp_path / "swapped.docx", [" beta", "alpha"]), gold) == 1.0
    assert contents.compare_docx_lines(docx(tmp_path / "fewer.docx", ["alpha"]), gold) == 0.0
    (tmp_path / "broken.docx").write_text("no")
    with pytest.raises(JudgingError):
        contents.compare_docx_lines(gold, str(tmp_path / "broken.docx"))


def test_check_no_duplicates(tmp_path: Path) -> None:
    table = ["08:00, T1, S1, 1", "08:05, T2, S1, 2", "09:00, T1, S2, 1", "header"]
    original = docx(tmp_path / "original.docx", table)
    kept = docx(tmp_path / "kept.docx", ["08:00, T1, S1, 1", "08:05, T2, S1, 2"])
    assert contents.check_no_duplicates(original, kept) == 1.0
    assert contents.check_no_duplicates(original, original) == 0.0  # T1 twice
    assert contents.check_no_duplicates(original, docx(tmp_path / "lost.docx", ["08:00, T1, S1, 1"])) == 0.0


XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry">
<item oor:path="/org.openoffice.Office.Writer/DefaultFont"><prop oor:name="Standard" oor:op="fuse">
<value>{font}</value></prop></item>
</oor:items>"""


def test_find_default_font(tmp_path: Path) -> None:
    xcu = tmp_path / "registrymodifications.xcu"
    xcu.write_text(XCU.format(font="Times New Roman"))
    assert contents.find_default_font(str(xcu), {"font_name": "Times New Roman"}) == 1.0
    assert contents.find_default_font(str(xcu), {"font_name": "Liberation Serif"}) == 0.0
    assert contents.find_default_font(None, {"font_name": "Times New Roman"}) == 0.0
    with pytest.raises(JudgingError):
        contents.find_default_font(str(xcu), {})
