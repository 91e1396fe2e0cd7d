"""Image, browser, accessibility-tree and archive checks, on files and values the tests make."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from lbi.judging import browser
from lbi.judging.accessibility import check_accessibility_tree
from lbi.judging.archives import compare_archive
from lbi.judging.errors import JudgingError
from lbi.judging.media import check_structure_sim, compare_images, ssim


def picture(
    path: Path, box: tuple[int, int, int, int] = (10, 10, 40, 40), size: tuple[int, int] = (64, 48), noise: int = 0
) -> str:
    image = Image.new("RGB", size, "white")
    ImageDraw.Draw(image).rectangle(box, fill=(200, 30, 30))
    if noise:
        pixels = np.asarray(image).astype(int) + np.random.default_rng(1).integers(-noise, noise, (*size[::-1], 3))
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    image.save(path)
    return str(path)


def test_ssim_is_one_for_equal_images_and_lower_for_different_ones() -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(0, 255, (32, 32), dtype=np.uint8)
    assert ssim(a, a) == pytest.approx(1.0)
    assert ssim(a, 255 - a) < 0
    with pytest.raises(ValueError):
        ssim(a[:5, :5], a[:5, :5])


def test_ssim_agrees_with_scikit_image() -> None:
    """Values scikit-image 0.26's structural_similarity gives for these arrays (default settings)."""
    y, x = np.mgrid[0:20, 0:24]
    a = ((x * 7 + y * 13) % 256).astype(np.uint8)
    b = ((x * 7 + y * 11 + (x * y) % 9) % 256).astype(np.uint8)
    assert ssim(a, b) == pytest.approx(0.5726566680756937, abs=1e-12)
    rgb, other = np.stack([a, b, 255 - a], -1), np.stack([b, a, 255 - b], -1)
    assert ssim(rgb, other) == pytest.approx(0.5719612168146948, abs=1e-12)


def test_compare_images(tmp_path: Path) -> None:
    gold = picture(tmp_path / "gold.png")
    assert compare_images(picture(tmp_path / "same.png"), gold) == pytest.approx(1.0)
    moved = compare_images(picture(tmp_path / "moved.png", box=(30, 5, 60, 40)), gold)
    assert moved < 0.9
    assert compare_images(picture(tmp_path / "big.png", size=(128, 96), box=(20, 20, 80, 80)), gold) > 0
    assert compare_images(str(tmp_path / "missing.png"), gold) == 0.0
    (tmp_path / "empty.png").write_bytes(b"")
    assert compare_images(str(tmp_path / "empty.png"), gold) == 0.0


def test_compare_images_against_a_base_score(tmp_path: Path) -> None:
    gold = picture(tmp_path / "gold.png")
    assert compare_images(picture(tmp_path / "same.png"), gold, reference_base_result=0.5) == pytest.approx(1.0)
    moved = picture(tmp_path / "moved.png", box=(30, 5, 60, 40))
    assert compare_images(moved, gold, reference_base_result=0.99) == 0.0


def test_check_structure_sim(tmp_path: Path) -> None:
    gold = picture(tmp_path / "gold.png")
    assert check_structure_sim(picture(tmp_path / "noisy.png", noise=3), gold) == 1.0
    assert check_structure_sim(picture(tmp_path / "moved.png", box=(30, 5, 60, 40)), gold) == 0.0
    assert check_structure_sim(picture(tmp_path / "big.png", size=(128, 96)), gold) == 0.0


def test_urls_compare_by_site_and_path() -> None:
    assert browser.same_url("https://www.airbnb.com/", "https://airbnb.com.sg")
    assert browser.same_url("www.tripadvisor.com", "http://tripadvisor.com")
    assert not browser.same_url("https://www.airbnb.com/rooms", "https://www.airbnb.com")
    assert not browser.same_url("https://maps.google.com", "https://google.com")


def test_url_pattern_and_tabs() -> None:
    tab = {"url": "https://www.example.com/search?q=lbi&lang=en", "title": "x"}
    assert browser.is_expected_url_pattern_match(tab, {"expected": [r"q=lbi", r"lang=en"]}) == 1.0
    assert browser.is_expected_url_pattern_match(tab, {"expected": [r"q=other"]}) == 0.0
    assert browser.is_expected_url_pattern_match(None, {"expected": ["x"]}) == 0.0
    tabs = [{"url": "https://www.lonelyplanet.com/"}, {"url": "https://airbnb.com"}]
    rules = {"type": "url", "urls": ["https://www.airbnb.com", "https://www.lonelyplanet.com"]}
    assert browser.is_expected_tabs(tabs, rules) == 1.0
    assert browser.is_expected_tabs(tabs[:1], rules) == 0.0
    assert browser.is_expected_active_tab(tabs[1], {"type": "url", "url": "https://www.airbnb.com"}) == 1.0
    assert browser.is_expected_active_tab(tabs[0], {"type": "url", "url": "https://www.airbnb.com"}) == 0.0
    with pytest.raises(JudgingError, match="type"):
        browser.is_expected_tabs(tabs, {"type": "title", "urls": []})


def test_bookmarks() -> None:
    roots = {
        "bookmark_bar": {
            "children": [
                {
                    "type": "folder",
                    "name": "Liked Authors",
                    "children": [
                        {"type": "url", "url": "https://a.example/1"},
                        {"type": "url", "url": "https://b.example/2"},
                    ],
                },
                {"type": "url", "name": "Docs", "url": "https://docs.example/"},
            ]
        }
    }
    assert (
        browser.is_expected_bookmarks(roots, {"type": "bookmark_bar_folders_names", "names": ["Liked Authors"]}) == 1.0
    )
    assert browser.is_expected_bookmarks(roots, {"type": "bookmark_bar_websites_urls", "urls": ["https://x/"]}) == 0.0
    liked = {
        "type": "liked_authors_websites_urls",
        "urls": [["https://a.example/0", "https://a.example/1"], "https://b.example/2"],
    }
    assert browser.is_expected_bookmarks(roots, liked) == 1.0
    assert browser.is_expected_bookmarks(roots, {**liked, "urls": ["https://a.example/1"]}) == 0.0
    assert browser.is_expected_bookmarks(None, liked) == 0.0


TREE = """<desktop-frame xmlns:st="https://accessibility.ubuntu.example.org/ns/state"
  xmlns:attr="https://accessibility.ubuntu.example.org/ns/attributes">
  <application name="Calc"><push-button name="Bold" st:checked="true">Bold</push-button>
  <label name="status">Sheet 1 of 2</label></application></desktop-frame>"""


def test_accessibility_tree_by_selector_and_xpath() -> None:
    pressed = [{"selectors": ['push-button[name="Bold"][st|checked="true"]']}]
    assert check_accessibility_tree(TREE, pressed) == 1.0
    assert check_accessibility_tree(TREE, [{"selectors": ['push-button[name="Italic"]']}]) == 0.0
    exact = [{"xpath": "//label[@name='status']", "text": "Sheet 1 of 2", "exact": True}]
    assert check_accessibility_tree(TREE, exact) == 1.0
    fuzzy = [{"xpath": "//label[@name='status']", "text": "Sheet 1 of 3", "exact": False}]
    assert 0.8 < check_accessibility_tree(TREE, fuzzy) < 1.0
    assert check_accessibility_tree("<broken", exact) == 0.0
    with pytest.raises(JudgingError, match="selector"):
        check_accessibility_tree(TREE, [{"xpath": "//*[", "text": "x"}])
    with pytest.raises(JudgingError, match="xpath"):
        check_accessibility_tree(TREE, [{"text": "x"}])


def archive(tmp_path: Path, name: str, texts: dict[str, str], kind: str = "zip") -> str:
    folder = tmp_path / f"{name}-src"
    folder.mkdir()
    for file, text in texts.items():
        (folder / file).write_text(text)
    return shutil.make_archive(str(tmp_path / name), kind, folder)


def test_compare_archive_of_text_files(tmp_path: Path) -> None:
    gold = archive(tmp_path, "gold", {"a.txt": "one", "b.txt": "two"})
    assert compare_archive(archive(tmp_path, "same", {"a.txt": "one", "b.txt": "two"}, "gztar"), gold) == 1.0
    assert compare_archive(archive(tmp_path, "half", {"a.txt": "one", "b.txt": "TWO"}), gold) == 0.5
    assert compare_archive(archive(tmp_path, "case", {"a.txt": "one", "b.txt": "TWO"}), gold, ignore_case=True) == 1.0
    assert compare_archive(archive(tmp_path, "fewer", {"a.txt": "one"}), gold) == 0.0
    (tmp_path / "broken.zip").write_text("nope")
    assert compare_archive(str(tmp_path / "broken.zip"), gold) == 0.0
    with pytest.raises(JudgingError, match="file_type"):
        compare_archive(gold, gold, file_type="movie")


def test_an_archive_escaping_its_folder_scores_zero(tmp_path: Path) -> None:
    gold = archive(tmp_path, "gold", {"a.txt": "one"})
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("../../a.txt", "one")
    assert compare_archive(str(evil), gold) == 0.0
