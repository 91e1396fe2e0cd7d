"""Writer's single-property checks, the Impress picture check, VLC's checks and the system's checks, on documents,
presentations, configuration files and databases the tests write."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest
from docx import Document
from docx.enum.text import WD_PARAGRAPH_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt
from PIL import Image
from pptx import Presentation
from pptx.util import Inches

from lbi.judging import document_formatting as writer
from lbi.judging import system, vlc
from lbi.judging.errors import JudgingError
from lbi.judging.registry import refusal
from lbi.judging.slides import check_image_stretch_and_center


def test_page_numbers_in_footers(tmp_path: Path) -> None:
    numbered, plain = Document(), Document()
    run = numbered.sections[0].footer.paragraphs[0].add_run()
    for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):  # a PAGE field, as Writer saves it
        if kind:
            field = OxmlElement("w:fldChar")
            field.set(qn("w:fldCharType"), kind)
            run._r.append(field)
        else:
            instr = OxmlElement("w:instrText")
            instr.text = text
            run._r.append(instr)
    numbered.sections[0].footer.paragraphs[0].add_run("1")  # the field's last computed value
    plain.sections[0].footer.paragraphs[0].add_run("Confidential")
    numbered.save(str(tmp_path / "numbered.docx"))
    plain.save(str(tmp_path / "plain.docx"))
    assert writer.has_page_numbers_in_footers(str(tmp_path / "numbered.docx")) == 1.0
    assert writer.has_page_numbers_in_footers(str(tmp_path / "plain.docx")) == 0.0
    assert writer.has_page_numbers_in_footers(None) == 0.0


def test_first_line_centered(tmp_path: Path) -> None:
    doc = Document()
    doc.add_paragraph("Constitution").alignment = WD_PARAGRAPH_ALIGNMENT.CENTER
    doc.add_paragraph("Article 1")
    doc.save(str(tmp_path / "centred.docx"))
    doc.paragraphs[0].alignment = WD_PARAGRAPH_ALIGNMENT.LEFT
    doc.save(str(tmp_path / "left.docx"))
    assert writer.is_first_line_centered(str(tmp_path / "centred.docx")) == 1.0
    assert writer.is_first_line_centered(str(tmp_path / "left.docx")) == 0.0


def _formula(path: Path, subscript: bool, italic_size: int | None = None) -> str:
    doc = Document()
    paragraph = doc.add_paragraph("H")
    two = paragraph.add_run("2")
    two.font.subscript = subscript
    paragraph.add_run("O")
    if italic_size is not None:
        note = doc.add_paragraph().add_run("water")
        note.italic = True
        note.font.size = Pt(italic_size)
    doc.save(str(path))
    return str(path)


def test_subscript_contains(tmp_path: Path) -> None:
    gold = _formula(tmp_path / "gold.docx", True)
    assert writer.compare_subscript_contains(_formula(tmp_path / "sub.docx", True), gold) == 1.0
    assert writer.compare_subscript_contains(_formula(tmp_path / "flat.docx", False), gold) == 0.0
    (tmp_path / "broken.docx").write_text("not a document")
    with pytest.raises(JudgingError):
        writer.compare_subscript_contains(gold, str(tmp_path / "broken.docx"))


def test_italic_font_size_14(tmp_path: Path) -> None:
    gold = _formula(tmp_path / "gold.docx", False, 12)
    assert writer.check_italic_font_size_14(_formula(tmp_path / "big.docx", False, 14), gold) == 1.0
    assert writer.check_italic_font_size_14(_formula(tmp_path / "small.docx", False, 12), gold) == 0.0


def _deck(path: Path, picture: bytes, box: tuple[float, float, float, float]) -> str:
    deck = Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[6])
    left, top, width, height = (Inches(v) for v in box)
    slide.shapes.add_picture(io.BytesIO(picture), left, top, width, height)
    deck.save(str(path))
    return str(path)


def test_image_stretch_and_center(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 200)).save(buffer, "PNG")
    picture = buffer.getvalue()
    original = _deck(tmp_path / "original.pptx", picture, (2, 2, 3, 2))
    stretched = _deck(tmp_path / "stretched.pptx", picture, (0, 0, 10, 7.5))  # the default slide is 10 x 7.5 in
    corner = _deck(tmp_path / "corner.pptx", picture, (0, 0, 5, 3.75))
    assert check_image_stretch_and_center(stretched, original) == 1.0
    assert check_image_stretch_and_center(corner, original) == 0.0
    assert check_image_stretch_and_center(None, original) == 0.0


STATUS = """<?xml version="1.0" encoding="utf-8" standalone="yes" ?>
<root><state>{state}</state><information><category name="meta">
<info name="filename">{name}</info><info name="url">file:///home/user/Desktop/{name}</info>
</category></information></root>"""


def test_is_vlc_playing(tmp_path: Path) -> None:
    playing = tmp_path / "status.xml"
    playing.write_text(STATUS.format(state="playing", name="song.mp4"))
    paused = tmp_path / "paused.xml"
    paused.write_text(STATUS.format(state="paused", name="song.mp4"))
    assert vlc.is_vlc_playing(str(playing), {"type": "file_name", "file_name": "song.mp4"}) == 1.0
    assert vlc.is_vlc_playing(str(playing), {"type": "url", "url": "Desktop/song.mp4"}) == 1.0
    assert vlc.is_vlc_playing(str(playing), {"type": "file_name", "file_name": "other.mp4"}) == 0.0
    assert vlc.is_vlc_playing(str(paused), {"type": "file_name", "file_name": "song.mp4"}) == 0.0
    assert vlc.is_vlc_playing(None, {"type": "file_name", "file_name": "song.mp4"}) == 0.0
    with pytest.raises(JudgingError, match=r"rules\.type"):
        vlc.is_vlc_playing(str(playing), {"type": "title", "title": "song"})


def test_vlcrc_settings(tmp_path: Path) -> None:
    default = tmp_path / "default"
    default.write_text("# Record directory\n#input-record-path=\n#qt-bgcone=1\n#global-key-play-pause=\n")
    changed = tmp_path / "changed"
    changed.write_text("input-record-path=/home/user/Desktop\nqt-bgcone=0\nglobal-key-play-pause=Ctrl+p\n")
    folder = {"recording_file_path": "/home/user/Desktop"}
    assert vlc.is_vlc_recordings_folder(str(changed), folder) == 1.0
    assert vlc.is_vlc_recordings_folder(str(default), folder) == 0.0
    assert vlc.check_qt_bgcone(str(changed), {"expected_qt_bgcone": 0}) == 1.0
    assert vlc.check_qt_bgcone(str(default), {"expected_qt_bgcone": 0}) == 0.0
    assert vlc.check_global_key_play_pause(str(changed), {"expected_global_key_play_pause": 1}) == 1.0
    assert vlc.check_global_key_play_pause(str(default), {"expected_global_key_play_pause": 1}) == 0.0
    assert vlc.check_qt_bgcone(None, {"expected_qt_bgcone": 1}) == 0.0


def test_more_vlcrc_settings(tmp_path: Path) -> None:
    default = tmp_path / "default"
    default.write_text("#qt-max-volume=125\n#qt-minimal-view=0\n#one-instance-when-started-from-file=1\n")
    changed = tmp_path / "changed"
    changed.write_text(
        "qt-max-volume=200\nqt-minimal-view=1\none-instance-when-started-from-file=0\n"
        "qt-slider-colours=10;20;30;0;0;0;99;99;99;5;5;5\n"
    )
    assert vlc.check_qt_max_volume(str(changed), {"expected_qt_max_volume": 200}) == 1.0
    assert vlc.check_qt_max_volume(str(default), {"expected_qt_max_volume": 200}) == 0.0
    assert vlc.check_qt_minimal_view(str(changed), {"expected_qt_minimal_view": 1}) == 1.0
    assert vlc.check_qt_minimal_view(str(default), {"expected_qt_minimal_view": 1}) == 0.0
    one = {"expected_one_instance_when_started_from_file": 0}
    assert vlc.check_one_instance_when_started_from_file(str(changed), one) == 1.0
    assert vlc.check_one_instance_when_started_from_file(str(default), one) == 0.0
    assert vlc.check_qt_slider_colours(str(changed), {"type": "blackish"}) == 1.0
    assert vlc.check_qt_slider_colours(str(default), {"type": "blackish"}) == 0.0  # VLC's green-to-red default
    same = {"type": "match", "expected_qt_slider_colours": "10;20;30;0;0;0;99;99;99;5;5;5"}
    assert vlc.check_qt_slider_colours(str(changed), same) == 1.0
    assert vlc.check_qt_slider_colours(str(default), same) == 0.0
    with pytest.raises(JudgingError):
        vlc.check_qt_slider_colours(str(changed), {"type": "pink"})


def test_check_moved_jpgs() -> None:
    rules = {"expected": ["a.jpg", "b.jpg"]}
    tree = {"name": "cpjpg", "type": "directory", "children": [{"name": "b.jpg"}, {"name": "a.jpg"}]}
    assert system.check_moved_jpgs(tree, rules) == 1.0
    assert system.check_moved_jpgs({**tree, "children": [{"name": "a.jpg"}]}, rules) == 0.0
    assert system.check_moved_jpgs(None, rules) == 0.0


def test_run_sqlite3(tmp_path: Path) -> None:
    database = tmp_path / "mail.sqlite"
    with sqlite3.connect(database) as connection:
        connection.execute("create table messages (folder text)")
        connection.executemany("insert into messages values (?)", [("Inbox",), ("Trash",)])
    rule = {"sql": "select count(*) from messages where folder = 'Trash'"}
    assert system.run_sqlite3(str(database), rule) == 1.0
    assert system.run_sqlite3(str(database), {"sql": "select count(*) from messages where folder = 'X'"}) == 0.0
    assert system.run_sqlite3(str(database), {"sql": "select nope from nothing"}) == 0.0
    assert system.run_sqlite3(str(tmp_path / "none.sqlite"), rule) == 0.0
    assert system.run_sqlite3(str(database), {"sql": "delete from messages"}) == 0.0  # read only
    with sqlite3.connect(database) as connection:
        assert connection.execute("select count(*) from messages").fetchone() == (2,)


def test_utc_file_contains_and_diff(tmp_path: Path) -> None:
    assert system.is_utc_0("a\nb\nc\n       Time zone: Etc/UTC (UTC, +0000)\nd") == 1.0
    assert system.is_utc_0("a\nb\nc\n       Time zone: Asia/Tokyo (JST, +0900)\nd") == 0.0
    notes = tmp_path / "notes.txt"
    notes.write_text("alpha\nbeta\ngamma\n")
    assert system.file_contains(str(notes), {"expected": ["alpha", "gamma"]}) == 1.0
    assert system.file_contains(str(notes), {"expected": ["delta"]}) == 0.0
    gold = tmp_path / "gold.txt"
    gold.write_text("alpha\nbeta\ngamma\ndelta\n")
    assert system.diff_text_file(str(gold), str(gold)) == 1.0
    assert system.diff_text_file(str(notes), str(gold)) == pytest.approx(6 / 7)
    assert system.diff_text_file(None, str(gold)) == 0.0


def test_gnome_favorite_apps_and_csv(tmp_path: Path) -> None:
    rules = {"expected": ["firefox.desktop", "vim.desktop"]}
    assert system.check_gnome_favorite_apps("['vim.desktop', 'firefox.desktop']\n", rules) == 1.0
    assert system.check_gnome_favorite_apps("['vim.desktop']", rules) == 0.0
    assert system.check_gnome_favorite_apps("__import__('os')", rules) == 0.0  # read as a literal, never run
    table = tmp_path / "people.csv"
    table.write_text("name,city\nAda,London\nAlan,Wilmslow\n")
    assert system.check_csv(str(table), {"expect": [{"name": "Ada"}, {"city": "Wilmslow"}]}) == 1.0
    assert system.check_csv(str(table), {"expect": [{"name": "Ada", "city": "Paris"}]}) == 0.0
    assert system.check_csv(str(table), {"expect": [{"name": "Ada"}], "unexpect": [{"name": "Alan"}]}) == 0.0
    assert system.check_csv(None, {"expect": [{"name": "Ada"}]}) == 0.0


def test_the_registry_judges_them_and_still_refuses_check_left_panel() -> None:
    image = {"type": "vm_file", "path": "/home/user/Desktop/edited.png"}
    assert refusal({"func": "check_brightness_decrease_and_structure_sim", "result": image, "expected": image}) is None
    assert refusal({"func": "is_vlc_playing", "result": {"type": "vlc_playing_info"}}) is not None  # no expected
    field, why = refusal({"func": "check_left_panel", "result": {"type": "accessibility_tree"}}) or ("", "")
    assert field == "evaluator.func" and "parentcoord" in why
