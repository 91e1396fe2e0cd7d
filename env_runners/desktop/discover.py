"""Resources read from a running desktop session: each application's menus, toolbar buttons and dialogs (crawled
through AT-SPI by the helper: dialogs opened and dismissed, nothing risky activated), their manual pages and
help pages, and worked examples (open a menu, open a dialog, type into the editor or a cell) that were run in
the session before they are written down, as ```desktop blocks the agent can replay.
"""

from __future__ import annotations

import gzip
import json
import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from env_runners.desktop.session import DesktopSession
from env_runners.shell.environment import render_man
from lbi.records import Resource

MAX_DIALOG_EXAMPLES = 2
MAX_MENU_EXAMPLES = 2
MAN_CHARS = 12000
HELP_PAGES = 40


@dataclass
class Example:
    lead: str
    actions: list[str]
    result: str = ""


def _title(app: dict[str, Any]) -> str:
    return str(app.get("app") or app.get("program") or "application").strip()


def _menu_text(app: dict[str, Any]) -> str:
    lines = []
    for entry in app["menus"]:
        state = "" if entry.get("enabled", True) else " (disabled)"
        kind = " ▸" if entry["role"] == "menu" and entry["depth"] > 0 else ""
        lines.append(f"{'  ' * entry['depth']}- {entry['name']}{kind}{state}")
    return "\n".join(lines)


def crawl_resources(env: str, crawl: dict[str, Any]) -> list[Resource]:
    resources = []
    for app in crawl.get("apps", []):
        name = _title(app)
        body = []
        if app["menus"]:
            body.append(
                f"The menus of {name} (menu bar, then each menu's items; ▸ opens a submenu):\n\n{_menu_text(app)}"
            )
        if app["buttons"]:
            body.append(f"Toolbar buttons of {name}: " + ", ".join(dict.fromkeys(app["buttons"])) + ".")
        if body:
            resources.append(_resource(env, f"{name}: menus and toolbar", "\n\n".join(body), f"apps/{name}/menus"))
        for dialog in app.get("dialogs", []):
            lines = "\n".join(dialog["lines"])
            text = (
                f"{name}'s menu item {dialog['menu']} > {dialog['item']} opens the {dialog['role']} "
                f"'{dialog['title']}'. What it contains (accessibility tree):\n\n{lines}"
            )
            resources.append(
                _resource(env, f"{name}: the {dialog['title']} {dialog['role']}", text, f"apps/{name}/{dialog['item']}")
            )
    return resources


def candidate_examples(crawl: dict[str, Any], windows: dict[str, str]) -> list[Example]:
    """Examples from what the crawl found; `windows` maps an application's name to its window's title."""
    examples: list[Example] = []
    typing: list[Example] = []
    for app in crawl.get("apps", []):
        name = _title(app)
        window = windows.get(name)
        if not window:
            continue
        front = f"click [{window}]"
        top_menus = [m["name"] for m in app["menus"] if m["depth"] == 0][:MAX_MENU_EXAMPLES]
        for menu in top_menus:
            examples.append(Example(f"In {name}, open the {menu} menu to see its items.", [front, f"click [{menu}]"]))
            examples[-1].actions.append("press Escape")
        for dialog in app.get("dialogs", [])[:MAX_DIALOG_EXAMPLES]:
            examples.append(
                Example(
                    f"In {name}, open the '{dialog['item'].rstrip('.…')}' {dialog['role']} from the {dialog['menu']} "
                    "menu, look at it, and close it without changing anything.",
                    [front, f"click [{dialog['menu']}]", f"click [{dialog['item']}]", "press Escape"],
                )
            )
        program = str(app.get("program", ""))
        if "gnumeric" in program or "calc" in program:
            typing.append(
                Example(
                    f"In {name}, enter the number 42 into the selected cell and move down.",
                    [front, 'type "42\\n"'],
                )
            )
        elif program in ("mousepad", "gedit", "pluma", "xed", "leafpad", "featherpad", "kate", "gnome-text-editor"):
            typing.append(Example(f"In {name}, type a line of text into the document.", [front, 'type "hello\\n"']))
    return examples + typing


def run_examples(session: DesktopSession, candidates: list[Example]) -> list[Example]:
    """Each candidate's actions run in order; kept when none of them errs, with what the desktop showed before a
    closing Escape (the open menu or dialog, not what is left after it)."""
    kept = []
    for example in candidates:
        shown, failed = "", False
        for action in example.actions:
            result = session.step(action)
            if result.error:
                failed = True
                break
            if action != "press Escape":
                shown = result.observation
        if not failed and shown:
            kept.append(Example(example.lead, example.actions, shown))
    return kept


def example_resources(env: str, examples: list[Example]) -> list[Resource]:
    resources = []
    for index in range(0, len(examples), 4):
        group = examples[index : index + 4]
        text = "\n\n".join(
            f"{e.lead}\n\n```desktop\n"
            + "\n".join(e.actions)
            + "\n```\n\nThe desktop then showed:\n\n"
            + "\n".join("    " + line for line in e.result.splitlines()[:25])
            for e in group
        )
        resources.append(
            _resource(env, f"Worked examples on the desktop ({index // 4 + 1})", text, f"examples/{index}")
        )
    return resources


def _in_layers(session: DesktopSession, relative: str) -> Path | None:
    for lower in session.shell.root.lowers if session.shell.root else ():
        path = Path(lower) / relative
        if path.is_file() and not path.is_symlink():
            return path
    return None


def manual_resources(env: str, session: DesktopSession, programs: list[str]) -> list[Resource]:
    """Manual pages (rendered by the host's man from the layer's file) and help pages (XML, as text)."""
    resources = []
    for program in programs:
        if not re.fullmatch(r"[A-Za-z0-9._+-]+", program):
            continue
        page = _in_layers(session, f"usr/share/man/man1/{program}.1.gz")
        if page is not None:
            text = render_man(["-l", str(page)])
            if not text.strip():
                with gzip.open(page, "rt", errors="replace") as raw:
                    text = re.sub(r"^\.[A-Za-z]+ ?", "", raw.read(MAN_CHARS), flags=re.M)
            if text.strip():
                resources.append(_resource(env, f"man {program}", text[:MAN_CHARS], f"man:{program}(1)"))
        for root in session.shell.root.lowers if session.shell.root else ():
            folder = Path(root) / "usr/share/help/C" / program
            if not folder.is_dir():
                continue
            for path in sorted(folder.glob("*.page"))[:HELP_PAGES]:
                text = _xml_text(path)
                if text:
                    resources.append(
                        _resource(env, f"{program} help: {path.stem}", text, f"help:{program}/{path.stem}")
                    )
            break
    return resources


def _xml_text(path: Path) -> str:
    try:
        if path.stat().st_size > 500_000:
            return ""
        root = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError):
        return ""
    return re.sub(r"\n\s*\n+", "\n\n", "\n".join(t.strip() for t in root.itertext() if t.strip()))[:MAN_CHARS]


def _resource(env: str, title: str, text: str, uri: str) -> Resource:
    return Resource(env=env, title=title, text=text, uri=f"desktop:{uri}")


def window_titles(observation: str) -> dict[str, str]:
    """An application's name → its first window's title, from the observation's window lines."""
    titles: dict[str, str] = {}
    for line in observation.splitlines():
        match = re.match(r'^\[\d+\] (?:frame|window|dialog) ("(?:[^"\\]|\\.)*") of (.+?)( \(active\))?$', line)
        if match:
            titles.setdefault(match.group(2), json.loads(match.group(1)))
    return titles


def discover(session: DesktopSession, env: str) -> list[Resource]:
    crawl = session.call({"op": "crawl", "max_dialogs": 4}, 180.0)
    if "error" in crawl:
        crawl = {"apps": []}
    programs = list(dict.fromkeys(str(a.get("program") or "") for a in crawl.get("apps", []) if a.get("program")))
    if any("gnumeric" in p for p in programs):
        programs.append("ssconvert")
    resources = crawl_resources(env, crawl) + manual_resources(env, session, programs)
    titles = window_titles(session.observe())
    examples = run_examples(session, candidate_examples(crawl, titles))
    return resources + example_resources(env, examples)
