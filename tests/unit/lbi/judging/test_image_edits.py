"""GIMP's image checks on pictures the tests draw: each passes on the edit it asks for and fails on another."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps

from lbi.judging import image_edits
from lbi.judging.errors import JudgingError


def scene(size: tuple[int, int] = (96, 64)) -> Image.Image:
    """A picture with structure: a gradient sky, a red house and a green lawn."""
    width, height = size
    ramp = np.linspace(60, 200, width, dtype=np.uint8)
    pixels = np.stack(
        [np.tile(ramp, (height, 1)), np.full((height, width), 120, np.uint8), np.full((height, width), 180, np.uint8)],
        axis=2,
    )
    image = Image.fromarray(pixels, "RGB")
    draw = ImageDraw.Draw(image)
    draw.rectangle((10, 20, 40, 50), fill=(200, 40, 30))
    draw.rectangle((0, 52, width, height), fill=(40, 150, 50))
    return image


def save(image: Image.Image, path: Path) -> str:
    image.save(path)
    return str(path)


@pytest.fixture()
def original(tmp_path: Path) -> str:
    return save(scene(), tmp_path / "original.png")


def test_brightness_decrease_keeps_the_structure(tmp_path: Path, original: str) -> None:
    check = image_edits.check_brightness_decrease_and_structure_sim
    darker = save(ImageEnhance.Brightness(scene()).enhance(0.7), tmp_path / "darker.png")
    brighter = save(ImageEnhance.Brightness(scene()).enhance(1.2), tmp_path / "brighter.png")
    other = save(ImageEnhance.Brightness(ImageOps.flip(scene())).enhance(0.7), tmp_path / "other.png")
    assert check(darker, original) == 1.0
    assert check(brighter, original) == 0.0
    assert check(other, original) == 0.0
    assert check(None, original) == 0.0


def test_saturation_increase_keeps_hue_and_value(tmp_path: Path, original: str) -> None:
    check = image_edits.check_saturation_increase_and_structure_sim
    vivid = save(ImageEnhance.Color(scene()).enhance(1.4), tmp_path / "vivid.png")
    dull = save(ImageEnhance.Color(scene()).enhance(0.6), tmp_path / "dull.png")
    moved = save(ImageEnhance.Color(ImageOps.mirror(scene())).enhance(1.4), tmp_path / "moved.png")
    assert check(vivid, original) == 1.0
    assert check(dull, original) == 0.0
    assert check(moved, original) == 0.0
    assert image_edits.increase_saturation(original, vivid) == 1.0
    assert image_edits.increase_saturation(vivid, original) == 0.0


def test_contrast_increase(tmp_path: Path, original: str) -> None:
    check = image_edits.check_contrast_increase_and_structure_sim
    assert check(save(ImageEnhance.Contrast(scene()).enhance(1.3), tmp_path / "more.png"), original) == 1.0
    assert check(save(ImageEnhance.Contrast(scene()).enhance(0.7), tmp_path / "less.png"), original) == 0.0


def test_decrease_brightness_compares_levels_alone(tmp_path: Path, original: str) -> None:
    darker = save(ImageEnhance.Brightness(scene()).enhance(0.5), tmp_path / "darker.png")
    assert image_edits.decrease_brightness(original, darker) == 1.0
    assert image_edits.decrease_brightness(darker, original) == 0.0


def test_export_palette_and_mirror(tmp_path: Path, original: str) -> None:
    assert image_edits.check_file_exists_and_structure_sim(save(scene(), tmp_path / "export.png"), original) == 1.0
    assert image_edits.check_file_exists_and_structure_sim(str(tmp_path / "missing.png"), original) == 0.0
    indexed = save(scene().convert("P", palette=Image.Palette.ADAPTIVE, colors=256), tmp_path / "indexed.png")
    assert image_edits.check_palette_and_structure_sim(indexed, original) == 1.0
    assert image_edits.check_palette_and_structure_sim(original, original) == 0.0  # RGB, not a palette
    mirrored = save(ImageOps.mirror(scene()), tmp_path / "mirrored.png")
    assert image_edits.check_image_mirror(mirrored, original) == 1.0
    assert image_edits.check_image_mirror(original, original) == 0.0


def test_green_background(tmp_path: Path) -> None:
    mask = Image.new("RGB", (40, 30), (255, 255, 255))
    ImageDraw.Draw(mask).ellipse((10, 5, 30, 25), fill=(0, 0, 0))  # the subject is black, the background is not
    expected = save(mask, tmp_path / "mask.png")
    green = Image.new("RGB", (40, 30), (30, 200, 40))
    ImageDraw.Draw(green).ellipse((10, 5, 30, 25), fill=(250, 10, 10))
    assert image_edits.check_green_background(save(green, tmp_path / "green.png"), expected) == 1.0
    blue = Image.new("RGB", (40, 30), (30, 60, 200))
    assert image_edits.check_green_background(save(blue, tmp_path / "blue.png"), expected) == 0.0


def test_triangle_position(tmp_path: Path) -> None:
    def triangle(top_left: tuple[int, int]) -> str:
        image = Image.new("RGB", (100, 80), "white")
        x, y = top_left
        ImageDraw.Draw(image).polygon([(x, y + 20), (x + 20, y + 20), (x + 10, y)], fill=(250, 220, 0))
        return save(image, tmp_path / f"triangle-{x}-{y}.png")

    assert image_edits.check_triangle_position(triangle((40, 27))) == 1.0
    assert image_edits.check_triangle_position(triangle((5, 5))) == 0.0
    assert image_edits.check_triangle_position(save(Image.new("RGB", (10, 10)), tmp_path / "plain.png")) == 0.0


def test_image_size(tmp_path: Path, original: str) -> None:
    assert image_edits.check_image_size(original, {"width": 96, "height": 64}) == 1.0
    assert image_edits.check_image_size(original, {"height": 64}) == 1.0
    assert image_edits.check_image_size(original, {"width": 100}) == 0.0
    assert image_edits.check_image_size(None, {"width": 96}) == 0.0
    with pytest.raises(JudgingError):
        image_edits.check_image_size(original, "96x64")  # type: ignore[arg-type]


def test_textbox_on_leftside(tmp_path: Path) -> None:
    def text_at(x: int) -> str:
        image = Image.new("RGB", (200, 60), "white")
        ImageDraw.Draw(image).rectangle((x, 20, x + 60, 30), fill="black")
        return save(image, tmp_path / f"text-{x}.png")

    assert image_edits.check_textbox_on_leftside(text_at(3)) == 1.0
    assert image_edits.check_textbox_on_leftside(text_at(80)) == 0.0


def test_resized_sharper_and_file_size(tmp_path: Path, original: str) -> None:
    bigger = save(scene().resize((192, 128)), tmp_path / "bigger.png")
    assert image_edits.check_structure_sim_resized(bigger, original) == 1.0
    assert image_edits.check_structure_sim_resized(save(ImageOps.flip(scene()), tmp_path / "f.png"), original) == 0.0
    sharp = save(scene().filter(ImageFilter.SHARPEN), tmp_path / "sharp.png")
    blurred = save(scene().filter(ImageFilter.GaussianBlur(2)), tmp_path / "blurred.png")
    assert image_edits.check_sharper(sharp, original) == 1.0
    assert image_edits.check_sharper(blurred, original) == 0.0
    size = Path(original).stat().st_size
    assert image_edits.check_image_file_size(original, {"max_size": size + 1}) == 1.0
    assert image_edits.check_image_file_size(original, {"max_size": size}) == 0.0
    assert image_edits.check_image_file_size(None, {"max_size": size}) == 0.0
    with pytest.raises(JudgingError):
        image_edits.check_image_file_size(original, {"max_size": "500KB"})
