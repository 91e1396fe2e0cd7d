"""Spider2-V's JupyterLab checks, on notebooks (nbformat) and images (Pillow) the tests write."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from PIL import Image

from lbi.judging.errors import JudgingError
from lbi.judging.notebooks import (
    are_jupyter_outputs_cleared,
    compare_ipynb_files,
    compare_jupyterlab_images,
    compare_notebook_cells,
    compare_notebook_outputs,
    is_jupyter_cell_executed,
)


def notebook(path: Path, cells: list[Any], **metadata: Any) -> str:
    nb = new_notebook(cells=cells, metadata=metadata)
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i}"  # the same ids on both sides, as a saved copy of one notebook keeps them
    nbformat.write(nb, str(path))
    return str(path)


def ran(source: str, count: int | None, text: str = "") -> Any:
    outputs = [new_output("stream", name="stdout", text=text)] if text else []
    return new_code_cell(source, execution_count=count, outputs=outputs)


CELLS = [new_markdown_cell("# Sales"), ran("x = 1", 1), ran("print(x)", 2, "1\n")]


def test_cells_pass_on_the_same_sources_and_fail_on_a_changed_one(tmp_path: Path) -> None:
    gold = notebook(tmp_path / "gold.ipynb", CELLS)
    assert compare_notebook_cells(notebook(tmp_path / "same.ipynb", [CELLS[0], ran("x = 1", None), CELLS[2]]), gold)
    changed = notebook(tmp_path / "changed.ipynb", [CELLS[0], ran("x = 2", 1), CELLS[2]])
    assert compare_notebook_cells(changed, gold) == 0.0
    assert compare_notebook_cells(notebook(tmp_path / "short.ipynb", CELLS[:2]), gold) == 0.0
    retyped = notebook(
        tmp_path / "retyped.ipynb", [new_markdown_cell("x = 1") if i == 1 else c for i, c in enumerate(CELLS)]
    )
    assert compare_notebook_cells(retyped, gold) == 0.0


def test_outputs_pass_on_the_same_outputs_and_fail_on_another_or_none(tmp_path: Path) -> None:
    gold = notebook(tmp_path / "gold.ipynb", CELLS)
    other_source = notebook(tmp_path / "same.ipynb", [new_markdown_cell("# Other"), ran("y = 1", 1), CELLS[2]])
    assert compare_notebook_outputs(other_source, gold) == 1.0
    printed_two = notebook(tmp_path / "two.ipynb", [*CELLS[:2], ran("print(x)", 2, "2\n")])
    assert compare_notebook_outputs(printed_two, gold) == 0.0
    not_run = notebook(tmp_path / "not_run.ipynb", [*CELLS[:2], ran("print(x)", None)])
    assert compare_notebook_outputs(not_run, gold) == 0.0


def test_a_missing_or_broken_result_scores_0_and_a_broken_gold_raises(tmp_path: Path) -> None:
    gold = notebook(tmp_path / "gold.ipynb", CELLS)
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    for check in (compare_notebook_cells, compare_notebook_outputs, compare_ipynb_files):
        assert check(str(tmp_path / "missing.ipynb"), gold) == 0.0
        assert check(str(broken), gold) == 0.0
        assert check(None, gold) == 0.0
        with pytest.raises(JudgingError, match="expected: cannot read"):
            check(gold, str(broken))


def test_ipynb_files_ignore_the_notebook_metadata_only(tmp_path: Path) -> None:
    gold = notebook(tmp_path / "gold.ipynb", CELLS, kernelspec={"name": "python3", "display_name": "Python 3"})
    assert (
        compare_ipynb_files(
            notebook(tmp_path / "same.ipynb", CELLS, kernelspec={"name": "other", "display_name": "Other"}), gold
        )
        == 1.0
    )
    recounted = notebook(tmp_path / "recounted.ipynb", [*CELLS[:2], ran("print(x)", 3, "1\n")])
    assert compare_ipynb_files(recounted, gold) == 0.0
    data = json.loads(Path(gold).read_text())
    data["nbformat_minor"] = 1
    (tmp_path / "minor.ipynb").write_text(json.dumps(data))
    assert compare_ipynb_files(str(tmp_path / "minor.ipynb"), gold) == 0.0


MIXED = [new_markdown_cell("# Steps"), ran("a = 1", 1), ran("b = 2", None), ran("c = 3", 4)]


def test_executed_cells_are_judged_by_the_indices_never_run(tmp_path: Path) -> None:
    path = notebook(tmp_path / "mixed.ipynb", MIXED)
    assert is_jupyter_cell_executed(path, {"expected": [2]}) == 1.0
    assert is_jupyter_cell_executed(path, {"expected": []}) == 0.0
    assert is_jupyter_cell_executed(path, {"expected": [0, 2]}, cell_type="markdown") == 0.0
    assert is_jupyter_cell_executed(path, {"expected": [0]}, cell_type="markdown") == 1.0
    assert is_jupyter_cell_executed(str(tmp_path / "missing.ipynb"), {"expected": []}) == 0.0


def test_cleared_outputs_are_judged_by_the_indices_still_counted(tmp_path: Path) -> None:
    path = notebook(tmp_path / "mixed.ipynb", MIXED)
    assert are_jupyter_outputs_cleared(path, {"expected": [1, 3]}) == 1.0
    assert are_jupyter_outputs_cleared(path, {"expected": []}) == 0.0
    cleared = notebook(tmp_path / "cleared.ipynb", [MIXED[0], ran("a = 1", None), ran("b = 2", None)])
    assert are_jupyter_outputs_cleared(cleared, {"expected": []}) == 1.0


def test_cell_indices_must_be_a_list(tmp_path: Path) -> None:
    path = notebook(tmp_path / "mixed.ipynb", MIXED)
    for rules in ({}, {"expected": "2"}, {"expected": [1.5]}):
        with pytest.raises(JudgingError, match=r"expected\.rules\.expected"):
            is_jupyter_cell_executed(path, rules)
        with pytest.raises(JudgingError, match=r"expected\.rules\.expected"):
            are_jupyter_outputs_cleared(path, rules)


def picture(path: Path, size: tuple[int, int], split: float = 0.5, color: tuple[int, int, int] = (0, 200, 0)) -> str:
    """White on the left, `color` on the right from `split` of the width."""
    image = Image.new("RGB", size, (255, 255, 255))
    image.paste(color, (int(size[0] * split), 0, size[0], size[1]))
    image.save(path)
    return str(path)


def test_images_pass_when_their_green_histograms_match_after_scaling(tmp_path: Path) -> None:
    gold = picture(tmp_path / "gold.png", (40, 20))
    assert compare_jupyterlab_images(picture(tmp_path / "same.png", (40, 20)), gold) == 1.0
    assert compare_jupyterlab_images(picture(tmp_path / "double.png", (80, 40)), gold) == 1.0
    assert compare_jupyterlab_images(picture(tmp_path / "shifted.png", (40, 20), split=0.2), gold) == 0.0
    assert compare_jupyterlab_images(picture(tmp_path / "red.png", (40, 20), color=(200, 0, 0)), gold) == 0.0


def test_images_missing_score_0_and_a_broken_gold_raises(tmp_path: Path) -> None:
    gold = picture(tmp_path / "gold.png", (40, 20))
    assert compare_jupyterlab_images(None, gold) == 0.0
    assert compare_jupyterlab_images(str(tmp_path / "missing.png"), gold) == 0.0
    (tmp_path / "broken.png").write_bytes(b"not an image")
    assert compare_jupyterlab_images(str(tmp_path / "broken.png"), gold) == 0.0
    with pytest.raises(JudgingError, match="expected: cannot read the image"):
        compare_jupyterlab_images(gold, str(tmp_path / "broken.png"))
