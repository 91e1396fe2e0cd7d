"""The desktop session's helper, run by Debian's python3 INSIDE the session's sandbox (it never runs on the host).

`python3 inside.py start CONFIG_JSON` starts the desktop (Xvfb, a D-Bus session bus, the AT-SPI bus, openbox and
the applications) and returns once every application shows a window in the accessibility tree; `python3 inside.py
serve` answers the runner's requests on a Unix socket in the session's /tmp, one JSON line in and one out per
connection: `observe` (the accessibility tree linearised, each actionable element with an [id]), `act` (one parsed
action: AT-SPI actions where the element has one, else XTEST input through xdotool), `find` (elements matching a
role, name, text or states: the a11y check), `crawl` (menus, toolbar buttons and the dialogs menu items open, for
discovery) and `screenshot` (a PNG, in the answer). `python3 inside.py judge AGENT_UID` answers one `find` read on
stdin, on stdout: the runner starts it as root of the session for a verdict (judge.py). It imports only the standard
library, pyatspi and Pillow (for screenshots), so it runs on the session's own Python; everything it reads comes from
applications the agent controls, so the runner treats its answers as untrusted text.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time

SOCKET = "/tmp/.lbi-desktop.sock"
JUDGE_MARK = "__lbi_judge__ "
BUS = "unix:path=/tmp/.lbi-desktop-bus"
DISPLAY = ":1"
ENV = {
    "DISPLAY": DISPLAY,
    "DBUS_SESSION_BUS_ADDRESS": BUS,
    "GTK_MODULES": "gail:atk-bridge",
    "NO_AT_BRIDGE": "0",
    "GNOME_ACCESSIBILITY": "1",
    "QT_ACCESSIBILITY": "1",
    "QT_LINUX_ACCESSIBILITY_ALWAYS_ON": "1",
    "SAL_USE_VCLPLUGIN": "gtk3",
    "NO_AT_BRIDGE_WARNINGS": "1",
}
ACTIONABLE_ROLES = {
    "push button",
    "toggle button",
    "check box",
    "radio button",
    "menu",
    "menu item",
    "check menu item",
    "radio menu item",
    "combo box",
    "text",
    "entry",
    "password text",
    "spin button",
    "slider",
    "page tab",
    "link",
    "list item",
    "table cell",
    "tree item",
    "icon",
    "tool bar button",
    "split button",
    "terminal",
    "document text",
    "paragraph",
}
WINDOW_ROLES = {"frame", "dialog", "window", "alert", "file chooser", "color chooser", "font chooser"}
RISKY = re.compile(r"\b(quit|exit|close|delete|remove|save|print|send|shut ?down|log ?out|erase|trash)\b", re.I)
MAX_NODES = 6000
TEXT_CHARS = 400


def _env() -> dict[str, str]:
    return {**os.environ, **ENV}


def _spawn(command: list[str], log: str) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=_env(), start_new_session=True
        )


def start(config: dict) -> dict:
    """The desktop and its applications; waits until each application has a showing window."""
    width, height = int(config.get("width", 1280)), int(config.get("height", 800))
    home = os.environ.get("HOME", "/tmp")
    open(os.path.join(home, ".Xauthority"), "a").close()  # python-xlib (pyautogui) insists on the file
    _spawn(
        ["Xvfb", DISPLAY, "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp", "-ac", "-noreset"],
        "/tmp/.lbi-xvfb.log",
    )
    _wait(_x_up, 15, "Xvfb did not start", "/tmp/.lbi-xvfb.log")  # its socket exists before it takes clients
    _spawn(["dbus-daemon", "--session", "--nofork", "--nopidfile", f"--address={BUS}"], "/tmp/.lbi-dbus.log")
    _wait(lambda: os.path.exists(BUS.split("=", 1)[1]), 10, "the D-Bus session bus did not start")
    _spawn(["/usr/libexec/at-spi-bus-launcher", "--launch-immediately"], "/tmp/.lbi-atspi.log")
    # applications look for the accessibility bus once, as they start: it must be up before them
    _wait(_a11y_bus_up, 15, "the AT-SPI bus did not start")
    _spawn(["openbox", "--sm-disable"], "/tmp/.lbi-openbox.log")
    # the window manager must own the screen before any window maps, or it adopts them later, unfocused and unplaced
    _wait(_window_manager_up, 15, "openbox did not start", "/tmp/.lbi-openbox.log")
    from first_start import quiet_first_start  # beside this file in the session (session.py copies both)

    missing = []
    programs: dict[int, str] = {}  # pid of each application started: its program
    for index, app in enumerate(config.get("apps", [])):
        argv = shlex.split(app)
        if not argv or not shutil.which(argv[0]):
            missing.append({"index": index, "app": app})
            continue
        argv = quiet_first_start(argv, home)
        programs[_spawn(argv, f"/tmp/.lbi-app-{index}.log").pid] = argv[0]
    if missing:
        return {"ok": False, "missing": missing}
    import pyatspi

    pyatspi.setTimeout(3000, 15000)
    started = time.monotonic()
    deadline = started + float(config.get("start_timeout_s", 30))
    waiting = dict(programs)
    while waiting and time.monotonic() < deadline:
        for app in _apps():
            if any(_showing(w) for w in _children(app)):
                for pid in _shown_by(app, waiting):
                    waiting.pop(pid)
        if waiting:
            time.sleep(0.1)
    late = list(waiting.values())
    ready = {"ready_after_s": round(time.monotonic() - started, 2), "ready": "timeout" if late else "windows"}
    # a window that shows is not yet one that takes keys: wait for the window manager to give one the focus (on a
    # busy machine it may have adopted the windows without focusing any: then the first is brought to the front)
    if programs:
        for attempt in range(2):
            deadline = time.monotonic() + 5.0
            while time.monotonic() < deadline and not any("active" in _states(w) for _, w in _windows()):
                time.sleep(0.05)
            shown = _windows()
            if not shown or any("active" in _states(w) for _, w in shown) or attempt:
                break
            _activate_window(shown[0][1])
        time.sleep(0.3)
    return {"ok": True, "late": late, **ready}


def _shown_by(app, waiting: dict[int, str]) -> list[int]:
    """Which of the started applications (pid: program) this accessible application is: the process or one of its
    children (a launcher script such as `libreoffice` runs soffice.bin as its child, named otherwise), or by name (a
    program that hands its window to one already running)."""
    try:
        pid = int(app.get_process_id())
    except Exception:
        pid = 0
    for _ in range(32):
        if pid in waiting:
            return [pid]
        if pid <= 1:
            break
        try:
            with open(f"/proc/{pid}/stat") as stat:
                pid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    names = {app.name or "", _program(app)}
    return [p for p, program in waiting.items() if program in names or os.path.basename(program) in names]


def _x_up() -> bool:
    if not os.path.exists("/tmp/.X11-unix/X1"):
        return False
    result = subprocess.run(["xprop", "-root", "-len", "0"], env=_env(), capture_output=True, timeout=5, check=False)
    return result.returncode == 0


def _window_manager_up() -> bool:
    result = subprocess.run(
        ["xprop", "-root", "_NET_SUPPORTING_WM_CHECK"], env=_env(), capture_output=True, timeout=5, check=False
    )
    return result.returncode == 0 and b"window id" in result.stdout


def _a11y_bus_up() -> bool:
    command = ["dbus-send", "--session", "--print-reply", "--dest=org.a11y.Bus", "/org/a11y/bus"]
    result = subprocess.run([*command, "org.a11y.Bus.GetAddress"], env=_env(), capture_output=True, timeout=5)
    return result.returncode == 0 and b"unix:" in result.stdout


def _wait(ready, timeout_s: float, message: str, log: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while not ready():
        if time.monotonic() > deadline:
            tail = ""
            if log and os.path.exists(log):
                with open(log, errors="replace") as text:
                    tail = " | ".join(text.read()[-400:].splitlines())
            raise SystemExit(f"{message}{': ' + tail if tail else ''}")
        time.sleep(0.02)


# --- the accessibility tree ---------------------------------------------------------------------------------------


def _apps():
    import pyatspi

    desktop = pyatspi.Registry.getDesktop(0)
    return [a for a in _children(desktop) if a is not None]


def _children(node):
    # one call for the count, one per child (iterating asks the count again before each child)
    try:
        count = min(node.get_child_count(), MAX_NODES)
        return [c for c in (node.get_child_at_index(i) for i in range(count)) if c is not None]
    except Exception:
        return []


def _program(app) -> str:
    try:
        pid = app.get_process_id()
        with open(f"/proc/{pid}/comm") as comm:
            return comm.read().strip()
    except Exception:
        return ""


def _states(node) -> set[str]:
    try:
        return {getattr(s, "value_nick", "") or str(s) for s in node.getState().getStates()}
    except Exception:
        return set()


def _showing(node) -> bool:
    states = _states(node)
    return "showing" in states and "visible" in states


def _role(node) -> str:
    try:
        return node.getRoleName() or ""
    except Exception:
        return ""


def _name(node) -> str:
    try:
        return (node.name or "").strip()
    except Exception:
        return ""


def _text(node) -> str:
    try:
        text = node.queryText()
    except Exception:
        return ""
    try:
        count = text.characterCount
        return text.getText(0, min(count, TEXT_CHARS)) + ("…" if count > TEXT_CHARS else "")
    except Exception:
        return ""


def _closed(menu) -> bool:
    """A menu whose first item is not showing (closed menus keep their items as children, hundreds in an office
    suite's menu bar)."""
    try:
        first = menu.get_child_at_index(0) if menu.get_child_count() > 0 else None
    except Exception:
        return True
    return first is None or "showing" not in _states(first)


def _has_text(node) -> bool:
    try:
        return node.queryText().characterCount > 0
    except Exception:
        return False


def _actions(node) -> list[str]:
    try:
        action = node.queryAction()
        return [action.getName(i) for i in range(action.nActions)]
    except Exception:
        return []


def _has_action(node) -> bool:
    try:
        return node.queryAction().nActions > 0
    except Exception:
        return False


def _extents(node) -> tuple[int, int, int, int] | None:
    import pyatspi

    try:
        box = node.queryComponent().getExtents(pyatspi.DESKTOP_COORDS)
        return box.x, box.y, box.width, box.height
    except Exception:
        return None


def _value(node) -> str:
    try:
        value = node.queryValue()
        return f"{value.currentValue:g}"
    except Exception:
        return ""


def _windows():
    """(application, window) pairs of showing top-level windows, the active one first."""
    found = []
    for app in _apps():
        for window in _children(app):
            if _showing(window):
                found.append((app, window))
    found.sort(key=lambda pair: "active" not in _states(pair[1]))
    return found


OFF_SCREEN = -(1 << 30)
# roles that hold no text of their own and take no action: containers and decoration (their name is still read)
PLAIN_ROLES = {
    *("panel", "filler", "scroll pane", "viewport", "separator", "tool bar", "menu bar", "status bar"),
    *("split pane", "page tab list", "redundant object", "unknown", "root pane", "glass pane", "option pane"),
    *("frame", "window", "dialog", "alert", "file chooser", "layered pane", "internal frame", "scroll bar"),
}
VALUE_ROLES = {"slider", "spin button", "progress bar", "scroll bar", "dial", "level bar"}
# roles whose children may be thousands (rows and cells of lists, tables, trees and icon views)
CONTAINER_ROLES = {"table", "tree table", "list", "list box", "tree", "layered pane", "directory pane", "tree item"}
LARGE = 200  # children from which a container's children are read only where its view shows them
IN_VIEW_CAP = 400
SHEET = 100_000  # children from which a table is a spreadsheet's sheet, read by rows and columns


def _cells_in_view(node, box) -> tuple[list, int] | None:
    """A large table's cells in its view, row by row, through its Table interface: the cells at the view's top-left
    and bottom-right corners give the rows and columns in view (a spreadsheet's sheet has 2^31 cells, so a range of
    child indexes would be its first row only). None where the node is no table or the corners are not found."""
    import pyatspi

    try:
        table = node.queryTable()
        rows, columns = table.nRows, table.nColumns
        component = node.queryComponent()
    except Exception:
        return None
    if rows <= 0 or columns <= 0:
        return None

    def place(x: int, y: int) -> tuple[int, int] | None:
        try:
            hit = component.getAccessibleAtPoint(x, y, pyatspi.DESKTOP_COORDS)
            index = hit.getIndexInParent() if hit is not None else -1
            return (table.getRowAtIndex(index), table.getColumnAtIndex(index)) if index >= 0 else None
        except Exception:
            return None

    right, bottom = box[0] + max(1, box[2]) - 3, box[1] + max(1, box[3]) - 3
    first = next((at for d in range(2, 40, 6) if (at := place(box[0] + d, box[1] + d)) is not None), None)
    last = next((at for d in range(0, 60, 6) if (at := place(right - d, bottom - d)) is not None), None)
    if first is None or last is None or min(*first, *last) < 0:
        return None
    top, left = first
    bottom_row, right_column = max(last[0], top), max(last[1], left)
    wide = right_column - left + 1
    bottom_row = min(bottom_row, top + max(1, IN_VIEW_CAP // wide) - 1)
    cells = []
    for row in range(top, bottom_row + 1):
        for column in range(left, right_column + 1):
            try:
                cell = table.getAccessibleAt(row, column)
            except Exception:
                cell = None
            if cell is not None:
                cells.append(cell)
    return cells, rows * columns - len(cells)


def _children_in_view(node, box) -> tuple[list, int]:
    """A container's children, and how many were left out. GTK reports every cell of a long list or table as
    showing, scrolled away or not, so for a large container only the children in its view are read: the children
    at the view's top and bottom edges (AT-SPI's accessible-at-point) give the range of indexes to read, with the
    first few (headers) kept; where that fails, its first children are read."""
    try:
        count = node.childCount
    except Exception:
        return [], 0
    if count <= LARGE or box is None:
        return _children(node), 0
    # a sheet's millions of cells (row after row, so an index range would be a part of one row): by rows and columns
    cells = _cells_in_view(node, box) if count > SHEET else None
    if cells is not None:
        return cells
    import pyatspi

    def index_at(x: int, y: int) -> int | None:
        try:
            hit = node.queryComponent().getAccessibleAtPoint(x, y, pyatspi.DESKTOP_COORDS)
            return hit.getIndexInParent() if hit is not None else None
        except Exception:
            return None

    left = box[0] + min(8, max(1, box[2] // 4))
    first = next((i for y in range(box[1] + 2, box[1] + box[3], 12) if (i := index_at(left, y)) is not None), None)
    last = next((i for y in range(box[1] + box[3] - 2, box[1], -12) if (i := index_at(left, y)) is not None), None)
    if first is None or last is None or last < first:
        start, stop = 0, LARGE
    else:
        start, stop = first, min(count, last + 16)  # the whole of the last row (its cells follow its first)
    indexes = sorted({*range(min(8, count)), *range(start, min(stop, start + IN_VIEW_CAP))})
    chosen = []
    for index in indexes:
        try:
            item = node.getChildAtIndex(index)
        except Exception:
            item = None
        if item is not None:
            chosen.append(item)
    return chosen, count - len(chosen)


SHOWN_STATES = ("focused", "checked", "selected", "expanded", "pressed", "editable")


class Tree:
    """One linearised tree: its lines and the element behind each [id]."""

    def __init__(self, width: int, height: int):
        self.width, self.height = width, height
        self.lines: list[str] = []
        self.elements: dict[int, object] = {}
        self.names: dict[int, str] = {}
        self.nodes = 0

    def walk(self, node, depth: int, sheet: bool = False) -> None:
        """`sheet`: a cell of a spreadsheet's view, left out when empty (the Name Box says where the cursor is)."""
        if self.nodes >= MAX_NODES:
            return
        self.nodes += 1
        if sheet and not _has_text(node):  # most cells in view are empty: one call each, not six
            return
        states = _states(node)
        if "showing" not in states and depth > 0:
            return
        role, name = _role(node), _name(node)
        # each property is a D-Bus call to the application: ask only where the role can have it
        text = _text(node) if role not in PLAIN_ROLES else ""
        if text.strip() == name:
            text = ""
        has_action = role not in ACTIONABLE_ROLES and role not in PLAIN_ROLES and _has_action(node)
        placed = has_action or role in ACTIONABLE_ROLES or role in CONTAINER_ROLES or "editable" in states
        box = _extents(node) if placed else None
        if box is not None and depth > 0 and min(box[0], box[1]) <= OFF_SCREEN:  # GTK's place for a scrolled-away cell
            return
        on_screen = (
            box is not None
            and box[2] > 0
            and box[3] > 0
            and -box[2] < box[0] < self.width
            and -box[3] < box[1] < self.height
        )
        actionable = on_screen and (has_action or role in ACTIONABLE_ROLES or "editable" in states)
        if name or text.strip() or actionable:
            label = ""
            if actionable:
                ident = len(self.elements) + 1
                self.elements[ident] = node
                self.names[ident] = name
                label = f"[{ident}] "
            parts = [f"{'  ' * depth}{label}{role}"]
            if name:
                parts.append(json.dumps(name, ensure_ascii=False))
            if text.strip():
                parts.append("text=" + json.dumps(text, ensure_ascii=False))
            value = _value(node) if role in VALUE_ROLES else ""
            if value:
                parts.append(f"value={value}")
            shown = [s for s in SHOWN_STATES if s in states]
            if "enabled" not in states and "sensitive" not in states and actionable:
                shown.append("disabled")
            if shown:
                parts.append("(" + ", ".join(shown) + ")")
            if box is not None and actionable:
                parts.append(f"@{box[0]},{box[1]} {box[2]}x{box[3]}")
            self.lines.append(" ".join(parts))
            depth += 1
        if role == "menu" and _closed(node):  # its items are not on the screen: two calls, not two per item
            return
        children, hidden = _children_in_view(node, box) if role in CONTAINER_ROLES else (_children(node), 0)
        for child in children:
            self.walk(child, depth, sheet=hidden > SHEET)
        if hidden:
            self.lines.append(f"{'  ' * depth}({hidden} more items out of view: scroll to see them)")


TREE: Tree | None = None
SCREEN = [1280, 800]  # set by `serve WIDTH HEIGHT`


def observe(request: dict) -> dict:
    global TREE
    tree = Tree(int(request.get("width", SCREEN[0])), int(request.get("height", SCREEN[1])))
    windows = _windows()
    for app, window in windows:
        active = " (active)" if "active" in _states(window) else ""
        ident = len(tree.elements) + 1  # clicking a window brings it to the front
        tree.elements[ident], tree.names[ident] = window, _name(window)
        title = json.dumps(_name(window), ensure_ascii=False)
        tree.lines.append(f"[{ident}] {_role(window)} {title} of {app.name}{active}")
        for child in _children(window):
            tree.walk(child, 1)
    TREE = tree
    return {"text": "\n".join(tree.lines), "nodes": tree.nodes, "windows": len(windows), "ids": len(tree.elements)}


# --- acting -------------------------------------------------------------------------------------------------------


def _xdotool(*args: str) -> None:
    # a window that never came to the front, say, times out: the observation shows what happened
    with contextlib.suppress(subprocess.TimeoutExpired):
        subprocess.run(["xdotool", *args], env=_env(), capture_output=True, timeout=3, check=False)


def _element(target: dict):
    """The element an action names: by [id] in the last observation, or by name (first match, exact before prefix)."""
    if TREE is None:  # the helper was restarted: the ids are those of a fresh reading
        observe({})
    assert TREE is not None
    if "id" in target:
        node = TREE.elements.get(int(target["id"]))
        if node is None:
            raise LookupError(f"no element [{target['id']}] in the last observation (ids run 1..{len(TREE.elements)})")
        return node
    wanted = str(target["name"]).strip().lower().rstrip("…").rstrip(".")
    for fresh in (False, True):  # a name, unlike an id, may be looked up again in a fresh reading
        if fresh:
            observe({})
        for exact in (True, False):
            for ident, name in TREE.names.items():
                plain = name.lower().rstrip("…").rstrip(".").replace("_", "")
                if (plain == wanted) if exact else plain.startswith(wanted):
                    return TREE.elements[ident]
    raise LookupError(f"no element named {target['name']!r} on the screen")


def _do_action(node, index: int, wait_s: float = 1.0) -> None:
    """An AT-SPI action, from a thread: an action that opens a modal dialog does not answer until the dialog
    closes (GTK runs the dialog inside the action's handler), so it is left to finish on its own."""
    done = threading.Event()

    def run() -> None:
        try:
            node.queryAction().doAction(index)
        except Exception:
            pass
        finally:
            done.set()

    threading.Thread(target=run, daemon=True).start()
    done.wait(wait_s)


def _centre(node) -> tuple[int, int]:
    box = _extents(node)
    if box is None or box[2] <= 0 or box[3] <= 0:
        raise LookupError("the element has no place on the screen")
    return box[0] + box[2] // 2, box[1] + box[3] // 2


def _window_of(node):
    while node is not None and _role(node) not in WINDOW_ROLES:
        try:
            node = node.parent
        except Exception:
            return None
    return node


def _activate_window(node) -> None:
    name = _name(node)
    if name:
        _xdotool("search", "--onlyvisible", "--name", f"^{re.escape(name)}$", "windowactivate")
        time.sleep(0.1)


def _click(target: dict, button: str, count: int) -> str:
    if "xy" in target:
        x, y = target["xy"]
        _xdotool("mousemove", "--sync", str(x), str(y), "click", "--repeat", str(count), button)
        return f"clicked at {x},{y}"
    node = _element(target)
    role = _role(node)
    if role in WINDOW_ROLES:
        _activate_window(node)
        return f"brought the {role} {_name(node)!r} to the front"
    box = _extents(node)
    on_screen = box is not None and box[2] > 0 and box[3] > 0 and "showing" in _states(node)
    actions = _actions(node)
    if not on_screen and button == "1" and count == 1:  # as a person would, unless the element has no place
        for preferred in ("click", "press", "activate", "toggle", "jump", "open"):
            if preferred in actions:
                _do_action(node, actions.index(preferred))
                return f"{preferred} on {role} {_name(node)!r}"
    x, y = _centre(node)
    window = _window_of(node)
    if window is not None and "active" not in _states(window):
        _activate_window(window)
    _xdotool("mousemove", "--sync", str(x), str(y), "click", "--repeat", str(count), button)
    return f"clicked {role} {_name(node)!r} at {x},{y}"


def _type(text: str) -> None:
    """Text as typed on a keyboard: a newline is Enter and a tab is Tab (sent as keys, not characters)."""
    for piece in re.split(r"(\n|\t)", text.replace("\r\n", "\n")):
        if piece == "\n":
            _xdotool("key", "--clearmodifiers", "Return")
        elif piece == "\t":
            _xdotool("key", "--clearmodifiers", "Tab")
        elif piece:
            _xdotool("type", "--delay", "12", "--", piece)


def _focus(target: dict) -> None:
    node = _element(target)
    window = _window_of(node)
    if window is not None and "active" not in _states(window):
        _activate_window(window)
    try:
        if node.queryComponent().grabFocus():
            return
    except Exception:
        pass
    x, y = _centre(node)
    _xdotool("mousemove", "--sync", str(x), str(y), "click", "1")


def act(request: dict) -> dict:
    command = request["command"]
    verb = command["verb"]
    target = command.get("target") or {}
    try:
        if verb in ("click", "double_click", "right_click"):
            button = "3" if verb == "right_click" else "1"
            message = _click(target, button, 2 if verb == "double_click" else 1)
        elif verb == "type":
            if target:
                _focus(target)
            _type(command["text"])
            message = f"typed {len(command['text'])} characters"
        elif verb in ("hotkey", "press"):
            for _ in range(int(command.get("repeat", 1))):
                _xdotool("key", "--clearmodifiers", command["keys"])
            message = f"pressed {command['keys']}"
        elif verb == "scroll":
            if target:
                x, y = _centre(_element(target)) if "xy" not in target else target["xy"]
                _xdotool("mousemove", "--sync", str(x), str(y))
            button = "4" if command["direction"] == "up" else "5"
            _xdotool("click", "--repeat", str(command.get("amount", 3)), button)
            message = f"scrolled {command['direction']}"
        elif verb == "drag":
            x1, y1, x2, y2 = command["points"]
            _xdotool("mousemove", "--sync", str(x1), str(y1), "mousedown", "1")
            _xdotool("mousemove", "--sync", str(x2), str(y2), "mouseup", "1")
            message = f"dragged from {x1},{y1} to {x2},{y2}"
        elif verb == "wait":
            time.sleep(min(float(command["seconds"]), 10.0))
            message = "waited"
        else:
            return {"ok": False, "message": f"unknown verb {verb!r}"}
    except LookupError as exc:
        return {"ok": False, "message": str(exc)}
    time.sleep(float(request.get("settle_s", 0.3)))
    return {"ok": True, "message": message}


# --- the a11y check, discovery, screenshots ----------------------------------------------------------------------


def _all_nodes(limit: int = MAX_NODES):
    stack = [(app, window) for app, window in ((a, w) for a in _apps() for w in _children(a))]
    seen = 0
    while stack and seen < limit:
        app, node = stack.pop()
        seen += 1
        yield app, node
        stack.extend((app, c) for c in reversed(_children_to_search(node)))


def _children_to_search(node) -> list:
    """A node's children, but of a spreadsheet's sheet (2^31 cells) only the cells in its view."""
    try:
        if node.get_child_count() <= SHEET:
            return _children(node)
    except Exception:
        return []
    box = _extents(node)
    cells = _cells_in_view(node, box) if box is not None else None
    return cells[0] if cells is not None else []


def find(request: dict) -> dict:
    """Elements matching every given field: role (exact), name and text (contains, or exact), states (all present)."""
    exact = bool(request.get("exact"))
    found = []

    def matches(wanted: str | None, got: str) -> bool:
        if wanted is None:
            return True
        a, b = " ".join(wanted.lower().split()), " ".join(got.lower().split())
        return a == b if exact else a in b

    for app, node in _all_nodes():
        if request.get("app") and request["app"].lower() not in ((app.name or "").lower(), _program(app).lower()):
            continue
        role = _role(node)
        if request.get("role") and request["role"].lower() != role.lower():
            continue
        name = _name(node)
        if not matches(request.get("name"), name):
            continue
        text = _text(node) if request.get("text") is not None else ""
        if not matches(request.get("text"), text):
            continue
        states = _states(node)
        if not set(request.get("states") or []) <= states:
            continue
        found.append(
            {"app": app.name, "role": role, "name": name[:200], "text": text[:200], "states": sorted(states)[:20]}
        )
        if len(found) >= 5:
            break
    return {"found": found}


def xml_tree(request: dict) -> dict:
    """The running applications' trees in OSWorld's XML form (its accessibility_tree getter): an element per node
    named by its role, with `name`, a `st:` attribute per state, `cp:screencoord` and `cp:size`, and its text;
    `namespaces` (prefix -> URI) are the judging library's."""
    import xml.etree.ElementTree as ET

    spaces = request["namespaces"]
    for prefix, uri in spaces.items():
        ET.register_namespace(prefix, uri)
    root = ET.Element("desktop-frame")
    budget = [MAX_NODES]

    def add(parent, node, depth: int) -> None:
        if budget[0] <= 0 or depth > 60:
            return
        budget[0] -= 1
        attributes = {"name": _name(node)}
        attributes.update({f"{{{spaces['st']}}}{state.replace('-', '_')}": "true" for state in _states(node)})
        box = _extents(node)
        if box is not None:
            attributes[f"{{{spaces['cp']}}}screencoord"] = f"({box[0]}, {box[1]})"
            attributes[f"{{{spaces['cp']}}}size"] = f"({box[2]}, {box[3]})"
        tag = re.sub(r"[^A-Za-z0-9_.-]", "-", _role(node).replace(" ", "-")) or "unknown"
        element = ET.SubElement(parent, tag if tag[0].isalpha() else f"x-{tag}", attributes)
        element.text = _text(node) or None
        for child in _children(node):
            add(element, child, depth + 1)

    for app in _apps():
        add(root, app, 0)
    return {"xml": ET.tostring(root, encoding="unicode")}


def _menu_items(menu, depth: int, out: list, budget: list[int]) -> None:
    for item in _children(menu):
        if budget[0] <= 0:
            return
        budget[0] -= 1
        role, name = _role(item), _name(item)
        if role == "separator" or not name:
            continue
        out.append({"depth": depth, "role": role, "name": name, "enabled": "enabled" in _states(item)})
        if role == "menu":
            _menu_items(item, depth + 1, out, budget)


def crawl(request: dict) -> dict:
    """Per application: its menus (with submenus), toolbar buttons, and what the dialogs its safe menu items
    open contain (opened, read and dismissed with Escape; nothing risky is activated)."""
    max_dialogs = int(request.get("max_dialogs", 8))
    result = []
    for app in _apps():
        windows = [w for w in _children(app) if _showing(w)]
        if not windows:
            continue
        menus: list[dict] = []
        buttons: list[str] = []
        menu_nodes: list = []
        stack = list(reversed(windows))  # in the tree's order: the first menu bar is the one that opens
        while stack:
            node = stack.pop()
            role = _role(node)
            if role == "menu bar":
                # LibreOffice's root pane repeats its frame's menu bar, whose menus never open: one bar per app
                for menu in [] if menu_nodes else _children(node):
                    menu_nodes.append(menu)
                    entry = {"depth": 0, "role": "menu", "name": _name(menu), "enabled": True}
                    menus.append(entry)
                    _menu_items(menu, 1, menus, [400])
                continue
            if role in ("push button", "toggle button") and _showing(node) and _name(node):
                parent = node.parent
                if parent is not None and _role(parent) in ("tool bar", "panel", "filler"):
                    buttons.append(_name(node))
            stack.extend(reversed(_children(node)))
        dialogs: list[dict] = []
        for menu in menu_nodes:
            if len(dialogs) >= max_dialogs:
                break
            for item in _children(menu):
                if len(dialogs) >= max_dialogs:
                    break
                name = _name(item)
                if _role(item) != "menu item" or not name.endswith(("…", "...")) or RISKY.search(name):
                    continue
                if "enabled" not in _states(item) and "sensitive" not in _states(item):
                    continue
                dialog = _open_dialog(app, menu, item)
                if dialog is not None:
                    dialogs.append({"menu": _name(menu), "item": name, **dialog})
        result.append(
            {"app": app.name, "program": _program(app), "menus": menus, "buttons": buttons[:60], "dialogs": dialogs}
        )
    return {"apps": result}


def _press(node) -> bool:
    """A click at the element's centre (XTEST), after bringing its window to the front."""
    window = _window_of(node)
    if window is not None and "active" not in _states(window):
        _activate_window(window)
    try:
        x, y = _centre(node)
    except LookupError:
        return False
    _xdotool("mousemove", "--sync", str(x), str(y), "click", "1")
    return True


def _open_dialog(app, menu, item) -> dict | None:
    before = {id(w) for w in _children(app)}
    names_before = [_name(w) for w in _children(app) if _showing(w)]
    if not _press(menu):
        return None
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline and not _showing(item):
        time.sleep(0.05)
    if not _press(item):
        _xdotool("key", "Escape")
        return None
    deadline = time.monotonic() + 2.0
    dialog = None
    while time.monotonic() < deadline and dialog is None:
        time.sleep(0.1)
        for window in _children(app):
            if _showing(window) and (id(window) not in before or _name(window) not in names_before):
                dialog = window
                break
    if dialog is None:
        return None
    tree = Tree(4000, 4000)
    for child in _children(dialog):
        tree.walk(child, 0)
    title, role = _name(dialog), _role(dialog)
    for _ in range(3):  # dismissed, never confirmed
        _activate_window(dialog)
        _xdotool("key", "Escape")
        time.sleep(0.2)
        if not _showing(dialog):
            break
    return {"title": title, "role": role, "lines": tree.lines[:80]}


def screenshot(request: dict) -> dict:
    """The screen as a PNG in the answer (never a file: the runner would have to open a path the agent can replace)."""
    from PIL import ImageGrab

    image = ImageGrab.grab(xdisplay=DISPLAY)
    png = io.BytesIO()
    image.save(png, "PNG", optimize=False, compress_level=3)
    return {"png": base64.b64encode(png.getvalue()).decode(), "size": list(image.size)}


OPS = {
    "ping": lambda request: {"ok": True},
    "observe": observe,
    "act": act,
    "find": find,
    "crawl": crawl,
    "screenshot": screenshot,
}


def serve() -> None:
    import pyatspi

    pyatspi.setTimeout(2000, 15000)
    os.environ.update(ENV)
    if os.path.lexists(SOCKET):  # a link left there too
        os.unlink(SOCKET)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(SOCKET)
    server.listen(4)
    with open("/tmp/.lbi-desktop.pid", "w") as pid:
        pid.write(str(os.getpid()))
    while True:
        connection, _ = server.accept()
        with connection:
            reader = connection.makefile("rb")
            line = reader.readline(1 << 20)
            try:
                request = json.loads(line)
                reply = OPS[request["op"]](request)
            except Exception as exc:  # an application's odd answer must not end the helper
                reply = {"error": f"{type(exc).__name__}: {exc}"}
            connection.sendall(json.dumps(reply, ensure_ascii=False).encode() + b"\n")


def judge(agent_uid: int) -> None:
    """One `find` (or the whole tree, `xml`) for a verdict: the request on stdin, the answer on stdout after
    JUDGE_MARK. Started as root of the session, it takes the agent's uid as its effective uid only (the session's
    buses let that uid in) and keeps root as its real and saved uid, so the agent's processes cannot signal or trace
    it."""
    request = json.loads(sys.stdin.readline(1 << 20))
    os.setgroups([])
    os.setresgid(agent_uid, agent_uid, 0)
    os.setresuid(0, agent_uid, 0)
    os.environ.update(ENV)
    try:
        import pyatspi

        pyatspi.setTimeout(2000, 15000)
        judging = {"find": find, "xml": xml_tree}
        if request.get("op") not in judging:
            raise ValueError(f"a judge only finds elements or reads the tree, not {request.get('op')!r}")
        reply = judging[request["op"]](request)
    except Exception as exc:  # an application's odd answer is the check's error, not a crash
        reply = {"error": f"{type(exc).__name__}: {exc}"}
    print(JUDGE_MARK + json.dumps(reply, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "start":
        print(json.dumps(start(json.loads(sys.argv[2]))))
    elif sys.argv[1] == "judge":
        judge(int(sys.argv[2]))
    else:
        SCREEN[:] = [int(sys.argv[2]), int(sys.argv[3])]
        serve()
