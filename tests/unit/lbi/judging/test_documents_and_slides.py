"""Document, PDF and slide checks on files the tests write (python-docx, odfpy, fpdf2, python-pptx)."""

from __future__ import annotations

from pathlib import Path

import pytest
from docx import Document
from fpdf import FPDF
from odf.opendocument import OpenDocumentText
from odf.text import P
from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.util import Inches, Pt

from lbi.judging.document_formatting import check_tabstops, compare_font_names, compare_line_spacing
from lbi.judging.documents import compare_docx_files, compare_docx_tables, compare_pdfs
from lbi.judging.errors import JudgingError
from lbi.judging.slides import compare_pptx_files


def docx(path: Path, paragraphs: list[str], table: list[list[str]] | None = None) -> str:
    doc = Document()
    for text in paragraphs:
        doc.add_paragraph(text)
    if table:
        t = doc.add_table(rows=len(table), cols=len(table[0]))
        for i, row in enumerate(table):
            for j, text in enumerate(row):
                t.cell(i, j).text = text
    doc.save(str(path))
    return str(path)


def odt(path: Path, paragraphs: list[str]) -> str:
    doc = OpenDocumentText()
    for text in paragraphs:
        doc.text.addElement(P(text=text))
    doc.save(str(path))
    return str(path)


def test_docx_texts_compare_ignoring_blanks_by_default(tmp_path: Path) -> None:
    gold = docx(tmp_path / "gold.docx", ["Title", "Body  text"])
    assert compare_docx_files(docx(tmp_path / "same.docx", ["Title", "Body text"]), gold) == 1.0
    assert compare_docx_files(docx(tmp_path / "other.docx", ["Title", "Other text"]), gold) == 0.0
    assert compare_docx_files(str(tmp_path / "same.docx"), gold, ignore_blanks=False) == 0.0


def test_docx_options(tmp_path: Path) -> None:
    gold = docx(tmp_path / "gold.docx", ["alpha", "beta"])
    swapped = docx(tmp_path / "swapped.docx", ["beta", "", "ALPHA"])
    assert compare_docx_files(swapped, gold) == 0.0
    options = {"ignore_order": True, "delete_empty_lines": True, "ignore_case": True, "ignore_blanks": False}
    assert compare_docx_files(swapped, gold, **options) == 1.0
    near = docx(tmp_path / "near.docx", ["alpha", "betta"])
    assert 0.8 < compare_docx_files(near, gold, fuzzy_match=True) < 1.0
    assert compare_docx_files(near, gold, fuzzy_match=True, fuzzy_match_threshold=0.8) == 1.0
    assert 0.8 < compare_docx_files(near, gold, content_only=True) < 1.0


def test_odt_documents_compare_too(tmp_path: Path) -> None:
    gold = odt(tmp_path / "gold.odt", ["One", "Two"])
    assert compare_docx_files(odt(tmp_path / "same.odt", ["One", "Two"]), gold) == 1.0
    assert compare_docx_files(odt(tmp_path / "other.odt", ["One", "Three"]), gold) == 0.0
    assert compare_docx_files(docx(tmp_path / "mixed.docx", ["One", "Two"]), gold) == 0.0


def test_a_broken_result_scores_zero_and_a_broken_gold_is_an_error(tmp_path: Path) -> None:
    gold = docx(tmp_path / "gold.docx", ["x"])
    (tmp_path / "broken.docx").write_text("nope")
    assert compare_docx_files(str(tmp_path / "broken.docx"), gold) == 0.0
    assert compare_docx_files(None, gold) == 0.0
    with pytest.raises(JudgingError, match="expected"):
        compare_docx_files(gold, str(tmp_path / "broken.docx"))


def test_docx_tables(tmp_path: Path) -> None:
    table = [["Name", "Qty"], ["Pens", "3"]]
    gold = docx(tmp_path / "gold.docx", ["x"], table)
    assert compare_docx_tables(docx(tmp_path / "same.docx", ["other text"], table), gold) == 1.0
    assert compare_docx_tables(docx(tmp_path / "cell.docx", ["x"], [["Name", "Qty"], ["Pens", "4"]]), gold) == 0.0
    assert compare_docx_tables(docx(tmp_path / "none.docx", ["x"]), gold) == 0.0
    assert compare_docx_tables(docx(tmp_path / "shape.docx", ["x"], [["Name", "Qty", "X"]]), gold) == 0.0


def pdf(path: Path, lines: list[str]) -> str:
    doc = FPDF()
    doc.add_page()
    doc.set_font("Helvetica", size=12)
    for line in lines:
        doc.cell(0, 10, line, new_x="LMARGIN", new_y="NEXT")
    doc.output(str(path))
    return str(path)


def test_pdfs_score_their_text_similarity(tmp_path: Path) -> None:
    gold = pdf(tmp_path / "gold.pdf", ["Quarterly report", "Revenue grew"])
    assert compare_pdfs(pdf(tmp_path / "same.pdf", ["Quarterly report", "Revenue grew"]), gold) == 1.0
    near = compare_pdfs(pdf(tmp_path / "near.pdf", ["Quarterly report", "Revenue fell"]), gold)
    assert 0.5 < near < 1.0
    assert compare_pdfs(pdf(tmp_path / "far.pdf", ["zzzz"]), gold) < 0.2
    assert compare_pdfs([str(tmp_path / "same.pdf"), None], [gold, gold]) == 0.5
    (tmp_path / "broken.pdf").write_text("nope")
    assert compare_pdfs(str(tmp_path / "broken.pdf"), gold) == 0.0
    with pytest.raises(JudgingError, match="expected"):
        compare_pdfs(gold, str(tmp_path / "broken.pdf"))


def deck(
    path: Path,
    title: str = "Plan",
    bold: bool = False,
    left: float = 1.0,
    notes: str = "",
    color: RGBColor | None = None,
    level: int = 0,
    slides: int = 1,
) -> str:
    prs = Presentation()
    for _ in range(slides):
        slide = prs.slides.add_slide(prs.slide_layouts[6])
        box = slide.shapes.add_textbox(Inches(left), Inches(1), Inches(4), Inches(1))
        paragraph = box.text_frame.paragraphs[0]
        paragraph.level = level
        run = paragraph.add_run()
        run.text = title
        run.font.bold = bold
        run.font.size = Pt(24)
        if color is not None:
            run.font.color.rgb = color
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
    prs.save(str(path))
    return str(path)


def test_identical_presentations_match(tmp_path: Path) -> None:
    assert compare_pptx_files(deck(tmp_path / "a.pptx"), deck(tmp_path / "b.pptx")) == 1.0


@pytest.mark.parametrize(
    ("change", "option"),
    [
        ({"title": "Budget"}, "examine_text"),
        ({"bold": True}, "examine_font_bold"),
        ({"left": 3.0}, "examine_shape"),
        ({"notes": "say hello"}, "examine_note"),
        ({"color": RGBColor(0xFF, 0, 0)}, "examine_color_rgb"),
        ({"level": 1}, "examine_indent"),
        ({"slides": 2}, "examine_number_of_slides"),
    ],
)
def test_a_difference_fails_unless_its_option_is_off(tmp_path: Path, change: dict[str, object], option: str) -> None:
    gold = deck(tmp_path / "gold.pptx")
    changed = deck(tmp_path / "changed.pptx", **change)  # type: ignore[arg-type]
    assert compare_pptx_files(changed, gold) == 0.0
    off = {option: False}
    if option == "examine_text":
        off |= {"examine_alignment": False, "examine_bullets": False}
    if option == "examine_indent":
        off["examine_bullets"] = False
    assert compare_pptx_files(changed, gold, **off) == 1.0


def test_run_counts_compare_unless_turned_off(tmp_path: Path) -> None:
    gold = deck(tmp_path / "gold.pptx", title="Plan")
    prs = Presentation(deck(tmp_path / "split.pptx", title="Pl"))
    paragraph = prs.slides[0].shapes[0].text_frame.paragraphs[0]
    extra = paragraph.add_run()
    extra.text = "an"
    extra.font.size = Pt(24)
    prs.save(str(tmp_path / "split.pptx"))
    assert compare_pptx_files(str(tmp_path / "split.pptx"), gold) == 0.0
    assert compare_pptx_files(str(tmp_path / "split.pptx"), gold, examine_run_count=False) == 1.0


def test_pptx_errors(tmp_path: Path) -> None:
    gold = deck(tmp_path / "gold.pptx")
    (tmp_path / "broken.pptx").write_text("nope")
    assert compare_pptx_files(str(tmp_path / "broken.pptx"), gold) == 0.0
    assert compare_pptx_files(None, gold) == 0.0
    with pytest.raises(JudgingError, match="expected"):
        compare_pptx_files(gold, str(tmp_path / "broken.pptx"))
    with pytest.raises(JudgingError, match="examine_everything"):
        compare_pptx_files(gold, gold, examine_everything=True)


def spaced(path: Path, spacings: list[float | None], font: str | None = None) -> str:
    doc = Document()
    for i, spacing in enumerate(spacings):
        paragraph = doc.add_paragraph()
        run = paragraph.add_run(f"Paragraph {i}")
        if font:
            run.font.name = font
        paragraph.paragraph_format.line_spacing = spacing
    doc.save(str(path))
    return str(path)


def test_compare_line_spacing(tmp_path: Path) -> None:
    gold = spaced(tmp_path / "gold.docx", [2.0, 1.0])
    assert compare_line_spacing(spaced(tmp_path / "same.docx", [2.0, 1.0]), gold) == 1.0
    assert compare_line_spacing(spaced(tmp_path / "single.docx", [1.0, 1.0]), gold) == 0.0
    assert compare_line_spacing(docx(tmp_path / "text.docx", ["Other", "text"]), gold) == 0.0


def test_compare_font_names(tmp_path: Path) -> None:
    assert compare_font_names(spaced(tmp_path / "a.docx", [1.0], "Ubuntu"), {"font_name": "Ubuntu"}) == 1.0
    assert compare_font_names(spaced(tmp_path / "b.docx", [1.0], "Arial"), {"font_name": "Ubuntu"}) == 0.0
    with pytest.raises(JudgingError, match="font_name"):
        compare_font_names(str(tmp_path / "a.docx"), {})


def tabbed(path: Path, stops: list[float], text: str = "Name one\tValue") -> str:
    doc = Document()
    paragraph = doc.add_paragraph(text)
    for inches in stops:
        paragraph.paragraph_format.tab_stops.add_tab_stop(Inches(inches))
    doc.save(str(path))
    return str(path)


def test_check_tabstops_scores_how_far_the_stops_are(tmp_path: Path) -> None:
    gold = tabbed(tmp_path / "gold.docx", [3.0])
    assert check_tabstops(tabbed(tmp_path / "same.docx", [3.0]), gold) == 1.0
    near = check_tabstops(tabbed(tmp_path / "near.docx", [3.5]), gold)
    assert 0.9 < near < 1.0
    assert check_tabstops(tabbed(tmp_path / "none.docx", []), gold) == 0.0
    assert check_tabstops(str(tmp_path / "same.docx"), gold, word_number_split_by_tabstop=2) == 1.0
    assert check_tabstops(str(tmp_path / "same.docx"), gold, word_number_split_by_tabstop=3) == 0.0
