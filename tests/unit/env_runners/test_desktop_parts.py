"""The desktop environment's runner-side parts without a desktop: the action parser, the tree cap and the checks'
comparisons (cells, rows, sheets as ssconvert prints them)."""

import pytest

from env_runners.desktop.actions import Code, Command, Finish, parse
from env_runners.desktop.checks import (
    SHEETS_MARK,
    A11yCheck,
    FileCheck,
    cells_verdict,
    column_index,
    parse_sheets,
    rows_verdict,
    same_cell,
    text_verdict,
)
from env_runners.desktop.session import cap_lines

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("click [17]", Command("click", {"target": {"id": 17}})),
        ("CLICK [Save As…]", Command("click", {"target": {"name": "Save As…"}})),
        ("double_click 300 410", Command("double_click", {"target": {"xy": [300, 410]}})),
        ("right_click [3]", Command("right_click", {"target": {"id": 3}})),
        ('type [4] "a \\"quoted\\" word\\n"', Command("type", {"target": {"id": 4}, "text": 'a "quoted" word\n'})),
        ("type plain words to the end", Command("type", {"target": None, "text": "plain words to the end"})),
        ("type 'single'", Command("type", {"target": None, "text": "single"})),
        ("hotkey ctrl+shift+s", Command("hotkey", {"keys": "ctrl+shift+s", "repeat": 1})),
        ("hotkey ctrl s", Command("hotkey", {"keys": "ctrl+s", "repeat": 1})),
        ("press enter", Command("press", {"keys": "Return", "repeat": 1})),
        ("press Down 3", Command("press", {"keys": "Down", "repeat": 3})),
        ("press PageDown", Command("press", {"keys": "Next", "repeat": 1})),
        ("scroll down [9] 5", Command("scroll", {"direction": "down", "target": {"id": 9}, "amount": 5})),
        ("scroll up", Command("scroll", {"direction": "up", "target": None, "amount": 3})),
        ("drag 1 2 300 400", Command("drag", {"points": [1, 2, 300, 400]})),
        ("wait 99", Command("wait", {"seconds": 10.0})),
        ("done [22:00 UTC]", Finish(True, "22:00 UTC")),
        ("stop", Finish(True, "")),
        ("fail cannot find the file", Finish(False, "cannot find the file")),
        (
            "```python\nimport pyautogui\npyautogui.click(10, 20)\n```",
            Code("import pyautogui\npyautogui.click(10, 20)"),
        ),
        ("pyautogui.hotkey('ctrl', 's')", Code("pyautogui.hotkey('ctrl', 's')")),
        ("```\nclick [2]\n```", Command("click", {"target": {"id": 2}})),
    ],
)
def test_actions_parse(action, expected):
    assert parse(action) == expected


@pytest.mark.parametrize(
    ("action", "says"),
    [
        ("", "empty"),
        ("launch the rockets", "unknown action"),
        ("click", "[id]"),
        ("click [3] and more", "[id]"),
        ("type", "type needs text"),
        ("hotkey ctrl+$(reboot)", "not a key"),
        ("press", "name the keys"),
        ("scroll sideways", "scroll up or scroll down"),
        ("drag 1 2 3", "four numbers"),
        ("wait soon", "seconds"),
        ("click [3]\nclick [4]", "one action per step"),
    ],
)
def test_bad_actions_say_what_is_wrong(action, says):
    with pytest.raises(ValueError, match=None) as caught:
        parse(action)
    assert says in str(caught.value)


def test_a_long_tree_keeps_its_head_and_tail_in_whole_lines():
    text = "\n".join(f'[{i}] push button "b{i}"' for i in range(2000))
    capped = cap_lines(text, 3000)
    assert len(capped) <= 3100 and capped.startswith('[0] push button "b0"') and capped.endswith('"b1999"')
    assert "lines of the tree cut" in capped
    assert all(line.startswith("[") for line in capped.splitlines() if "cut" not in line)
    assert cap_lines("short", 3000) == "short"


def test_cells_rows_and_sheets():
    output = f'\n{SHEETS_MARK} Sheet1\nitem,amount\npens,4\nink,11.0\n\n{SHEETS_MARK} Totals\n"a, b",=x\n'
    sheets, order = parse_sheets(output)
    assert order == ["Sheet1", "Totals"] and sheets["Totals"] == [["a, b", "=x"]]
    assert cells_verdict(sheets, order, {"B3": 11, "A2": "pens", "Totals!A1": "a, b"}).ok
    wrong = cells_verdict(sheets, order, {"Sheet1!B3": 12})
    assert not wrong.ok and "B3" in wrong.reason and "11.0" in wrong.reason
    assert "no sheet" in cells_verdict(sheets, order, {"Other!A1": 1}).reason
    assert not cells_verdict(sheets, order, {"Z99": 1}).ok
    assert rows_verdict(sheets["Sheet1"], [["item", "amount"], ["pens", 4], ["ink", 11]]).ok
    assert not rows_verdict(sheets["Sheet1"], [["item", "amount"], ["pens", 4]]).ok
    assert column_index("A") == 0 and column_index("Z") == 25 and column_index("AA") == 26
    assert same_cell("7.5", 7.5) and same_cell(" TRUE", True) and not same_cell("7.51", 7.5) and same_cell("", None)


def test_check_models_refuse_what_cannot_be_judged():
    with pytest.raises(ValueError):
        FileCheck(path="a.ods", cells={"not a cell": 1})
    with pytest.raises(ValueError):
        FileCheck(path="a.txt", regex="(unclosed")
    with pytest.raises(ValueError):
        A11yCheck()
    assert A11yCheck(states=["checked"]).present
    verdict = text_verdict("notes.txt", "alpha\nbeta\n", "alpha\nbeta", ["beta"], r"^beta$")
    assert verdict.ok
    assert "does not contain 'gamma'" in text_verdict("f", "alpha", None, ["gamma"], None).reason
