"""CIEDE2000 against Sharma, Wu and Dalal's published pairs, and Writer's colour checks on documents the tests write
(python-docx tables coloured by run, odt spans highlighted by an automatic style)."""

from __future__ import annotations

from pathlib import Path

import pytest
from docx import Document
from docx.shared import RGBColor
from odf.opendocument import OpenDocumentText
from odf.style import Style, TextProperties
from odf.text import P, Span

from lbi.judging.colors import delta_e_2000, rgb_to_lab
from lbi.judging.document_formatting import check_highlighted_words, evaluate_colored_words_in_tables


@pytest.mark.parametrize(
    ("one", "two", "difference"),
    [
        ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
        ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
        ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
        ((2.0776, 0.0795, -1.135), (0.9033, -0.0636, -0.5514), 0.9082),
    ],
)
def test_ciede2000_matches_the_published_pairs(
    one: tuple[float, float, float], two: tuple[float, float, float], difference: float
) -> None:
    assert delta_e_2000(one, two) == pytest.approx(difference, abs=1e-4)


def test_rgb_to_lab_of_red() -> None:
    assert rgb_to_lab((1.0, 0.0, 0.0)) == pytest.approx((53.2406, 80.0923, 67.2028), abs=1e-3)


def coloured(path: Path, colours: dict[str, tuple[int, int, int]]) -> str:
    doc = Document()
    doc.add_paragraph("Words")
    table = doc.add_table(rows=1, cols=len(colours))
    for cell, (word, rgb) in zip(table.rows[0].cells, colours.items(), strict=True):
        cell.paragraphs[0].add_run(word).font.color.rgb = RGBColor(*rgb)
    doc.save(str(path))
    return str(path)


def test_colored_words_in_tables(tmp_path: Path) -> None:
    gold = coloured(tmp_path / "gold.docx", {"apple": (0, 0, 0), "pear": (0, 0, 0)})
    right = coloured(tmp_path / "right.docx", {"apple": (255, 0, 0), "pear": (0, 0, 254)})
    wrong = coloured(tmp_path / "wrong.docx", {"apple": (0, 0, 255), "pear": (0, 0, 255)})
    assert evaluate_colored_words_in_tables(right, gold) == 1.0
    assert evaluate_colored_words_in_tables(wrong, gold) == 0.0
    assert evaluate_colored_words_in_tables(gold, gold) == 0.0  # black


def odt(path: Path, highlight: str | None) -> str:
    doc = OpenDocumentText()
    style = Style(name="T1", family="text")
    if highlight:
        style.addElement(TextProperties(backgroundcolor=highlight))
    doc.automaticstyles.addElement(style)
    paragraph = P(text="Some ")
    paragraph.addElement(Span(stylename=style, text="word"))
    doc.text.addElement(paragraph)
    doc.save(str(path))
    return str(path)


def test_highlighted_words(tmp_path: Path) -> None:
    gold = odt(tmp_path / "gold.odt", None)
    assert check_highlighted_words(odt(tmp_path / "plain.odt", None), gold) == 1.0
    assert check_highlighted_words(odt(tmp_path / "yellow.odt", "#ffff00"), gold) == 0.0
    assert check_highlighted_words(odt(tmp_path / "green.odt", "#00ff00"), gold) == 1.0
