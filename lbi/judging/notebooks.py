"""JupyterLab checks of Spider2-V: notebooks (read with nbformat, as version 4) against a gold notebook or a list of
cell indices, and an image a notebook saved against a gold one.

- `compare_notebook_cells`: the same cells in order, each of the same type and source;
- `compare_notebook_outputs`: the same cells in order, each of the same type, and each code cell with the same
  outputs (every field of every output, execution counts included);
- `compare_ipynb_files`: the two files' JSON equal except their top-level `metadata`;
- `is_jupyter_cell_executed`: the indices of the cells of `cell_type` never run (no execution count) are
  `rules["expected"]`;
- `are_jupyter_outputs_cleared`: the indices of the cells of `cell_type` that still carry an execution count are
  `rules["expected"]` (Spider2-V judges "cleared" by the count, not by the outputs);
- `compare_jupyterlab_images`: the two images' green-channel histograms (the wider image first scaled to the
  narrower one's width) correlate above 0.99999.

A missing or unreadable result scores 0; an unreadable gold file raises JudgingError.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import nbformat
import numpy as np
from PIL import Image

from lbi.judging.errors import JudgingError

HISTOGRAM_CORRELATION = 0.99999
NOTEBOOK_VERSION = 4


def _notebook(path: str | None, version: int = NOTEBOOK_VERSION) -> Any:
    if not path:
        raise OSError("no notebook")
    with open(path, encoding="utf-8") as f:
        return nbformat.read(f, as_version=version)


def _gold_notebook(path: str) -> Any:
    try:
        return _notebook(path)
    except (OSError, ValueError) as e:
        raise JudgingError(f"expected: cannot read the notebook {path} ({e})") from None


def _cells(result: str | None, expected: str) -> tuple[list[Any], list[Any]] | None:
    """The two notebooks' cells when they have as many, of the same types in order; else None."""
    gold = _gold_notebook(expected).cells
    try:
        mine = _notebook(result).cells
    except (OSError, ValueError):
        return None
    if len(mine) != len(gold) or any(a.cell_type != b.cell_type for a, b in zip(mine, gold, strict=True)):
        return None
    return mine, gold


def compare_notebook_cells(result: str | None, expected: str) -> float:
    """1.0 if the notebooks have the same cells in order: each of the same type and source."""
    pairs = _cells(result, expected)
    return float(pairs is not None and all(a.source == b.source for a, b in zip(*pairs, strict=True)))


def compare_notebook_outputs(result: str | None, expected: str) -> float:
    """1.0 if the notebooks have cells of the same types in order, and each code cell has the same outputs."""
    pairs = _cells(result, expected)
    if pairs is None:
        return 0.0
    code = [(a, b) for a, b in zip(*pairs, strict=True) if a.cell_type == "code"]
    return float(all(a.get("outputs", []) == b.get("outputs", []) for a, b in code))


def compare_ipynb_files(result: str | None, expected: str) -> float:
    """1.0 if the two notebook files' JSON objects are equal but for their top-level `metadata`."""
    try:
        with open(expected, encoding="utf-8") as f:
            gold = json.load(f)
    except (OSError, ValueError) as e:
        raise JudgingError(f"expected: cannot read the notebook {expected} ({e})") from None
    if not result:
        return 0.0
    try:
        with open(result, encoding="utf-8") as f:
            mine = json.load(f)
    except (OSError, ValueError):
        return 0.0
    if not isinstance(mine, dict) or not isinstance(gold, dict):
        return 0.0
    return float(
        {k: v for k, v in mine.items() if k != "metadata"} == {k: v for k, v in gold.items() if k != "metadata"}
    )


def _indices(rules: Mapping[str, Any]) -> list[int]:
    expected = rules.get("expected") if isinstance(rules, Mapping) else None
    if not isinstance(expected, list) or not all(isinstance(i, int) for i in expected):
        raise JudgingError("expected.rules.expected: a list of cell indices")
    return expected


def _counted(result: str | None, cell_type: str, version: int, executed: bool) -> list[int] | None:
    """The indices of the cells of `cell_type` with (`executed`) or without an execution count; None when the
    notebook cannot be read."""
    try:
        cells = _notebook(result, version).cells
    except (OSError, ValueError):
        return None
    return [i for i, c in enumerate(cells) if c.cell_type == cell_type and bool(c.get("execution_count")) == executed]


def is_jupyter_cell_executed(
    result: str | None, rules: Mapping[str, Any], *, cell_type: str = "code", version: int = NOTEBOOK_VERSION
) -> float:
    """1.0 if the cells of `cell_type` never run (no execution count) are exactly those at `rules["expected"]`."""
    expected = _indices(rules)
    return float(_counted(result, cell_type, version, executed=False) == expected)


def are_jupyter_outputs_cleared(
    result: str | None, rules: Mapping[str, Any], *, cell_type: str = "code", version: int = NOTEBOOK_VERSION
) -> float:
    """1.0 if the cells of `cell_type` still carrying an execution count are exactly those at `rules["expected"]`."""
    expected = _indices(rules)
    return float(_counted(result, cell_type, version, executed=True) == expected)


def _green_histogram(image: Image.Image) -> np.ndarray:
    green = np.asarray(image.convert("RGB"))[:, :, 1]
    return np.bincount(green.ravel(), minlength=256).astype(float)


def _scaled(image: Image.Image, width: int) -> Image.Image:
    """The image scaled to `width`, keeping its proportions, each pixel interpolated between its two nearest
    sources on each axis (OpenCV's linear resize, which Spider2-V uses: no smoothing over wider spans)."""
    height = max(1, image.height * width // image.width)
    x_scale, y_scale = image.width / width, image.height / height
    matrix = (x_scale, 0.0, 0.0, 0.0, y_scale, 0.0)
    return image.convert("RGB").transform((width, height), Image.Transform.AFFINE, matrix, Image.Resampling.BILINEAR)


def compare_jupyterlab_images(result: str | None, expected: str | None) -> float:
    """1.0 if the images' green-channel histograms correlate above 0.99999, the wider image first scaled (keeping
    its proportions) to the narrower one's width."""
    if not result or not expected:
        return 0.0
    try:
        gold: Image.Image = Image.open(expected)
        gold.load()
    except OSError as e:
        raise JudgingError(f"expected: cannot read the image {expected} ({e})") from None
    try:
        mine: Image.Image = Image.open(result)
        mine.load()
    except OSError:
        return 0.0
    if mine.size > gold.size:
        mine = _scaled(mine, gold.width)
    else:
        gold = _scaled(gold, mine.width)
    one, two = _green_histogram(mine), _green_histogram(gold)
    return float(np.corrcoef(one, two)[0, 1] > HISTOGRAM_CORRELATION)
