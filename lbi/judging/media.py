"""Image checks: `compare_images` (the structural similarity of two images in grey) and `check_structure_sim`
(whether two images of the same size have the same structure, SSIM >= 0.9 over their RGB channels).

SSIM is computed as scikit-image's `structural_similarity` computes it by default (7x7 uniform window, K1 0.01,
K2 0.03, sample covariance, data range 255, the mean over the window-complete interior), on numpy and scipy;
`structure_same` and `open_image` serve GIMP's checks too (image_edits.py).
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image
from scipy.ndimage import uniform_filter

WINDOW = 7
STRUCTURE_THRESHOLD = 0.9


def ssim(one: np.ndarray, two: np.ndarray) -> float:
    """Mean structural similarity of two equal-shape 8-bit images (2-D, or 3-D with channels last: the mean over
    channels). Images smaller than the window have none: ValueError."""
    if one.shape != two.shape or min(one.shape[:2]) < WINDOW:
        raise ValueError(f"SSIM needs two images of the same shape, at least {WINDOW}x{WINDOW}")
    if one.ndim == 3:
        return float(np.mean([ssim(one[..., c], two[..., c]) for c in range(one.shape[2])]))
    x, y = one.astype(np.float64), two.astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    norm = WINDOW**2 / (WINDOW**2 - 1)
    ux, uy = uniform_filter(x, WINDOW), uniform_filter(y, WINDOW)
    vx = norm * (uniform_filter(x * x, WINDOW) - ux * ux)
    vy = norm * (uniform_filter(y * y, WINDOW) - uy * uy)
    vxy = norm * (uniform_filter(x * y, WINDOW) - ux * uy)
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux**2 + uy**2 + c1) * (vx + vy + c2))
    pad = (WINDOW - 1) // 2
    return float(s[pad:-pad, pad:-pad].mean())


def structure_same(one: Image.Image, two: Image.Image, threshold: float = STRUCTURE_THRESHOLD) -> bool:
    """Whether two images of the same size and bands have an SSIM of at least `threshold` (over their channels)."""
    a, b = np.asarray(one), np.asarray(two)
    if a.shape != b.shape:
        return False
    try:
        return ssim(a, b) >= threshold
    except ValueError:
        return False


def open_image(path: str | None) -> Image.Image | None:
    """The image at `path`, loaded, or None when there is none or it is not an image."""
    if not path or not os.path.exists(path) or os.path.getsize(path) == 0:
        return None
    try:
        image = Image.open(path)
        image.load()
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    return image


def compare_images(result: str | None, expected: str | None, *, reference_base_result: float | None = None) -> float:
    """The SSIM (0..1) of two images in grey, both resized to the smaller size first; with `reference_base_result`
    (the score of the unchanged image): 0 unless the score beats it by 0.01, then the gain scaled to 0..1."""
    one, two = open_image(result), open_image(expected)
    if one is None or two is None:
        return 0.0
    size = min(one.size, two.size)
    grey = [np.asarray(im.convert("L").resize(size, Image.Resampling.LANCZOS)) for im in (one, two)]
    try:
        score = ssim(grey[0], grey[1])
    except ValueError:
        return 0.0
    if reference_base_result is None:
        return max(score, 0.0)
    if score >= reference_base_result + 0.01:
        return (score - reference_base_result) / (1 - reference_base_result)
    return 0.0


def check_structure_sim(result: str | None, expected: str | None) -> float:
    """1.0 if the two images have the same size and an SSIM of at least 0.9 over their RGB channels."""
    one, two = open_image(result), open_image(expected)
    if one is None or two is None:
        return 0.0
    return float(structure_same(one.convert("RGB"), two.convert("RGB")))
