"""GIMP's checks of an edited image (`result`, the file the agent left) against the original (`expected`), as
OSWorld's gimp metrics define them: brightness, saturation and contrast changed with the structure kept, an image
exported, turned to a palette, mirrored, given a green background, resized, a triangle centred, a text box on the
left, an image resized with its structure kept, made sharper or kept under a file size; `increase_saturation` and
`decrease_brightness` compare two images' levels alone.

The structure is compared by the SSIM of media.py (`structure_same`, 0.9 unless said), except the brightness check,
which compares the two images brought to the same mean brightness by their mean squared error as OSWorld does.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
from PIL import Image, ImageOps
from scipy.ndimage import laplace

from lbi.judging.errors import JudgingError
from lbi.judging.media import open_image, structure_same

NORMAL_BRIGHTNESS = 128
BRIGHTNESS_MSE = 0.03  # the largest mean squared error (0..1 levels) of two images brought to one brightness
CONTRAST_STRUCTURE = 0.65
MIRROR_STRUCTURE = 0.99
CENTRE_TOLERANCE = 0.05  # of the image's height and width
LEFT_SIDE = 0.05  # of the image's width
DARK = 128


def _pair(result: str | None, expected: str | None) -> tuple[Image.Image, Image.Image] | None:
    one, two = open_image(result), open_image(expected)
    return None if one is None or two is None else (one, two)


def _brightness(image: Image.Image) -> float:
    return float(np.asarray(image.convert("L"), dtype=np.float64).mean())


def _saturation(image: Image.Image) -> float:
    return float(np.asarray(image.convert("RGB").convert("HSV"))[..., 1].astype(np.float64).mean())


def _at_brightness(image: Image.Image, target: float) -> np.ndarray:
    """The image's levels scaled so that its mean brightness is `target`, clipped to 0..255 and truncated."""
    factor = target / max(_brightness(image), 1e-9)
    return np.clip(np.asarray(image.convert("RGB"), dtype=np.float64) * factor, 0, 255).astype(np.int64)


def check_brightness_decrease_and_structure_sim(result: str | None, expected: str | None) -> float:
    """1.0 if the result is darker than the original and, both brought to one brightness, nearly the same."""
    pair = _pair(result, expected)
    if pair is None or pair[0].size != pair[1].size:
        return 0.0
    one, two = (_at_brightness(im, NORMAL_BRIGHTNESS) / 255.0 for im in pair)
    same = float(np.mean((one - two) ** 2)) < BRIGHTNESS_MSE
    return float(_brightness(pair[0]) < _brightness(pair[1]) and same)


def check_saturation_increase_and_structure_sim(result: str | None, expected: str | None) -> float:
    """1.0 if the result is more saturated than the original, with the same hue and value structure."""
    pair = _pair(result, expected)
    if pair is None:
        return 0.0
    one, two = (im.convert("RGB").convert("HSV").split() for im in pair)
    kept = structure_same(one[0], two[0]) and structure_same(one[2], two[2])
    return float(_saturation(pair[0]) > _saturation(pair[1]) and kept)


def check_contrast_increase_and_structure_sim(result: str | None, expected: str | None) -> float:
    """1.0 if the result's levels spread more (standard deviation) than the original's, the structure kept
    (SSIM 0.65)."""
    pair = _pair(result, expected)
    if pair is None:
        return 0.0
    spread = [float(np.asarray(im, dtype=np.float64).std()) for im in pair]
    return float(spread[0] > spread[1] and structure_same(pair[0], pair[1], CONTRAST_STRUCTURE))


def check_file_exists_and_structure_sim(result: str | None, expected: str | None) -> float:
    """1.0 if the result exists and has the original's structure."""
    pair = _pair(result, expected)
    return float(pair is not None and structure_same(*pair))


def check_palette_and_structure_sim(result: str | None, expected: str | None) -> float:
    """1.0 if the result is a palette (indexed) image with the original's structure."""
    pair = _pair(result, expected)
    return float(pair is not None and pair[0].mode == "P" and structure_same(pair[0].convert("RGB"), pair[1]))


def check_image_mirror(result: str | None, expected: str | None) -> float:
    """1.0 if the result is the original flipped left to right (SSIM 0.99)."""
    pair = _pair(result, expected)
    return float(pair is not None and structure_same(ImageOps.mirror(pair[0]), pair[1], MIRROR_STRUCTURE))


def check_green_background(result: str | None, expected: str | None) -> float:
    """1.0 if every pixel that is not black in the original (its background) is green in the result: more green
    than red and than blue."""
    pair = _pair(result, expected)
    if pair is None or pair[0].size != pair[1].size:
        return 0.0
    mine = np.asarray(pair[0].convert("RGB"), dtype=np.int64)
    background = np.asarray(pair[1].convert("RGB")).any(axis=2)
    red, green, blue = mine[..., 0], mine[..., 1], mine[..., 2]
    return float(bool(np.all(((green > red) & (green > blue))[background])))


def check_triangle_position(result: str | None) -> float:
    """1.0 if the shape in the image's second most common colour (the background being the most common) has its
    centroid within 5% of the image's centre."""
    image = open_image(result)
    if image is None:
        return 0.0
    pixels = np.asarray(image.convert("RGB"))
    colours, counts = np.unique(pixels.reshape(-1, 3), axis=0, return_counts=True)
    if len(colours) < 2:
        return 0.0
    shape = np.argwhere(np.all(pixels == colours[np.argsort(counts)[-2]], axis=2))
    size = np.array(pixels.shape[:2], dtype=np.float64)
    return float(bool(np.all(np.abs(shape.mean(axis=0) - size / 2) < CENTRE_TOLERANCE * size)))


def check_image_size(result: str | None, rule: Mapping[str, Any]) -> float:
    """1.0 if the image has the rule's `width` and `height` (each when given)."""
    if not isinstance(rule, Mapping):
        raise JudgingError("expected: the rule {width, height} of check_image_size")
    image = open_image(result)
    if image is None:
        return 0.0
    width, height = rule.get("width"), rule.get("height")
    return float((width is None or image.width == width) and (height is None or image.height == height))


def check_textbox_on_leftside(result: str | None) -> float:
    """1.0 if the leftmost dark pixel (grey below 128: the text) lies within the left 5% of the image."""
    image = open_image(result)
    if image is None:
        return 0.0
    columns = np.flatnonzero((np.asarray(image.convert("L")) < DARK).any(axis=0))
    leftmost = int(columns[0]) if columns.size else image.width
    return float(leftmost < image.width * LEFT_SIDE)


def increase_saturation(first: str | None, second: str | None) -> float:
    """1.0 if the second image is more saturated (mean HSV saturation) than the first."""
    pair = _pair(first, second)
    return float(pair is not None and _saturation(pair[0]) < _saturation(pair[1]))


def decrease_brightness(first: str | None, second: str | None) -> float:
    """1.0 if the second image is darker (mean grey level) than the first."""
    pair = _pair(first, second)
    return float(pair is not None and _brightness(pair[0]) > _brightness(pair[1]))


def check_structure_sim_resized(result: str | None, expected: str | None) -> float:
    """1.0 if the result, resized to the original's size, has the original's structure."""
    pair = _pair(result, expected)
    return float(pair is not None and structure_same(pair[0].resize(pair[1].size), pair[1]))


def _sharpness(image: Image.Image) -> float:
    """The variance of the grey image's Laplacian (3x3, borders mirrored as OpenCV's default)."""
    return float(np.var(laplace(np.asarray(image.convert("L"), dtype=np.float64), mode="mirror")))


def check_sharper(result: str | None, expected: str | None) -> float:
    """1.0 if the result is sharper (its Laplacian varies more) than the original."""
    pair = _pair(result, expected)
    return float(pair is not None and _sharpness(pair[0]) > _sharpness(pair[1]))


def check_image_file_size(result: str | None, rule: Mapping[str, Any]) -> float:
    """1.0 if the file is smaller than `rule["max_size"]` bytes."""
    limit = rule.get("max_size") if isinstance(rule, Mapping) else None
    if not isinstance(limit, int | float):
        raise JudgingError("expected.rules.max_size: a number of bytes")
    return float(bool(result) and os.path.isfile(str(result)) and os.path.getsize(str(result)) < limit)
