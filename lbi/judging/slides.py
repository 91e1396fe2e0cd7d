"""Slide checks: OSWorld's `compare_pptx_files`, two pptx presentations compared slide by slide, shape by shape,
paragraph by paragraph and run by run (python-pptx). 1.0 when nothing examined differs, else 0.0.

Options (`examine_*`, default true): number_of_slides, background_color, note, shape (position and size within
`approximately_tolerance`, 0.005 relative), text, indent (paragraph level), alignment (none = left), font_name,
font_size, font_bold, font_italic (none = false), color_rgb, font_underline, strike_through, run_count (as many
runs in each paragraph; non-empty ones in a blank paragraph), bullets (each slide's bullet characters, levels and
texts). Default false: image_size, modify_height, shape_for_shift_size, and OSWorld's
task-specific position checks title_bottom_position, table_bottom_position, right_position, top_position, and
shape_lenient_height (examine_shape leaves heights out: text boxes grow with their text; OSWorld's task files use
this option and lbi found no published definition of it, so this is lbi's reading).

`check_image_stretch_and_center`: the first picture of the original's first slide, found again (the same image
bytes) on the result's first slide, fills the slide and is centred, each within half an inch.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Any
from xml.etree import ElementTree

from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE
from pptx.enum.text import PP_ALIGN
from pptx.util import Inches

from lbi.judging.errors import JudgingError
from lbi.judging.files import ensure_small_package

A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
PICTURE, FREEFORM = MSO_SHAPE_TYPE.PICTURE, MSO_SHAPE_TYPE.FREEFORM
STRETCH_TOLERANCE = Inches(0.5)


@dataclass(frozen=True)
class Examine:
    """What compare_pptx_files examines (its options)."""

    examine_number_of_slides: bool = True
    examine_shape: bool = True
    examine_text: bool = True
    examine_indent: bool = True
    examine_font_name: bool = True
    examine_font_size: bool = True
    examine_font_bold: bool = True
    examine_font_italic: bool = True
    examine_color_rgb: bool = True
    examine_font_underline: bool = True
    examine_strike_through: bool = True
    examine_alignment: bool = True
    examine_run_count: bool = True
    examine_shape_lenient_height: bool = False
    examine_bullets: bool = True
    examine_background_color: bool = True
    examine_note: bool = True
    examine_title_bottom_position: bool = False
    examine_table_bottom_position: bool = False
    examine_right_position: bool = False
    examine_top_position: bool = False
    examine_shape_for_shift_size: bool = False
    examine_image_size: bool = False
    examine_modify_height: bool = False
    approximately_tolerance: float = 0.005
    enable_debug: bool = False

    def close(self, a: int | None, b: int | None) -> bool:
        if a == b:
            return True
        if not a or not b:
            return False
        return abs(a - b) / max(abs(a), abs(b)) <= self.approximately_tolerance

    def same_box(self, one: Any, two: Any, height: bool = True) -> bool:
        keys = ("left", "top", "width", "height") if height else ("left", "top", "width")
        return all(self.close(getattr(one, k), getattr(two, k)) for k in keys)


OPTIONS = frozenset(f.name for f in fields(Examine))


def _presentations(result: str | None, expected: str) -> tuple[Any, Any]:
    """The result's presentation (None when there is none or it is not a pptx) and the expected one (an error)."""
    try:
        gold = Presentation(ensure_small_package(expected))
    except Exception as e:  # python-pptx raises several kinds for a file that is not a pptx
        raise JudgingError(f"expected: {expected} is not a pptx presentation ({e})") from None
    try:
        mine = Presentation(ensure_small_package(result)) if result else None
    except Exception:
        return None, gold
    return mine, gold


def compare_pptx_files(result: str | None, expected: str, **options: Any) -> float:
    """1.0 if the result presentation matches the expected one in everything the options examine."""
    unknown = set(options) - OPTIONS
    if unknown:
        raise JudgingError(f"options.{sorted(unknown)[0]}: not an option of compare_pptx_files")
    examine = Examine(**options)
    mine, gold = _presentations(result, expected)
    if mine is None:
        return 0.0
    if examine.examine_number_of_slides and len(mine.slides) != len(gold.slides):
        return 0.0
    return float(
        all(_same_slide(examine, i, a, b) for i, (a, b) in enumerate(zip(mine.slides, gold.slides, strict=False), 1))
    )


def _background(slide: Any) -> Any:
    fill = slide.background.fill
    if fill.type == 5:  # background: the master's
        fill = slide.slide_layout.slide_master.background.fill
    return fill.fore_color.rgb if fill.type == 1 else None


def _notes(slide: Any) -> str:
    return slide.notes_slide.notes_text_frame.text.strip() if slide.has_notes_slide else ""


def _same_slide(examine: Examine, number: int, one: Any, two: Any) -> bool:
    if examine.examine_background_color and _background(one) != _background(two):
        return False
    if examine.examine_note and _notes(one) != _notes(two):
        return False
    if len(one.shapes) != len(two.shapes):
        return False
    if not all(_same_shape(examine, number, a, b) for a, b in zip(one.shapes, two.shapes, strict=True)):
        return False
    if examine.examine_bullets and _bullets(one) != _bullets(two):
        return False
    texts_one, texts_two = list(_text_shapes(one.shapes)), list(_text_shapes(two.shapes))
    if len(texts_one) != len(texts_two):
        return False
    return not examine.examine_alignment or all(
        (not examine.examine_text or a.text.strip() == b.text.strip()) and _same_alignments(a, b)
        for a, b in zip(texts_one, texts_two, strict=True)
    )


def _text_shapes(shapes: Any) -> Iterator[Any]:
    """Every shape with a text frame, those inside groups included."""
    for shape in shapes:
        if shape.has_text_frame:
            yield shape
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            yield from _text_shapes(shape.shapes)


def _same_alignments(one: Any, two: Any) -> bool:
    return all(
        (p.alignment or PP_ALIGN.LEFT) == (q.alignment or PP_ALIGN.LEFT)
        for p, q in zip(one.text_frame.paragraphs, two.text_frame.paragraphs, strict=False)
    )


def _positions_hold(examine: Examine, number: int, one: Any, two: Any) -> bool:
    """OSWorld's task-specific position checks (the result's shape must have moved as those tasks ask)."""
    has_text = one.has_text_frame and two.has_text_frame
    if examine.examine_title_bottom_position:
        if has_text and one.text_frame.text == two.text_frame.text:
            if one.text_frame.text == "Product Comparison" and (one.top <= two.top or one.top < 3600000):
                return False
        elif not examine.same_box(one, two):
            return False
    if examine.examine_table_bottom_position:
        if number == 3 and one.shape_type == two.shape_type == MSO_SHAPE_TYPE.TABLE:
            if one.top <= two.top or one.top < 3600000:
                return False
        elif not examine.same_box(one, two):
            return False
    moved_right = bool(one.left > two.left and one.left >= 4320000)
    if examine.examine_right_position and number == 2 and not (one.has_text_frame or two.has_text_frame):
        return moved_right
    moved_up = bool(one.top < two.top and one.top <= 1980000)
    if examine.examine_top_position and number == 2 and one.shape_type == two.shape_type == PICTURE:
        return moved_up
    return True


def _sizes_hold(examine: Examine, one: Any, two: Any) -> bool:
    if examine.examine_shape_for_shift_size and not examine.same_box(one, two):
        keep = "Elaborate on what you want to discuss."
        if not (one.has_text_frame and two.has_text_frame and one.text_frame.text == two.text_frame.text == keep):
            return False
    if examine.examine_shape and not examine.same_box(one, two, not examine.examine_shape_lenient_height):
        return False
    if examine.examine_image_size:
        if one.shape_type == two.shape_type == PICTURE:
            if not (examine.close(one.width, two.width) and examine.close(one.height, two.height)):
                return False
        elif not examine.same_box(one, two):
            return False
    if examine.examine_modify_height:
        if (not one.has_text_frame and not two.has_text_frame) or one.shape_type == two.shape_type == FREEFORM:
            return examine.close(one.height, two.height)
        return examine.same_box(one, two)
    return True


def _same_shape(examine: Examine, number: int, one: Any, two: Any) -> bool:
    if not (_positions_hold(examine, number, one, two) and _sizes_hold(examine, one, two)):
        return False
    if one.has_table and two.has_table and not _same_table_fonts(examine, one.table, two.table):
        return False
    if not (one.has_text_frame and two.has_text_frame):
        return True
    if examine.examine_text and one.text_frame.text.strip() != two.text_frame.text.strip():
        return False
    for p, q in zip(one.text_frame.paragraphs, two.text_frame.paragraphs, strict=False):
        if examine.examine_alignment and (p.alignment or PP_ALIGN.LEFT) != (q.alignment or PP_ALIGN.LEFT):
            return False
        if examine.examine_text and p.text != q.text:
            return False
        if examine.examine_indent and p.level != q.level:
            return False
        runs, other_runs = _runs(p, q)
        if examine.examine_run_count and len(runs) != len(other_runs):
            return False
        if not all(_same_run(examine, r, s) for r, s in zip(runs, other_runs, strict=False)):
            return False
    return True


def _runs(one: Any, two: Any) -> tuple[list[Any], list[Any]]:
    """Two paragraphs' runs; of two blank paragraphs, only the runs with text."""
    if one.text.strip() or two.text.strip():
        return list(one.runs), list(two.runs)
    return [r for r in one.runs if r.text], [r for r in two.runs if r.text]


def _same_table_fonts(examine: Examine, one: Any, two: Any) -> bool:
    table_examine = Examine(
        examine_font_name=False,
        examine_font_size=False,
        examine_strike_through=False,
        examine_color_rgb=examine.examine_color_rgb,
    )
    for i in range(min(len(one.rows), len(two.rows))):
        for j in range(min(len(one.columns), len(two.columns))):
            for p, q in zip(one.cell(i, j).text_frame.paragraphs, two.cell(i, j).text_frame.paragraphs, strict=False):
                if not all(_same_run(table_examine, r, s) for r, s in zip(p.runs, q.runs, strict=False)):
                    return False
    return True


def _color(font: Any) -> Any:
    try:
        return font.color.rgb
    except AttributeError:  # a theme colour, or none: no RGB to compare
        return None


def _same_run(examine: Examine, one: Any, two: Any) -> bool:
    a, b = one.font, two.font
    checks = (
        (examine.examine_font_name, a.name == b.name),
        (examine.examine_font_size, a.size == b.size),
        (examine.examine_font_bold, bool(a.bold) == bool(b.bold)),
        (examine.examine_font_italic, bool(a.italic) == bool(b.italic)),
        (examine.examine_color_rgb, _color(a) == _color(b)),
        (examine.examine_font_underline, _same_underline(a.underline, b.underline)),
        (examine.examine_strike_through, _strike(a) == _strike(b)),
    )
    return all(same for examined, same in checks if examined)


def _strike(font: Any) -> str:
    rpr = font._rPr
    return rpr.get("strike", "noStrike") if rpr is not None else "noStrike"


def _same_underline(one: Any, two: Any) -> bool:
    if one == two:
        return True
    if one is not None and two is not None:
        return False
    return one is not True and two is not True


def _bullets(slide: Any) -> list[tuple[str, str, str]]:
    """The slide's non-empty paragraphs as (level, bullet character, text), as OSWorld reads them."""
    root = ElementTree.fromstring(slide.part.blob)
    found = []
    for paragraph in root.iter(f"{A}p"):
        ppr = paragraph.find(f"{A}pPr")
        level = (ppr.get("lvl") or "0") if ppr is not None else "No Level"
        char_el = ppr.find(f"{A}buChar") if ppr is not None else None
        char = char_el.get("char", "") if char_el is not None else "No Bullet"
        text = "".join(t.text or "" for t in paragraph.iter(f"{A}t"))
        if text.strip():
            found.append((level, char, text))
    return found


def check_image_stretch_and_center(result: str | None, expected: str) -> float:
    """1.0 if the original's first picture (first slide) is on the result's first slide, as large as the slide and
    centred on it, each within half an inch."""
    mine, gold = _presentations(result, expected)
    pictures = [s for s in gold.slides[0].shapes if s.shape_type == PICTURE] if len(gold.slides) else []
    if mine is None or not pictures or not len(mine.slides):
        return 0.0
    blob = pictures[0].image.blob
    found = [s for s in mine.slides[0].shapes if s.shape_type == PICTURE and s.image.blob == blob]
    if not found:
        return 0.0
    picture, width, height = found[-1], gold.slide_width, gold.slide_height
    return float(
        abs(picture.width - width) <= STRETCH_TOLERANCE
        and abs(picture.height - height) <= STRETCH_TOLERANCE
        and abs(picture.left - (width - picture.width) / 2) <= STRETCH_TOLERANCE
        and abs(picture.top - (height - picture.height) / 2) <= STRETCH_TOLERANCE
    )
