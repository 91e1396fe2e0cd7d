"""Desktop sessions with the applications OSWorld tasks use, on the layer `make` builds ahead of time (`lbi runner
build-rootfs --desktop --apps libreoffice,chromium`): LibreOffice Calc on a spreadsheet of our own making is seen
ready when its window shows (not at its start timeout), without first-start dialogs, and its sheet lists the cells in
view in rows and columns; Chromium starts on its page, without first-run pages. One Calc session serves the module."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from env_runners.desktop.apps import with_companions
from env_runners.desktop.environment import DESKTOP_PACKAGES, DESKTOP_PIP, DesktopEnvironment
from env_runners.desktop.session import DesktopSession
from env_runners.shell.layers import built_layer
from env_runners.shell.rootfs import find_image
from env_runners.shell.sandbox import sandbox_available
from lbi.config import RunnerSettings
from tests.fixtures.office_documents import spreadsheet, write_command

pytestmark = [
    pytest.mark.skipif(not sandbox_available(), reason="needs the shell sandbox (make installs it)"),
    pytest.mark.xdist_group("desktop_office"),  # one worker holds the module's Calc session
]
ROWS = [["Rep", "Region", "Units"]] + [
    [f"Rep {i:02d}", ("North", "South", "East", "West")[i % 4], 10 * i + 7] for i in range(1, 61)
]
CALC = {
    "packages": ["libreoffice-calc"],
    "apps": ["libreoffice --calc /home/agent/sales.fods"],
    "setup": write_command("/home/agent/sales.fods", spreadsheet(ROWS)),
    "start_timeout_s": 90,  # readiness must come long before it
    "observation_cap": 40000,
}


def _environment(data_dir: Path, config: dict) -> tuple[DesktopEnvironment, object]:
    """The environment, or a skip when the layer with these packages was not built ahead of time (make builds it;
    a test never waits minutes for a build)."""
    env = DesktopEnvironment(RunnerSettings(data_dir=data_dir, runner_step_timeout_s=10.0))
    parsed = env.parse_config(config)
    image = find_image(env.settings.rootfs_dir, env.shells.image_name)
    packages = with_companions(sorted({*DESKTOP_PACKAGES, *parsed.packages}))
    if image is None or built_layer(env.settings.layers_dir, image, packages, DESKTOP_PIP) is None:
        pytest.skip(f"no layer with {parsed.packages} (`lbi runner build-rootfs --desktop --apps ...`; make builds it)")
    return env, parsed


@pytest.fixture(scope="module")
def calc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DesktopSession]:
    env, config = _environment(tmp_path_factory.mktemp("office"), CALC)
    session = env.open(config)  # type: ignore[arg-type]
    try:
        yield session
    finally:
        session.close()


def test_calc_is_ready_when_its_window_shows_without_first_start_dialogs(calc: DesktopSession):
    assert calc.ready["how"] == "windows" and not calc.late, calc.ready
    first = calc.first_observation()
    assert "still starting" not in first
    assert 'frame "sales.fods - LibreOffice Calc"' in first and "(active)" in first
    assert "1 window(s) open" in first  # no dialog over the document
    assert not calc.call({"op": "find", "role": "dialog", "name": "Tip of the Day"})["found"]
    assert "Release Notes" not in first and "Get Involved" not in first  # no "what's new" bar either


def test_the_sheet_lists_the_cells_in_view_in_rows_and_columns(calc: DesktopSession):
    calc.step("hotkey ctrl+Home")
    top = calc.observe()
    assert 'table cell "A1" text="Rep"' in top and 'table cell "C1" text="Units"' in top
    for row in (2, 12, 25):  # rows beyond the first, with their values, in every column of data
        assert f'table cell "A{row}" text="Rep {row - 1:02d}"' in top, top
        assert f'table cell "C{row}" text="{10 * (row - 1) + 7}"' in top
    assert 'table cell "A61"' not in top and "more items out of view" in top
    assert 'table cell "D2"' not in top  # empty cells are left out
    bottom = calc.step("hotkey ctrl+End").observation
    assert 'table cell "A61" text="Rep 60"' in bottom and 'table cell "C61" text="607"' in bottom, bottom
    assert 'table cell "A1" text="Rep"' not in bottom


def test_chromium_starts_on_its_page_without_first_run_pages(tmp_path: Path):
    page = "data:text/html,<title>Start</title><h1>Inventory</h1>"
    env, config = _environment(tmp_path, {"packages": ["chromium"], "apps": [f"chromium '{page}'"]})
    session = env.open(config)  # type: ignore[arg-type]
    try:
        assert session.ready["how"] == "windows", session.ready
        first = session.first_observation()
        assert "1 window(s) open" in first and 'frame "Start - Chromium"' in first, first
        assert 'heading "Inventory"' in first  # the page itself, rendered (not "Aw, Snap!")
        for noise in ("Welcome", "default browser", "Sign in", "What's new", "Customize", "unsupported"):
            assert noise.lower() not in first.lower(), noise
    finally:
        session.close()


def test_the_crawl_opens_calcs_menus_and_reads_their_dialogs(calc: DesktopSession):
    started = time.monotonic()
    (app,) = calc.call({"op": "crawl", "max_dialogs": 2}, 120.0)["apps"]  # > 180 s: it pressed menus that never open
    assert time.monotonic() - started < 60
    top = [m["name"] for m in app["menus"] if m["depth"] == 0]
    assert top[:2] == ["File", "Edit"] and top.count("File") == 1, top  # the root pane's copy of the bar left out
    assert [d["item"] for d in app["dialogs"]] == ["Open...", "Open Remote..."], app["dialogs"]
